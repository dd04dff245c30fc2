package estimate

import (
	"math/bits"

	"github.com/flopcast/flopcast/model"
	"github.com/flopcast/flopcast/spec"
)

// recomputeFLOPs fills, per recompute module, the forward FLOPs per
// trained token that recomputing it repeats (for HFU): the attention core,
// MLA's up-projections, the dense FFNs, the MoE layers' routed and shared
// experts with the router, the shared experts alone. layernorm and
// moe_act are memory-bound: no FLOPs.
func (e *Estimator) recomputeFLOPs(m *model.Config) {
	attnFwd := 2 * e.layers * e.attendedKeys * e.heads * (e.qkHeadDim + e.vHeadDim) // causal forward
	e.attnFwdFLOPs = attnFwd
	moeLayers := float64(m.MoELayers())
	for i := range e.rcFLOPs {
		var f float64
		switch spec.Recompute(1) << i {
		case spec.RecomputeCoreAttn:
			f = attnFwd
		case spec.RecomputeMLAUpProj:
			if e.mla {
				f = 2 * e.layers * (e.qLoraRank*e.heads*e.qkHeadDim + e.kvLoraRank*e.heads*(e.qkHeadDim-e.ropeDim+e.vHeadDim))
			}
		case spec.RecomputeMLP:
			f = 2 * (e.layers - moeLayers) * e.denseFFNParams
		case spec.RecomputeMoE:
			if e.moe {
				f = 2 * moeLayers * m.ActiveMoEParams()
			}
		case spec.RecomputeSharedExperts:
			f = 2 * moeLayers * e.sharedParams
		}
		e.rcFLOPs[i] = f
	}
}

// recomputeFlopsPerToken is the extra forward work of activation
// recompute: full layers repeat the forward of all but the embedding and
// logits; modules repeat their own (the MoE layer includes its shared
// experts).
func (e *Estimator) recomputeFlopsPerToken(rc spec.Recompute) float64 {
	if rc == spec.RecomputeFull {
		return (e.modelFlopsPerToken-6*e.vocab*e.hidden-3*e.attnFwdFLOPs)/3 + e.attnFwdFLOPs
	}
	if rc == spec.RecomputeOp {
		// Per-op checkpointing repeats the k, output and FFN up (SwiGLU)
		// or down (GELU) projections (opRecompute).
		ffn := e.ffn * e.hidden
		return 2 * e.layers * (e.hidden*e.kvHeads*e.qkHeadDim + e.heads*e.vHeadDim*e.hidden + ffn)
	}
	if rc.Has(spec.RecomputeMoE) {
		rc &^= spec.RecomputeSharedExperts
	}
	var f float64
	for rc != 0 {
		i := bits.TrailingZeros16(uint16(rc))
		if i < len(e.rcFLOPs) {
			f += e.rcFLOPs[i]
		}
		rc &= rc - 1
	}
	return f
}
