package estimate

// The dense feed-forward block (MLP): up (and gate) projection, the
// activation function, down projection.

// Bytes an FFN keeps for backward per element of its intermediate (the
// ffn-wide activations), bf16: SwiGLU keeps the gate and up outputs and
// their product (3 × 2 B); GELU its input and output (2 × 2 B)
// (Korthikanti et al. 2022 §4.1, generalised to SwiGLU). Eager PyTorch
// keeps one more bf16 tensor: the unfused activation's output
// (torch's derivatives.yaml: silu and gelu save their input, mul both
// operands).
const (
	swigluSavedBytes   = 6.0
	geluSavedBytes     = 4.0
	eagerFFNExtraBytes = 2.0
)

// ffnSaved is what an FFN or MoE block leaves for the rest of the layer:
// the bytes per token it keeps for backward, and the width of its
// activation function (intermediate elements per token) that eager
// PyTorch's unfused activation kernels stream.
type ffnSaved struct {
	bytes, width float64
}

// ffnSavedPerElement is swigluSavedBytes or geluSavedBytes, plus the
// eager recipe's extra tensor.
func (e *Estimator) ffnSavedPerElement() float64 {
	b := swigluSavedBytes
	if !e.swiglu {
		b = geluSavedBytes
	}
	if e.eager {
		b += eagerFFNExtraBytes
	}
	return b
}

// ffnGEMMs adds the up (and gate) and down projections of an FFN of width
// inner (per TP rank) over count experts of tokens each.
func (e *Estimator) ffnGEMMs(c *layerCost, count, tokens, inner float64) {
	up := inner
	if e.swiglu {
		up = 2 * inner // gate and up in one GEMM
	}
	e.linear(c, count, tokens, up, e.hidden)
	e.linear(c, count, tokens, e.hidden, inner)
}

// mlp adds a dense layer's FFN and returns what it saves.
func (e *Estimator) mlp(c *layerCost, s *shape) ffnSaved {
	inner := e.ffn / s.tp
	e.ffnGEMMs(c, 1, s.tokens, inner)
	c.params = e.attentionParams(s) + e.denseFFNParams/s.tp
	return ffnSaved{bytes: e.ffnSavedPerElement() * inner, width: inner}
}
