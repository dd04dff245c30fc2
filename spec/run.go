// Package spec is the run.yaml contract: its types, strict parsing,
// defaults, validation and resolution against the catalog.
package spec

import (
	"github.com/flopcast/flopcast/model"
)

// Run is run.yaml as written by a user. Optional knobs are pointers so that
// "left out" (searched, or defaulted) differs from zero.
type Run struct {
	Model       ModelRef     `yaml:"model" json:"model"`
	Cluster     Cluster      `yaml:"cluster" json:"cluster"`
	Training    Training     `yaml:"training" json:"training"`
	Parallel    Parallel     `yaml:"parallel,omitempty" json:"parallel,omitempty"`
	Economics   *Economics   `yaml:"economics,omitempty" json:"economics,omitempty"`
	Reliability *Reliability `yaml:"reliability,omitempty" json:"reliability,omitempty"`
}

// ModelRef is either a catalog name or an inline architecture.
type ModelRef struct {
	Name   string
	Inline *model.Config
}

// Cluster is the hardware of a run. Overrides replace catalog figures.
type Cluster struct {
	Chip          string   `yaml:"chip" json:"chip"`
	Chips         int      `yaml:"chips" json:"chips"`
	ScaleUpDomain *int     `yaml:"scale_up_domain,omitempty" json:"scale_up_domain,omitempty"`
	ScaleUpGBps   *float64 `yaml:"scale_up_gbps,omitempty" json:"scale_up_gbps,omitempty"`
	ScaleOutGBps  *float64 `yaml:"scale_out_gbps,omitempty" json:"scale_out_gbps,omitempty"`
	HBMGiB        *float64 `yaml:"hbm_gib,omitempty" json:"hbm_gib,omitempty"`
	// Profile is a calibration file (flopcast calibrate) or the name of a
	// built-in profile.
	Profile string `yaml:"profile,omitempty" json:"profile,omitempty"`
}

