package spec

import (
	"github.com/flopcast/flopcast/hardware"
	"github.com/flopcast/flopcast/model"
)

// Resolved is a validated run with the catalog looked up, overrides applied
// and defaults filled. The estimator and the search work from it.
type Resolved struct {
	Model   model.Config
	Chip    hardware.Chip
	Profile *hardware.Profile // measured profile in use, if any
	Chips   int

	Training ResolvedTraining
	// Layout is the layout with defaults applied (what estimate uses).
	Layout Layout
	// Given records which parallel knobs the run fixed (search keeps them).
	Given Given

	Economics   Economics   // zero-valued fields: use catalog defaults
	Reliability Reliability // likewise

	// Warnings are non-fatal remarks from resolution (e.g. a profile that
	// does not match the chip).
	Warnings []string
}

// ResolvedTraining is Training with defaults applied.
type ResolvedTraining struct {
	SeqLen      int
	GlobalBatch int
	Tokens      float64
	BatchRamp   []Ramp
	Precision   Precision
	Recipe      Recipe
	Optimizer   string
	// FP8Params: primary weights kept in the low-precision format (only
	// with a low-precision Precision).
	FP8Params bool
	// OptimizerMoments: fp32 or bf16 Adam moments.
	OptimizerMoments string
	// FP8Activations: the MoE SwiGLU input and the attention output
	// cached in low precision (DeepSeek-V3 §3.3.3).
	FP8Activations bool
	// FP8Scaling: ScalingTensorwise or ScalingRowwise (fp8 only;
	// ScalingTensorwise otherwise).
	FP8Scaling     string
	FlashAttention bool
	// AttentionKernel: AttentionFused or AttentionFlash2.
	AttentionKernel string
	// TPCommOverlap nil means automatic: on for megatron with sequence
	// parallelism.
	TPCommOverlap *bool
	DPCommOverlap bool
	EPCommOverlap bool
	MoEDispatcher string // alltoall, deepep or hybridep
	CPCommType    string // p2p or a2a
	FusedLoss     bool   // the softmax cross-entropy as one fused kernel (training.fused_loss)
	Dropout       bool
}

// Fused attention kernels (training.attention_kernel).
const (
	AttentionFused  = "fused"
	AttentionFlash2 = "flash2"
)

// How fp8 GEMM operands are scaled (training.fp8_scaling).
const (
	ScalingTensorwise = "tensorwise"
	ScalingRowwise    = "rowwise"
)

// MoE token dispatchers (training.moe_dispatcher).
const (
	DispatcherAllToAll = "alltoall"
	DispatcherDeepEP   = "deepep"
	DispatcherHybridEP = "hybridep"
)

// Context-parallel communication (training.cp_comm_type).
const (
	CPCommP2P = "p2p"
	CPCommA2A = "a2a"
)

// PerNodeDispatch reports whether the dispatcher sends a token once per
// destination node (DeepEP, HybridEP) rather than once per expert.
func (t *ResolvedTraining) PerNodeDispatch() bool {
	return t.MoEDispatcher == DispatcherDeepEP || t.MoEDispatcher == DispatcherHybridEP
}

// TokensPerStep is the tokens of one optimizer step at the run's global
// batch (global_batch × seq_len).
func (r *Resolved) TokensPerStep() float64 {
	return float64(r.Training.GlobalBatch) * float64(r.Training.SeqLen)
}

// Given is a bit set of the parallel knobs a run fixed.
type Given uint16

// Knobs.
const (
	GivenTP Given = 1 << iota
	GivenPP
	GivenDP
	GivenCP
	GivenEP
	GivenVPP
	GivenMicroBatch
	GivenZeRO
	GivenRecompute
	GivenSP
	GivenETP
	GivenOffload
	GivenSchedule
)

// Has reports whether knob k was given.
func (g Given) Has(k Given) bool { return g&k != 0 }
