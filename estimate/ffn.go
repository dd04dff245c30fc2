package estimate

import "github.com/flopcast/flopcast/spec"

// The dense feed-forward block (MLP): up (and gate) projection, the
// activation function, down projection.

// An FFN keeps, per element of its intermediate (the ffn-wide
// activations): its first GEMM's output, the activation's input (SwiGLU:
// gate and up, 2 × 2 B; GELU: 2 B), and the activation's output, the
// second GEMM's input (gemmInputBytes: 2 B, or the quantised copy under
// a low-precision recipe) (Korthikanti et al. 2022 §4.1, generalised to
// SwiGLU). Eager PyTorch's unfused SwiGLU keeps one more bf16 tensor: the
// SiLU's output, which the product saves (GELU-tanh is one kernel) (PyTorch derivatives.yaml: silu saves
// its input, mul both operands).
const (
	swigluInputBytes   = 2 * bf16Bytes
	geluInputBytes     = bf16Bytes
	eagerFFNExtraBytes = bf16Bytes
	// activationFwdBytes per intermediate element: the fused activation
	// reads its input and writes its output (SwiGLU 4 + 2 B), what
	// recomputing it costs.
	activationFwdBytes = 3 * bf16Bytes
)

// ffnSaved is what an FFN or MoE block leaves for the elementwise
// kernels: the bytes per token its activation and routing stream (what
// the fused recipe's kernels read and write), and the width of its
// activation function (intermediate elements per token) that eager
// PyTorch's unfused activation kernels stream.
type ffnSaved struct {
	bytes, width float64
}

// ffnInputBytes is the bytes per intermediate element an FFN keeps of its
// activation's input; ffnOutputBytes of its output.
func (e *Estimator) ffnInputBytes() float64 {
	if e.swiglu {
		return swigluInputBytes
	}
	return geluInputBytes
}

func (e *Estimator) ffnOutputBytes() float64 {
	b := e.gemmInputBytes()
	if e.eager && e.swiglu {
		b += eagerFFNExtraBytes
	}
	return b
}

// ffnTraffic is the bytes per intermediate element the fused activation
// reads and writes: its input and its bf16 output (eager PyTorch's
// unfused kernels write one more tensor).
func (e *Estimator) ffnTraffic() float64 {
	b := e.ffnInputBytes() + bf16Bytes
	if e.eager && e.swiglu {
		b += eagerFFNExtraBytes
	}
	return b
}

// ffnGEMMs adds the up (and gate) and down projections of an FFN of width
// inner (per TP rank) over count experts of tokens each, and returns
// their forward time with the activation's (what recomputing the FFN
// costs; the activation itself is priced in elementwise.go).
func (e *Estimator) ffnGEMMs(c *layerCost, count, tokens, inner float64) float64 {
	f, _, _ := e.ffnGEMMParts(c, count, tokens, inner)
	return f
}

// ffnGEMMParts is ffnGEMMs that also returns the forward time of the up
// (and gate) projection and of the down projection.
func (e *Estimator) ffnGEMMParts(c *layerCost, count, tokens, inner float64) (fwd, up, down float64) {
	width := inner
	if e.swiglu {
		width = 2 * inner // gate and up in one GEMM
	}
	up = e.linear(c, count, tokens, width, e.hidden)
	down = e.linear(c, count, tokens, e.hidden, inner)
	return up + down + e.dev.Mem(count*tokens*inner*activationFwdBytes), up, down
}

// mlp adds a dense layer's FFN, keeps what it saves, and returns its
// activation traffic.
func (e *Estimator) mlp(c *layerCost, s *shape) ffnSaved {
	T, normT, hidden := s.tokens, s.normTokens, e.hidden
	inner := e.ffn / s.tp
	f, up, down := e.ffnGEMMParts(c, 1, T, inner)
	recomputes(c, s, f, spec.RecomputeMLP)
	// Per-op checkpointing saves every other matmul after the attention's
	// four (q, k, v, output): SwiGLU's gate (w1, the 5th; the up
	// projection w3 is the 6th) and down projection (w2, the 7th); GELU's
	// first projection (the 5th) only.
	if e.swiglu {
		c.opKept += up/2 + down
	} else {
		c.opKept += up
	}
	recomputes(c, s, e.dev.Mem(normT*normFwdBytes*hidden), spec.RecomputeLayerNorm)
	c.params = e.attentionParams(s) + e.denseFFNParams/s.tp
	keep(c, s, normT*bf16Bytes*hidden, 0)                                // the pre-FFN norm's input
	keep(c, s, normT*e.gemmInputBytes()*hidden, spec.RecomputeLayerNorm) // its output, FC1's input
	keep(c, s, T*e.ffnInputBytes()*inner, spec.RecomputeMLP)
	keep(c, s, T*e.ffnOutputBytes()*inner, spec.RecomputeMLP)
	if e.dropout {
		keep(c, s, normT*dropoutMaskSavedBytes*hidden, 0)
	}
	return ffnSaved{bytes: e.ffnTraffic() * inner, width: inner}
}