// Training describes the optimisation itself.
type Training struct {
	SeqLen      int       `yaml:"seq_len" json:"seq_len"`
	GlobalBatch int       `yaml:"global_batch" json:"global_batch"`
	Tokens      float64   `yaml:"tokens,omitempty" json:"tokens,omitempty"`
	BatchRamp   []Ramp    `yaml:"batch_ramp,omitempty" json:"batch_ramp,omitempty"`
	Precision   Precision `yaml:"precision,omitempty" json:"precision,omitempty"`
	Recipe      Recipe    `yaml:"recipe,omitempty" json:"recipe,omitempty"`
	Optimizer   string    `yaml:"optimizer,omitempty" json:"optimizer,omitempty"` // adamw
	// FP8Params: the primary weights are kept in FP8 and gathered in FP8
	// (Megatron's --fp8-param-gather), so there is no second bf16 copy.
	// Default true for the megatron recipe under a low-precision format.
	FP8Params *bool `yaml:"fp8_params,omitempty" json:"fp8_params,omitempty"`
	// OptimizerMoments: the format of Adam's first and second moments,
	// fp32 (default) or bf16 (Megatron-Core --use-precision-aware-optimizer
	// --exp-avg-dtype bf16 --exp-avg-sq-dtype bf16; DeepSeek-V3 report
	// §3.3.3). Master weights and gradients stay fp32.
	OptimizerMoments string `yaml:"optimizer_moments,omitempty" json:"optimizer_moments,omitempty"`
	// FP8Activations: activations that are not GEMM inputs cached in low
	// precision too, as DeepSeek-V3 does (report §3.3.3): the MoE SwiGLU
	// input in FP8, the attention output in E5M6. Needs a low precision
	// and the megatron recipe.
	FP8Activations bool `yaml:"fp8_activations,omitempty" json:"fp8_activations,omitempty"`
	// FP8Scaling is how fp8 GEMM operands are scaled: tensorwise (default,
	// one scale per tensor, as Transformer Engine and torchao's tensorwise
	// recipe) or rowwise (torchao's rowwise recipe: one scale per row of
	// each operand, along the dimension its GEMM reduces over). Only with
	// precision fp8.
	FP8Scaling string `yaml:"fp8_scaling,omitempty" json:"fp8_scaling,omitempty"`
	// FlashAttention: fused attention that never stores the score matrix.
	// Default true; runs before mid-2022 used false.
	FlashAttention *bool `yaml:"flash_attention,omitempty" json:"flash_attention,omitempty"`
	// AttentionKernel is which fused attention kernel runs: fused (default:
	// the chip's best, cuDNN or Transformer Engine fused attention,
	// FlashAttention-3 on Hopper) or flash2 (FlashAttention-2: the
	// flash-attn 2.x package, and PyTorch SDPA's flash backend, which
	// ports it). FlashAttention-2 is written for Ampere's tensor-core
	// instructions and leaves much of a Hopper chip idle.
	AttentionKernel string `yaml:"attention_kernel,omitempty" json:"attention_kernel,omitempty"`
	// TPCommOverlap: TP collectives split and pipelined with the GEMMs
	// (Megatron-Core --tp-comm-overlap). Default true for the megatron
	// recipe with sequence parallelism; runs before 2023 used false.
	TPCommOverlap *bool `yaml:"tp_comm_overlap,omitempty" json:"tp_comm_overlap,omitempty"`
	// DPCommOverlap: data-parallel gradient reduction bucketed and overlapped
	// with the backward pass, and ZeRO parameter gathers overlapped with the
	// forward pass. Default true; Megatron-LM before 2023 used false.
	DPCommOverlap *bool `yaml:"dp_comm_overlap,omitempty" json:"dp_comm_overlap,omitempty"`
	// EPCommOverlap: expert all-to-all of one micro-batch runs while
	// another computes (DeepSeek's DualPipe; Megatron-Core's MoE A2A
	// overlap). Default false: dispatch and combine sit on the critical
	// path.
	EPCommOverlap bool `yaml:"ep_comm_overlap,omitempty" json:"ep_comm_overlap,omitempty"`
	// MoEDispatcher is how tokens reach their experts across expert
	// parallelism (Megatron-Core --moe-token-dispatcher-type): alltoall
	// (default) sends one message per (token, expert); deepep and hybridep
	// (the flex dispatcher's backends) send a token once per destination
	// node and forward it inside the node.
	MoEDispatcher string `yaml:"moe_dispatcher,omitempty" json:"moe_dispatcher,omitempty"`
	// CPCommType is how context parallelism exchanges the sequence
	// (Megatron-Core --cp-comm-type, Transformer Engine's context-parallel
	// attention): p2p (default) passes K and V chunks around a ring while
	// each rank attends with its queries; a2a (Ulysses) swaps the sequence
	// shards for head shards with an all-to-all of q, k and v before the
	// attention and of its output after, so each rank attends over the
	// whole sequence with heads/cp heads.
	CPCommType string `yaml:"cp_comm_type,omitempty" json:"cp_comm_type,omitempty"`
	// FusedLoss: the softmax cross-entropy runs as one fused kernel that
	// reads the bf16 logits and writes their gradient in place (llm.c's
	// fused_classifier; Megatron-LM's --cross-entropy-loss-fusion
	// --cross-entropy-fusion-impl te, Transformer Engine's
	// parallel_cross_entropy), instead of Megatron's or PyTorch's fp32
	// passes.
	// Default false.
	FusedLoss bool `yaml:"fused_loss,omitempty" json:"fused_loss,omitempty"`
	// Dropout: the run stores dropout masks (GPT-3-era models). Default false.
	Dropout bool `yaml:"dropout,omitempty" json:"dropout,omitempty"`
}

// Ramp is one stage of a batch-size ramp: the first Tokens tokens of the run
// use GlobalBatch.
type Ramp struct {
	Tokens      float64 `yaml:"tokens" json:"tokens"`
	GlobalBatch int     `yaml:"global_batch" json:"global_batch"`
}

// Parallel is the layout as given. Every field is optional.
type Parallel struct {
	TP         *int `yaml:"tp,omitempty" json:"tp,omitempty"`
	PP         *int `yaml:"pp,omitempty" json:"pp,omitempty"`
	DP         *int `yaml:"dp,omitempty" json:"dp,omitempty"`
	CP         *int `yaml:"cp,omitempty" json:"cp,omitempty"`
	EP         *int `yaml:"ep,omitempty" json:"ep,omitempty"`
	VPP        *int `yaml:"vpp,omitempty" json:"vpp,omitempty"`
	MicroBatch *int `yaml:"micro_batch,omitempty" json:"micro_batch,omitempty"`
	ZeRO       *int `yaml:"zero,omitempty" json:"zero,omitempty"`
	// ETP is the expert tensor-parallel size; default tp.
	ETP *int `yaml:"etp,omitempty" json:"etp,omitempty"`
	// Recompute: none, selective, full, or modules (a list or a comma
	// string).
	Recompute *Recompute `yaml:"recompute,omitempty" json:"recompute,omitempty"`
	// Offload: none, activations, optimizer, or both (a list).
	Offload *Offload `yaml:"offload,omitempty" json:"offload,omitempty"`
	// PPSchedule: 1f1b, interleaved or dualpipe; default interleaved when
	// vpp > 1, else 1f1b.
	PPSchedule       *Schedule `yaml:"pp_schedule,omitempty" json:"pp_schedule,omitempty"`
	SequenceParallel *bool     `yaml:"sequence_parallel,omitempty" json:"sequence_parallel,omitempty"`
}

