package estimate

import "github.com/flopcast/flopcast/spec"

// Memory per device: weights, gradients and optimizer states by recipe and
// ZeRO stage, activations in flight, and the buffers and allocator slack
// around them.

const gib = 1 << 30

const (
	// runtimeReservedGiB: memory the runtime holds outside the allocator
	// (CUDA context, cuBLAS workspaces, NCCL channels). Assumption, of the
	// order seen on H100 (79.18 GiB visible; ~0.5 GiB context; NCCL
	// buffers ~0.5 GiB per busy communicator set).
	runtimeReservedGiB = 1.5
	// fragmentation: share of activation memory the PyTorch caching
	// allocator loses to fragmentation at peak. Assumption (commonly
	// 5-15% in torch.cuda.memory_stats reserved vs allocated).
	fragmentation = 0.10
	// tpGatherBuffers: the TP all-gather outputs in flight (the gathered
	// input of the QKV and FC1 GEMMs), bf16.
	tpGatherBuffers = 2
	// fp8WeightCopyBytes per parameter: Transformer Engine's cached FP8
	// copy of each bf16 weight and its transpose on Hopper (1 B + 1 B;
	// TE module/linear.py caches them across micro-batches).
	fp8WeightCopyBytes = 2.0
)

// Bytes per parameter of the model states. megatron: bf16 weights, fp32
// main gradients (Megatron accumulates and reduces gradients in fp32 under
// bf16), fp32 master weights and two Adam moments (Megatron-LM
// docs/user-guide/features/dist_optimizer.md: 6 + 12/d). pytorch-amp:
// fp32 weights and gradients, two fp32 Adam moments.
const (
	weightBytes, gradBytes, optimizerBytes                = 2.0, 4.0, 12.0
	eagerWeightBytes, eagerGradBytes, eagerOptimizerBytes = 4.0, 4.0, 8.0
)

// stateMemory is the memory of weights, gradients and optimizer states of
// pd dense and px expert parameters: ZeRO stage 1 shards the optimizer
// over the data-parallel group (dp·cp chips for dense weights, dp·cp/ep
// for experts), 2 also the gradients, 3 also the weights.
func (e *Estimator) stateMemory(zero int, pd, px, dpg, edpg float64) Memory {
	wb, gb, ob := weightBytes, gradBytes, optimizerBytes
	if e.eager {
		wb, gb, ob = eagerWeightBytes, eagerGradBytes, eagerOptimizerBytes
	}
	shard := func(perParam float64, stage int) float64 {
		d, x := pd, px
		if zero >= stage {
			d /= dpg
			x /= edpg
		}
		return (d + x) * perParam
	}
	return Memory{
		WeightsGiB:   shard(wb, 3) / gib,
		GradsGiB:     shard(gb, 2) / gib,
		OptimizerGiB: shard(ob, 1) / gib,
	}
}

// rankParams is the dense and expert parameters pipeline rank rl holds
// (not sharded by ZeRO).
func (e *Estimator) rankParams(rl rankLoad, c *layerCache, pp int) (dense, expert float64) {
	dense = rl.dense*c.dense.params + rl.moe*c.moe.params
	expert = rl.moe * c.moe.expParams
	if c.s.dualPipe {
		// DualPipe: every rank holds its stage of both directions,
		// twice the parameters (DeepSeek-V3 report, Table 2).
		dense, expert = 2*dense, 2*expert
	}
	emb := e.embParams / c.s.tp
	if rl.first || (rl.last && (!e.tied || pp > 1)) {
		dense += emb // the input embedding, or an untied output layer, or a tied copy on the last stage
	}
	if rl.first && rl.last && !e.tied {
		dense += emb // input and output embeddings both here
	}
	return dense, expert
}

// rankMemory is the memory of pipeline rank r of the layout at its peak:
// the model states, the activations of the micro-batches in flight, and
// the buffers and allocator slack around them.
func (e *Estimator) rankMemory(l *spec.Layout, c *layerCache, r int, rl rankLoad, pd, px, m, dpg, edpg float64) Memory {
	s := &c.s
	mem := e.stateMemory(l.ZeRO, pd, px, dpg, edpg)
	layers := rl.dense + rl.moe
	var perLayer float64
	if layers > 0 {
		perLayer = (rl.dense*c.dense.saved + rl.moe*c.moe.saved) / layers
	}
	chunks := inFlight(l.PP, l.VPP, r, int(m)) // micro-batch chunks held at the peak
	if s.dualPipe {
		chunks = min(float64(l.PP+1), m) // PP+1 micro-batches (DeepSeek-V3 report, Table 2)
	}
	act := chunks * layers / float64(l.VPP) * perLayer
	if s.recompute == spec.RecomputeFull && layers > 0 {
		// The layer being recomputed holds its full working set.
		act += max(c.dense.working, c.moe.working*boolf(rl.moe > 0))
	}
	if rl.first {
		act += chunks * s.normTokens * e.hidden * bf16Bytes // embedding outputs
	}
	if rl.last {
		act += e.logitsHeld(c)
	}
	mem.ActivationsGiB = act / gib
	other := fragmentation * act // allocator loss
	if l.TP > 1 {
		other += tpGatherBuffers * s.tokens * e.hidden * bf16Bytes
	}
	if e.fp8 {
		other += fp8WeightCopyBytes * (pd + px)
	}
	mem.OtherGiB = other / gib
	mem.FragmentationGiB = fragmentation * act / gib
	mem.PeakGiB = mem.WeightsGiB + mem.GradsGiB + mem.OptimizerGiB + mem.ActivationsGiB + mem.OtherGiB
	mem.Stage = r
	return mem
}

func boolf(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
