package hardware

import (
	"fmt"
	"math"
)

// Defaults of the kernel cost model where a chip's or profile's GEMMModel
// leaves a field 0. Each says where it comes from.
const (
	// defaultTile is the output tile of cuBLAS/CUTLASS's large bf16 GEMM
	// kernels on Ampere and Hopper (128×128 or 128×256 CTA tiles).
	defaultTile = 128
	// defaultMemEff is the achieved fraction of peak HBM bandwidth of a
	// streaming kernel (STREAM-like copy on H100 and A100 reaches 85-90%).
	// Assumption.
	defaultMemEff = 0.85
	// defaultAttnOverGEMM: fused attention forward reaches about 85% of
	// the chip's GEMM efficiency at long sequences (FlashAttention-2 ~72%
	// of A100 peak vs cuBLAS ~85%; Dao 2023, Fig. 5). Assumption.
	defaultAttnOverGEMM = 0.85
	// defaultAttnBwdRatio: flash-attention backward runs at about 3/4 of
	// the forward's efficiency (Dao 2023, FlashAttention-2 §4.1).
	defaultAttnBwdRatio = 0.75
	// flashBwdFLOPs: flash-attention backward does 2.5x the forward FLOPs
	// (two GEMMs of the forward recomputed plus three of the gradient;
	// Dao 2023, FlashAttention-2 §3.1).
	flashBwdFLOPs = 2.5
	// TypicalOverBest scales a catalog max_eff, the best-shape matmul
	// efficiency (stas00/ml-engineering's MAMF), to the efficiency the
	// wave-quantised curve needs for transformer shapes. It is the one
	// ratio measured on a chip that has both: the H100 profile fitted to
	// catalog/profiles/h100-sxm.yaml's microbenchmark (0.7315) over the
	// H100's MAMF (0.80).
	TypicalOverBest = 0.7315 / 0.80
)

// Device is the cost of kernels on one chip: GEMMs with wave quantisation
// and a bandwidth floor, fused attention, and memory-bound kernels, at the
// clock the chip sustains in training. It is a plain value: build it once
// with NewDevice; its methods never allocate.
type Device struct {
	peak, peakBF16 float64 // FLOP/s at the run precision and at bf16
	eff, effBF16   float64 // best GEMM efficiency at each, times the clock each sustains
	units          float64 // parallel compute units (SMs); 0: no wave quantisation
	tileM, tileN   float64
	overhead       float64 // seconds per kernel launch
	memBW          float64 // achieved HBM bytes/s
	attnMaxEff     float64 // times the sustained clock, as effBF16
	attnHalfSeq    float64
	attnBwdRatio   float64
	attnFlash2Eff  float64 // FlashAttention-2's attnMaxEff (times the clock); 0: attnMaxEff
	quantBytes     float64 // HBM bytes per element to quantise a bf16 GEMM operand
	commShare      float64 // share of compute a running collective takes (Chip.CommFraction)
}

