package hardware_test

import (
	"fmt"
	"math"
	"testing"

	"github.com/flopcast/flopcast/hardware"
)

// testChip has round numbers: 1000 TFLOP/s bf16, 2000 fp8, 4 TB/s HBM at
// 75%, 100 compute units, no launch overhead, full clock.
func testChip() hardware.Chip {
	return hardware.Chip{
		Name: "test", BF16TFLOPS: 1000, FP8TFLOPS: 2000, HBMTBps: 4,
		GEMM: hardware.GEMMModel{MaxEff: 0.8, FP8MaxEff: 0.6, Units: 100, TileM: 128, TileN: 128, MemEff: 0.75,
			AttnMaxEff: 0.5, AttnHalfSeq: 1000, AttnBwdRatio: 0.8},
	}
}

func device(t *testing.T, c hardware.Chip, profile bool, precision string) hardware.Device {
	t.Helper()
	var p *hardware.Profile
	if profile {
		// A measured profile is used as it is (no typical-over-best scaling).
		p = &hardware.Profile{GEMM: c.GEMM}
	}
	d, err := hardware.NewDevice(&c, p, precision)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestDeviceGEMM(t *testing.T) {
	c := testChip()
	bf, fp8 := device(t, c, true, "bf16"), device(t, c, true, "fp8")
	const peak, bw = 1000e12, 3e12
	for _, tc := range []struct {
		name      string
		got, want float64
	}{
		// 100 tiles of 128×128 fill the 100 units in one wave.
		{"one full wave", bf.GEMM(1280, 1280, 8192), 2 * 1280 * 1280 * 8192 / (peak * 0.8)},
		// 101 tiles need two waves, the second nearly empty.
		{"wave quantisation", bf.GEMM(1280, 1280+1, 8192), 2 * 1280 * 1281 * 8192 / (peak * 0.8 * (110.0 / 200))},
		// fp8: twice the peak at fp8's own efficiency.
		{"fp8", fp8.GEMM(1280, 1280, 8192), 2 * 1280 * 1280 * 8192 / (2 * peak * 0.6)},
		{"bf16 under fp8", fp8.GEMMBF16(1280, 1280, 8192), bf.GEMM(1280, 1280, 8192)},
		// A matrix-vector product is bounded by the bytes it moves.
		{"bandwidth floor", bf.GEMM(1, 8192, 8192), 2 * (8192 + 8192*8192 + 8192) / bw},
		// 4 batches of 25 tiles share one wave.
		{"batched", bf.BatchedGEMM(4, 640, 640, 8192), 4 * 2 * 640 * 640 * 8192 / (peak * 0.8)},
		{"empty", bf.GEMM(0, 10, 10), 0},
		{"memory-bound kernel", bf.Mem(3e9), 1e-3},
	} {
		if !near(tc.got, tc.want) {
			t.Errorf("%s: %g s, want %g s", tc.name, tc.got, tc.want)
		}
	}
	if bf.PeakBF16() != peak || fp8.Peak() != 2*peak || bf.Peak() != peak {
		t.Errorf("peaks: %g %g %g", bf.PeakBF16(), fp8.Peak(), bf.Peak())
	}
}

func TestDeviceOverheadAndClock(t *testing.T) {
	c := testChip()
	c.GEMM.OverheadUs = 5
	c.SustainedClock = 0.5
	d := device(t, c, true, "bf16")
	want := 2*1280*1280*8192/(1000e12*0.8*0.5) + 5e-6
	if got := d.GEMM(1280, 1280, 8192); !near(got, want) {
		t.Errorf("GEMM at half clock with 5 µs launch: %g, want %g", got, want)
	}
	if got := d.GEMMCeiling(); !near(got, 0.4) {
		t.Errorf("ceiling %g, want 0.8 × 0.5", got)
	}
}

// Without a profile the catalog's best-shape efficiency is scaled down.
func TestDeviceTypicalOverBest(t *testing.T) {
	c := testChip()
	withProfile, catalog := device(t, c, true, "bf16"), device(t, c, false, "bf16")
	got := withProfile.GEMM(1280, 1280, 8192) / catalog.GEMM(1280, 1280, 8192)
	if !near(got, hardware.TypicalOverBest) {
		t.Errorf("catalog / profile time ratio %g, want %g", got, hardware.TypicalOverBest)
	}
}

func TestDeviceAttention(t *testing.T) {
	d := device(t, testChip(), true, "fp8")
	const flops = 1e12
	fwd, bwd := d.Attention(flops, 1000) // half of the maximum efficiency at seq = half_seq
	if want := flops / (1000e12 * 0.25); !near(fwd, want) {
		t.Errorf("forward %g, want %g", fwd, want)
	}
	if want := 2.5 * fwd / 0.8; !near(bwd, want) {
		t.Errorf("backward %g, want %g", bwd, want)
	}
}

func TestDeviceFlash2(t *testing.T) {
	const flops, seq = 1e12, 1000
	for _, tc := range []struct {
		name    string
		flash2  float64 // the catalog's attn_flash2_max_eff
		profile bool    // a measured profile without a FlashAttention-2 figure
		ratio   float64 // FlashAttention-2 time / fused attention time
	}{
		{"no figure: the chip's curve", 0, false, 1},
		{"Hopper-like figure", 0.25, false, 0.5 / 0.25},
		{"figure kept under a profile", 0.25, true, 0.5 / 0.25},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := testChip()
			c.GEMM.AttnFlash2MaxEff = tc.flash2
			var p *hardware.Profile
			if tc.profile {
				g := c.GEMM
				g.AttnFlash2MaxEff = 0
				p = &hardware.Profile{GEMM: g}
			}
			d, err := hardware.NewDevice(&c, p, "bf16")
			if err != nil {
				t.Fatal(err)
			}
			f2 := d.Flash2()
			fwd, bwd := d.Attention(flops, seq)
			fwd2, bwd2 := f2.Attention(flops, seq)
			if !near(fwd2/fwd, tc.ratio) || !near(bwd2/bwd, tc.ratio) {
				t.Errorf("flash2 / fused: forward %g, backward %g, want %g", fwd2/fwd, bwd2/bwd, tc.ratio)
			}
			if g1, g2 := d.GEMM(4096, 4096, 4096), f2.GEMM(4096, 4096, 4096); g1 != g2 {
				t.Errorf("Flash2 changed a GEMM: %g -> %g", g1, g2)
			}
		})
	}
}

