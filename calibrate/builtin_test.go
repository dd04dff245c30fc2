package calibrate

import (
	"flag"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/flopcast/flopcast/hardware"
)

var update = flag.Bool("update", false, "rewrite catalog/profiles/h100-sxm.yaml from testdata/h100-microbench.json")

// TestBuiltinProfileH100 checks that the shipped profile is a fresh fit of
// the shipped measurement. Regenerate it with
//
//	go test ./calibrate -run TestBuiltinProfileH100 -update
func TestBuiltinProfileH100(t *testing.T) {
	_, p, _ := fitH100(t)
	want, err := MarshalProfile(p)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("..", "catalog", "profiles", "h100-sxm.yaml")
	if *update {
		if err := os.WriteFile(path, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// Compare values, not bytes: the last digit of a rounded float may
	// differ between architectures (fused multiply-add).
	approx := cmpopts.EquateApprox(1e-3, 1e-9)
	committed, err := hardware.ParseProfile(b)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if d := cmp.Diff(p, committed, approx); d != "" {
		t.Errorf("%s is not a fresh fit of %s (-fit +file); run go test ./calibrate -run TestBuiltinProfileH100 -update\n%s", path, h100File, d)
	}
	if !*update {
		builtin, err := hardware.BuiltinProfile("h100-sxm")
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(committed, builtin, approx); d != "" {
			t.Errorf("embedded profile differs from %s:\n%s", path, d)
		}
	}
	// The efficiencies are relative to the peaks the fit used: the catalog
	// must quote the same ones.
	if c, ok := hardware.LookupChip("h100-sxm"); ok {
		if c.BF16TFLOPS != h100.BF16TFLOPS || c.FP8TFLOPS != h100.FP8TFLOPS || c.HBMTBps != h100.HBMTBps {
			t.Errorf("catalog h100-sxm peaks (bf16 %v, fp8 %v, hbm %v TB/s) differ from the fit's (%v, %v, %v): update h100 in fit_test.go and regenerate",
				c.BF16TFLOPS, c.FP8TFLOPS, c.HBMTBps, h100.BF16TFLOPS, h100.FP8TFLOPS, h100.HBMTBps)
		}
	} else {
		t.Log("catalog has no h100-sxm yet; peaks not cross-checked")
	}
}

// sustainedMinS is the kernel length from which a measured GEMM counts as
// sustained tensor work: back-to-back repeats of a kernel of a millisecond
// or more hold the chip at its power limit for the whole timed loop.
const sustainedMinS = 1e-3

// TestSustainedClockH100 ties the catalog's sustained_clock of the
// H100-die chips to the measurement: the profile is fitted to every point,
// most of them short kernels, and the GEMMs of a millisecond or more run on
// average at sustained_clock of the fitted speed. The 500 W variant scales
// it by f ∝ P^(1/3).
func TestSustainedClockH100(t *testing.T) {
	m, p, _ := fitH100(t)
	var sum float64
	var n int
	for _, r := range Residuals(m, h100, p.GEMM) {
		if r.Kind == "gemm" && r.MeasuredS >= sustainedMinS {
			sum += r.FittedS / r.MeasuredS
			n++
		}
	}
	if n < 5 {
		t.Fatalf("%d GEMMs of %g s or more in %s; want at least 5", n, sustainedMinS, h100File)
	}
	clock := sum / float64(n)
	for name, want := range map[string]float64{
		"h100-sxm":           clock,
		"h800":               clock,
		"h200":               clock,
		"h100-sxm-96gb-500w": clock * math.Cbrt(500.0/700),
	} {
		c, ok := hardware.LookupChip(name)
		if !ok {
			t.Errorf("%s not in the catalog", name)
			continue
		}
		if math.Abs(c.SustainedClock-want) > 0.005 {
			t.Errorf("%s: sustained_clock %v; the measurement gives %.3f (%d GEMMs of %g s or more)", name, c.SustainedClock, want, n, sustainedMinS)
		}
	}
}
