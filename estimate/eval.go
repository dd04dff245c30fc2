package estimate

import "github.com/flopcast/flopcast/spec"

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

// layerCache holds the per-layer costs of the last shape evaluated.
type layerCache struct {
	valid          bool
	key            [9]int
	s              shape
	dense, moe     layerCost
	denseTP, moeTP float64 // exposed TP time per layer
	embTime        float64 // embedding, per micro-batch
	embComm        float64 // its TP reduction (and the logits' input gradient's)
	headTime       float64 // final norm, logits and loss, per micro-batch
	logits         float64 // logits per micro-batch on one device
	// DP collectives and the pipeline hop, keyed by tp, dp×cp and ep (the
	// hop's message depends on the layer key too, so a layer-key change
	// clears them).
	dpValid bool
	dpKey   [4]int
	lines   dpLines
	hop     float64 // one pipeline transfer
	hopLat  float64 // its fixed part
}

// fill computes the layer costs of l's shape unless the cache has them.
func (e *Estimator) fill(l *spec.Layout, c *layerCache) {
	sp, z3 := 0, 0
	if l.SequenceParallel {
		sp = 1
	}
	if l.ZeRO == 3 {
		z3 = 1 // FSDP changes eager layers' casts and saved tensors
	}
	key := [9]int{l.TP, l.CP, l.EP, l.ETP, l.MicroBatch, sp, int(l.Recompute), z3, int(l.Schedule)}
	if !c.valid || c.key != key {
		c.s = e.newShape(l)
		c.dense = e.layer(&c.s, false)
		c.moe = layerCost{}
		if e.moe {
			c.moe = e.layer(&c.s, true)
		}
		c.denseTP, c.moeTP = exposedTP(&c.s, &c.dense, e.commShare), exposedTP(&c.s, &c.moe, e.commShare)
		e.ends(&c.s, c)
		c.dpValid = false
		c.key, c.valid = key, true
	}
	if k := [4]int{l.TP, l.DP * l.CP, l.EP, l.ETP}; !c.dpValid || c.dpKey != k {
		dpg := float64(l.DP * l.CP)
		c.lines = e.dpLines(l, &c.s, dpg, expertDP(l))
		c.hop, c.hopLat = e.hopTime(l, &c.s)
		c.dpKey, c.dpValid = k, true
	}
}

// stepSums gathers the per-rank figures a step is made of.
type stepSums struct {
	slowest                   float64 // the slowest rank's time per micro-batch
	slowestRank               rankTiming
	time, compute, tp, cp, ep float64 // sums over ranks, per micro-batch
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
	hops := exposedHops(&l, c.hop, c.hopLat, m, mean, e.commShare)
	if c.s.dualPipe {
		pipelined, bubble = dualPipeTime(p, m, sums.slowest, mean, &sums.slowestRank)
		hops = dualPipeHops(p, c.hop)
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
