package estimate

import "github.com/flopcast/flopcast/spec"

// Activations a layer keeps for its backward pass, per micro-batch
// (Korthikanti et al. 2022 §4, generalised to GQA/MLA, SwiGLU and MoE),
// and what recompute trades for them.

const (
	// normSideBytes per hidden element: the bf16 inputs of the two norms
	// and of the QKV and FC1 GEMMs (4 tensors × 2 B).
	normSideBytes = 4 * bf16Bytes
	// dropoutSavedBytes per hidden element: the two residual dropouts'
	// 1-byte masks.
	dropoutSavedBytes = 2.0
	// softmaxLSEBytes per head per token: flash attention's fp32
	// log-sum-exp (flash_attn_interface.py saves softmax_lse).
	softmaxLSEBytes = fp32Bytes
	// eagerResidualSavedBytes per hidden element: under autocast the fp32
	// residual and norm inputs and their bf16 casts are kept (an fp32 norm
	// saves its fp32 input; PyTorch derivatives.yaml).
	eagerResidualSavedBytes = 6.0
	// eagerRotarySavedBytes per q and k element: the pre-rotary q and k
	// (bf16) that the unfused rotary's multiplications save.
	eagerRotarySavedBytes = 4.0
	// eagerWeightCopyBytes per parameter: autocast's cached bf16 copy of
	// each fp32 weight, referenced by the saved tensors (autocast_mode.cpp
	// weight-cast cache).
	eagerWeightCopyBytes = bf16Bytes
	// Full recompute keeps only the layer input: bf16, or fp32 when the
	// eager recipe's residual stream is fp32.
	fullRecomputeInputBytes      = bf16Bytes
	eagerFullRecomputeInputBytes = fp32Bytes
)

// savedActivations sets the bytes a layer keeps for backward with nothing
// recomputed (c.working) and under the layout's recompute (c.saved).
func (e *Estimator) savedActivations(c *layerCost, s *shape, ffn ffnSaved) {
	T, normT, hidden, heads := s.tokens, s.normTokens, e.hidden, s.headsPerRank(e)
	side := normSideBytes * hidden
	if e.dropout {
		side += dropoutSavedBytes * hidden
	}
	qkv := bf16Bytes * (heads + 2*s.kvHeadsPerRank) * e.qkHeadDim
	bytes := T*(qkv+bf16Bytes*heads*e.vHeadDim+ffn.bytes+softmaxLSEBytes*heads) + normT*side
	if e.mla {
		bytes += T * bf16Bytes * (e.qLoraRank + e.kvLoraRank + e.ropeDim) // the down-projections' outputs
	}
	if e.eager {
		qkHeads := heads + s.kvHeadsPerRank
		if e.mla {
			qkHeads = 2 * heads
		}
		bytes += normT*eagerResidualSavedBytes*hidden + T*eagerRotarySavedBytes*qkHeads*e.qkHeadDim
		if !s.zero3 {
			// Without FSDP's bf16 parameter gathers, autocast's bf16 copies
			// of the fp32 weights are saved for the backward pass.
			bytes += eagerWeightCopyBytes * e.activeParams(c, s)
		}
	}
	bytes += e.scoresSaved(s)
	c.working = bytes
	switch s.recompute {
	case spec.RecomputeSelective:
		c.saved = bytes - e.scoresSaved(s)
	case spec.RecomputeFull:
		in := float64(fullRecomputeInputBytes)
		if e.eager && !s.zero3 {
			in = eagerFullRecomputeInputBytes // fp32 residual stream of fp32 weights under autocast
		}
		c.saved = normT * in * hidden
	default:
		c.saved = bytes
	}
}

// recomputeCost adds the compute and communication full recompute repeats:
// the whole forward, its TP collectives and its share of the expert
// all-to-all. (Selective recompute of unfused attention is added where
// the attention is priced.)
func (e *Estimator) recomputeCost(c *layerCost, s *shape) {
	if s.recompute != spec.RecomputeFull {
		return
	}
	c.recompute += c.fwd
	c.tpBwd += c.tpFwd
	c.epComm *= 1.5 // forward's dispatch and combine again: half the two passes' traffic
}
