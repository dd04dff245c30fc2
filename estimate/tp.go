package estimate

// Tensor-parallel collectives of a layer (Megatron-LM, Shoeybi et al.
// 2019; with sequence parallelism, Korthikanti et al. 2022) and how much
// of them the GEMMs hide.

// tpKernelsFwd/Bwd: the collectives' launches per pass (four per
// forward; backward adds the two re-gathers under SP).
const tpKernelsFwd, tpKernelsBwd = 4, 6

// tpCollectives adds a layer's TP traffic: with SP two all-gathers and two
// reduce-scatters of the hidden state per pass, without it two
// all-reduces; one pair for attention and one for the MLP. Under
// per-tensor fp8 the all-gathers carry fp8 (fp8Gather); the
// reduce-scatters reduce the GEMMs' bf16 outputs. A block of
// routed experts only (routedOnly) exchanges its tokens over the experts'
// own grid instead (expertAllToAll), so it keeps attention's pair alone.
func (e *Estimator) tpCollectives(c *layerCost, s *shape, routedOnly bool) {
	if s.tp <= 1 {
		return
	}
	pairs := 2.0
	if routedOnly {
		pairs = 1
	}
	msg := s.tokens * e.hidden * bf16Bytes
	gather := msg
	if e.fp8Gather {
		// The all-gathers move the GEMM input already cast to fp8.
		gather = s.tokens * e.hidden * fp8Bytes
	}
	var pass float64
	if s.sp {
		// An all-gather costs what the reduce-scatter of its size does.
		ag := pairs * s.tpColl.At(gather)
		pass = ag + pairs*s.tpColl.At(msg)
		// Backward gathers the output gradients (the reduce-scatters'
		// transpose) and re-gathers the sharded norm outputs that the
		// weight-gradient GEMMs need (Korthikanti et al. 2022 §4.2.2).
		c.tpGatherF, c.tpGather = ag, 3*ag
	} else {
		pass = pairs * s.tpColl.At(msg) // all-reduces
	}
	c.tpFwd, c.tpBwd = pass, pass+c.tpGatherF
	c.kernelsFwd += tpKernelsFwd
	c.kernelsBwd += tpKernelsBwd
}

// exposedTP is the TP communication left on the critical path; share is
// the compute a hidden collective takes (Estimator.commShare).
func exposedTP(s *shape, c *layerCost, share float64) float64 {
	comm := c.tpFwd + c.tpBwd
	if comm == 0 {
		return 0
	}
	if s.tpOverlap {
		// Collectives split into tp chunks and pipelined with the GEMMs
		// (Transformer Engine's userbuffers): one chunk stays exposed,
		// and whatever outlasts the GEMMs. The hidden part still takes
		// SMs from the GEMMs (share).
		apart := 0.0
		if s.gatherApart {
			apart = c.tpGather
			comm -= apart
		}
		exp := max(comm/s.tp, comm-c.gemm)
		return apart + exp + share*(comm-exp)
	}
	return comm
}
