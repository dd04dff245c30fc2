package estimate

// The mixture-of-experts block: router, token permutation, the routed
// experts as one grouped GEMM, shared experts, and the expert-parallel
// all-to-all that carries tokens to their experts and back.

const (
	// Saved per routed token besides the experts' own tensors: the
	// dispatched input and the expert output before combining, bf16
	// (2 × 2 B per hidden element; Megatron-Core's token dispatcher keeps
	// both for backward).
	moeRoutedSavedBytes = 4.0
	// routerProbBytes: the router keeps fp32 probabilities of every expert
	// per token (Megatron-Core moe_utils.py computes the softmax in fp32).
	routerProbBytes = fp32Bytes
	// permuteBytes: token permutation before the experts and
	// un-permutation after each read and write every routed token in bf16
	// (2 passes × (2 B read + 2 B write)).
	permuteBytes = 2 * 4.0
	// moeKernels: router softmax and top-k, permute, un-permute, and their
	// index bookkeeping, per pass.
	moeKernels = 6
)

// moeBlock adds an MoE layer's router, experts and dispatch, and returns
// what it saves.
func (e *Estimator) moeBlock(c *layerCost, s *shape) ffnSaved {
	T, hidden := s.tokens, e.hidden
	e.linear(c, 1, T, e.experts, hidden) // router
	localExperts := e.experts / s.ep
	tokensPerExpert := T * e.topK * s.ep / e.experts // balanced routing
	inner := e.expertFFN / s.tp
	e.ffnGEMMs(c, localExperts, tokensPerExpert, inner)
	perElement := e.ffnSavedPerElement()
	saved := ffnSaved{
		bytes: e.topK * (perElement*inner + moeRoutedSavedBytes*hidden),
		width: e.topK * inner,
	}
	if e.sharedExperts > 0 {
		sharedInner := e.sharedExperts * e.expertFFN / s.tp
		e.ffnGEMMs(c, 1, T, sharedInner)
		saved.bytes += perElement * sharedInner
		saved.width += sharedInner
	}
	saved.bytes += routerProbBytes * e.experts
	perm := permuteBytes * T * e.topK * hidden
	c.fwd += e.dev.Mem(perm)
	c.bwd += e.dev.Mem(perm)
	c.kernelsFwd += moeKernels
	c.kernelsBwd += moeKernels
	c.params = e.attentionParams(s) + e.sharedParams/s.tp + e.routerParams
	c.expParams = e.expertParams / (s.tp * s.ep)
	c.epComm = e.expertAllToAll(s)
	return saved
}

// expertAllToAll is the raw time of the EP all-to-alls of one layer,
// forward and backward: dispatch in the GEMM precision (FP8 runs quantise
// before dispatch), combine in bf16, each once per pass.
func (e *Estimator) expertAllToAll(s *shape) float64 {
	if s.ep <= 1 {
		return 0
	}
	dispatch := float64(bf16Bytes)
	if e.fp8 {
		dispatch = 1
	}
	elems := s.tokens * e.topK * e.hidden
	if s.sp {
		elems /= s.tp
	}
	return 2 * (e.fab.AllToAll(dispatch*elems, s.ep, s.tp) + e.fab.AllToAll(bf16Bytes*elems, s.ep, s.tp))
}

// exposedEP is the expert all-to-all left on the critical path. Overlapped
// (two micro-batches in flight, one communicating while the other
// computes), only what outlasts the layer's compute stays exposed, and the
// hidden part takes its share of the SMs.
func (e *Estimator) exposedEP(c *layerCost) float64 {
	if !e.epOverlap {
		return c.epComm
	}
	comp := c.fwd + c.bwd + c.recompute
	exp := max(0, c.epComm-comp)
	return exp + commContention*(c.epComm-exp)
}
