package estimate

import (
	"math"

	"github.com/flopcast/flopcast/hardware"
	"github.com/flopcast/flopcast/spec"
)

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

// Router skew under dropless routing. Wang et al. 2024, "Auxiliary-Loss-
// Free Load Balancing Strategy for Mixture-of-Experts" (arXiv 2408.15664,
// Table 2), measure MaxVio_global = (busiest expert's load − mean load) /
// mean load over a validation set, for MoE models of 64 routed experts:
// 0.52 for the 3B model balanced by an auxiliary loss (0.72 for the 1B),
// 0.04 with the auxiliary-loss-free per-expert bias that DeepSeek-V3 adopts
// (its report §2.1.2). Read as the largest of 64 normal draws, the experts'
// loads vary with a coefficient of variation MaxVio / E[max of 64].
var (
	auxLossRouteCV    = 0.52 / hardware.MaxOfNormals(64)
	expertBiasRouteCV = 0.04 / hardware.MaxOfNormals(64)
)

// moeBlock adds an MoE layer's router, experts and dispatch, keeps what
// it saves, and returns its activation and routing traffic.
//
// MoE parallel folding (Megatron-Core, moe/README.md): the experts run on
// their own grid of etp×ep ranks laid over the dense layers' tp×cp×dp.
// Each rank brings its tokens/tp of the micro-batch; dispatch sends them to
// the ep ranks of their experts, an expert-TP group all-gathers what its
// members received, and each rank runs its experts/ep experts at
// expert_ffn/etp wide.
func (e *Estimator) moeBlock(c *layerCost, s *shape) ffnSaved {
	T, normT, hidden := s.tokens, s.normTokens, e.hidden
	fwd0 := c.fwd
	e.linear(c, 1, T, e.experts, hidden) // router
	localExperts := e.experts / s.ep
	tokensIn := T / s.tp
	tokensPerExpert := tokensIn * s.etp * s.ep * e.topK / e.experts // balanced routing
	// Dropless or random routing: the busiest EP rank holds load times
	// its share, and every rank of the group waits for it.
	load := e.busiestLoad(s, tokensPerExpert)
	tokensPerExpert *= load
	inner := e.expertFFN / s.etp
	gemmRows := tokensPerExpert
	if e.varLoads {
		// Groups of varying size are ragged: each expert's last row
		// tile is part empty.
		gemmRows += e.dev.RaggedRows()
	}
	e.ffnGEMMs(c, localExperts, gemmRows, inner)
	// Routed copies this rank holds, per token of the micro-batch's
	// tokens (topK when etp = tp), and in all.
	perToken := e.topK * s.etp / s.tp * load
	routed := T * perToken
	traffic := ffnSaved{
		bytes: perToken * (e.ffnTraffic()*inner + moeRoutedSavedBytes*hidden),
		width: perToken * inner,
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
	perm := permuteBytes * routed * hidden // the sort after dispatch runs on the busiest rank
	c.fwd += e.dev.Mem(perm)
	c.bwd += e.dev.Mem(perm)
	c.kernelsFwd += moeKernels
	c.kernelsBwd += moeKernels
	c.params = e.attentionParams(s) + e.sharedParams/s.tp + e.routerParams
	c.expParams = e.expertParams / (s.etp * s.ep)
	c.epComm = e.expertAllToAll(s) * load // the busiest rank receives and returns the most

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
	actIn := e.ffnInputBytes()
	if e.fp8Acts && e.swiglu {
		actIn = 2 * fp8CachedBytes // gate and up in FP8 (DeepSeek-V3 §3.3.3)
	}
	perRouted := e.gemmInputBytes()*hidden + actIn*inner + routerProbBytes
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

// busiestLoad is the expected load of the busiest of an MoE layer's ep
// ranks over the mean, for one micro-batch under dropless or random
// routing (1 when balanced). Each expert's load varies with the router's
// skew (routeCV; none under random routing) and, as a count of the tokens
// routed to it, with Poisson noise of its mean count perExpert: more
// tokens per micro-batch, relatively less noise. A rank sums experts/ep
// of them, drawn from a fixed total, so its coefficient of variation is
// the experts' times √(ep/E · (E − E/ep)/(E − 1)); the busiest of ep
// ranks lies MaxOfNormals(ep) of those above the mean. Every rank of the
// group waits for it at the combine.
func (e *Estimator) busiestLoad(s *shape, perExpert float64) float64 {
	if !e.varLoads || s.ep <= 1 || perExpert <= 0 {
		return 1
	}
	E, local := e.experts, e.experts/s.ep
	cv := math.Sqrt(e.routeCV*e.routeCV+1/perExpert) * math.Sqrt((E-local)/(E-1)/local)
	return 1 + hardware.MaxOfNormals(s.ep)*cv
}

// expertAllToAll is the raw time of one layer's expert exchange, forward
// and backward: dispatch in the GEMM precision (low-precision runs quantise
// before dispatch), combine in bf16, each once per pass, over the ep ranks
// etp apart (hardware.Fabric.Dispatch); then, with etp > 1, the expert-TP
// group's all-gather of the dispatched tokens and reduce-scatter of the
// experts' outputs.
func (e *Estimator) expertAllToAll(s *shape) float64 {
	var t float64
	if s.ep > 1 {
		dispatch := float64(bf16Bytes)
		if e.fp8 {
			dispatch = 1
		}
		tokens := s.tokens
		if s.sp {
			tokens /= s.tp
		}
		h := e.hidden
		t = 2 * (e.fab.Dispatch(tokens, dispatch*h, e.topK, s.ep, s.etp, e.maxGroups, e.perDomain) +
			e.fab.Dispatch(tokens, bf16Bytes*h, e.topK, s.ep, s.etp, e.maxGroups, e.perDomain))
	}
	if s.etp > 1 {
		gathered := s.tokens / s.tp * e.topK * s.etp * e.hidden * bf16Bytes
		t += 2 * 2 * e.fab.ReduceScatterCost(s.etp, 1).At(gathered) // an all-gather and a reduce-scatter
	}
	return t
}

// exposedEP is the expert all-to-all left on the critical path. Overlapped
// (two micro-batches in flight, one communicating while the other
// computes), only what outlasts the layer's compute stays exposed, and the
// hidden part takes its share of the SMs (Estimator.commShare: on GPUs
// hardware.CommUnits, the 20 SMs DeepSeek-V3 gives its dispatch and
// combine kernels, report §3.2.2).
func (e *Estimator) exposedEP(c *layerCost, overlap bool) float64 {
	if !overlap {
		return c.epComm
	}
	comp := c.fwd + c.bwd + c.recompute
	exp := max(0, c.epComm-comp)
	return exp + e.commShare*(c.epComm-exp)
}
