package estimate

import (
	"math"

	"github.com/flopcast/flopcast/hardware"
	"github.com/flopcast/flopcast/spec"
)

const gib = 1 << 30

// rankTiming is one rank's time per micro-batch: compute by pass, and the
// communication its layers leave exposed.
type rankTiming struct {
	fwd, bwd   float64 // compute, embedding and logits included; bwd holds recompute
	tp, cp, ep float64
}

// rankTime is the one place a rank's time per micro-batch is assembled,
// for the step (eval) and for the timeline (Schedule) alike.
func (e *Estimator) rankTime(rl rankLoad, c *layerCache) rankTiming {
	dl, ml := &c.dl, &c.ml
	var t rankTiming
	t.fwd = rl.dense*dl.fwd + rl.moe*ml.fwd
	t.bwd = rl.dense*(dl.bwd+dl.recompute) + rl.moe*(ml.bwd+ml.recompute)
	// The host must launch every kernel; when that takes longer than the
	// GPU work, the host sets the pace.
	rcF := 1.0
	if c.s.rc == spec.RecomputeFull {
		rcF = 2
	}
	host := (rl.dense*(dl.kernF*rcF*hostFwdUs+dl.kernB*hostBwdUs) + rl.moe*(ml.kernF*rcF*hostFwdUs+ml.kernB*hostBwdUs)) * 1e-6
	if gpu := t.fwd + t.bwd; host > gpu && gpu > 0 {
		t.fwd *= host / gpu
		t.bwd *= host / gpu
	}
	t.tp = rl.dense*c.dTP + rl.moe*c.mTP
	t.cp = rl.dense*dl.cpExp + rl.moe*ml.cpExp
	t.ep = rl.moe * e.exposedEP(ml)
	// The embedding and the logits and loss: a third forward, two thirds
	// backward, like the GEMMs they are made of.
	if rl.first {
		t.fwd += c.embT / 3
		t.bwd += 2 * c.embT / 3
		t.tp += c.embComm
	}
	if rl.last {
		t.fwd += c.headT / 3
		t.bwd += 2 * c.headT / 3
		t.tp += c.embComm
	}
	return t
}

// rankLoad is what one pipeline rank holds: its layers by kind.
type rankLoad struct {
	dense, moe float64
	first      bool // holds the embedding
	last       bool // holds the final norm, logits and loss
}

// stageLayers returns the number of layers of virtual stage j of S, and the
// index of its first layer. Layers are spread evenly; the remainder goes to
// the middle stages first, so the first and last stages, which hold the
// embedding and the logits, are the lighter ones (DESIGN.md §2).
func stageLayers(L, S, j int) (n, start int) {
	base, extra := L/S, L%S
	e1 := min(extra, max(S-2, 0))
	first0 := extra > S-2 && S > 1 // stage 0 takes the last extra
	in := func(j int) bool { return (j >= 1 && j <= e1) || (j == 0 && first0) }
	n = base
	if in(j) {
		n++
	}
	before := 0
	if j > 0 {
		before = max(min(j-1, e1), 0)
		if first0 {
			before++
		}
	}
	return n, j*base + before
}

// split is how L layers spread over S = pp·vpp virtual stages (see
// stageLayers), in closed form so a rank's load costs O(1).
type split struct {
	p, v, S, base, e1 int
	first0            bool
}

func newSplit(L, p, v int) split {
	S := p * v
	extra := L % S
	return split{p: p, v: v, S: S, base: L / S, e1: min(extra, max(S-2, 0)), first0: extra > S-2 && S > 1}
}

// start is the index of the first layer of virtual stage j.
func (sp *split) start(j int) int {
	before := 0
	if j > 0 {
		before = max(min(j-1, sp.e1), 0)
		if sp.first0 {
			before++
		}
	}
	return j*sp.base + before
}

func (e *Estimator) rank(sp *split, r int) rankLoad {
	// Virtual stages r, r+p, ... belong to rank r; those in 1..e1 (and
	// stage 0 when first0) hold one layer more.
	extra := 0
	switch {
	case r == 0:
		extra = sp.e1 / sp.p
		if sp.first0 {
			extra++
		}
	case r <= sp.e1:
		extra = (sp.e1-r)/sp.p + 1
	}
	total := sp.v*sp.base + extra
	var rl rankLoad
	D := int(e.denseLayers)
	dense := 0
	if D >= int(e.L) {
		dense = total
	} else if D > 0 {
		for c := 0; c < sp.v; c++ {
			j := r + c*sp.p
			st := sp.start(j)
			if st >= D {
				break
			}
			n := sp.base
			if (j >= 1 && j <= sp.e1) || (j == 0 && sp.first0) {
				n++
			}
			dense += min(D-st, n)
		}
	}
	rl.dense = float64(dense)
	rl.moe = float64(total - dense)
	rl.first = r == 0
	rl.last = r == sp.p-1
	return rl
}

