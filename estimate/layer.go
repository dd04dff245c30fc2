package estimate

import (
	"github.com/flopcast/flopcast/hardware"
	"github.com/flopcast/flopcast/spec"
)

// layerCost is the cost of one transformer layer for one micro-batch on one
// device.
type layerCost struct {
	fwd, bwd   float64 // compute time; bwd excludes recompute
	recompute  float64 // compute added to backward by activation recompute
	gemm       float64 // GEMM time of forward plus backward (the TP overlap window)
	wgrad      float64 // weight-gradient GEMM time, part of bwd (the W of zero-bubble schedules)
	tpFwd      float64 // TP collective time in forward (raw, before overlap)
	tpBwd      float64 // and in backward
	tpGatherF  float64 // the all-gather part of tpFwd
	tpGather   float64 // the all-gather part of tpFwd + tpBwd
	cpExposed  float64 // exposed CP time (ring attention or all-to-all), forward + backward
	epComm     float64 // EP all-to-all time, forward + backward (raw)
	saved      float64 // activation bytes kept for backward, after recompute
	opKept     float64 // forward time of the work whose outputs per-op checkpointing saves (spec.RecomputeOp)
	working    float64 // bytes the layer holds with nothing recomputed (its working set)
	kernelsFwd float64 // kernels launched per forward (the host-bound floor)
	kernelsBwd float64 // and per backward
	params     float64 // parameters of this layer on this device, dense part
	expParams  float64 // expert parameters of this layer on this device
}

// shape is what every layer of one layout shares.
type shape struct {
	tp, cp, ep     float64
	etp            float64 // expert tensor parallel: the experts' own grid is etp×ep
	microBatch     float64
	tokens         float64 // tokens of a micro-batch on a device (after CP)
	normTokens     float64 // tokens per device for norms and residuals (tokens/tp under SP)
	kvHeadsPerRank float64 // KV heads per TP rank (replicated when tp > kv_heads)
	sp             bool    // sequence parallelism
	zero3          bool
	tpOverlap      bool
	// gatherApart: under TP overlap the all-gathers still run alone
	// (exposedTP). PyTorch's asynchronous TP
	// (torch/_inductor/fx_passes/micro_pipeline_tp.py) fuses an
	// all-gather into the matmuls that read the gathered tensor itself
	// (fused_all_gather_matmul, fused_all_gather_scaled_matmul) and a
	// matmul into the reduce-scatter of its output. Row-wise fp8 gathers
	// bf16 and casts the gathered tensor before its GEMMs, so only the
	// reduce-scatters fuse.
	gatherApart bool
	recompute   spec.Recompute
	dualPipe    bool // DeepSeek's DualPipe schedule
	// tpColl is the TP group's collective, priced once for every layer
	// and the embedding: the reduce-scatter (an all-gather costs the
	// same) under SP, the all-reduce without.
	tpColl hardware.Cost
}

func (e *Estimator) newShape(l *spec.Layout) shape {
	s := shape{tp: float64(l.TP), cp: float64(l.CP), ep: float64(l.EP), etp: float64(l.ETP), microBatch: float64(l.MicroBatch), recompute: l.Recompute}
	s.tokens = s.microBatch * e.seqLen / s.cp
	s.sp = l.SequenceParallel && l.TP > 1
	s.normTokens = s.tokens
	if s.sp {
		s.normTokens = s.tokens / s.tp
	}
	s.kvHeadsPerRank = max(e.kvHeads/s.tp, 1)
	if s.sp {
		s.tpColl = e.fab.ReduceScatterCost(s.tp, 1)
	} else {
		s.tpColl = e.fab.AllReduceCost(s.tp, 1)
	}
	s.zero3 = l.ZeRO == 3
	s.dualPipe = l.Schedule == spec.ScheduleDualPipe
	if e.tpOverlap != nil {
		s.tpOverlap = *e.tpOverlap && l.TP > 1
	} else {
		// Megatron with sequence parallelism, on a chip whose fabric
		// runs Transformer Engine's userbuffers overlap by default.
		s.tpOverlap = !e.eager && s.sp && e.tpOverlapDefault
	}
	s.gatherApart = s.tpOverlap && e.rowwise
	return s
}

// headsPerRank is the attention heads one TP rank computes.
func (s *shape) headsPerRank(e *Estimator) float64 { return e.heads / s.tp }

// layer costs one dense (moe=false) or MoE layer: attention, the FFN or
// MoE block, the memory-bound kernels around them, the TP collectives.
// Each block also keeps the activations it saves for backward, or
// recomputes them when the layout names its module (activations.go).
func (e *Estimator) layer(s *shape, moe bool) layerCost {
	var c layerCost
	e.attentionProjections(&c, s)
	e.attentionCore(&c, s)
	e.attentionSaved(&c, s)
	var ffn ffnSaved
	if moe {
		ffn = e.moeBlock(&c, s)
	} else {
		ffn = e.mlp(&c, s)
	}
	e.elementwise(&c, s, ffn)
	e.tpCollectives(&c, s, moe && e.sharedExperts == 0)
	e.eagerSaved(&c, s)
	e.fullRecompute(&c, s)
	e.opRecompute(&c, s)
	return c
}

// linear adds a linear layer's GEMMs, forward and backward (data and
// weight gradient), of a (tokens×in)·(in×out) product, and returns its
// forward time (what recomputing it costs). count > 1 is a grouped GEMM
// (the local experts of an MoE layer): one launch whose tiles share the
// waves.
func (e *Estimator) linear(c *layerCost, count, tokens, out, in float64) (fwd float64) {
	f := e.dev.BatchedGEMM(count, tokens, out, in)
	w := e.dev.BatchedGEMM(count, in, out, tokens)
	if !e.eager {
		// Megatron-Core accumulates weight gradients straight into the
		// fp32 main_grad buffer (gradient_accumulation_fusion).
		w = e.dev.BatchedGEMMAccum(count, in, out, tokens)
	}
	b := e.dev.BatchedGEMM(count, tokens, in, out) + w
	c.fwd += f
	c.bwd += b
	e.biasAdd(c, count*tokens*out)
	c.gemm += f + b
	c.wgrad += w
	c.kernelsFwd++
	c.kernelsBwd += 2
	if e.fp8 {
		// Low-precision GEMMs need the activation (forward) and its
		// gradient (backward) quantised, row- and column-wise, in the
		// precision's format (hardware.Device.Quantize: 4 B an element
		// for fp8's cast-transpose, more with block scales).
		q := e.dev.Quantize(count * tokens * in)
		f += q
		c.fwd += q
		c.bwd += e.dev.Quantize(count * tokens * out)
		c.kernelsFwd++
		c.kernelsBwd++
	}
	return f
}
