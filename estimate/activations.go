package estimate

import "github.com/flopcast/flopcast/spec"

// Activations a layer keeps for its backward pass, per micro-batch
// (Korthikanti et al. 2022 §4, generalised to GQA/MLA, SwiGLU and MoE),
// and what recompute trades for them. Each block keeps its own tensors
// with keep, naming the Megatron-Core recompute module (recompute_modules
// in megatron/core/transformer/transformer_config.py) that frees them;
// full recompute keeps only each layer's input.

const (
	// dropoutMaskBytes per hidden element: a residual dropout's 1-byte
	// mask (one after attention, one after the FFN).
	dropoutMaskSavedBytes = 1.0
	// softmaxLSEBytes per head per token: flash attention's fp32
	// log-sum-exp (flash_attn_interface.py saves softmax_lse).
	softmaxLSEBytes = fp32Bytes
	// normFwdBytes per hidden element: a fused norm's forward reads and
	// writes bf16; what recomputing it costs.
	normFwdBytes = 2 * bf16Bytes
	// layerNormStatsBytes, rmsNormStatsBytes per token: the fp32
	// statistics a norm saves,
	// LayerNorm its mean and rstd, RMSNorm its rstd (derivatives.yaml:
	// native_layer_norm, _fused_rms_norm).
	layerNormStatsBytes, rmsNormStatsBytes = 2 * fp32Bytes, fp32Bytes
	// eagerWeightCopyBytes per parameter: autocast's cached bf16 copy of
	// each fp32 weight, referenced by the saved tensors (autocast_mode.cpp
	// weight-cast cache).
	eagerWeightCopyBytes = bf16Bytes
	// Full recompute keeps only the layer input: bf16, or fp32 when the
	// eager recipe's residual stream is fp32.
	fullRecomputeInputBytes      = bf16Bytes
	eagerFullRecomputeInputBytes = fp32Bytes
	// DeepSeek-V3's low-precision activation storage (report §3.3.3;
	// training.fp8_activations): the MoE SwiGLU input in FP8 (1 B), the
	// attention output in E5M6 (12 bits, 1.5 B), each with an FP32 scale
	// per 1×128 tile (its fine-grained quantisation, §3.3.2).
	tileScaleBytes  = fp32Bytes / 128
	fp8CachedBytes  = 1 + tileScaleBytes
	e5m6CachedBytes = 1.5 + tileScaleBytes
)

// attnOutputBytes is the bytes per element kept of the attention output,
// the output projection's input: bf16 (the attention kernel saves it for
// its own backward), or E5M6 under training.fp8_activations.
func (e *Estimator) attnOutputBytes() float64 {
	if e.fp8Acts {
		return e5m6CachedBytes
	}
	return bf16Bytes
}

// keep records bytes a block saves for backward: counted in the layer's
// working set always, and in what it keeps unless the layout recomputes
// one of modules (0: no module frees them).
func keep(c *layerCost, s *shape, bytes float64, modules spec.Recompute) {
	c.working += bytes
	if s.recompute&modules == 0 {
		c.saved += bytes
	}
}

// recomputes adds to backward the forward time t of a module the layout
// recomputes.
func recomputes(c *layerCost, s *shape, t float64, module spec.Recompute) {
	if s.recompute&module != 0 {
		c.recompute += t
	}
}

// gemmInputBytes is the bytes per element a linear layer saves of its
// input: Transformer Engine keeps the quantised (column-wise) copy under a
// low-precision recipe (TE docs, low_precision_training/introduction),
// else the bf16 input.
func (e *Estimator) gemmInputBytes() float64 {
	if e.eager || e.lowp.elem == 0 {
		return bf16Bytes
	}
	return e.lowp.elem
}

// eagerSaved adds what eager PyTorch under autocast keeps besides the
// tensors every recipe keeps (each norm's input in bf16 and its bf16
// output, attentionSaved and mlp): the norms' inputs at their saved size
// and their statistics, and autocast's bf16 copies of the fp32 weights.
// A LayerNorm runs in fp32 under autocast and saves an fp32 copy of its
// input; an RMSNorm saves its input in the residual stream's dtype
// (derivatives.yaml; autocast_mode.cpp's fp32 list has layer_norm). The
// rotary products save only cos and sin, which need no gradient
// (derivatives.yaml mul saves an operand only for the other's gradient).
func (e *Estimator) eagerSaved(c *layerCost, s *shape) {
	if !e.eager {
		return
	}
	in, stats := e.eagerNormSaved(s)
	keep(c, s, 2*s.normTokens*((in-bf16Bytes)*e.hidden+stats), 0)
	if !s.zero3 {
		// Without FSDP's bf16 parameter gathers, autocast's bf16 copies
		// of the fp32 weights are saved for the backward pass.
		keep(c, s, eagerWeightCopyBytes*e.activeParams(c, s), 0)
	}
}

// eagerNormSaved is what eager PyTorch saves of a norm: its input's
// bytes per element (a LayerNorm runs in fp32 under autocast and saves an
// fp32 copy; an RMSNorm saves the residual stream's dtype) and its
// statistics' bytes per token.
func (e *Estimator) eagerNormSaved(s *shape) (in, stats float64) {
	if e.layerNorm {
		return fp32Bytes, layerNormStatsBytes
	}
	return residualBytes(s), rmsNormStatsBytes
}

// fullRecompute: whole layers recomputed keep only their input and
// repeat their forward, its TP collectives and its share of the expert
// all-to-all in backward (Megatron-Core recompute_granularity full).
func (e *Estimator) fullRecompute(c *layerCost, s *shape) {
	if s.recompute != spec.RecomputeFull {
		return
	}
	in := float64(fullRecomputeInputBytes)
	if e.eager && !s.zero3 {
		in = eagerFullRecomputeInputBytes // fp32 residual stream of fp32 weights under autocast
	}
	c.saved = s.normTokens * in * e.hidden
	c.recompute = c.fwd
	c.tpBwd += c.tpFwd
	c.tpGather += c.tpGatherF
	c.epComm *= 1.5 // forward's dispatch and combine again: half the two passes' traffic
}

// opRecompute: torchtitan's per-op selective checkpointing
// (spec.RecomputeOp) saves, besides the layer's input, the outputs of the
// attention kernel (with its log-sum-exp) and of every other matmul in
// forward order (torchtitan models/llama3/parallelize.py: _save_list holds
// mm and the SDPA kernels; _custom_policy skips every second mm), and
// recomputes everything else in backward: the k, output and FFN up
// projections (the SwiGLU up or the GELU down projection), the norms,
// rotary, activation and residual kernels. Its TP all-gathers are
// recomputed; its reduce-scatters' outputs are saved (in _save_list).
func (e *Estimator) opRecompute(c *layerCost, s *shape) {
	if s.recompute != spec.RecomputeOp {
		return
	}
	T, heads, inner := s.tokens, s.headsPerRank(e), e.ffn/s.tp
	c.recompute = max(0, c.fwd-c.opKept)
	c.tpBwd += c.tpGatherF
	c.tpGather += c.tpGatherF
	ffnOut := inner // the gate (SwiGLU) or first projection (GELU)
	if e.swiglu {
		ffnOut += e.hidden // and SwiGLU's down projection, before its reduction
	}
	c.saved = s.normTokens*bf16Bytes*e.hidden + // the layer's input
		T*bf16Bytes*(heads*e.qkHeadDim+s.kvHeadsPerRank*e.vHeadDim) + // q and v
		T*bf16Bytes*heads*e.vHeadDim + T*softmaxLSEBytes*heads + // the attention output and its log-sum-exp
		T*bf16Bytes*ffnOut
}
