package estimate

import (
	"math"

	"github.com/flopcast/flopcast/hardware"
	"github.com/flopcast/flopcast/spec"
)

// Data-parallel traffic (gradient reduction, parameter gathers by ZeRO
// stage) and the optimizer step.

const (
	// dpBucketParams: Megatron-Core's DDP bucket size in parameters
	// (max(40M, 1M·dp); Megatron-LM distributed_data_parallel_config.py).
	dpBucketParams = 40e6
	// dpGradBytes, dpParamBytes: gradients are reduced in fp32
	// (grad_reduce_in_fp32), parameters gathered in bf16.
	dpGradBytes, dpParamBytes = fp32Bytes, bf16Bytes
	// Optimizer step, bytes streamed per local parameter. megatron: fused
	// Adam reads and writes the fp32 master weight and two moments, reads
	// the fp32 gradient and writes the bf16 weight (4·7 + 2 = 30), plus
	// the gradient-norm clipping's read (4) and the zeroing of the
	// gradient buffer (4). pytorch-amp: fused AdamW reads p, g, m, v and
	// writes p, m, v in fp32 (28). bf16 moments (training.optimizer_moments)
	// save 2 bytes on each of their four accesses.
	optimizerStepBytes, eagerOptimizerStepBytes = 38.0, 28.0
	// optimizerStreamEff is the share of the chip's copy bandwidth that a
	// fused optimizer kernel streams at: measured, PyTorch's fused AdamW
	// (multi_tensor_apply over chunks of each tensor, four fp32 inputs and
	// three outputs an element) ran at 0.76-0.84 of the device-to-device
	// copy rate, 0.80 on average, over the three profiled steps of
	// catalog/measured/h200.json (1.2B-5.5B parameters). Apex's and
	// Transformer Engine's fused Adam, which Megatron-Core uses, are the
	// same multi_tensor_apply scheme.
	optimizerStreamEff = 0.80
)

// dpLines prices the data-parallel collectives of a layout once: the dense
// weights' group (dp×cp chips, tp apart) and, for a mixture of experts,
// the experts' (tp·cp·dp/(etp·ep) chips, etp·ep apart: expertDP). A dense
// model has no expert parameters to move, and its expert Cost stays zero.
type dpLines struct{ dense, expert hardware.Cost }

func (e *Estimator) dpLines(l *spec.Layout, s *shape, dpg, edpg float64) dpLines {
	lines := dpLines{dense: e.fab.ReduceScatterCost(dpg, float64(l.TP))}
	if e.moe {
		lines.expert = e.fab.ReduceScatterCost(edpg, s.etp*s.ep)
	}
	return lines
}

// expertDP is the expert-data-parallel group over which the experts'
// gradients are reduced (spec.Layout.ExpertDP: Megatron-Core's decoupled
// grids, parallel_state.py).
func expertDP(l *spec.Layout) float64 { return float64(l.ExpertDP()) }

// optimizerTime is the optimizer step of pd dense and px expert
// parameters, sharded by ZeRO-1 and above.
func (e *Estimator) optimizerTime(l *spec.Layout, pd, px, dpg, edpg float64) float64 {
	n := pd + px
	if l.ZeRO >= 1 {
		n = pd/dpg + px/edpg
	}
	if e.offloads(l, spec.OffloadOptimizer) {
		return e.optimizerOffloadTime(n)
	}
	b := float64(optimizerStepBytes)
	if e.eager {
		b = eagerOptimizerStepBytes
	}
	if e.bf16Moments {
		b -= 2 * bf16MomentSaving // each moment read and written in bf16
	}
	t := e.dev.Mem(b*n) / optimizerStreamEff
	if e.fp8 && !e.eager {
		// The updated weights are quantised once a step, both usages,
		// for every weight this rank computes with (pd + px): Transformer
		// Engine caches the quantised copy across the step's micro-batches
		// (module/linear.py and module/grouped_linear.py, is_first_microbatch,
		// which Megatron-Core's TELinear and TEGroupedLinear pass), and
		// primary weights kept quantised (training.fp8_params) are
		// re-quantised once after the parameter all-gather.
		t += e.dev.Quantize(pd + px)
	}
	return t
}

// stateZeRO is the ZeRO stage by which a layout holds and exchanges its
// model states. ZeRO-3 under pipeline parallelism holds them as ZeRO-1
// does. Its one implementation is PyTorch's FSDP2 under
// torch.distributed.pipelining (DeepSpeed's pipeline engine refuses
// ZeRO-3), whose schedules run a stage's micro-batches without resharding
// or reducing gradients between them (pipelining/stage.py,
// backward_maybe_with_nosync), and torchtitan turns off resharding after
// forward under PP (torchtitan parallelize_llama apply_fsdp: a
// per-micro-batch re-gather would be exposed). So a stage's weights stay
// gathered from the first forward to the last backward, its gradients
// accumulate unsharded in fp32 (FSDP2's reduce dtype), and it gathers its
// weights and reduce-scatters its gradients once per step; only the
// optimizer states and fp32 masters stay sharded. ZeRO-2 under PP keeps
// sharding its gradients per micro-batch, as Llama 3's FSDP did (Llama 3
// report §3.3.2). Under PP, then, ZeRO-3 stands outside the order of the
// other stages' memory (MemoryOrder).
func stateZeRO(l *spec.Layout) int {
	if OutsideMemoryOrder(l.PP, l.ZeRO) {
		return 1
	}
	return l.ZeRO
}

