// Package hardware describes accelerators, their fabrics and the cost of
// collectives over those fabrics. Figures come from the embedded catalog,
// each with its source.
package hardware

import "fmt"

// Chip is one accelerator as the catalog describes it. FLOP/s figures are
// dense (no 2:4 sparsity).
type Chip struct {
	Name        string `yaml:"name" json:"name"`
	Vendor      string `yaml:"vendor" json:"vendor"`
	Description string `yaml:"description,omitempty" json:"description,omitempty"`

	BF16TFLOPS float64 `yaml:"bf16_tflops" json:"bf16_tflops"`
	FP8TFLOPS  float64 `yaml:"fp8_tflops,omitempty" json:"fp8_tflops,omitempty"` // 0: no FP8 support
	FP4TFLOPS  float64 `yaml:"fp4_tflops,omitempty" json:"fp4_tflops,omitempty"`
	// BlockScaled lists the block-scaled training formats the tensor cores
	// run natively: mxfp8 (at the FP8 peak) and nvfp4 (at the FP4 peak).
	BlockScaled []string `yaml:"block_scaled,omitempty" json:"block_scaled,omitempty"`
	HBMGB       float64  `yaml:"hbm_gb" json:"hbm_gb"`     // as on the datasheet; HBM sizes are binary (GiB)
	HBMTBps     float64  `yaml:"hbm_tbps" json:"hbm_tbps"` // peak HBM bandwidth, TB/s
	TDPW        float64  `yaml:"tdp_w,omitempty" json:"tdp_w,omitempty"`
	// HostLinkGBps is the bandwidth, GB/s per direction, that a copy
	// between the chip and its host's memory achieves (PCIe or NVLink-C2C):
	// what offloading activations or optimizer states moves over. 0: not
	// in the catalog (offload is then refused by the estimator).
	HostLinkGBps   float64 `yaml:"host_link_gbps,omitempty" json:"host_link_gbps,omitempty"`
	HostLinkSource string  `yaml:"host_link_source,omitempty" json:"host_link_source,omitempty"`
	IdleW          float64 `yaml:"idle_w,omitempty" json:"idle_w,omitempty"`
	// HostW is the per-chip share of host CPU, memory, NICs and switches.
	HostW float64 `yaml:"host_w,omitempty" json:"host_w,omitempty"`

	// SustainedClock is the fraction of the speed of its efficiency model
	// that a chip holds for tensor-core work under continuous load at its
	// power limit: what sustained GEMMs measure below a profile fitted
	// mostly to shorter kernels. It is a clock effect only; the costs of
	// running at scale are mechanisms of their own (overlapped
	// communication's share of compute, the slowest chip, the step's
	// global sync). 0 means 1 (nothing measured). SustainedClockSource says
	// where it came from.
	SustainedClock       float64 `yaml:"sustained_clock,omitempty" json:"sustained_clock,omitempty"`
	SustainedClockSource string  `yaml:"sustained_clock_source,omitempty" json:"sustained_clock_source,omitempty"`
	// SustainedClockLowPrecision is the further fraction of SustainedClock
	// that tensor work at a native low precision (FP8 and below) holds:
	// it draws more power per operation, so the power limit caps its
	// clock lower. It applies to the GEMMs run at the run's precision, not
	// to the bf16 ones beside them. 0 means 1.
	SustainedClockLowPrecision       float64 `yaml:"sustained_clock_low_precision,omitempty" json:"sustained_clock_low_precision,omitempty"`
	SustainedClockLowPrecisionSource string  `yaml:"sustained_clock_low_precision_source,omitempty" json:"sustained_clock_low_precision_source,omitempty"`
	// ResidualDerate is a factor on tensor-core speed that no modelled
	// mechanism explains: the published runs of the chip come out this
	// much slower than the measured efficiency, the sustained clock and
	// the costs of scale predict. It is kept, named as what it is, where
	// removing it would make the corpus worse; ResidualDerateSource gives
	// the evidence, including why it is not a cost of scale. The
	// estimator applies it to runs of more than one chip only: measured
	// single-chip steps do not show it. 0 means 1.
	ResidualDerate       float64 `yaml:"residual_derate,omitempty" json:"residual_derate,omitempty"`
	ResidualDerateSource string  `yaml:"residual_derate_source,omitempty" json:"residual_derate_source,omitempty"`

	// CommShare is the fraction of the chip's compute that a collective
	// takes while it runs beside compute (overlapped communication): on
	// GPUs its kernels hold SMs the GEMMs cannot use. Nil means the GPU
	// rule, CommUnits of the chip's gemm.units (hardware.CommUnits); chips
	// without units (TPU, Trainium, Gaudi) must give it, with
	// CommShareSource.
	CommShare       *float64 `yaml:"comm_share,omitempty" json:"comm_share,omitempty"`
	CommShareSource string   `yaml:"comm_share_source,omitempty" json:"comm_share_source,omitempty"`

	// Multicast says whether the chip's scale-up fabric supports CUDA
	// multicast (NVLink SHARP: Hopper and later GPUs on third-generation
	// NVSwitch), the path Transformer Engine's userbuffers comm+GEMM
	// overlap takes by default. Where it is false the overlap needs an
	// opt-in fallback, so the megatron recipe leaves tensor-parallel
	// overlap off unless a run asks for it (TPOverlapByDefault). Nil: not
	// stated, the recipe's default holds. MulticastSource says where it
	// came from.
	Multicast       *bool  `yaml:"multicast,omitempty" json:"multicast,omitempty"`
	MulticastSource string `yaml:"multicast_source,omitempty" json:"multicast_source,omitempty"`

	// Efficiency model defaults (used when no measured profile is given).
	GEMM GEMMModel `yaml:"gemm" json:"gemm"`

	// Fabric tiers from the innermost (scale-up) to the outermost
	// (scale-out). The last tier has Size 0: unbounded.
	Fabric []Tier `yaml:"fabric" json:"fabric"`

	RentUSDPerHour Price `yaml:"rent" json:"rent"`
	PurchaseUSD    Price `yaml:"purchase" json:"purchase"`

	// Profile names a built-in measured profile (catalog/profiles/NAME.yaml).
	Profile string `yaml:"profile,omitempty" json:"profile,omitempty"`

	Source     string `yaml:"source" json:"source"`
	Confidence string `yaml:"confidence,omitempty" json:"confidence,omitempty"` // high (default) | medium | low
	Notes      string `yaml:"notes,omitempty" json:"notes,omitempty"`
}

