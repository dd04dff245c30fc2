package estimate

// Memory-bound kernels of a layer: norms, residual adds, rotary embedding,
// the activation function, dropout, and (eager PyTorch) the casts of
// autocast. Each is priced by the bytes it reads and writes.

// Fused kernels (the megatron recipe: Transformer Engine / Apex fused
// norms, fused rotary, fused bias-dropout-add), bytes per element.
const (
	// fusedNormResidualBytes per hidden element per token: two norms
	// (read and write bf16, 4 B each) and two residual adds (two reads,
	// one write, 6 B each).
	fusedNormResidualBytes = 2*4.0 + 2*6.0
	// fusedRotaryBytes per q and k element: one bf16 read and write.
	fusedRotaryBytes = 4.0
	// dropoutMaskBytes per hidden element: the two residual dropouts
	// write a 1-byte mask each.
	dropoutMaskBytes = 2.0
	// fusedKernelsFwd/Bwd: norm, rotary, attention, activation,
	// bias-dropout-add per pass (forward), half again in backward.
	fusedKernelsFwd, fusedKernelsBwd = 8, 12
)

// Eager PyTorch under autocast (the pytorch-amp recipe): every kernel is a
// launch of its own, priced by the bytes it reads and writes, per element.
// Autocast's op lists (aten/src/ATen/autocast_mode.cpp) cast linear and
// matmul inputs to bf16 and run layer_norm, log_softmax and cross_entropy
// in fp32; other ops (add, mul, silu, gelu, rms_norm) run in their inputs'
// dtype, promoting mixed inputs to fp32. With fp32 weights the residual
// stream is fp32 (the embedding lookup of an fp32 table, then fp32 + bf16
// adds); under FSDP the gathered compute weights are bf16 and so is the
// stream (residualBytes).
const (
	// eagerCastDownBytes per element: the bf16 cast of an fp32 tensor
	// before a GEMM (read 4, write 2); eagerCastUpBytes the fp32 copy
	// autocast makes of a bf16 input to an fp32 op (read 2, write 4).
	eagerCastDownBytes, eagerCastUpBytes = fp32Bytes + bf16Bytes, bf16Bytes + fp32Bytes
	// eagerRotaryBytes per q and k element: q·cos + rotate_half(q)·sin as
	// separate bf16 kernels: the negation of half (2 B), the cat (4 B),
	// two products (4 B each) and their sum (6 B) (HF transformers
	// modeling_llama.py apply_rotary_pos_emb; torchtitan's complex form,
	// fp32 up-cast, product and cast back, moves as much).
	eagerRotaryBytes = 20.0
	// eagerSwiGLUBytes per intermediate element: silu(gate) (read and
	// write bf16) and the product with up (two reads, one write).
	eagerSwiGLUBytes = 10.0
	// eagerGELUBytes per intermediate element: GELU-tanh is one kernel
	// (read and write bf16).
	eagerGELUBytes = 2 * bf16Bytes
	// eagerBiasAddBytes per output element of a linear layer with a bias:
	// the add reads and writes the bf16 output; eagerBiasGradBytes: its
	// gradient is a reduction that reads the output gradient once
	// (derivatives.yaml: bias grad = grad.sum over tokens).
	eagerBiasAddBytes, eagerBiasGradBytes = 2 * bf16Bytes, bf16Bytes
	// eagerWeightCastFwdBytes per parameter: autocast reads each fp32
	// weight and writes its bf16 copy in every forward.
	eagerWeightCastFwdBytes = 6.0
	// eagerWeightGradBytes per parameter: backward writes the bf16 weight
	// gradient, casts it to fp32 and accumulates it into the fp32 .grad.
	eagerWeightGradBytes = 18.0
)

// residualBytes is the size of an element of eager PyTorch's residual
// stream: fp32 with fp32 weights, bf16 with FSDP's bf16 compute weights.
func residualBytes(s *shape) float64 {
	if s.zero3 {
		return bf16Bytes
	}
	return fp32Bytes
}

// eagerNormResidualBytes is the forward bytes per hidden element per token
// of a layer's two norms and two residual adds in eager PyTorch. A
// LayerNorm runs in fp32 under autocast: an fp32 copy of a bf16 input,
// the fp32 norm (read, write), the bf16 cast for the GEMM. An RMSNorm
// runs in the stream's dtype and is cast for the GEMM when that is fp32.
// A residual add reads the stream and the bf16 block output and writes
// the stream.
func (e *Estimator) eagerNormResidualBytes(s *shape) float64 {
	r := residualBytes(s)
	norm := 2 * r
	if e.layerNorm {
		norm = 2 * fp32Bytes
		if r != fp32Bytes {
			norm += eagerCastUpBytes
		}
	}
	if r == fp32Bytes || e.layerNorm {
		norm += eagerCastDownBytes
	}
	add := 2*r + bf16Bytes
	return 2*norm + 2*add
}

// eagerActivationBytes is the forward bytes per intermediate element of
// eager PyTorch's FFN activation.
func (e *Estimator) eagerActivationBytes() float64 {
	if e.swiglu {
		return eagerSwiGLUBytes
	}
	return eagerGELUBytes
}