// Estimate evaluates one layout.
func (e *Estimator) Estimate(l spec.Layout) Result {
	var res Result
	e.Eval(l, &res)
	return res
}

// Eval evaluates one layout into out without allocating. The layout must be
// valid (spec.Resolved.Violation(l) == spec.OK).
func (e *Estimator) Eval(l spec.Layout, out *Result) {
	var c layerCache
	e.eval(l, out, &c)
}

// Evaluator evaluates layouts of one Estimator and reuses the layer costs
// of consecutive layouts that share a shape (they differ only in ZeRO
// stage, pipeline depth or interleaving), as a search's inner loops do. It
// is not safe for concurrent use: make one per goroutine.
type Evaluator struct {
	e *Estimator
	c [2]layerCache // FSDP (ZeRO-3) and the rest, which a group interleaves
}

// Evaluator returns a new Evaluator of e.
func (e *Estimator) Evaluator() *Evaluator { return &Evaluator{e: e} }

// Eval is Estimator.Eval, reusing the previous layout's layer costs when
// the shape is the same.
func (v *Evaluator) Eval(l spec.Layout, out *Result) {
	i := 0
	if l.ZeRO == 3 {
		i = 1
	}
	v.e.eval(l, out, &v.c[i])
}

// ends costs the embedding (first stage) and the logits and loss (last
// stage) of one micro-batch.
func (e *Estimator) ends(s *shape, c *layerCache) {
	t := s.t
	// Embedding and loss, per micro-batch.
	c.embT = e.dev.Mem(s.Tln * e.h * 2 * 2)
	c.embComm = 0
	if t > 1 {
		msg := s.T * e.h * 2
		if s.sp {
			c.embComm = 2 * e.fab.ReduceScatter(msg, t, 1)
		} else {
			c.embComm = 2 * e.fab.AllReduce(msg, t, 1)
		}
	}
	logitsF := e.dev.GEMMBF16(s.T, e.V/t, e.h)
	logitsB := e.dev.GEMMBF16(s.T, e.h, e.V/t) + e.dev.GEMMBF16(e.h, e.V/t, s.T)
	// Cross-entropy over the logits, bytes per logit. Megatron's
	// vocab-parallel loss casts to fp32 and makes several passes (max,
	// subtract, exp, sum, normalise) and saves the fp32 softmax; backward
	// subtracts the one-hot and casts back. PyTorch's fused log-softmax
	// under autocast: cast, one read-write pass; backward one pass and the
	// cast back.
	lossF, lossB := 30.0, 14.0
	if e.eager {
		lossF, lossB = 14, 18
	}
	c.logits = s.T * e.V / t
	c.headT = logitsF + logitsB + e.dev.Mem(c.logits*(lossF+lossB)) + e.dev.Mem(s.Tln*e.h*12)
}

// layerCache holds the per-layer costs of the last shape evaluated.
type layerCache struct {
	valid    bool
	key      [7]int
	s        shape
	dl, ml   layerCost
	dTP, mTP float64
	// Per micro-batch costs of the pipeline's ends.
	embT, embComm, headT, logits float64
	// DP collectives and the pipeline hop, keyed by tp, dp×cp and ep (the
	// hop's message depends on the layer key too, so a layer-key change
	// clears them).
	dpValid bool
	dpKey   [3]int
	lines   dpLines
	hop     float64
}