// NewDevice builds the kernel cost model of chip for a run in precision
// (bf16, fp8, mxfp8 or nvfp4; chips without the precision's peak run at
// bf16). A measured profile replaces the chip's default efficiency model;
// without one, the catalog's best-shape efficiency is scaled to
// transformer shapes (TypicalOverBest).
func NewDevice(chip *Chip, profile *Profile, precision string) (Device, error) {
	if chip == nil {
		return Device{}, fmt.Errorf("hardware: nil chip")
	}
	g := chip.GEMM
	if profile != nil {
		g = profile.GEMM
	}
	if g.MaxEff <= 0 {
		return Device{}, fmt.Errorf("hardware: chip %s has no GEMM efficiency (gemm.max_eff)", chip.Name)
	}
	if profile == nil {
		g.MaxEff *= TypicalOverBest
		g.FP8MaxEff *= TypicalOverBest
	}
	d := Device{
		peak:         chip.PeakTFLOPS(precision) * 1e12,
		peakBF16:     chip.BF16TFLOPS * 1e12,
		eff:          g.MaxEff,
		effBF16:      g.MaxEff,
		units:        float64(g.Units),
		tileM:        float64(g.TileM),
		tileN:        float64(g.TileN),
		overhead:     g.OverheadUs * 1e-6,
		attnMaxEff:   g.AttnMaxEff,
		attnHalfSeq:  g.AttnHalfSeq,
		attnBwdRatio: g.AttnBwdRatio,
		commShare:    chip.CommFraction(g.Units),
		// A profile measures the chip's default attention kernel; the
		// FlashAttention-2 figure stays the catalog's unless it has one.
		attnFlash2Eff: g.AttnFlash2MaxEff,
	}
	if d.attnFlash2Eff <= 0 {
		d.attnFlash2Eff = chip.GEMM.AttnFlash2MaxEff
	}
	if precision != "bf16" && precision != "" && g.FP8MaxEff > 0 {
		d.eff = g.FP8MaxEff
	}
	// Tensor-core work runs at the clock the chip sustains at its power
	// limit, which sustained GEMMs measure below a profile fitted mostly
	// to short kernels; the residual derate applies as the clock does.
	clock := chip.SustainedClock
	if clock <= 0 || clock > 1 {
		clock = 1
	}
	if r := chip.ResidualDerate; r > 0 && r <= 1 {
		clock *= r
	}
	lowClock := 1.0
	if chip.PeakTFLOPS(precision) > chip.BF16TFLOPS { // runs natively at a low precision
		d.quantBytes = quantBytes(precision)
		// Low-precision tensor work draws more power per operation and
		// holds a lower clock at the power limit
		// (Chip.SustainedClockLowPrecision).
		if l := chip.SustainedClockLowPrecision; l > 0 && l <= 1 {
			lowClock = l
		}
	}
	// The efficiencies carry the clock: run-precision GEMMs at lowClock
	// of it, bf16 ones and attention (below) at it.
	d.eff *= clock * lowClock
	d.effBF16 *= clock
	if d.tileM <= 0 {
		d.tileM = defaultTile
	}
	if d.tileN <= 0 {
		d.tileN = defaultTile
	}
	memEff := g.MemEff
	if memEff <= 0 {
		memEff = defaultMemEff
	}
	d.memBW = chip.HBMTBps * 1e12 * memEff
	if d.attnMaxEff <= 0 {
		d.attnMaxEff = defaultAttnOverGEMM * g.MaxEff
	}
	d.attnMaxEff *= clock
	d.attnFlash2Eff *= clock
	if d.attnBwdRatio <= 0 {
		d.attnBwdRatio = defaultAttnBwdRatio
	}
	return d, nil
}

// GEMM is the time in seconds of an (m×k)·(k×n) matrix product at the run
// precision.
func (d *Device) GEMM(m, n, k float64) float64 {
	return d.gemm(1, m, n, k, d.peak, d.eff)
}

// GEMMBF16 is GEMM at bf16, whatever the run precision (the logits, the
// unfused attention scores).
func (d *Device) GEMMBF16(m, n, k float64) float64 {
	return d.gemm(1, m, n, k, d.peakBF16, d.effBF16)
}

// BatchedGEMM is one launch of batch independent (m×k)·(k×n) products at
// the run precision (a grouped GEMM over local experts): their tiles share
// the waves and the launch overhead is paid once.
func (d *Device) BatchedGEMM(batch, m, n, k float64) float64 {
	return d.gemm(batch, m, n, k, d.peak, d.eff)
}

// BatchedGEMMAccum is BatchedGEMM whose result is added into an fp32
// buffer: a weight-gradient GEMM accumulating into Megatron-Core's fp32
// main_grad under gradient_accumulation_fusion (Megatron-LM
// megatron/core/distributed/distributed_data_parallel_config.py). The
// result is read and written at 4 bytes an element instead of written at
// 2, which bounds small-M GEMMs such as those of many local experts.
func (d *Device) BatchedGEMMAccum(batch, m, n, k float64) float64 {
	if m <= 0 || n <= 0 || k <= 0 || batch <= 0 {
		return 0
	}
	t := d.gemm(batch, m, n, k, d.peak, d.eff)
	return max(t, d.overhead+2*batch*(m*k+k*n+4*m*n)/d.memBW)
}

