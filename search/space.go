package search

import (
	"slices"

	"github.com/flopcast/flopcast/estimate"
	"github.com/flopcast/flopcast/model"
	"github.com/flopcast/flopcast/spec"
)

// Candidate lists. They only decide which values are tried; whether a
// layout is valid is spec.Resolved.Violation's call alone. The caps keep an
// absurd input (10^7 chips, a highly composite count) bounded in time and
// memory: at most maxTP·maxPP·maxCP outer tasks, each with at most
// maxEP·maxVPP·maxMB·maxInner layouts.
const (
	maxTP  = 16 // values of tp tried
	maxPP  = 32 // values of pp
	maxCP  = 8  // values of cp
	maxEP  = 16 // values of ep
	maxRC  = 8  // recompute sets (RecomputeCandidates)
	maxOff = 4  // offload settings (OffloadCandidates)
	maxVPP = 12 // values of vpp per pp
	maxMB  = 8  // values of micro_batch per dp

	// mbLimit is the largest micro-batch tried: beyond 16 sequences the
	// GEMMs are long saturated and only memory grows. What saturates a GEMM
	// is its token count (the M dimension), so short sequences may go up to
	// mbTokens tokens, 16 sequences of 4,096: llm.c trains GPT-2 124M at
	// seq 1024 with 64 sequences per GPU (modded-nanogpt README, record 1).
	mbLimit  = 16
	mbTokens = 16 * 4096
	// cpLimit bounds context parallelism, and cpMinChunk keeps each rank's
	// share of the sequence long enough for attention to stay efficient.
	cpLimit    = 64
	cpMinChunk = 256
	// vppDense: vpp 1..vppDense are always tried (where pp·vpp <= layers);
	// larger ones only when they split the layers evenly.
	vppDense = 8

	// maxInner is the number of inner variants of a group: ZeRO stages ×
	// recompute sets × sequence parallelism.
	maxInner = 4 * maxRC * 2
)

// space is the candidate values of every knob for one run.
type space struct {
	r     *spec.Resolved
	tasks []task // outer loops, partitioned over workers

	// zero is the ZeRO stages tried, the most memory-saving first
	// (estimate.MemoryOrder), without pipeline parallelism; zeroPP with
	// it, where ZeRO-3, outside the order, comes last (estimate.OutsideMemoryOrder).
	zero, zeroPP []int
	rc           []spec.Recompute // as given, or RecomputeCandidates: nested, the most memory-saving last
	// offload is the offload settings tried: given, or OffloadCandidates.
	offload []spec.Offload
	// schedule is the given pipeline schedule; without one each layout
	// takes spec.DefaultSchedule of its vpp.
	schedule      spec.Schedule
	scheduleGiven bool
	// spGiven is the given sequence-parallel flag, if any.
	spGiven bool
	spValue bool
	// lightRC is the recompute set other than full whose memory bounds
	// the others' from below (the sets are nested), -1 if none is tried.
	lightRC int
	fullRC  int // index of full in rc, -1 if not tried
	// bound says, per entry of rc, which probe bounds its memory from below.
	bound []uint8
}

// Which probe bounds a recompute set's memory (space.bound).
const (
	boundNone  uint8 = iota // other module sets may need less than selective
	boundLight              // none and selective: the lightRC probe
	boundFull               // full: the fullRC probe
)

// task is one outer combination: tp, pp and cp (dp follows), with the
// ep and vpp values to try under it.
type task struct {
	tp, pp, cp, dp int
	ep             []int
	etp            []int
	vpp            []int
	mb             []int
}

// size is the number of layouts a task enumerates.
func (t *task) size(inner int) int64 {
	return int64(len(t.ep)) * int64(len(t.etp)) * int64(len(t.vpp)) * int64(len(t.mb)) * int64(inner)
}

// divisorsUpTo returns the divisors of n that are at most limit, ascending,
// at most max of them. When there are more, powers of two are kept first,
// then the smallest of the rest. The loop is bounded by limit, not n, so a
// huge n costs nothing.
func divisorsUpTo(n, limit, max int) []int {
	if n <= 0 || limit <= 0 {
		return nil
	}
	limit = min(limit, n)
	var d []int
	for i := 1; i <= limit && i <= 1<<20; i++ {
		if n%i == 0 {
			d = append(d, i)
		}
	}
	return capList(d, max)
}

// capList keeps at most max values of an ascending list: powers of two
// first, then the smallest others.
func capList(d []int, max int) []int {
	if len(d) <= max {
		return d
	}
	var keep []int
	for _, v := range d {
		if v&(v-1) == 0 && len(keep) < max {
			keep = append(keep, v)
		}
	}
	for _, v := range d {
		if len(keep) == max {
			break
		}
		if v&(v-1) != 0 {
			keep = append(keep, v)
		}
	}
	slices.Sort(keep)
	return keep
}

