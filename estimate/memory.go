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
	// fragmentation: what the PyTorch caching allocator reserves beyond
	// the live tensors at the peak, as a share of activation memory (the
	// tensors allocated and freed every micro-batch; the states are
	// allocated once). Blocks of different cudaMalloc segments never
	// merge, so freed activation blocks are not reusable for other sizes
	// (PyTorch docs notes/cuda.rst, "Memory management"); there is no
	// formula for it, so this is an assumption: 5-15% is what
	// torch.cuda.memory_stats shows of reserved over allocated in
	// training, 0.10 the middle.
	fragmentation = 0.10
	// tpGatherBuffers: the TP all-gather outputs in flight (the gathered
	// input of the QKV and FC1 GEMMs), bf16.
	tpGatherBuffers = 2
	// wgradDummyBytes per weight element: with gradient-accumulation
	// fusion the weight-gradient GEMM accumulates straight into the fp32
	// main_grad buffer and autograd is handed a bf16 placeholder of the
	// weight's shape. Transformer Engine's linear layers take it from a
	// cache keyed by shape (get_dummy_wgrad, transformer_engine/pytorch/
	// module/base.py), so one placeholder of each GEMM weight shape stays
	// allocated; Megatron-LM's output layer allocates its own in its
	// backward (LinearWithGradAccumulationAndAsyncCommunication.backward,
	// megatron/core/tensor_parallel/layers.py), when every activation of
	// the micro-batch and the logits' gradient are live.
	wgradDummyBytes = bf16Bytes
)

// Bytes per parameter of the model states. megatron: bf16 weights, fp32
// main gradients (Megatron accumulates and reduces gradients in fp32 under
// bf16), fp32 master weights and two Adam moments (Megatron-LM
// docs/user-guide/features/dist_optimizer.md: 6 + 12/d). pytorch-amp:
// fp32 weights and gradients, two fp32 Adam moments.
const (
	weightBytes, gradBytes, optimizerBytes                = 2.0, 4.0, 12.0
	eagerWeightBytes, eagerGradBytes, eagerOptimizerBytes = 4.0, 4.0, 8.0
	// bf16MomentSaving: bytes per parameter saved by keeping Adam's two
	// moments in bf16 instead of fp32, master weights still fp32
	// (training.optimizer_moments: bf16; Megatron-Core
	// --use-precision-aware-optimizer --exp-avg-dtype bf16
	// --exp-avg-sq-dtype bf16: 6 + 8/d; DeepSeek-V3 report §3.3.3).
	bf16MomentSaving = 2 * (fp32Bytes - bf16Bytes)
)

// optimizerStateBytes is the optimizer's bytes per parameter: the fp32
// master weights (megatron) and the two Adam moments in their format.
func (e *Estimator) optimizerStateBytes() float64 {
	ob := float64(optimizerBytes)
	if e.eager {
		ob = eagerOptimizerBytes
	}
	if e.bf16Moments {
		ob -= bf16MomentSaving
	}
	return ob
}

// stateMemory is the memory of weights, gradients and optimizer states of
// pd dense (emb of them embedding) and px expert parameters: ZeRO stage 1
// shards the optimizer over the data-parallel group (dp·cp chips for dense
// weights, dp·cp/ep for experts), 2 also the gradients, 3 also the
// weights. GEMM weights carry their quantised copies under a
// low-precision recipe (gemmWeightBytes); the embedding stays bf16.
func (e *Estimator) stateMemory(zero int, pd, px, emb, dpg, edpg float64) Memory {
	gb, ob := float64(gradBytes), e.optimizerStateBytes()
	if e.eager {
		gb = eagerGradBytes
	}
	shard := func(dense, expert float64, stage int) float64 {
		if zero >= stage {
			return dense/dpg + expert/edpg
		}
		return dense + expert
	}
	gemm := e.gemmWeightBytes()
	return Memory{
		WeightsGiB:   (shard(gemm*(pd-emb), gemm*px, 3) + shard(e.weightBytes()*emb, 0, 3)) / gib,
		GradsGiB:     shard(gb*pd, gb*px, 2) / gib,
		OptimizerGiB: shard(ob*pd, ob*px, 1) / gib,
	}
}

// rankParams is the dense and expert parameters pipeline rank rl holds
// (not sharded by ZeRO); emb is the embedding part of dense. Under
// DualPipe rl is the rank's two stages together (dualPipeLoad).
func (e *Estimator) rankParams(rl rankLoad, c *layerCache) (dense, expert, emb float64) {
	dense = rl.dense*c.dense.params + rl.moe*c.moe.params
	expert = rl.moe * c.moe.expParams
	both := rl.first && rl.last // the embedding and the output head on this rank
	if rl.mtp > 0 {
		// Multi-token prediction modules: a layer each (MoE where the
		// model is), the projection of [hidden; embedding] to hidden, and
		// a copy of the embedding when it lives on another rank; the
		// output head is the main model's, and so is the embedding when
		// both sit on this rank, as DualPipe places them (DeepSeek-V3
		// §2.2, §3.2.3: "physical sharing of parameters and gradients,
		// of the shared embedding and output head").
		last := &c.dense
		if e.moe {
			last = &c.moe
		}
		dense += rl.mtp * (last.params + 2*e.hidden*e.hidden/c.s.tp)
		expert += rl.mtp * last.expParams
		if !both {
			emb += e.embParams / c.s.tp
		}
	}
	one := e.embParams / c.s.tp
	if rl.first || (rl.last && !e.tied) || (rl.last && !both) {
		emb += one // the input embedding, or an untied output layer, or a tied copy on the last stage
	}
	if both && !e.tied {
		emb += one // input and output embeddings both here
	}
	return dense + emb, expert, emb
}