// BatchedGEMMBF16 is BatchedGEMM at bf16 (attention scores per head).
func (d *Device) BatchedGEMMBF16(batch, m, n, k float64) float64 {
	return d.gemm(batch, m, n, k, d.peakBF16, d.effBF16)
}

// gemm is FLOPs over peak × efficiency × wave-quantisation efficiency,
// bounded below by the bytes the operands and result move (2 bytes an
// element), plus a fixed per-kernel overhead.
func (d *Device) gemm(batch, m, n, k, peak, eff float64) float64 {
	if m <= 0 || n <= 0 || k <= 0 || batch <= 0 {
		return 0
	}
	compute := d.compute(batch, m, n, k, peak, eff)
	mem := 2 * batch * (m*k + k*n + m*n) / d.memBW
	return max(compute, mem) + d.overhead
}

// compute is a GEMM's FLOPs over peak × efficiency × wave-quantisation
// efficiency.
func (d *Device) compute(batch, m, n, k, peak, eff float64) float64 {
	q := WaveEff(batch*math.Ceil(m/d.tileM)*math.Ceil(n/d.tileN), d.units)
	return 2 * batch * m * n * k / (peak * eff * q)
}

// GEMMCompute is BatchedGEMM's compute-bound time alone, without the
// bandwidth floor or the launch overhead: for callers whose operands are
// not 2 bytes an element (serving weights stored in FP8 or FP4), which
// price the bytes themselves.
func (d *Device) GEMMCompute(batch, m, n, k float64) float64 {
	if m <= 0 || n <= 0 || k <= 0 || batch <= 0 {
		return 0
	}
	return d.compute(batch, m, n, k, d.peak, d.eff)
}

// CommShare is the fraction of the chip's compute that a collective takes
// while it runs beside compute: overlapped communication slows the
// compute it hides behind by this share of its own duration.
func (d *Device) CommShare() float64 { return d.commShare }

// RaggedRows is the rows a grouped GEMM computes beyond its groups' own
// when their sizes vary: each group is tiled on its own (CUTLASS and
// cuBLAS grouped GEMMs, Transformer Engine's GroupedLinear m_splits), so
// its last row tile is on average half empty: half an output tile.
func (d *Device) RaggedRows() float64 { return d.tileM / 2 }

// Overhead is the fixed time of one kernel launch and ramp, seconds.
func (d *Device) Overhead() float64 { return d.overhead }

// Attention is the forward and backward time of fused (flash) attention in
// bf16 whose causal forward does flops FLOPs over query chunks of seq
// tokens: the efficiency rises with seq towards the chip's fused-attention
// maximum (AttnMaxEff·seq/(seq+AttnHalfSeq)); backward does 2.5× the FLOPs
// at AttnBwdRatio of the forward's efficiency.
func (d *Device) Attention(flops, seq float64) (fwd, bwd float64) {
	eff := d.attnMaxEff * seq / (seq + d.attnHalfSeq)
	fwd = flops / (d.peakBF16 * eff)
	bwd = flashBwdFLOPs * flops / (d.peakBF16 * eff * d.attnBwdRatio)
	return fwd, bwd
}

// Flash2 is d with its fused attention priced as FlashAttention-2's where
// the chip's catalog entry gives FlashAttention-2 its own efficiency
// (GEMMModel.AttnFlash2MaxEff); elsewhere d unchanged. The sequence
// dependence and the backward ratio stay the chip's.
func (d Device) Flash2() Device {
	if d.attnFlash2Eff > 0 {
		d.attnMaxEff = d.attnFlash2Eff
	}
	return d
}

// Quantize is the time to quantise elems bf16 elements into the operands a
// GEMM at the run precision needs in forward and backward (0 at bf16). See
// quantBytes.
func (d *Device) Quantize(elems float64) float64 { return elems * d.quantBytes / d.memBW }

// Rowwise is d with its fp8 operands quantised with one scale per row
// instead of one per tensor (torchao's float8 rowwise recipe); d
// unchanged when it quantises nothing. See rowwiseQuantBytes.
func (d Device) Rowwise() Device {
	if d.quantBytes > 0 {
		d.quantBytes = rowwiseQuantBytes
	}
	return d
}

