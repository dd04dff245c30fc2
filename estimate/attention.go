package estimate

import "github.com/flopcast/flopcast/spec"

// Attention: the projections (GQA or MLA) and the attention core (fused
// flash attention, or unfused scores and softmax), with context
// parallelism's exchanges: ring attention's K,V chunks, or the
// all-to-alls of q, k, v and the output (training.cp_comm_type).

// Unfused attention's memory-bound kernels, bytes per element of the s×s
// score matrix: Megatron's fused scale-mask-softmax reads bf16 scores and
// writes bf16 probabilities (4 B) in forward, and reads probabilities and
// their gradient and writes the score gradient (6 B) in backward; dropout
// adds its mask (1 B) and a second read-write of the probabilities (4 B)
// in forward and 5 B in backward (Korthikanti et al. 2022, §4.1).
const (
	softmaxFwdBytes, softmaxBwdBytes               = 4.0, 6.0
	softmaxDropoutFwdBytes, softmaxDropoutBwdBytes = 9.0, 11.0
	// Saved for backward per score element: the bf16 softmax output
	// (2 B), plus with dropout its mask (1 B) and output (2 B): the
	// 5·a·s²·b term of Korthikanti et al. 2022, Table 2.
	scoresSavedBytes, scoresDropoutSavedBytes = 2.0, 5.0
)

// attentionProjections adds the GEMMs that make q, k and v and the output
// projection.
func (e *Estimator) attentionProjections(c *layerCost, s *shape) {
	T, hidden, heads := s.tokens, e.hidden, s.headsPerRank(e)
	if e.mla {
		// MLA (DeepSeek-V2 §2.1): low-rank q (when q_lora_rank > 0) and
		// kv down-projections, then per-head up-projections, which
		// mla_up_proj recomputes with the rotary embedding.
		var up float64
		if e.qLoraRank > 0 {
			e.linear(c, 1, T, e.qLoraRank, hidden)
			up += e.linear(c, 1, T, heads*e.qkHeadDim, e.qLoraRank)
		} else {
			e.linear(c, 1, T, heads*e.qkHeadDim, hidden)
		}
		e.linear(c, 1, T, e.kvLoraRank+e.ropeDim, hidden)
		up += e.linear(c, 1, T, heads*(e.qkHeadDim-e.ropeDim+e.vHeadDim), e.kvLoraRank)
		up += e.dev.Mem(T * fusedRotaryBytes * 2 * heads * e.qkHeadDim)
		recomputes(c, s, up, spec.RecomputeMLAUpProj)
	} else {
		qkv := e.linear(c, 1, T, (heads+2*s.kvHeadsPerRank)*e.qkHeadDim, hidden)
		// Per-op checkpointing saves the 1st and 3rd matmuls, q and v.
		c.opKept += qkv * (heads + s.kvHeadsPerRank) / (heads + 2*s.kvHeadsPerRank)
	}
	e.linear(c, 1, T, hidden, heads*e.vHeadDim)
	// The input norm, which layernorm recomputes.
	recomputes(c, s, e.dev.Mem(s.normTokens*normFwdBytes*hidden), spec.RecomputeLayerNorm)
}