// GEMMModel is the default, datasheet-anchored GEMM efficiency model:
// time = FLOPs / (peak × MaxEff × waveEff(m,n)) + OverheadUs, where waveEff
// is the wave-quantisation loss of TileM×TileN output tiles over Units
// parallel compute units. Units 0 disables wave quantisation.
type GEMMModel struct {
	MaxEff       float64 `yaml:"max_eff" json:"max_eff"`
	OverheadUs   float64 `yaml:"overhead_us" json:"overhead_us"`
	FP8MaxEff    float64 `yaml:"fp8_max_eff,omitempty" json:"fp8_max_eff,omitempty"` // 0: same as MaxEff
	Units        int     `yaml:"units,omitempty" json:"units,omitempty"`
	TileM        int     `yaml:"tile_m,omitempty" json:"tile_m,omitempty"`
	TileN        int     `yaml:"tile_n,omitempty" json:"tile_n,omitempty"`
	MemEff       float64 `yaml:"mem_eff" json:"mem_eff"`               // achieved / peak HBM bandwidth for streaming kernels
	AttnMaxEff   float64 `yaml:"attn_max_eff" json:"attn_max_eff"`     // fused attention forward, long sequences
	AttnHalfSeq  float64 `yaml:"attn_half_seq" json:"attn_half_seq"`   // sequence length at which attention reaches half of AttnMaxEff
	AttnBwdRatio float64 `yaml:"attn_bwd_ratio" json:"attn_bwd_ratio"` // backward efficiency / forward efficiency
	// AttnFlash2MaxEff is FlashAttention-2's forward efficiency at long
	// sequences where it falls short of the chip's best fused attention
	// (AttnMaxEff): on Hopper, whose warpgroup MMA and TMA it does not
	// use. 0: FlashAttention-2 runs at AttnMaxEff (it is the chip's best
	// kernel, as on Ampere, or no separate figure is known).
	AttnFlash2MaxEff float64 `yaml:"attn_flash2_max_eff,omitempty" json:"attn_flash2_max_eff,omitempty"`
	Source           string  `yaml:"source" json:"source"`
}

// Tier is one level of the fabric.
type Tier struct {
	Name string `yaml:"name" json:"name"` // NVLink4, NeuronLink-v3, ICI, InfiniBand NDR, EFAv3...
	// Size is the number of chips that share this tier's domain
	// (8 for an HGX server, 72 for NVL72); 0 for the unbounded scale-out tier.
	Size int `yaml:"size" json:"size"`
	// GBps is the per-chip, one-direction bandwidth in GB/s (10^9 bytes).
	GBps float64 `yaml:"gbps" json:"gbps"`
	// Efficiency is the achieved fraction of GBps for large collectives
	// (bus bandwidth over link bandwidth).
	Efficiency float64 `yaml:"efficiency" json:"efficiency"`
	// LatencyUs is the per-step latency α of a collective on this tier.
	LatencyUs  float64 `yaml:"latency_us" json:"latency_us"`
	Topology   string  `yaml:"topology" json:"topology"` // switch | torus2d | torus3d
	Source     string  `yaml:"source" json:"source"`
	Confidence string  `yaml:"confidence,omitempty" json:"confidence,omitempty"`
}