func newSpace(r *spec.Resolved) *space {
	s := &space{r: r, lightRC: -1, fullRC: -1}
	g, L := r.Given, r.Layout
	m := &r.Model

	if g.Has(spec.GivenZeRO) {
		s.zero = []int{L.ZeRO}
		s.zeroPP = s.zero
	} else {
		s.zero = estimate.MemoryOrder(1)
		s.zeroPP = append(estimate.MemoryOrder(2), 3)
	}
	if g.Has(spec.GivenRecompute) {
		s.rc = []spec.Recompute{L.Recompute}
	} else {
		for _, rc := range RecomputeCandidates(r) {
			if r.UsableRecompute(rc) && !slices.Contains(s.rc, rc) && len(s.rc) < maxRC {
				s.rc = append(s.rc, rc)
			}
		}
	}
	s.bound = make([]uint8, len(s.rc))
	for i, rc := range s.rc {
		switch {
		case rc == spec.RecomputeFull:
			s.fullRC = i
			s.bound[i] = boundFull
		case rc == spec.RecomputeNone || rc == spec.RecomputeSelective:
			s.bound[i] = boundLight
		}
		if rc != spec.RecomputeFull {
			s.lightRC = i // the last, most saving, of the nested sets
		}
	}
	if g.Has(spec.GivenSP) {
		s.spGiven, s.spValue = true, L.SequenceParallel
	}
	if g.Has(spec.GivenOffload) {
		s.offload = []spec.Offload{L.Offload}
	} else {
		for _, o := range OffloadCandidates(r) {
			if !slices.Contains(s.offload, o) && len(s.offload) < maxOff {
				s.offload = append(s.offload, o)
			}
		}
	}
	if len(s.offload) == 0 {
		s.offload = []spec.Offload{spec.OffloadNone}
	}
	if g.Has(spec.GivenSchedule) {
		s.schedule, s.scheduleGiven = L.Schedule, true
	}

	one := func(given spec.Given, v int, gen func() []int) []int {
		if g.Has(given) {
			return []int{v}
		}
		return gen()
	}
	chips := r.Chips
	tpLimit := max(2*r.Chip.ScaleUpDomain(), 1)
	if m.Heads > 0 {
		tpLimit = min(tpLimit, m.Heads)
	}
	tps := one(spec.GivenTP, L.TP, func() []int { return divisorsUpTo(chips, tpLimit, maxTP) })
	cpMax := max(min(cpLimit, r.Training.SeqLen/cpMinChunk), 1)
	for _, tp := range tps {
		if tp <= 0 || chips%tp != 0 {
			continue
		}
		pps := one(spec.GivenPP, L.PP, func() []int { return divisorsUpTo(chips/tp, max(m.Layers, 1), maxPP) })
		for _, pp := range pps {
			if pp <= 0 || chips%(tp*pp) != 0 {
				continue
			}
			cps := one(spec.GivenCP, L.CP, func() []int { return divisorsUpTo(chips/(tp*pp), cpMax, maxCP) })
			for _, cp := range cps {
				if cp <= 0 || chips%(tp*pp*cp) != 0 {
					continue
				}
				t := task{tp: tp, pp: pp, cp: cp, dp: chips / (tp * pp * cp)}
				if g.Has(spec.GivenDP) {
					t.dp = L.DP
				}
				t.ep = one(spec.GivenEP, L.EP, func() []int {
					if m.MoE == nil {
						return []int{1}
					}
					// MoE parallel folding: ep×etp divides tp×cp×dp.
					return divisorsUpTo(m.MoE.Experts, min(m.MoE.Experts, tp*cp*t.dp), maxEP)
				})
				t.etp = one(spec.GivenETP, L.ETP, func() []int { return etpCandidates(r, tp, tp*cp*t.dp) })
				t.vpp = one(spec.GivenVPP, L.VPP, func() []int { return vppCandidates(m.Layers, pp) })
				t.mb = one(spec.GivenMicroBatch, L.MicroBatch, func() []int {
					gb := r.Training.GlobalBatch
					if t.dp <= 0 || gb%t.dp != 0 {
						return []int{1} // invalid; Violation says why
					}
					return divisorsUpTo(gb/t.dp, max(mbLimit, mbTokens/max(r.Training.SeqLen, 1)), maxMB)
				})
				if len(t.ep) == 0 {
					t.ep = []int{1}
				}
				s.tasks = append(s.tasks, t)
			}
		}
	}
	// Large tasks first, so the last ones to finish are short.
	slices.SortStableFunc(s.tasks, func(a, b task) int {
		ca, cb := int64(a.pp)*a.size(1), int64(b.pp)*b.size(1)
		switch {
		case ca > cb:
			return -1
		case ca < cb:
			return 1
		}
		return 0
	})
	return s
}