func (e *Estimator) eval(l spec.Layout, out *Result, c *layerCache) {
	*out = Result{Parallel: l}
	spf, z3 := 0, 0
	if l.SequenceParallel {
		spf = 1
	}
	if l.ZeRO == 3 {
		z3 = 1 // FSDP changes eager layers' casts and saved tensors
	}
	key := [7]int{l.TP, l.CP, l.EP, l.MicroBatch, spf, int(l.Recompute), z3}
	if !c.valid || c.key != key {
		c.s = e.newShape(&l)
		c.dl = e.layer(&c.s, false)
		c.ml = layerCost{}
		if e.moe {
			c.ml = e.layer(&c.s, true)
		}
		c.dTP, c.mTP = exposedTP(&c.s, &c.dl), exposedTP(&c.s, &c.ml)
		e.ends(&c.s, c)
		c.dpValid = false
		c.key, c.valid = key, true
	}
	s := c.s
	dl, ml := &c.dl, &c.ml

	p, v := float64(l.PP), float64(l.VPP)
	m := float64(l.MicroBatches(e.r.Training.GlobalBatch))
	chips := float64(e.r.Chips)
	t := s.t

	logits := c.logits

	// Per-rank loop: time per micro-batch and memory.
	var tMax, tSum, cSum, tpSum, cpSum, epSum float64
	var peak Memory
	var optMax, dpMax float64
	pp := l.PP
	dpg := float64(l.DP * l.CP)
	edpg := max(dpg/s.ep, 1)
	if k := [3]int{l.TP, l.DP * l.CP, l.EP}; !c.dpValid || c.dpKey != k {
		c.lines = e.dpLines(&l, &s, dpg, edpg)
		c.hop = 0
		if l.PP > 1 {
			msg := s.T * e.h * 2
			if s.sp {
				msg /= s.t
			}
			c.hop = e.fab.SendRecv(msg, float64(l.TP*l.CP*l.DP))
		}
		c.dpKey, c.dpValid = k, true
	}
	lines := &c.lines
	sp := newSplit(int(e.L), l.PP, l.VPP)
	var prev rankLoad
	var prevT, prevC, prevTP, prevCP, prevEP float64
	for r := 0; r < pp; r++ {
		rl := e.rank(&sp, r)
		if r > 0 && rl == prev && r < pp-1 {
			// Same load as the rank before: the same time per
			// micro-batch, and the earlier rank dominates memory (more
			// micro-batches in flight) and DP exposure (less slack).
			tSum += prevT
			cSum += prevC
			tpSum += prevTP
			cpSum += prevCP
			epSum += prevEP
			continue
		}
		prev = rl
		rt := e.rankTime(rl, c)
		comp, tp, cp, ep := rt.fwd+rt.bwd, rt.tp, rt.cp, rt.ep
		tr := comp + tp + cp + ep
		prevT, prevC, prevTP, prevCP, prevEP = tr, comp, tp, cp, ep
		tMax = max(tMax, tr)
		tSum += tr
		cSum += comp
		tpSum += tp
		cpSum += cp
		epSum += ep

		// Parameters on this rank: dense (sharded by DP×CP under ZeRO)
		// and expert (sharded by the expert-data-parallel group).
		pd := rl.dense*dl.localParam + rl.moe*ml.localParam
		px := rl.moe * ml.localExp
		if rl.first || (rl.last && (!e.tied || pp > 1)) {
			pd += e.embParams / t
		}
		if rl.first && rl.last && !e.tied {
			pd += e.embParams / t // input and output embeddings both here
		}
		mem := e.stateMemory(l.ZeRO, pd, px, dpg, edpg)

		// Activations in flight.
		layers := rl.dense + rl.moe
		var perLayer float64
		if layers > 0 {
			perLayer = (rl.dense*dl.act + rl.moe*ml.act) / layers
		}
		var inflight float64 // micro-batch chunks held at the peak
		if l.VPP == 1 {
			inflight = min(p-float64(r), m)
		} else {
			inflight = min((p-float64(r)-1)*2+(v-1)*p+1, m*v)
		}
		act := inflight * layers / v * perLayer
		if s.rc == spec.RecomputeFull && layers > 0 {
			act += max(dl.actFull, ml.actFull*boolf(rl.moe > 0))
		}
		if rl.first {
			act += inflight * s.Tln * e.h * 2
		}
		if rl.last {
			lb := 10.0
			if e.eager {
				lb = 14
			}
			act += logits * lb
		}
		mem.ActivationsGiB = act / gib
		other := fragmentation * act // allocator loss
		if l.TP > 1 {
			other += 2 * s.T * e.h * 2 // TP all-gather output buffers
		}
		if e.fp8 {
			other += 2 * (pd + px) // FP8 weight copies and their transposes
		}
		mem.OtherGiB = other / gib
		mem.FragmentationGiB = fragmentation * act / gib
		mem.PeakGiB = mem.WeightsGiB + mem.GradsGiB + mem.OptimizerGiB + mem.ActivationsGiB + mem.OtherGiB
		mem.Stage = r
		if mem.PeakGiB > peak.PeakGiB {
			peak = mem
		}

		// Optimizer step: streams the local optimizer shard.
		opt := e.dev.Mem(e.optimizerBytes(l.ZeRO, pd, px, dpg, edpg))
		optMax = max(optMax, opt)

		// Data-parallel traffic.
		dpT := e.dpExposed(&l, lines, r, pd, px, rl, dl, ml, m)
		dpMax = max(dpMax, dpT)
	}
	tMean := tSum / p
	pipe := m*tMax + (p-1)/v*tMean
	ppComm := 0.0
	if l.PP > 1 {
		hop := c.hop
		// Filling and draining the pipeline waits on every hop. In steady
		// 1F1B each micro-batch waits for the round trip to the next
		// stage; interleaved, each chunk's transfer overlaps the next
		// chunk's compute and only what outlasts it is exposed.
		ppComm = 2 * hop * (p - 1) * v
		if l.VPP == 1 {
			ppComm += 2 * hop * m
		} else {
			chunk := tMean / (2 * v) // one chunk's forward or backward, roughly
			ppComm += 2 * m * v * max(0, hop-chunk)
		}
	}

	step := pipe + ppComm + dpMax + optMax
	out.StepTimeS = step
	bd := &out.Breakdown
	bd.ComputeS = m * cSum / p
	bd.ExposedTPCommS = m * tpSum / p
	bd.ExposedCPCommS = m * cpSum / p
	bd.ExposedEPCommS = m * epSum / p
	bd.PipelineBubbleS = pipe - m*tMean
	bd.ExposedPPCommS = ppComm
	bd.ExposedDPCommS = dpMax
	bd.OptimizerS = optMax

	tokens := e.gbs * e.seq
	out.TokensPerS = tokens / step
	modelFlops := e.modelFlopsPerToken * tokens
	out.ModelTFLOPsPerChip = modelFlops / step / chips / 1e12
	out.MFU = out.ModelTFLOPsPerChip * 1e12 / e.dev.PeakBF16()
	out.HFU = (modelFlops + e.recomputeFlopsPerToken(l.Recompute)*tokens) / step / chips / e.dev.PeakBF16()

	peak.CapacityGiB = e.capacity / gib
	peak.Fits = peak.PeakGiB <= peak.CapacityGiB
	if !peak.Fits {
		peak.OverflowGiB = peak.PeakGiB - peak.CapacityGiB
		out.Warn |= WarnDoesNotFit
	}
	out.Memory = peak
	e.flag(&l, &s, m, out)
}

