package estimate

import (
	"math"

	"github.com/flopcast/flopcast/spec"
)

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

// Evaluator evaluates layouts of one Estimator and remembers the layer
// costs of the shapes it has seen (a shape is what layouts share when they
// differ only in ZeRO stage 0 to 2, pipeline depth, interleaving or data
// parallelism), as a search revisits the same shapes under every pipeline
// depth. It is not safe for concurrent use: make one per goroutine.
type Evaluator struct {
	e    *Estimator
	c    [2]layerCache // FSDP (ZeRO-3) and the rest, which a group interleaves
	memo map[layerKey]*shapeCosts
	// groupWork is GroupStepTimeLowerBound's least work per group key.
	groupWork map[groupKey]float64
}

// Evaluator returns a new Evaluator of e.
func (e *Estimator) Evaluator() *Evaluator {
	return &Evaluator{e: e, memo: map[layerKey]*shapeCosts{}, groupWork: map[groupKey]float64{}}
}

// Eval is Estimator.Eval, reusing the layer costs of a shape seen before.
func (v *Evaluator) Eval(l spec.Layout, out *Result) {
	c := &v.c[0]
	if l.ZeRO == 3 {
		c = &v.c[1]
	}
	if key := layerKeyOf(&l); !c.valid || c.key != key {
		c.shapeCosts = *v.shape(&l, key)
		c.key, c.valid, c.hopValid = key, true, false
	}
	v.e.eval(l, out, c)
}

// memoCap bounds an Evaluator's memory of shapes (about 400 bytes each);
// past it the memory starts over.
const memoCap = 1 << 15

// shape is the shape costs of l, whose layer key is key, from memory.
func (v *Evaluator) shape(l *spec.Layout, key layerKey) *shapeCosts {
	if sc, ok := v.memo[key]; ok {
		return sc
	}
	if len(v.memo) >= memoCap {
		clear(v.memo)
	}
	sc := v.e.costShape(l)
	v.memo[key] = &sc
	return &sc
}

// layerKey is what a layer's cost depends on: tp, cp, ep, etp,
// micro_batch, sequence parallelism, recompute, ZeRO-3 or not, schedule.
type layerKey [9]int

func layerKeyOf(l *spec.Layout) layerKey {
	sp, z3 := 0, 0
	if l.SequenceParallel {
		sp = 1
	}
	if l.ZeRO == 3 {
		z3 = 1 // FSDP changes eager layers' casts and saved tensors
	}
	return layerKey{l.TP, l.CP, l.EP, l.ETP, l.MicroBatch, sp, int(l.Recompute), z3, int(l.Schedule)}
}

// shapeCosts is the part of a layout's cost that depends on its layer key
// alone: one layer of each kind and the pipeline's ends, per micro-batch.
type shapeCosts struct {
	s              shape
	dense, moe     layerCost
	denseTP, moeTP float64 // exposed TP time per layer
	embTime        float64 // embedding, per micro-batch
	embComm        float64 // its TP reduction (and the logits' input gradient's)
	headTime       float64 // final norm, logits and loss, per micro-batch
	logits         float64 // logits per micro-batch on one device
}

// layerCache holds the costs of the last shape evaluated.
type layerCache struct {
	valid bool
	key   layerKey
	shapeCosts
	// DP collectives, keyed by tp, dp×cp, ep and etp alone (linesKey),
	// and the pipeline hop, keyed by them and the layer key (its message
	// depends on the shape): a change of either clears it (hopValid).
	linesValid bool
	linesKey   [4]int
	lines      dpLines
	hopValid   bool
	hop        float64 // one pipeline transfer
	hopLat     float64 // its fixed part
	embPP      int     // the pipeline depth embSync is for (0: none yet)
	embSync    float64 // the tied embedding's gradient sync (embeddingSync)
}

// costShape computes the shape costs of l.
func (e *Estimator) costShape(l *spec.Layout) shapeCosts {
	var sc shapeCosts
	sc.s = e.newShape(l)
	sc.dense = e.layer(&sc.s, false)
	if e.moe {
		sc.moe = e.layer(&sc.s, true)
	}
	sc.denseTP, sc.moeTP = exposedTP(&sc.s, &sc.dense, e.commShare), exposedTP(&sc.s, &sc.moe, e.commShare)
	e.ends(&sc.s, &sc)
	return sc
}

// fill computes the layer costs of l's shape and its DP collectives and
// pipeline hop unless the cache has them.
func (e *Estimator) fill(l *spec.Layout, c *layerCache) {
	if key := layerKeyOf(l); !c.valid || c.key != key {
		c.shapeCosts = e.costShape(l)
		c.key, c.valid, c.hopValid = key, true, false
	}
	if k := [4]int{l.TP, l.DP * l.CP, l.EP, l.ETP}; !c.linesValid || c.linesKey != k {
		c.lines = e.dpLines(l, &c.s, float64(l.DP*l.CP), expertDP(l))
		c.linesKey, c.linesValid, c.hopValid = k, true, false
	}
	if !c.hopValid {
		c.hop, c.hopLat = e.hopTime(l, &c.s)
		c.embPP, c.hopValid = 0, true
	}
}