// biasAdd adds the bias of a linear layer of n output elements (tokens ×
// width) under eager PyTorch, where it is a kernel of its own; the fused
// recipe folds it into the GEMM epilogue.
func (e *Estimator) biasAdd(c *layerCost, n float64) {
	if !e.eager || !e.bias {
		return
	}
	c.fwd += e.dev.Mem(n * eagerBiasAddBytes)
	c.bwd += e.dev.Mem(n * eagerBiasGradBytes)
}

// elementwise adds the memory-bound kernels of one layer. Backward reads
// and writes twice what forward does (the gradient of each input and the
// saved tensors it needs).
func (e *Estimator) elementwise(c *layerCost, s *shape, ffn ffnSaved) {
	qkHeads := s.headsPerRank(e) + s.kvHeadsPerRank // heads rotary touches
	if e.mla {
		qkHeads = 2 * s.headsPerRank(e)
	}
	T, normT, hidden := s.tokens, s.normTokens, e.hidden
	var fwdBytes, bwdBytes float64
	if e.eager {
		fwdBytes = normT*e.eagerNormResidualBytes(s)*hidden + T*ffn.width*e.eagerActivationBytes()
		if e.rope {
			fwdBytes += T * eagerRotaryBytes * qkHeads * e.qkHeadDim
		}
		bwdBytes = 2 * fwdBytes
		if !s.zero3 {
			// fp32 weights: autocast casts each to bf16 in every forward,
			// and backward casts each weight gradient up and accumulates
			// it into the fp32 .grad. Under FSDP the gathered weights are
			// already bf16 and gradients are reduce-scattered instead.
			local := e.activeParams(c, s)
			fwdBytes += eagerWeightCastFwdBytes * local
			bwdBytes += eagerWeightGradBytes * local
		}
		f, b := e.eagerKernels(s)
		c.kernelsFwd += f
		c.kernelsBwd += b
	} else {
		fwdBytes = normT*fusedNormResidualBytes*hidden + T*fusedRotaryBytes*qkHeads*e.qkHeadDim + T*ffn.bytes
		if e.dropout {
			fwdBytes += normT * dropoutMaskBytes * hidden
		}
		bwdBytes = 2 * fwdBytes
		c.kernelsFwd += fusedKernelsFwd
		c.kernelsBwd += fusedKernelsBwd
	}
	c.fwd += e.dev.Mem(fwdBytes)
	c.bwd += e.dev.Mem(bwdBytes)
}

// activeParams is the parameters of one layer on this device that a
// micro-batch touches: the dense part and the experts its tokens are
// routed to.
func (e *Estimator) activeParams(c *layerCost, s *shape) float64 {
	return c.params + c.expParams*e.topK/max(1, e.experts/s.ep)
}

// eagerKernels is the kernels eager PyTorch launches per layer besides the
// GEMMs (linear counts those), forward and backward, one for each of the
// memory-bound operations priced above, as the module code of HF
// transformers (modeling_llama.py, modeling_gpt2.py) and
// tools/gpu/measure.py runs them, and the backward formulas of
// tools/autograd/derivatives.yaml:
//
//   - a norm: one kernel (LayerNorm, and RMSNorm's fused kernel since
//     PyTorch 2.7), and the autocast casts of its input and output;
//     backward the input and the weight gradients and the casts' own
//     backward casts;
//   - a residual add, and backward the cast of the fp32 gradient to the
//     bf16 branch and the sum of the two gradients at the fork;
//   - GELU one kernel, SwiGLU silu and the product; backward GELU's one,
//     silu's, the product's two and the cat of the gate and up gradients;
//   - rotary, per q and k: the negation, the cat, two products and the sum;
//     backward two products, the negation, the cat of the halves' gradients
//     and the sum of the two paths;
//   - with fp32 weights (not FSDP) the bf16 cast of each linear's weight,
//     and backward the fp32 cast of its gradient; a bias's cast, and
//     backward its gradient's reduction;
//   - the attention kernel, and its backward with the flash backward's
//     pre- and post-processing (counted as two);
//   - grouped-query attention: HF's repeat_kv copies of k and v, and
//     backward their reductions;
//   - the cat of the q, k and v gradients of the fused projection.
func (e *Estimator) eagerKernels(s *shape) (fwd, bwd float64) {
	const linears = 4 // q, k and v; output; FC1 (gate and up); FC2
	r := residualBytes(s)
	normF, normB := 1.0, 2.0
	if r == fp32Bytes || e.layerNorm {
		normF++ // the bf16 cast for the GEMM
		normB++
	}
	if e.layerNorm && r != fp32Bytes {
		normF++ // the fp32 copy of a bf16 input
		normB++
	}
	fwd = 2*normF + 2 + 1 // norms, residual adds, attention
	bwd = 2*normB + 2*2 + 2 + 1
	if e.swiglu {
		fwd, bwd = fwd+2, bwd+4
	} else {
		fwd, bwd = fwd+1, bwd+1
	}
	if e.rope {
		fwd, bwd = fwd+2*5, bwd+2*5
	}
	if !s.zero3 {
		fwd, bwd = fwd+linears, bwd+linears
	}
	if e.bias {
		fwd, bwd = fwd+linears, bwd+linears
	}
	if e.kvHeads < e.heads && !e.mla {
		fwd, bwd = fwd+2, bwd+2
	}
	return fwd, bwd
}
