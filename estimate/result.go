package estimate

import "github.com/flopcast/flopcast/spec"

// Result is the prediction for one configuration. It is a plain value with
// no pointers so that Eval can fill it without allocating. Its JSON form is
// the output contract of docs/output.md (without the "run" block, which the
// economics package adds).
type Result struct {
	Parallel           spec.Layout `json:"parallel"`
	StepTimeS          float64     `json:"step_time_s"`
	TokensPerS         float64     `json:"tokens_per_s"`
	ModelTFLOPsPerChip float64     `json:"model_tflops_per_chip"`
	MFU                float64     `json:"mfu"`
	HFU                float64     `json:"hfu"`
	Memory             Memory      `json:"memory"`
	Breakdown          Breakdown   `json:"breakdown"`
	// Warnings is a bit set of Warning values; Warnings() lists them.
	Warn Warning `json:"-"`
}

// Memory is the per-device memory of the most loaded pipeline stage, GiB.
// PeakGiB, what must fit in CapacityGiB, is AllocatedGiB (live tensors)
// plus what the caching allocator reserves beyond them
// (FragmentationGiB). Memory the runtime holds outside the allocator
// (CUDA context, cuBLAS workspaces, NCCL buffers) is taken off the
// capacity.
type Memory struct {
	PeakGiB        float64 `json:"peak_gib"`
	WeightsGiB     float64 `json:"weights_gib"`
	GradsGiB       float64 `json:"grads_gib"`
	OptimizerGiB   float64 `json:"optimizer_gib"`
	ActivationsGiB float64 `json:"activations_gib"`
	OtherGiB       float64 `json:"other_gib"`
	// FragmentationGiB is the part of OtherGiB the caching allocator
	// reserves but does not hand out.
	FragmentationGiB float64 `json:"fragmentation_gib"`
	// AllocatedGiB is the peak of live tensors, what
	// torch.cuda.max_memory_allocated reports: PeakGiB less
	// FragmentationGiB. The states, activations and buffers above add up
	// to it, except that a gradient not yet allocated at the activations'
	// peak (pytorch-amp, one micro-batch) is left out of it.
	AllocatedGiB float64 `json:"allocated_gib"`
	CapacityGiB  float64 `json:"capacity_gib"` // usable device memory
	OverflowGiB  float64 `json:"overflow_gib"` // PeakGiB - CapacityGiB when it does not fit
	Fits         bool    `json:"fits"`
	Stage        int     `json:"stage"` // the pipeline stage with the peak
}

// Breakdown splits the step time. The fields add up to the step time.
type Breakdown struct {
	ComputeS       float64 `json:"compute_s"`
	ExposedTPCommS float64 `json:"exposed_tp_comm_s"`
	ExposedCPCommS float64 `json:"exposed_cp_comm_s"`
	ExposedEPCommS float64 `json:"exposed_ep_comm_s"`
	// OffloadS is the activation offload to host memory that compute does
	// not hide (0 without offload).
	OffloadS        float64 `json:"offload_s,omitempty"`
	ExposedPPCommS  float64 `json:"exposed_pp_comm_s"`
	PipelineBubbleS float64 `json:"pipeline_bubble_s"`
	ExposedDPCommS  float64 `json:"exposed_dp_comm_s"`
	OptimizerS      float64 `json:"optimizer_s"`
	// SyncS is what synchronisation adds: every step runs at the pace of
	// the job's slowest chip, since nominally identical chips differ in
	// speed (hardware.SlowestOf), and gathers the gradient norm from every
	// chip to the host before the optimizer.
	SyncS float64 `json:"sync_s"`
}

// Warning flags conditions a user should know about.
type Warning uint32

// Warnings the estimator raises.
const (
	WarnTPCrossesScaleUp Warning = 1 << iota
	WarnEPCrossesScaleUp
	WarnCPCrossesScaleUp
	WarnDoesNotFit
	WarnBubbleLarge
	WarnFewMicroBatches
	WarnUnevenStages
	WarnSPOff
	WarnNoHostLink
)
