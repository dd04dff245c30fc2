package estimate

import "github.com/flopcast/flopcast/spec"

// Group is one communication group of a layout and where its members sit on
// the fabric.
type Group struct {
	Name   string `json:"group"`  // tp, cp, ep, etp, dp, edp, pp
	Size   int    `json:"size"`   // members
	Stride int    `json:"stride"` // ranks between consecutive members
	Where  string `json:"where"`  // in words: "8 in one NVLink4 domain"
}

// Placement says where each parallel group of l lives, with ranks in
// Megatron-Core's order tp-cp-ep-dp-pp (the first varies fastest): the dense
// layers' grid is tp, cp, dp, pp; the experts' grid (MoE parallel folding)
// is etp, ep, edp over the same ranks (Megatron-LM
// megatron/core/parallel_state.py). Groups of one are left out. It
// allocates; Eval does not call it.
func (e *Estimator) Placement(l spec.Layout) []Group {
	etp, edp := l.ETP, l.ExpertDP()
	var gs []Group
	add := func(name string, n, stride int) {
		if n <= 1 {
			return
		}
		gs = append(gs, Group{Name: name, Size: n, Stride: stride, Where: e.fab.Describe(e.fab.Where(n, stride))})
	}
	add("tp", l.TP, 1)
	add("cp", l.CP, l.TP)
	add("dp", l.DP, l.TP*l.CP)
	if e.moe {
		add("etp", etp, 1)
		add("ep", l.EP, etp)
		add("edp", edp, etp*l.EP)
	}
	add("pp", l.PP, l.TP*l.CP*l.DP)
	return gs
}