// dualPipeLoad is what a rank holds under DualPipe: its stage rl of the
// micro-batches fed from the first rank and the mirror stage of those fed
// from the last, so every stage lives on two ranks (DualPipe README:
// parameters 2× those of 1F1B).
func dualPipeLoad(rl, mirror rankLoad) rankLoad {
	return rankLoad{dense: rl.dense + mirror.dense, moe: rl.moe + mirror.moe, mtp: rl.mtp + mirror.mtp,
		first: rl.first || mirror.first, last: rl.last || mirror.last}
}

// rankMemory is the memory of pipeline rank r of the layout at its peak:
// the model states live at that moment, the activations of the
// micro-batches in flight, and the buffers and allocator slack around
// them.
func (e *Estimator) rankMemory(l *spec.Layout, c *layerCache, r int, rl rankLoad, pd, px, emb, m, dpg, edpg float64) Memory {
	mem := e.stateMemory(stateZeRO(l), pd, px, emb, dpg, edpg)
	if e.offloads(l, spec.OffloadOptimizer) {
		mem.OptimizerGiB = 0 // in host memory
	}
	act := e.rankActivations(l, c, r, rl, m)
	mem.ActivationsGiB = act / gib
	var buffers float64
	if l.TP > 1 {
		buffers += tpGatherBuffers * c.s.tokens * e.hidden * bf16Bytes
	}
	buffers += e.wgradDummies(c, rl)
	mem.FragmentationGiB = fragmentation * act / gib
	mem.OtherGiB = buffers/gib + mem.FragmentationGiB
	states := mem.WeightsGiB + mem.OptimizerGiB
	if e.eager && m == 1 {
		// zero_grad(set_to_none=True), PyTorch's default, frees .grad
		// between steps: with one micro-batch no gradient exists at the
		// activations' peak (the start of backward), and backward frees
		// activations as it allocates gradients (torch/optim/optimizer.py).
		// Megatron's main_grad buffer is allocated once and always
		// resident (param_and_grad_buffer.py).
		mem.AllocatedGiB = states + max(mem.ActivationsGiB+buffers/gib, mem.GradsGiB)
	} else {
		mem.AllocatedGiB = states + mem.GradsGiB + mem.ActivationsGiB + buffers/gib
	}
	mem.PeakGiB = mem.AllocatedGiB + mem.FragmentationGiB
	mem.Stage = r
	return mem
}

// rankActivations is the activation bytes rank r holds at its peak.
func (e *Estimator) rankActivations(l *spec.Layout, c *layerCache, r int, rl rankLoad, m float64) float64 {
	s := &c.s
	layers := rl.dense + rl.moe
	var perLayer float64
	if layers > 0 {
		perLayer = (rl.dense*c.dense.saved + rl.moe*c.moe.saved) / layers
	}
	chunks := inFlight(l.PP, l.VPP, r, int(m)) // micro-batch chunks held at the peak
	if s.dualPipe {
		// PP+1 chunks (DualPipe README, DeepSeek-V3 report Table 2),
		// a chunk being one micro-batch through one stage: each end's
		// half of the batch is scattered into micro-batches (dualpipe.py
		// step: half_num_chunks each).
		chunks = min(float64(l.PP+1), m)
	}
	stages := float64(l.VPP)
	if s.dualPipe {
		stages = 2 // rl is the rank's two stages; a chunk runs through one
	}
	held := chunks * layers / stages // layers' worth of saved activations
	if e.offloads(l, spec.OffloadActivations) {
		held = min(held, offloadedLayers)
	}
	act := held * perLayer
	if s.recompute == spec.RecomputeFull && layers > 0 {
		// The layer being recomputed holds its full working set.
		act += max(c.dense.working, c.moe.working*boolf(rl.moe > 0))
	}
	if s.recompute == spec.RecomputeOp && layers > 0 {
		// And under per-op checkpointing what it recomputes.
		act += max(0, c.dense.working-c.dense.saved)
	}
	if rl.first {
		act += chunks * s.normTokens * e.hidden * bf16Bytes // embedding outputs
	}
	if rl.last {
		// The logits and the head's inputs, of the main model and of
		// each MTP module (its own final norm before the shared head).
		act += (1+rl.mtp)*(e.logitsHeld(&c.shapeCosts)+e.headInputsHeld(s)) + e.headWeightCopy(s)
		if rl.mtp > 0 {
			// The last stage's micro-batch in flight through the MTP
			// modules.
			last := c.dense.saved
			if e.moe {
				last = c.moe.saved
			}
			act += rl.mtp * last
		}
	}
	return act
}

// wgradDummies is the bytes of the placeholder weight gradients (see
// wgradDummyBytes) rank rl holds at its peak: one of each distinct GEMM
// weight shape of its layers (the attention projections, the dense FFN,
// one routed and the shared expert) and, on the last rank, the output
// layer's. Megatron's DDP keeps main_grad buffers; eager PyTorch and FSDP
// (ZeRO 3) hand autograd the real gradients, which are counted already.
func (e *Estimator) wgradDummies(c *layerCache, rl rankLoad) float64 {
	s := &c.s
	if e.eager || s.zero3 {
		return 0
	}
	var shapes float64
	if rl.dense+rl.moe+rl.mtp > 0 {
		shapes = e.attentionParams(s)
		if rl.dense > 0 || (rl.mtp > 0 && !e.moe) {
			shapes += e.denseFFNParams / s.tp
		}
		if rl.moe > 0 || (rl.mtp > 0 && e.moe) {
			shapes += e.sharedParams/s.tp + e.expertParams/(e.experts*s.etp)
		}
	}
	if rl.last {
		shapes += e.embParams / s.tp
	}
	return wgradDummyBytes * shapes
}

func boolf(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