// etpCandidates are the expert tensor-parallel sizes tried under tp: tp
// itself for a dense model (etp means nothing there); for a MoE model 1
// (Megatron-Core's advice for fine-grained experts) and tp (its default),
// each where it divides the expert FFN and the stage's ranks tp×cp×dp
// (MoE parallel folding). Sizes in between are rarely used and would
// multiply the MoE search; a given etp is kept whatever it is.
func etpCandidates(r *spec.Resolved, tp, ranks int) []int {
	m := &r.Model
	if m.MoE == nil {
		return []int{tp}
	}
	var out []int
	for _, e := range [...]int{1, tp} {
		if m.MoE.ExpertFFN%e == 0 && ranks > 0 && ranks%e == 0 && !slices.Contains(out, e) {
			out = append(out, e)
		}
	}
	if len(out) == 0 {
		return []int{tp} // invalid; Violation says why
	}
	return out
}

// vppCandidates: 1..vppDense, then the values that split layers evenly,
// all with pp·vpp <= layers. With pp = 1 interleaving means nothing.
func vppCandidates(layers, pp int) []int {
	if pp <= 1 || layers <= 0 {
		return []int{1}
	}
	top := layers / pp
	var v []int
	for i := 1; i <= top; i++ {
		if i <= vppDense || layers%(pp*i) == 0 {
			v = append(v, i)
		}
		if i > 1<<16 {
			break
		}
	}
	if len(v) == 0 {
		v = []int{1}
	}
	if len(v) > maxVPP {
		// Keep 1..vppDense and the smallest even splits.
		v = v[:maxVPP]
	}
	return v
}

// RecomputeCandidates are the recompute sets a search tries when the run
// leaves parallel.recompute open, each a superset of the one before, so
// that each saves at least the memory of the one before (the pruning
// relies on it): none; core attention (Megatron's selective); the cheap
// modules besides, whose recompute is memory-bound or small (layernorm,
// and mla_up_proj and moe_act where the model has them: DeepSeek-V3's
// choice, §3.2.3 and §3.3.3 of its report); the FFN as well (mlp, and for
// MoE models the whole MoE layer with its shared experts); and full
// layers. Sets the model cannot use are dropped, and at most maxRC are
// tried.
func RecomputeCandidates(r *spec.Resolved) []spec.Recompute {
	m := &r.Model
	cheap := spec.RecomputeCoreAttn | spec.RecomputeLayerNorm
	if m.Attention == model.AttentionMLA {
		cheap |= spec.RecomputeMLAUpProj
	}
	ffn := spec.RecomputeMLP
	if m.MoE != nil {
		cheap |= spec.RecomputeMoEAct
		ffn |= spec.RecomputeMoE
		if m.MoE.SharedExperts > 0 {
			ffn |= spec.RecomputeSharedExperts
		}
	}
	return []spec.Recompute{spec.RecomputeNone, spec.RecomputeSelective, cheap, cheap | ffn, spec.RecomputeFull}
}

// OffloadCandidates are the offload settings a search tries when the run
// leaves parallel.offload open: none, until the estimator prices what
// moving activations or optimizer states to host memory costs. At most
// maxOff are tried.
func OffloadCandidates(r *spec.Resolved) []spec.Offload {
	return []spec.Offload{spec.OffloadNone}
}

// spList is the sequence-parallel values for a tp.
func (s *space) spList(tp int, buf *[2]bool) []bool {
	switch {
	case s.spGiven:
		buf[0] = s.spValue
		return buf[:1]
	case tp > 1:
		buf[0], buf[1] = true, false
		return buf[:2]
	}
	buf[0] = false
	return buf[:1]
}

// inner is the number of variants per (ep, etp, vpp, mb) for a tp: the
// groups of each offload setting and the variants inside a group.
func (s *space) inner(tp int) int {
	var b [2]bool
	return len(s.zero) * len(s.rc) * len(s.spList(tp, &b)) * len(s.offload)
}

// candidates is the number of layouts the space enumerates.
func (s *space) candidates() int64 {
	var n int64
	for i := range s.tasks {
		n += s.tasks[i].size(s.inner(s.tasks[i].tp))
	}
	return n
}