// OutsideMemoryOrder reports whether ZeRO stage zero under pp pipeline
// stages is left out of MemoryOrder(pp): ZeRO-3 under pipeline
// parallelism, which holds its states as ZeRO-1 does (stateZeRO).
func OutsideMemoryOrder(pp, zero int) bool { return pp > 1 && zero == 3 }

// MemoryOrder is the ZeRO stages from the one that needs the least memory
// per device to the one that needs the most, for a layout with pp
// pipeline stages: a stage later in the order never needs less memory than
// an earlier one. Without pipeline parallelism it is 3, 2, 1, 0. Under it,
// ZeRO-3 keeps its stage's weights gathered and its gradients unsharded
// (stateZeRO) and is left out, 2, 1, 0: it needs more memory than ZeRO-2
// with bf16 weights, and may need less with pytorch-amp's fp32 ones.
func MemoryOrder(pp int) []int {
	order := make([]int, 0, 4)
	for z := 3; z >= 0; z-- {
		if !OutsideMemoryOrder(pp, z) {
			order = append(order, z)
		}
	}
	return order
}

// dpTraffic is the data-parallel collectives of one step by ZeRO stage:
// gradient reduction and parameter gathers.
func dpTraffic(zero int, lines *dpLines, pd, px, m float64) (grad, gather float64) {
	rs := lines.dense.At(dpGradBytes*pd) + lines.expert.At(dpGradBytes*px)
	ag := lines.dense.At(dpParamBytes*pd) + lines.expert.At(dpParamBytes*px)
	switch {
	case zero == 0:
		return 2 * rs, 0 // all-reduce = reduce-scatter + all-gather
	case zero == 1:
		return rs, ag
	case zero == 2:
		// Sharded gradients cannot accumulate locally: every micro-batch
		// reduce-scatters its own (DeepSpeed ZeRO-2).
		return m * rs, ag
	}
	// ZeRO-3: gather weights for forward and again for backward, and
	// reduce-scatter gradients, for every micro-batch.
	return m * rs, 2 * m * ag
}

// dpExposed is the data-parallel communication of rank r that the step
// cannot hide; pd and px are its dense and expert parameters.
func (e *Estimator) dpExposed(l *spec.Layout, lines *dpLines, r int, pd, px float64, rl rankLoad, c *layerCache, m float64) float64 {
	grad, gather := dpTraffic(stateZeRO(l), lines, pd, px, m)
	if grad+gather == 0 {
		return 0
	}
	if !e.dpOverlap {
		return grad + gather
	}
	dc, mc := &c.dense, &c.moe
	fwd := rl.dense*dc.fwd + rl.moe*mc.fwd
	bwd := rl.dense*(dc.bwd+dc.recompute) + rl.moe*(mc.bwd+mc.recompute)
	var exp float64
	buckets := max(1, math.Ceil((pd+px)/dpBucketParams))
	switch stateZeRO(l) {
	case 3:
		// Prefetched per layer: what outlasts the compute stays exposed,
		// plus the first layer's gather.
		layers := max(1, rl.dense+rl.moe)
		exp = max(0, gather+grad-m*(fwd+bwd)) + gather/(2*m*layers)
	case 2:
		// Each micro-batch's reduce-scatter runs on its own stream from
		// its backward on, beside the backward and the later micro-batches'
		// passes: all the step's compute after the first forward hides
		// it. The gather hides behind the next step's first forward.
		exp = max(grad-(m*(fwd+bwd)-fwd), grad/buckets) + max(gather-fwd, gather/buckets)
	default:
		// Gradients reduce in buckets during the last micro-batch's
		// backward; later pipeline stages finish earlier and have the
		// drain as slack. Parameter gathers overlap with the next step's
		// first forward, later stages starting later.
		// Interleaved, each chunk's reduction starts earlier
		// (interleavedDPWindow).
		gw, fw := bwd*(1+float64(r)), fwd*(1+float64(r))
		if l.VPP > 1 {
			gw, fw = interleavedDPWindow(l, bwd), interleavedDPWindow(l, fwd)
		}
		exp = max(grad-gw, grad/buckets)
		if gather > 0 {
			exp += max(gather-fw, gather/buckets)
		}
	}
	return exp + e.commShare*max(0, grad+gather-exp)
}

// interleavedDPWindow is the compute that hides a rank's data-parallel
// gradient reduction (pass = the rank's backward of one micro-batch) or its
// next step's parameter gathers (pass = its forward) under interleaved
// 1F1B. Each model chunk's gradients are final after its own last
// micro-batch's backward, and Megatron-Core launches that chunk's reduction
// then (schedules.py, forward_backward_pipelining_with_interleaving:
// grad_sync_func per chunk at is_last_microbatch_for_model_chunk, delayed
// by the rank so that all pipeline ranks launch together, which uses up
// the drain's slack). The last group of p micro-batches runs the chunks'
// backwards from the last chunk to the first, so chunk c's reduction runs
// beside the c·p chunk passes that follow it: the reductions in turn have
// the last chunk's own backward plus (v−1)·p chunk passes, one chunk being
// 1/v of the rank. The gathers mirror it: chunk c's parameters are
// gathered while the first c·p forward chunk passes run (param_sync_func
// launched at each chunk's first micro-batch).
func interleavedDPWindow(l *spec.Layout, pass float64) float64 {
	v, p := float64(l.VPP), float64(l.PP)
	return pass * (1 + (v-1)*p) / v
}