// attentionSaved keeps what the attention block saves for backward.
func (e *Estimator) attentionSaved(c *layerCost, s *shape) {
	T, normT, hidden, heads := s.tokens, s.normTokens, e.hidden, s.headsPerRank(e)
	keep(c, s, normT*bf16Bytes*hidden, 0)                                // the input norm's input (the residual stream)
	keep(c, s, normT*e.gemmInputBytes()*hidden, spec.RecomputeLayerNorm) // its output, the QKV GEMM's input
	if e.mla {
		// The down-projections' outputs (inputs of the q and kv norms and
		// up-projections), and q, k, v from the up-projections: k carries
		// the shared rotary part per head (mla_up_proj frees q, k, v; for
		// DeepSeek-V3 128·192 + 128·192 + 128·128 elements per token).
		keep(c, s, T*bf16Bytes*(e.qLoraRank+e.kvLoraRank+e.ropeDim), 0)
		// The q and kv latents are normed before their up-projections
		// (DeepSeek-V2 §2.1.2's extra RMSNorms; Megatron-Core's
		// qk_layernorm), and the up-projection saves the norm's output
		// beside its input: Transformer Engine's LayerNormLinear, which
		// Megatron-Core's MLA spec uses for linear_q_up_proj and
		// linear_kv_up_proj (gpt_layer_specs.py), saves both inputmat
		// and ln_out. mla_up_proj recomputes the norms with the
		// up-projections and keeps only the latents.
		keep(c, s, T*e.gemmInputBytes()*(e.qLoraRank+e.kvLoraRank), spec.RecomputeMLAUpProj)
		keep(c, s, T*bf16Bytes*heads*(2*e.qkHeadDim+e.vHeadDim), spec.RecomputeMLAUpProj)
	} else {
		// q, k, v after rotary, saved by the attention kernel (core_attn
		// is a standard checkpoint: it keeps its inputs).
		keep(c, s, T*bf16Bytes*(heads+2*s.kvHeadsPerRank)*e.qkHeadDim, 0)
	}
	// The attention output (the output projection's input) and the
	// softmax statistics or, unfused, the scores.
	keep(c, s, T*e.attnOutputBytes()*heads*e.vHeadDim, 0)
	if s.cp > 1 && e.cpA2A {
		// All-to-all CP keeps the output twice: Transformer Engine's
		// AttnFuncWithCPAndQKVOA2A saves it as the kernel wrote it, head
		// shards over the whole sequence, before the all-to-all back to
		// sequence shards (so its backward sends only the output's
		// gradient), and the output projection saves the result as its
		// input (TE >= 2.8, transformer_engine/pytorch/attention/
		// dot_product_attention/context_parallel.py). Recomputing the
		// attention core frees the kernel's copy.
		keep(c, s, T*bf16Bytes*heads*e.vHeadDim, spec.RecomputeCoreAttn)
	}
	keep(c, s, e.scoresSaved(s), spec.RecomputeCoreAttn)
	if e.dropout {
		keep(c, s, normT*dropoutMaskSavedBytes*hidden, 0)
	}
}

// attentionCore adds the attention itself: softmax(q·kᵀ)·v.
func (e *Estimator) attentionCore(c *layerCost, s *shape) {
	heads, seq := s.headsPerRank(e), e.seqLen
	if !e.flash {
		e.unfusedAttention(c, s)
		return
	}
	// Causal: half of the 2·s²·(dqk+dv) FLOPs per head and sequence; a CP
	// rank holds 1/cp of the queries.
	flops := s.microBatch * heads * seq * seq * (e.qkHeadDim + e.vHeadDim) / s.cp
	kernelSeq := seq / s.cp // ring attention: each step a chunk of queries against one of keys
	if s.cp > 1 && e.cpA2A {
		kernelSeq = seq // all-to-all: heads/cp heads over the whole sequence
	}
	f, b := e.dev.Attention(flops, kernelSeq)
	full, fullB := f, b // a full-attention layer's, which hide ring attention's exchanges
	if e.windowFrac > 0 {
		// Sliding-window layers: 2·windowKeys·(dqk+dv) FLOPs a query.
		// The fused kernels skip the tiles outside the window (Transformer
		// Engine's window_size, FlashAttention's window_size), so each
		// query block loops over a window's keys: the kernel runs at the
		// efficiency of a causal sequence of the same mean keys, 2·window.
		wflops := s.microBatch * heads * seq * 2 * e.windowKeys * (e.qkHeadDim + e.vHeadDim) / s.cp
		fw, bw := e.dev.Attention(wflops, min(2*e.window, kernelSeq))
		f = (1-e.windowFrac)*f + e.windowFrac*fw
		b = (1-e.windowFrac)*b + e.windowFrac*bw
	}
	c.fwd += f
	c.bwd += b
	c.opKept += f // per-op checkpointing saves the attention kernel's outputs
	recomputes(c, s, f, spec.RecomputeCoreAttn)
	switch {
	case s.cp > 1 && e.cpA2A:
		e.cpAllToAll(c, s)
	case s.cp > 1:
		// Ring attention: cp-1 exchanges of a K,V chunk, each hidden
		// behind the attention of the chunk in hand.
		kvBytes := s.tokens * bf16Bytes * (s.kvHeadsPerRank*e.qkHeadDim + s.kvHeadsPerRank*e.vHeadDim)
		if e.mla {
			kvBytes = s.tokens * bf16Bytes * heads * (e.qkHeadDim + e.vHeadDim)
		}
		step := e.fab.SendRecv(kvBytes, s.tp)
		// On full-attention layers; a sliding-window layer needs only
		// the window's keys from its neighbour, left out.
		c.cpExposed += (1 - e.windowFrac) * (s.cp - 1) * (max(0, step-full/s.cp) + max(0, 2*step-fullB/s.cp))
	}
}