// StepTimeLowerBound is a lower bound on the step time Eval gives l (l
// valid), from its layer costs alone: the compute and exposed TP, CP and
// EP time of every layer and of the pipeline's ends, spread evenly over
// the pipeline ranks, the pipeline's fill and drain, and the straggler
// term. It leaves out what only adds to a step (DP and pipeline
// transfers, the optimizer, activation offload, the host's launch floor,
// the slowest stage's excess over the mean), so a search for the fastest
// layout may skip every layout whose bound exceeds a step it has already
// found. It is cheap once the Evaluator has seen l's shape.
func (v *Evaluator) StepTimeLowerBound(l spec.Layout) float64 {
	return v.e.boundFactor(&l) * v.e.work(v.shape(&l, layerKeyOf(&l)))
}

// GroupStepTimeLowerBound is a lower bound on the step time of every
// valid layout that differs from l only in recompute, sequence
// parallelism and ZeRO stage: the least StepTimeLowerBound of l with
// nothing recomputed, over sequence parallelism and FSDP on and off.
// Recompute only adds to the work the bound counts (the recomputed
// forward, full recompute's second TP collectives and dispatch; with the
// all-to-all overlapped, the hidden part grows by the compute that hides
// it, and 1−commShare of it, commShare being under 1, is still work), which
// TestStepTimeLowerBound checks.
func (v *Evaluator) GroupStepTimeLowerBound(l spec.Layout) float64 {
	k := groupKey{l.TP, l.CP, l.EP, l.ETP, l.MicroBatch, int(l.Schedule)}
	w, ok := v.groupWork[k]
	if !ok {
		w = math.Inf(1)
		sps := []bool{false, true}
		if l.TP <= 1 {
			sps = sps[:1] // sequence parallelism means nothing without TP
		}
		for _, sp := range sps {
			for _, z := range [...]int{0, 3} {
				x := l
				x.Recompute, x.SequenceParallel, x.ZeRO = spec.RecomputeNone, sp, z
				w = min(w, v.e.work(v.shape(&x, layerKeyOf(&x))))
			}
		}
		if len(v.groupWork) >= memoCap {
			clear(v.groupWork)
		}
		v.groupWork[k] = w
	}
	return v.e.boundFactor(&l) * w
}

// groupKey is what GroupStepTimeLowerBound's work depends on.
type groupKey [6]int

// work is the time per micro-batch of all pipeline ranks together that
// the step bound counts: the layers by kind, as rank and rankTime count
// them (multi-token-prediction modules are layers of the model's kind,
// each with one more output head), and the pipeline's ends.
func (e *Estimator) work(c *shapeCosts) float64 {
	dense, moe := e.layers+e.mtpDepth, 0.0
	if e.moe && e.denseLayers < e.layers {
		dense, moe = e.denseLayers, e.layers-e.denseLayers+e.mtpDepth
	}
	dl, ml := &c.dense, &c.moe
	w := dense*(dl.fwd+dl.bwd+dl.recompute+c.denseTP+dl.cpExposed) + c.embTime + c.embComm +
		(1+e.mtpDepth)*(c.headTime+c.embComm)
	if moe > 0 {
		w += moe * (ml.fwd + ml.bwd + ml.recompute + c.moeTP + ml.cpExposed + e.exposedEP(ml, e.epOverlap || c.s.dualPipe))
	}
	return w
}

// boundFactor turns work into the step bound: the mean rank's time per
// micro-batch (the slowest's is no less) for every micro-batch and the
// pipeline's fill and drain, and the straggler term.
func (e *Estimator) boundFactor(l *spec.Layout) float64 {
	p, m := float64(l.PP), float64(l.MicroBatches(e.r.Training.GlobalBatch))
	passes := m + (p-1)/float64(l.VPP)
	if l.Schedule == spec.ScheduleDualPipe {
		passes = m
	}
	// The bound is exact arithmetic on quantities the step sums in
	// another order: a margin far above rounding keeps it below.
	return (1 - 1e-9) * (1 + e.slowest) * passes / p
}

// stepSums gathers the per-rank figures a step is made of.
type stepSums struct {
	slowest                   float64 // the slowest rank's time per micro-batch
	slowestRank               rankTiming
	time, compute, tp, cp, ep float64 // sums over ranks, per micro-batch
	fwd                       float64 // the forward part of compute
	offload                   float64
	optimizer, dp             float64 // the worst rank's
	peak                      Memory  // the rank with the highest peak
}

