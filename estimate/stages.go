package estimate

import "github.com/flopcast/flopcast/spec"

// How layers spread over pipeline stages: the one rule, and what each
// pipeline rank holds under it.

// split is how L layers spread over S = pp·vpp virtual stages. Layers are
// spread evenly; the remainder goes to the middle stages first, so the
// first and last stages, which hold the embedding and the logits, are the
// lighter ones: virtual stages 1..e1 hold one layer more, and stage 0 as
// well when the remainder exceeds the S-2 middle stages (first0).
type split struct {
	p, v, S, base, e1 int
	first0            bool
}

func newSplit(L, p, v int) split {
	S := p * v
	extra := L % S
	return split{p: p, v: v, S: S, base: L / S, e1: min(extra, max(S-2, 0)), first0: extra > S-2 && S > 1}
}

// longer reports whether virtual stage j holds one of the remainder's
// layers. It is the rule; layers, start and rank follow from it.
func (sp *split) longer(j int) bool {
	return (j >= 1 && j <= sp.e1) || (j == 0 && sp.first0)
}

// layers is the number of layers of virtual stage j.
func (sp *split) layers(j int) int {
	if sp.longer(j) {
		return sp.base + 1
	}
	return sp.base
}

// start is the index of the first layer of virtual stage j: base layers
// for each stage before it, plus one for each longer one.
func (sp *split) start(j int) int {
	longer := 0
	if j > 0 {
		longer = max(min(j-1, sp.e1), 0) // longer stages among 1..j-1
		if sp.first0 {
			longer++
		}
	}
	return j*sp.base + longer
}

// stageSplit is how a layout spreads the model over its virtual stages:
// the layers and, after them on the last stage, the multi-token-prediction
// modules, each weighing as a layer (DeepSeek-V3 §2.2 places the MTP
// module after the main model; Megatron-Core counts it in the last
// stage's layers).
func (e *Estimator) stageSplit(l *spec.Layout) split {
	return newSplit(int(e.layers+e.mtpDepth), l.PP, l.VPP)
}

// rankLoad is what one pipeline rank holds: its layers by kind.
type rankLoad struct {
	dense, moe float64
	mtp        float64 // multi-token-prediction modules (last rank only)
	first      bool    // holds the embedding
	last       bool    // holds the final norm, logits and loss
}

// rank is the load of pipeline rank r, which holds virtual stages r, r+p,
// r+2p...: the count of its longer stages in closed form (so that a rank
// costs O(1) without MoE), its dense layers by walking its stages.
func (e *Estimator) rank(sp *split, r int) rankLoad {
	longer := 0 // stages j ≡ r (mod p) that are longer
	switch {
	case r == 0:
		longer = sp.e1 / sp.p // stages p, 2p, ... up to e1
		if sp.first0 {
			longer++
		}
	case r <= sp.e1:
		longer = (sp.e1-r)/sp.p + 1 // stages r, r+p, ... up to e1
	}
	total := sp.v*sp.base + longer
	D := int(e.denseLayers)
	dense := 0
	if D >= int(e.layers) {
		dense = total
	} else if D > 0 {
		for c := 0; c < sp.v; c++ {
			j := r + c*sp.p
			st := sp.start(j)
			if st >= D {
				break
			}
			dense += min(D-st, sp.layers(j))
		}
	}
	rl := rankLoad{
		dense: float64(dense),
		moe:   float64(total - dense),
		first: r == 0,
		last:  r == sp.p-1,
	}
	if rl.last {
		// The MTP modules are the last "layers" of the split.
		rl.mtp = e.mtpDepth
		if e.moe {
			rl.moe -= e.mtpDepth
		} else {
			rl.dense -= e.mtpDepth
		}
	}
	return rl
}
