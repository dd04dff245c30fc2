package calibrate

import (
	"math"
	"os"
	"testing"
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
	b, err := os.ReadFile("../catalog/measured/h200.json")
	if err != nil {
		t.Fatal(err)
	}
	m, err := ParseMeasurement(b)
	if err != nil {
		t.Fatal(err)
	}
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