func TestNewDeviceErrors(t *testing.T) {
	c := testChip()
	c.GEMM.MaxEff = 0
	if _, err := hardware.NewDevice(&c, nil, "bf16"); err == nil {
		t.Error("no error for a chip without a GEMM efficiency")
	}
	if _, err := hardware.NewDevice(nil, nil, "bf16"); err == nil {
		t.Error("no error for a nil chip")
	}
}

func TestDeviceDoesNotAllocate(t *testing.T) {
	d := device(t, testChip(), false, "fp8")
	var sink float64
	n := testing.AllocsPerRun(100, func() {
		f, b := d.Attention(1e12, 4096)
		sink += d.GEMM(4096, 4096, 4096) + d.BatchedGEMM(8, 512, 2048, 7168) + d.GEMMBF16(1, 2, 3) + d.Mem(1e9) + f + b
	})
	if n != 0 {
		t.Errorf("%v allocations per call", n)
	}
	_ = sink
}

func ExampleDevice_GEMM() {
	chip, _ := hardware.LookupChip("h100-sxm")
	d, _ := hardware.NewDevice(&chip, nil, "bf16")
	t := d.GEMM(8192, 28672, 8192) // Llama 3 70B's FFN up-projection, one 8k-token micro-batch
	fmt.Printf("%.2f ms, %.0f TFLOP/s\n", t*1e3, 2*8192*28672*8192/t/1e12)
	// Output: 6.65 ms, 579 TFLOP/s
}

func ExampleFabric_AllReduce() {
	chip, _ := hardware.LookupChip("h100-sxm")
	f := hardware.NewFabric(chip.Fabric)
	// 1 GiB of gradients over 8 GPUs of a server, and over 64 servers.
	fmt.Printf("%.1f ms in a server, %.1f ms over 64 servers\n", f.AllReduce(1<<30, 8, 1)*1e3, f.AllReduce(1<<30, 64, 8)*1e3)
	// Output: 5.3 ms in a server, 47.9 ms over 64 servers
}