// cpAllToAll adds all-to-all context parallelism's exchanges, on the
// critical path: forward sends q, k and v from sequence to head shards
// and the output back, backward the output's gradient and then the
// gradients of q, k and v, one all-to-all per tensor over the cp ranks, tp
// apart (Transformer Engine's flash_attn_a2a_communicate, one
// all_to_all_single per tensor; the attention waits for all three).
// Recomputing the attention core (or the whole layer) repeats the
// forward's.
func (e *Estimator) cpAllToAll(c *layerCost, s *shape) {
	heads, kvHeads := s.headsPerRank(e), s.kvHeadsPerRank
	if e.mla {
		kvHeads = heads
	}
	per := s.tokens * bf16Bytes
	qkv := e.fab.AllToAll(per*heads*e.qkHeadDim, s.cp, s.tp) +
		e.fab.AllToAll(per*kvHeads*e.qkHeadDim, s.cp, s.tp) + e.fab.AllToAll(per*kvHeads*e.vHeadDim, s.cp, s.tp)
	out := e.fab.AllToAll(per*heads*e.vHeadDim, s.cp, s.tp)
	t := 2 * (qkv + out)
	if s.recompute == spec.RecomputeFull || s.recompute.Has(spec.RecomputeCoreAttn) {
		t += qkv + out
	}
	c.cpExposed += t
}

// unfusedAttention: the full s×s scores as batched GEMMs, then a fused
// scale-mask-softmax (and dropout) over the scores.
func (e *Estimator) unfusedAttention(c *layerCost, s *shape) {
	seq := e.seqLen
	batch := s.microBatch * s.headsPerRank(e)
	f := e.dev.BatchedGEMMBF16(batch, seq, seq, e.qkHeadDim) + e.dev.BatchedGEMMBF16(batch, seq, e.vHeadDim, seq)
	scores := batch * seq * seq
	fwdBytes, bwdBytes := softmaxFwdBytes, softmaxBwdBytes
	if e.dropout {
		fwdBytes, bwdBytes = softmaxDropoutFwdBytes, softmaxDropoutBwdBytes
	}
	soft := e.dev.Mem(scores * fwdBytes)
	c.fwd += f + soft
	c.bwd += 2*f + e.dev.Mem(scores*bwdBytes)
	recomputes(c, s, f+soft, spec.RecomputeCoreAttn)
}

// scoresSaved is the bytes unfused attention keeps of its s×s scores for
// one micro-batch on one device; flash attention keeps none, only its
// softmax statistics.
func (e *Estimator) scoresSaved(s *shape) float64 {
	if e.flash {
		return s.tokens * softmaxLSEBytes * s.headsPerRank(e) // the log-sum-exp only
	}
	per := scoresSavedBytes
	if e.dropout {
		per = scoresDropoutSavedBytes
	}
	return s.microBatch * s.headsPerRank(e) * e.seqLen * e.seqLen * per
}

// attentionParams is the attention weights one TP rank holds: heads split
// by tp, while MLA's down-projections and KV heads beyond kv_heads are
// replicated.
func (e *Estimator) attentionParams(s *shape) float64 {
	heads, hidden := s.headsPerRank(e), e.hidden
	if e.mla {
		q := hidden * heads * e.qkHeadDim
		if e.qLoraRank > 0 {
			q = hidden*e.qLoraRank + e.qLoraRank*heads*e.qkHeadDim
		}
		return q + hidden*(e.kvLoraRank+e.ropeDim) + e.kvLoraRank*heads*(e.qkHeadDim-e.ropeDim+e.vHeadDim) + heads*e.vHeadDim*hidden
	}
	return hidden*(heads+2*s.kvHeadsPerRank)*e.qkHeadDim + heads*e.vHeadDim*hidden
}