func boolf(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// stateMemory is the memory of weights, gradients and optimizer states.
func (e *Estimator) stateMemory(zero int, pd, px, dpg, edpg float64) Memory {
	// megatron: bf16 weights, fp32 main gradients (Megatron accumulates and
	// reduces gradients in fp32 under bf16), fp32 master weights and two
	// Adam moments (12 B). pytorch-amp: fp32 weights and gradients, two
	// fp32 Adam moments (8 B).
	wb, gb, ob := 2.0, 4.0, 12.0
	if e.eager {
		wb, gb, ob = 4, 4, 8
	}
	shard := func(n float64, stage int) float64 {
		d := pd
		x := px
		if zero >= stage {
			d /= dpg
			x /= edpg
		}
		return (d + x) * n
	}
	return Memory{
		WeightsGiB:   shard(wb, 3) / gib,
		GradsGiB:     shard(gb, 2) / gib,
		OptimizerGiB: shard(ob, 1) / gib,
	}
}

func (e *Estimator) optimizerBytes(zero int, pd, px, dpg, edpg float64) float64 {
	n := pd + px
	if zero >= 1 {
		n = pd/dpg + px/edpg
	}
	if e.eager {
		return 28 * n // fused AdamW: read p, g, m, v; write p, m, v (fp32)
	}
	// Fused Adam on fp32 master, moments and gradient, writing the bf16
	// weight too, plus gradient-norm clipping and zeroing of the buffer.
	return 38 * n
}

// dpLines prices the data-parallel collectives of a layout once: the dense
// weights' group (dp×cp chips, tp apart) and the experts' (dp×cp/ep, tp×ep
// apart).
type dpLines struct{ dense, expert hardware.Line }

func (e *Estimator) dpLines(l *spec.Layout, s *shape, dpg, edpg float64) dpLines {
	return dpLines{
		dense:  e.fab.ReduceScatterLine(dpg, float64(l.TP)),
		expert: e.fab.ReduceScatterLine(edpg, float64(l.TP)*s.ep),
	}
}

// dpExposed is the data-parallel communication of rank r that the step
// cannot hide; pd and px are its dense and expert parameters.
func (e *Estimator) dpExposed(l *spec.Layout, dl *dpLines, r int, pd, px float64, rl rankLoad, dc, mc *layerCost, m float64) float64 {
	const gb, pb = 4.0, 2.0 // fp32 gradient reduction, bf16 parameter gather
	rs := dl.dense.At(gb*pd) + dl.expert.At(gb*px)
	ag := dl.dense.At(pb*pd) + dl.expert.At(pb*px)
	var grad, gather float64
	switch {
	case l.ZeRO == 0:
		grad = 2 * rs // all-reduce = reduce-scatter + all-gather
	case l.ZeRO == 1:
		grad, gather = rs, ag
	case l.ZeRO == 2:
		// Sharded gradients cannot accumulate locally: every micro-batch
		// reduce-scatters its own (DeepSpeed ZeRO-2).
		grad, gather = m*rs, ag
	default:
		// ZeRO-3: gather weights for forward and again for backward, and
		// reduce-scatter gradients, for every micro-batch.
		grad, gather = m*rs, 2*m*ag
	}
	if grad+gather == 0 {
		return 0
	}
	if !e.dpOverlap {
		return grad + gather
	}
	fwd := rl.dense*dc.fwd + rl.moe*mc.fwd
	bwd := rl.dense*(dc.bwd+dc.recompute) + rl.moe*(mc.bwd+mc.recompute)
	var exp float64
	buckets := max(1, math.Ceil((pd+px)/dpBucketParams))
	switch l.ZeRO {
	case 3:
		// Prefetched per layer: what outlasts the compute stays exposed,
		// plus the first layer's gather.
		layers := max(1, rl.dense+rl.moe)
		exp = max(0, gather+grad-m*(fwd+bwd)) + gather/(2*m*layers)
	case 2:
		// Each micro-batch's reduce-scatter hides behind its own
		// backward; the gather behind the next step's first forward.
		exp = max(grad-m*bwd, grad/buckets) + max(gather-fwd, gather/buckets)
	default:
		// Gradients reduce in buckets during the last micro-batch's
		// backward; later pipeline stages finish earlier and have the
		// drain as slack. Parameter gathers overlap with the next step's
		// first forward, later stages starting later.
		v := float64(l.VPP)
		exp = max(grad-bwd-float64(r)*bwd/v, grad/buckets)
		if gather > 0 {
			exp += max(gather-fwd-float64(r)*fwd/v, gather/buckets)
		}
	}
	return exp + commContention*max(0, grad+gather-exp)
}

// recomputeFlopsPerToken is the extra forward work of activation recompute.
func (e *Estimator) recomputeFlopsPerToken(rc spec.Recompute) float64 {
	attnFwd := e.L * e.seq * e.H * (e.dqk + e.dv) // causal forward
	switch rc {
	case spec.RecomputeFull:
		return (e.modelFlopsPerToken-6*e.V*e.h-3*attnFwd)/3 + attnFwd
	case spec.RecomputeSelective:
		if !e.flash {
			return attnFwd
		}
	}
	return 0
}

func (e *Estimator) flag(l *spec.Layout, s *shape, m float64, out *Result) {
	if l.TP > e.domain {
		out.Warn |= WarnTPCrossesScaleUp
	}
	if l.EP > 1 && l.EP*l.TP > e.domain {
		out.Warn |= WarnEPCrossesScaleUp
	}
	if l.CP > 1 && l.CP*l.TP > e.domain {
		out.Warn |= WarnCPCrossesScaleUp
	}
	if out.Breakdown.PipelineBubbleS > 0.2*out.StepTimeS {
		out.Warn |= WarnBubbleLarge
	}
	if l.PP > 1 && m < float64(l.PP) {
		out.Warn |= WarnFewMicroBatches
	}
	if int(e.L)%(l.PP*l.VPP) != 0 {
		out.Warn |= WarnUnevenStages
	}
	if l.TP > 1 && !s.sp {
		out.Warn |= WarnSPOff
	}
}
