package calibrate

import (
	"math"
	"os"
	"testing"

	"github.com/flopcast/flopcast/hardware"
)

func TestSustainedOverBurst(t *testing.T) {
	burst := GEMMPoint{M: 8192, N: 8192, K: 8192, DType: "bf16", S: 2 * 8192.0 * 8192 * 8192 / 700e12}
	m := &Measurement{
		GEMM:      []GEMMPoint{{M: 4096, N: 4096, K: 4096, DType: "bf16", S: 1e-4}, burst},
		Sustained: []SustainedPoint{{M: 8192, N: 8192, K: 8192, DType: "bf16", LastTFLOPS: 630}},
	}
	if r, ok := m.SustainedOverBurst("bf16"); !ok || math.Abs(r-0.9) > 1e-9 {
		t.Errorf("bf16: %v, %v; want 630/700 = 0.9", r, ok)
	}
	if _, ok := m.SustainedOverBurst("fp8"); ok {
		t.Error("fp8: ok with no fp8 points")
	}
	m.GEMM = m.GEMM[:1] // no burst of the sustained shape
	if _, ok := m.SustainedOverBurst("bf16"); ok {
		t.Error("bf16: ok with no burst of the same shape")
	}
}

// The H200 measurement's sustained section parses, and its figures are the
// ones the chip catalog cites.
func TestSustainedSectionParses(t *testing.T) {
	m := loadH200(t)
	for _, w := range m.Warnings {
		if w == "sustained: unknown section, ignored" {
			t.Error(w)
		}
	}
	if len(m.Sustained) != 2 {
		t.Fatalf("%d sustained points, want bf16 and fp8", len(m.Sustained))
	}
	for _, s := range m.Sustained {
		if s.Seconds < 20 || s.LastPowerW < 600 {
			t.Errorf("%s: %.0f s at %.0f W; want a run of 20 s or more at the 700 W limit", s.DType, s.Seconds, s.LastPowerW)
		}
	}
}

// TestSustainedClockLowPrecision ties the catalog's
// sustained_clock_low_precision of the H100-die chips to the H200's
// sustained section: fp8 GEMMs, whose efficiency is a short-burst figure,
// run at sustained_clock × sustained_clock_low_precision of it, which is
// what the sustained fp8 run held of its burst rate. The 500 W variant
// keeps the 700 W chips' figure.
func TestSustainedClockLowPrecision(t *testing.T) {
	m := loadH200(t)
	fp8, ok := m.SustainedOverBurst("fp8")
	if !ok {
		t.Fatal("no sustained fp8 run with a burst of the same product")
	}
	ref, ok := hardware.LookupChip("h100-sxm")
	if !ok {
		t.Fatal("h100-sxm not in the catalog")
	}
	want := fp8 / ref.SustainedClock
	for _, name := range []string{"h100-sxm", "h800", "h200", "h100-sxm-96gb-500w"} {
		c, ok := hardware.LookupChip(name)
		if !ok {
			t.Errorf("%s not in the catalog", name)
			continue
		}
		if math.Abs(c.SustainedClockLowPrecision-want) > 0.005 {
			t.Errorf("%s: sustained_clock_low_precision %v; the measurement gives %.3f (fp8 held %.3f of its burst rate, over sustained_clock %.3f)",
				name, c.SustainedClockLowPrecision, want, fp8, ref.SustainedClock)
		}
	}
}

// loadH200 parses the shipped H200 measurement.
func loadH200(t *testing.T) *Measurement {
	t.Helper()
	b, err := os.ReadFile("../catalog/measured/h200.json")
	if err != nil {
		t.Fatal(err)
	}
	m, err := ParseMeasurement(b)
	if err != nil {
		t.Fatal(err)
	}
	return m
}