// rowwiseQuantBytes is the HBM traffic per element of quantising a bf16
// tensor for both of its GEMMs under row-wise fp8 scaling (torchao
// float8/float8_linear.py, matmul_with_hp_or_float8_args): each GEMM
// needs the operand's scales along the dimension it reduces over, and
// the two GEMMs reduce over different dimensions, so the operand is cast
// twice from its bf16 source (hp_tensor_to_float8_dynamic with
// axiswise_dim -1, then 0); a per-tensor fp8 copy is cast once and only
// transposed. The cast whose scales run along the contiguous dimension is
// one row reduction that reads 2 B and writes the fp8 copy (1 B); the
// other reduces across rows, so its maximum is a pass of its own (read
// 2 B) before the cast (read 2 B, write the transposed copy, 1 B):
// 3 + 5 = 8 B.
const rowwiseQuantBytes = 2 + 1 + 2 + 2 + 1

// Quantizes reports whether GEMM operands are quantised (a low-precision
// run): each costs a kernel launch.
func (d *Device) Quantizes() bool { return d.quantBytes > 0 }

// quantBytes is the HBM traffic per element of quantising a bf16 tensor for
// a GEMM at precision, both usages (rowwise for one pass, columnwise for the
// other) included (Transformer Engine docs/features/low_precision_training):
//
//   - fp8, per-tensor scaling: read 2 B, write the fp8 copy and its
//     transpose (Hopper keeps columnwise FP8 as a physically transposed
//     copy): 2 + 1 + 1 = 4 B. TE's fused cast-transpose kernels.
//   - mxfp8: read 2 B, write rowwise (1×32 blocks) and columnwise (32×1)
//     data, each 1 B plus one E8M0 scale per 32 elements; the two differ
//     numerically, so both are written: 2 + 2·(1 + 1/32) B.
//   - nvfp4: a first read for the per-tensor amax that sets the FP32 global
//     scale, then read 2 B and write rowwise and (transposed, the GEMM is
//     TN-only) columnwise E2M1 data, 0.5 B plus one E4M3 scale per 16
//     elements each; the random Hadamard transform of the wgrad operands is
//     taken as fused into that pass: 2 + 2 + 2·(0.5 + 1/16) B.
func quantBytes(precision string) float64 {
	switch precision {
	case "fp8":
		return 4
	case "mxfp8":
		return 2 + 2*(1+1.0/32)
	case "nvfp4":
		return 2 + 2 + 2*(0.5+1.0/16)
	}
	return 0
}

// LaunchOverhead is the fixed time of one kernel, seconds.
func (d *Device) LaunchOverhead() float64 { return d.overhead }

// Mem is the time in seconds to move bytes through HBM at the achieved
// streaming bandwidth (a memory-bound kernel's reads plus writes).
func (d *Device) Mem(bytes float64) float64 { return bytes / d.memBW }

// MemBandwidth is the achieved HBM bandwidth, bytes/s.
func (d *Device) MemBandwidth() float64 { return d.memBW }

// Peak is the dense peak at the run precision, FLOP/s.
func (d *Device) Peak() float64 { return d.peak }

// PeakBF16 is the dense bf16 peak, FLOP/s: the denominator of MFU.
func (d *Device) PeakBF16() float64 { return d.peakBF16 }

// GEMMCeiling is the best fraction of the bf16 peak this chip's GEMMs reach
// in a training step: the efficiency curve's maximum at the sustained
// clock, times the residual derate of the chip the Device was built from
// (the estimator leaves it out for a run on one chip).
func (d *Device) GEMMCeiling() float64 {
	return d.eff * d.peak / d.peakBF16
}

// WaveEff is the wave-quantisation factor of a kernel of tiles output tiles
// on units parallel compute units (SMs): the last wave runs partly empty,
// so tiles / (⌈tiles/units⌉ × units). 1 when units is 0 (no model).
func WaveEff(tiles, units float64) float64 {
	if units <= 0 || tiles <= 0 {
		return 1
	}
	return tiles / (math.Ceil(tiles/units) * units)
}
