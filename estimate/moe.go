package estimate

import "github.com/flopcast/flopcast/spec"

// The mixture-of-experts block: router, token permutation, the routed
// experts as one grouped GEMM, shared experts, and the expert-parallel
// all-to-all that carries tokens to their experts and back.

const (
	// moeRoutedBytes per routed token and hidden element: the dispatched
	// input and the expert output before combining, bf16 (2 × 2 B), that
	// the activation and routing kernels stream.
	moeRoutedSavedBytes = 2 * bf16Bytes
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

// moeBlock adds an MoE layer's router, experts and dispatch, keeps what
// it saves, and returns its activation and routing traffic.
func (e *Estimator) moeBlock(c *layerCost, s *shape) ffnSaved {
	T, normT, hidden := s.tokens, s.normTokens, e.hidden
	fwd0 := c.fwd
	e.linear(c, 1, T, e.experts, hidden) // router
	localExperts := e.experts / s.ep
	tokensPerExpert := T * e.topK * s.ep / e.experts // balanced routing
	inner := e.expertFFN / s.tp
	e.ffnGEMMs(c, localExperts, tokensPerExpert, inner)
	routed := T * e.topK // routed token copies on this device
	traffic := ffnSaved{
		bytes: e.topK * (e.ffnTraffic()*inner + moeRoutedSavedBytes*hidden),
		width: e.topK * inner,
	}
	var shared float64 // the shared experts' forward
	if e.sharedExperts > 0 {
		sharedInner := e.sharedExperts * e.expertFFN / s.tp
		shared = e.ffnGEMMs(c, 1, T, sharedInner)
		traffic.bytes += e.ffnTraffic() * sharedInner
		traffic.width += sharedInner
		keep(c, s, T*(e.ffnInputBytes()+e.ffnOutputBytes())*sharedInner, spec.RecomputeSharedExperts|spec.RecomputeMoE)
	}
	traffic.bytes += routerProbBytes * e.experts
	perm := permuteBytes * T * e.topK * hidden
	c.fwd += e.dev.Mem(perm)
	c.bwd += e.dev.Mem(perm)
	c.kernelsFwd += moeKernels
	c.kernelsBwd += moeKernels
	c.params = e.attentionParams(s) + e.sharedParams/s.tp + e.routerParams
	c.expParams = e.expertParams / (s.tp * s.ep)
	c.epComm = e.expertAllToAll(s)

	recomputes(c, s, e.dev.Mem(normT*normFwdBytes*hidden), spec.RecomputeLayerNorm)
	if s.recompute.Has(spec.RecomputeMoE) {
		// The whole layer again: router, permutation, experts (and the
		// shared experts), and one more dispatch and combine
		// (moe_layer.py checkpoints them together).
		c.recompute += c.fwd - fwd0
		c.epComm *= 1.5
	} else {
		recomputes(c, s, shared, spec.RecomputeSharedExperts)
		recomputes(c, s, e.dev.Mem(routed*inner*activationFwdBytes), spec.RecomputeMoEAct)
	}
	keep(c, s, normT*bf16Bytes*hidden, 0)                                // the pre-FFN norm's input
	keep(c, s, normT*e.gemmInputBytes()*hidden, spec.RecomputeLayerNorm) // its output: router and shared experts' input
	keep(c, s, T*routerProbBytes*e.experts, spec.RecomputeMoE)
	// Per routed token: the dispatched input (the experts' FC1 input)
	// and the activation's input and output. Megatron-Core weighs each
	// token by its router probability inside the activation
	// (moe/experts.py, weighted_bias_swiglu_impl), so the expert output
	// is not kept; eager implementations multiply the expert output by
	// the probability and keep it (bf16).
	perRouted := e.gemmInputBytes()*hidden + e.ffnInputBytes()*inner + routerProbBytes
	if e.eager {
		perRouted += bf16Bytes * hidden
	}
	keep(c, s, routed*perRouted, spec.RecomputeMoE)
	keep(c, s, routed*e.ffnOutputBytes()*inner, spec.RecomputeMoE|spec.RecomputeMoEAct)
	if e.dropout {
		keep(c, s, normT*dropoutMaskSavedBytes*hidden, 0)
	}
	return traffic
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