// Price is a dated price with its source.
type Price struct {
	USD        float64 `yaml:"usd" json:"usd"`
	Date       string  `yaml:"date" json:"date"` // YYYY-MM or YYYY-MM-DD
	Source     string  `yaml:"source" json:"source"`
	Confidence string  `yaml:"confidence,omitempty" json:"confidence,omitempty"`
}

// PeakTFLOPS returns the dense peak for a precision: "bf16", "fp8",
// "mxfp8" (the FP8 peak) or "nvfp4" (the FP4 peak). A precision the chip
// does not run (see Supports) falls back to BF16.
func (c *Chip) PeakTFLOPS(precision string) float64 {
	if !c.Supports(precision) {
		return c.BF16TFLOPS
	}
	switch precision {
	case "fp8", "mxfp8":
		return c.FP8TFLOPS
	case "nvfp4":
		return c.FP4TFLOPS
	}
	return c.BF16TFLOPS
}

// Supports reports whether the chip runs training GEMMs in a precision:
// bf16 everywhere, fp8 where the catalog gives an FP8 peak, mxfp8 and
// nvfp4 where it lists them in block_scaled.
func (c *Chip) Supports(precision string) bool {
	switch precision {
	case "bf16":
		return true
	case "fp8":
		return c.FP8TFLOPS > 0
	case "mxfp8", "nvfp4":
		for _, f := range c.BlockScaled {
			if f == precision {
				return true
			}
		}
	}
	return false
}

// Precisions lists the precisions the chip supports, bf16 first.
func (c *Chip) Precisions() []string {
	var out []string
	for _, p := range [...]string{"bf16", "fp8", "mxfp8", "nvfp4"} {
		if c.Supports(p) {
			out = append(out, p)
		}
	}
	return out
}

// CommUnits is the number of SMs (compute units) a GPU's communication
// kernels hold while they overlap compute. NCCL runs one CTA, one SM, per
// channel, and DeepEP's dispatch and combine run on a fixed SM budget:
// DeepSeek-V3 found 20 of an H800's 132 SMs enough to saturate both its
// InfiniBand and NVLink bandwidth (DeepSeek-V3 technical report, arXiv
// 2412.19437 §3.2.2), and Megatron-Core's flex dispatcher defaults to the
// same 20 (moe_flex_dispatcher_num_sms, megatron/core/transformer/
// transformer_config.py). Taken for every collective on every GPU.
const CommUnits = 20

// CommFraction is the share of the chip's compute a running collective
// takes (CommShare), given the compute units of the efficiency model in
// use (a measured profile's or the chip's gemm.units).
func (c *Chip) CommFraction(units int) float64 {
	if c.CommShare != nil {
		return *c.CommShare
	}
	if units <= 0 {
		return 0 // refused by the catalog check
	}
	return min(1, CommUnits/float64(units))
}

// checkCommShare verifies that a chip without compute units gives its
// communication share, with a source, and that a given share is a
// fraction.
func (c *Chip) checkCommShare() error {
	switch {
	case c.CommShare == nil && c.GEMM.Units <= 0:
		return fmt.Errorf("comm_share missing: a chip without gemm.units must give the share of compute its collectives take (allowed: 0 <= comm_share < 1, with comm_share_source)")
	case c.CommShare != nil && !(*c.CommShare >= 0 && *c.CommShare < 1):
		return fmt.Errorf("comm_share: %v (allowed: 0 <= comm_share < 1)", *c.CommShare)
	case c.CommShare != nil && c.CommShareSource == "":
		return fmt.Errorf("comm_share: %v without comm_share_source", *c.CommShare)
	}
	return nil
}

// TPOverlapByDefault reports whether a run that does not say otherwise
// overlaps its tensor-parallel collectives with the GEMMs on this chip
// (under the megatron recipe with sequence parallelism): not where the
// catalog says the fabric lacks multicast. Transformer Engine's
// initialize_ub (transformer_engine/pytorch/module/base.py) stops on such
// a device unless the job sets UB_SKIPMC=1 for its CUDA IPC fallback,
// and Megatron-Core leaves --tp-comm-overlap off unless asked
// (megatron/training/arguments.py).
func (c *Chip) TPOverlapByDefault() bool { return c.Multicast == nil || *c.Multicast }