func (e *Estimator) eval(l spec.Layout, out *Result, c *layerCache) {
	*out = Result{Parallel: l}
	e.fill(&l, c)
	m := float64(l.MicroBatches(e.r.Training.GlobalBatch))
	sums := e.ranks(&l, c, m)

	p, v := float64(l.PP), float64(l.VPP)
	mean := sums.time / p
	pipelined, bubble := pipelineTime(p, v, m, sums.slowest, mean)
	fwdShare := 0.0
	if sums.compute > 0 {
		fwdShare = sums.fwd / sums.compute
	}
	hops := exposedHops(&l, c.hop, c.hopLat, m, mean, fwdShare, e.commShare)
	if c.s.dualPipe {
		pipelined, bubble = dualPipeTime(p, m, sums.slowest, mean, &sums.slowestRank)
		hops = dualPipeHops(p, c.hop)
	} else {
		if c.embPP != l.PP {
			c.embSync, c.embPP = e.embeddingSync(&l, &c.s), l.PP
		}
		hops += c.embSync
	}
	// The slowest chip sets the pace of the synchronous part of the step,
	// and the step synchronises every chip once before the optimizer.
	sync := e.slowest*pipelined + e.stepSync
	step := pipelined + hops + sums.dp + sums.optimizer + sync
	out.StepTimeS = step
	out.Breakdown = Breakdown{
		ComputeS:        m * sums.compute / p,
		ExposedTPCommS:  m * sums.tp / p,
		ExposedCPCommS:  m * sums.cp / p,
		ExposedEPCommS:  m * sums.ep / p,
		OffloadS:        m * sums.offload / p,
		PipelineBubbleS: bubble,
		ExposedPPCommS:  hops,
		ExposedDPCommS:  sums.dp,
		OptimizerS:      sums.optimizer,
		SyncS:           sync,
	}

	tokens := e.tokensPerStep
	chips := float64(e.r.Chips)
	out.TokensPerS = tokens / step
	modelFlops := e.modelFlopsPerToken * tokens
	out.ModelTFLOPsPerChip = modelFlops / step / chips / 1e12
	out.MFU = out.ModelTFLOPsPerChip * 1e12 / e.dev.PeakBF16()
	out.HFU = (modelFlops + e.recomputeFlopsPerToken(l.Recompute)*tokens) / step / chips / e.dev.PeakBF16()

	peak := sums.peak
	peak.CapacityGiB = e.capacity / gib
	peak.Fits = peak.PeakGiB <= peak.CapacityGiB
	if !peak.Fits {
		peak.OverflowGiB = peak.PeakGiB - peak.CapacityGiB
		out.Warn |= WarnDoesNotFit
	}
	out.Memory = peak
	if l.Offload != spec.OffloadNone && e.hostBW == 0 {
		out.Warn |= WarnNoHostLink
	}
	e.flag(&l, &c.s, m, out)
}

// ranks walks the pipeline ranks: time per micro-batch, memory, optimizer
// and exposed DP time of each.
func (e *Estimator) ranks(l *spec.Layout, c *layerCache, m float64) stepSums {
	var sums stepSums
	dpg := float64(l.DP * l.CP)
	edpg := expertDP(l)
	sp := e.stageSplit(l)
	var prev rankLoad
	var prevTime rankTiming
	for r := 0; r < l.PP; r++ {
		rl := e.rank(&sp, r)
		var mirror rankLoad // DualPipe: the mirror stage this rank also holds
		if c.s.dualPipe {
			mirror = e.rank(&sp, l.PP-1-r)
		}
		same := r > 0 && rl == prev && r < l.PP-1 && !c.s.dualPipe // DualPipe: memory depends on the mirror stage too
		if !same {
			prev = rl
			if c.s.dualPipe {
				prevTime = e.dualPipeRankTime(l, rl, mirror, c)
			} else {
				prevTime = e.rankTime(l, rl, c)
			}
		}
		rt := &prevTime
		sums.time += rt.total()
		sums.compute += rt.fwd + rt.bwd
		sums.fwd += rt.fwd
		sums.tp += rt.tp
		sums.cp += rt.cp
		sums.ep += rt.ep
		sums.offload += rt.offload
		if same {
			// The same load as the rank before: the same time per
			// micro-batch, and the earlier rank dominates memory (more
			// micro-batches in flight) and DP exposure (less slack).
			continue
		}
		if rt.total() > sums.slowest {
			sums.slowest, sums.slowestRank = rt.total(), *rt
		}
		ml := rl // what the rank keeps in memory
		if c.s.dualPipe {
			ml = dualPipeLoad(rl, mirror)
		}
		pd, px, emb := e.rankParams(ml, c)
		if mem := e.rankMemory(l, c, r, ml, pd, px, emb, m, dpg, edpg); mem.PeakGiB > sums.peak.PeakGiB {
			sums.peak = mem
		}
		sums.optimizer = max(sums.optimizer, e.optimizerTime(l, pd, px, dpg, edpg))
		sums.dp = max(sums.dp, e.dpExposed(l, &c.lines, r, pd, px, rl, c, m))
	}
	return sums
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
	if int(e.layers+e.mtpDepth)%(l.PP*l.VPP) != 0 {
		out.Warn |= WarnUnevenStages
	}
	if l.TP > 1 && !s.sp {
		out.Warn |= WarnSPOff
	}
}