// Precision is the number format of the training GEMMs.
type Precision string

// Precisions.
const (
	// PrecisionBF16: bf16 GEMMs with fp32 accumulation.
	PrecisionBF16 Precision = "bf16"
	// PrecisionFP8: per-tensor scaled FP8 (Hopper and later; Transformer
	// Engine's delayed or current scaling).
	PrecisionFP8 Precision = "fp8"
	// PrecisionMXFP8: OCP microscaling FP8, one E8M0 scale per 32
	// values (Blackwell).
	PrecisionMXFP8 Precision = "mxfp8"
	// PrecisionNVFP4: NVIDIA's FP4 with one FP8 scale per 16 values and a
	// per-tensor scale (Blackwell).
	PrecisionNVFP4 Precision = "nvfp4"
)

// Precisions lists the known precisions.
var Precisions = []Precision{PrecisionBF16, PrecisionFP8, PrecisionMXFP8, PrecisionNVFP4}

// LowPrecision reports whether the GEMMs run in an 8-bit or 4-bit format
// (the formats whose weights Transformer Engine keeps quantized copies
// of).
func (p Precision) LowPrecision() bool {
	return p == PrecisionFP8 || p == PrecisionMXFP8 || p == PrecisionNVFP4
}

// Formats of the Adam moments (training.optimizer_moments).
const (
	MomentsFP32 = "fp32"
	MomentsBF16 = "bf16"
)

// Recipe is how the framework keeps and updates weights.
type Recipe string

// Recipes.
const (
	// RecipeMegatron: bf16 parameters and gradients, fp32 master weights
	// and Adam states, fused kernels.
	RecipeMegatron Recipe = "megatron"
	// RecipePyTorchAMP: fp32 parameters, gradients and Adam states,
	// torch.autocast to bf16, eager unfused operators.
	RecipePyTorchAMP Recipe = "pytorch-amp"
)

// Recipes lists the known recipes.
var Recipes = []Recipe{RecipeMegatron, RecipePyTorchAMP}

// Economics overrides the catalog's economic defaults.
type Economics struct {
	PricePerChipHour     *float64 `yaml:"price_per_chip_hour,omitempty" json:"price_per_chip_hour,omitempty"`
	CapexPerChip         *float64 `yaml:"capex_per_chip,omitempty" json:"capex_per_chip,omitempty"`
	DepreciationYears    *float64 `yaml:"depreciation_years,omitempty" json:"depreciation_years,omitempty"`
	ServerNetworkShare   *float64 `yaml:"server_network_share,omitempty" json:"server_network_share,omitempty"` // USD per chip
	FacilityUSDPerMW     *float64 `yaml:"facility_usd_per_mw,omitempty" json:"facility_usd_per_mw,omitempty"`
	PUE                  *float64 `yaml:"pue,omitempty" json:"pue,omitempty"`
	ElectricityUSDPerMWh *float64 `yaml:"electricity_usd_per_mwh,omitempty" json:"electricity_usd_per_mwh,omitempty"`
	GridKgCO2PerKWh      *float64 `yaml:"grid_kg_co2_per_kwh,omitempty" json:"grid_kg_co2_per_kwh,omitempty"`
	MarketKgCO2PerKWh    *float64 `yaml:"market_kg_co2_per_kwh,omitempty" json:"market_kg_co2_per_kwh,omitempty"`
	ChipPowerW           *float64 `yaml:"chip_power_w,omitempty" json:"chip_power_w,omitempty"`
	HostPowerW           *float64 `yaml:"host_power_w,omitempty" json:"host_power_w,omitempty"`
}

// Reliability overrides the catalog's reliability defaults.
type Reliability struct {
	// Site names a failure-rate profile of the reliability catalog
	// (llama3, rsc, middle); the default is the middle of the published rates.
	Site                string   `yaml:"site,omitempty" json:"site,omitempty"`
	FailuresPerChipHour *float64 `yaml:"failures_per_chip_hour,omitempty" json:"failures_per_chip_hour,omitempty"`
	MTTIHours           *float64 `yaml:"mtti_hours,omitempty" json:"mtti_hours,omitempty"` // job-level mean time to interrupt
	CheckpointWriteS    *float64 `yaml:"checkpoint_write_s,omitempty" json:"checkpoint_write_s,omitempty"`
	CheckpointIntervalS *float64 `yaml:"checkpoint_interval_s,omitempty" json:"checkpoint_interval_s,omitempty"`
	StorageGBps         *float64 `yaml:"storage_gbps,omitempty" json:"storage_gbps,omitempty"`
	RestartS            *float64 `yaml:"restart_s,omitempty" json:"restart_s,omitempty"`
}