// Quantising for a low-precision GEMM costs the bytes of its cast kernels;
// bf16 and chips that fall back to bf16 pay none.
func TestDeviceQuantize(t *testing.T) {
	b200 := &hardware.Chip{Name: "b", BF16TFLOPS: 2250, FP8TFLOPS: 4500, FP4TFLOPS: 9000, BlockScaled: []string{"mxfp8", "nvfp4"}, HBMTBps: 8, GEMM: hardware.GEMMModel{MaxEff: 0.8, MemEff: 1}}
	a100 := &hardware.Chip{Name: "a", BF16TFLOPS: 312, HBMTBps: 2, GEMM: hardware.GEMMModel{MaxEff: 0.8, MemEff: 1}}
	for _, c := range []struct {
		chip      *hardware.Chip
		precision string
		rowwise   bool
		bytes     float64
	}{
		{b200, "bf16", false, 0}, {b200, "fp8", false, 4}, {b200, "mxfp8", false, 4.0625}, {b200, "nvfp4", false, 5.125}, {a100, "fp8", false, 0},
		// Row-wise scaling casts each operand once per axis, the cross-row
		// one after a pass for its maxima; nothing to scale at bf16.
		{b200, "fp8", true, 8}, {b200, "bf16", true, 0}, {a100, "fp8", true, 0},
	} {
		d, err := hardware.NewDevice(c.chip, nil, c.precision)
		if err != nil {
			t.Fatal(err)
		}
		if c.rowwise {
			d = d.Rowwise()
		}
		if got, want := d.Quantize(1e9), c.bytes*1e9/d.MemBandwidth(); got != want {
			t.Errorf("%s %s: %g s, want %g s", c.chip.Name, c.precision, got, want)
		}
		if d.Quantizes() != (c.bytes > 0) {
			t.Errorf("%s %s: Quantizes %v", c.chip.Name, c.precision, d.Quantizes())
		}
	}
}

// A weight-gradient GEMM accumulating into fp32 is bounded by the 8 bytes
// it reads and writes per result element when its reduction is short.
func TestDeviceGEMMAccum(t *testing.T) {
	chip := &hardware.Chip{Name: "c", BF16TFLOPS: 1000, HBMTBps: 1, GEMM: hardware.GEMMModel{MaxEff: 1, MemEff: 1}}
	d, err := hardware.NewDevice(chip, nil, "bf16")
	if err != nil {
		t.Fatal(err)
	}
	// 4 experts, result 2048×7168, reduction over 16 tokens: memory-bound.
	got := d.BatchedGEMMAccum(4, 2048, 7168, 16)
	want := 2 * 4 * (2048*16 + 16*7168 + 4*2048*7168) / 1e12
	if math.Abs(got-want) > 1e-12 {
		t.Errorf("accumulating wgrad: %g s, want %g s", got, want)
	}
	if plain := d.BatchedGEMM(4, 2048, 7168, 16); plain >= got {
		t.Errorf("accumulating into fp32 (%g s) not slower than writing bf16 (%g s)", got, plain)
	}
	// A long reduction stays compute-bound: accumulation costs nothing.
	if a, p := d.BatchedGEMMAccum(1, 8192, 8192, 8192), d.BatchedGEMM(1, 8192, 8192, 8192); a != p {
		t.Errorf("compute-bound wgrad: %g s with accumulation, %g s without", a, p)
	}
}

// The slowest of n chips: nothing for one, growing slowly with n.
func TestSlowestOf(t *testing.T) {
	if hardware.SlowestOf(1) != 0 || hardware.SlowestOf(0) != 0 {
		t.Error("one chip pays for a slowest chip")
	}
	prev := 0.0
	for _, n := range []int{2, 8, 64, 1024, 16384} {
		s := hardware.SlowestOf(n)
		if s <= prev || s > 0.06 {
			t.Errorf("SlowestOf(%d) = %g after %g", n, s, prev)
		}
		prev = s
	}
	// The expected maximum of 8 normal draws is 1.42σ (Blom: 1.42).
	if got := hardware.SlowestOf(8) / (0.08 / 6.48); math.Abs(got-1.42) > 0.02 {
		t.Errorf("slowest of 8: %gσ, want 1.42σ", got)
	}
}

// Blom's approximation stays within 0.03 of the exact expected maxima of
// n standard normals (Harter 1961 tables: 0.5642, 1.4236, 2.5076).
func TestMaxOfNormals(t *testing.T) {
	for _, tc := range []struct{ n, want float64 }{{1, 0}, {0, 0}, {2, 0.5642}, {8, 1.4236}, {100, 2.5076}} {
		if got := hardware.MaxOfNormals(tc.n); math.Abs(got-tc.want) > 0.03 {
			t.Errorf("MaxOfNormals(%g) = %.4f, want %.4f", tc.n, got, tc.want)
		}
	}
}
