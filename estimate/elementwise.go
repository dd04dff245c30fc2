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

// Eager PyTorch under autocast (the pytorch-amp recipe): an fp32 residual
// stream and norms, a cast to bf16 before each GEMM, unfused rotary and
// activation. Bytes per element. Assumptions from the kernels' reads and
// writes (autocast's op lists, PyTorch amp docs).
const (
	// eagerNormResidualBytes per hidden element per token: two fp32
	// residual adds (12 B each) and two fp32 norms with the bf16 cast of
	// their output (about 12 B each).
	eagerNormResidualBytes = 48.0
	// eagerRotaryBytes per q and k element: x·cos + rotate_half(x)·sin as
	// separate kernels.
	eagerRotaryBytes = 12.0
	// eagerActivationBytes per intermediate element: silu(gate) (read and
	// write bf16) and the product with up (two reads, one write).
	eagerActivationBytes = 10.0
	// eagerWeightCastFwdBytes per parameter: autocast reads each fp32
	// weight and writes its bf16 copy in every forward.
	eagerWeightCastFwdBytes = 6.0
	// eagerWeightGradBytes per parameter: backward writes the bf16 weight
	// gradient, casts it to fp32 and accumulates it into the fp32 .grad.
	eagerWeightGradBytes = 18.0
	// eagerKernelsFwd/Bwd: norms, casts, rotary, activation, residual
	// adds and attention as separate launches.
	eagerKernelsFwd, eagerKernelsBwd = 24, 36
)

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
		fwdBytes = normT*eagerNormResidualBytes*hidden + T*eagerRotaryBytes*qkHeads*e.qkHeadDim + T*ffn.width*eagerActivationBytes
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
		c.kernelsFwd += eagerKernelsFwd
		c.kernelsBwd += eagerKernelsBwd
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