// checkMulticast verifies that a stated multicast capability has its
// source.
func (c *Chip) checkMulticast() error {
	if c.Multicast != nil && c.MulticastSource == "" {
		return fmt.Errorf("multicast: %v without multicast_source", *c.Multicast)
	}
	return nil
}

// checkResidualDerate verifies that a residual derate, and the
// low-precision sustained clock, are fractions with their evidence.
func (c *Chip) checkResidualDerate() error {
	if err := checkFactor("sustained_clock_low_precision", c.SustainedClockLowPrecision, c.SustainedClockLowPrecisionSource); err != nil {
		return err
	}
	return checkFactor("residual_derate", c.ResidualDerate, c.ResidualDerateSource)
}

// checkFactor verifies that the optional speed factor field, v, is 0 (none)
// or a fraction in (0, 1] with its source.
func checkFactor(field string, v float64, source string) error {
	switch {
	case v != 0 && !(v > 0 && v <= 1):
		return fmt.Errorf("%s: %v (allowed: 0 (none) or 0 < %s <= 1)", field, v, field)
	case v != 0 && source == "":
		return fmt.Errorf("%s: %v without %s_source", field, v, field)
	}
	return nil
}

// checkBlockScaled verifies that each listed format has its peak.
func (c *Chip) checkBlockScaled() error {
	for _, f := range c.BlockScaled {
		switch {
		case f == "mxfp8" && c.FP8TFLOPS > 0, f == "nvfp4" && c.FP4TFLOPS > 0:
		case f == "mxfp8" || f == "nvfp4":
			return fmt.Errorf("block_scaled lists %s without its peak (fp8_tflops for mxfp8, fp4_tflops for nvfp4)", f)
		default:
			return fmt.Errorf("block_scaled lists %q (allowed: mxfp8, nvfp4)", f)
		}
	}
	return nil
}

// HBMBytes is the HBM capacity in bytes. HBM capacities on datasheets are
// binary: an "80 GB" H100 shows 79.18 GiB to PyTorch
// (calibrate/testdata/h100-microbench.json), so hbm_gb is read as GiB.
func (c *Chip) HBMBytes() float64 { return c.HBMGB * (1 << 30) }

// ScaleUpDomain is the size of the innermost fabric tier.
func (c *Chip) ScaleUpDomain() int {
	if len(c.Fabric) == 0 {
		return 1
	}
	return c.Fabric[0].Size
}

// Check validates an efficiency model; prefix names it in errors
// ("profile.gemm").
func (g *GEMMModel) Check(prefix string) error {
	frac := func(v float64) bool { return v > 0 && v <= 1 } // false for NaN
	for _, c := range []struct {
		field   string
		ok      bool
		v       any
		allowed string
	}{
		{"max_eff", frac(g.MaxEff), g.MaxEff, "0 < max_eff <= 1"},
		{"fp8_max_eff", g.FP8MaxEff == 0 || frac(g.FP8MaxEff), g.FP8MaxEff, "0 (same as max_eff) or 0 < fp8_max_eff <= 1"},
		{"mem_eff", g.MemEff == 0 || frac(g.MemEff), g.MemEff, "0 (default) or 0 < mem_eff <= 1"},
		{"attn_max_eff", g.AttnMaxEff == 0 || frac(g.AttnMaxEff), g.AttnMaxEff, "0 (default) or 0 < attn_max_eff <= 1"},
		{"attn_bwd_ratio", g.AttnBwdRatio == 0 || (g.AttnBwdRatio > 0 && g.AttnBwdRatio <= 2), g.AttnBwdRatio, "0 (default) or 0 < attn_bwd_ratio <= 2"},
		{"attn_half_seq", g.AttnHalfSeq >= 0 && g.AttnHalfSeq < 1e7, g.AttnHalfSeq, "0 <= attn_half_seq < 1e7 tokens"},
		{"overhead_us", g.OverheadUs >= 0 && g.OverheadUs < 1e4, g.OverheadUs, "0 <= overhead_us < 10000"},
		{"units", g.Units >= 0 && g.Units < 1e5, g.Units, "0 (no wave quantisation) or a count of compute units"},
		{"tile_m", g.TileM >= 0, g.TileM, "0 (128) or a positive tile size"},
		{"tile_n", g.TileN >= 0, g.TileN, "0 (128) or a positive tile size"},
	} {
		if !c.ok {
			return fmt.Errorf("%s.%s: %v (allowed: %s)", prefix, c.field, c.v, c.allowed)
		}
	}
	return nil
}
