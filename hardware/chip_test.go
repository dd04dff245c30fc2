package hardware

import "testing"

func TestPrecisionPeaks(t *testing.T) {
	for _, tc := range []struct {
		chip, precision string
		supported       bool
		peak            float64
	}{
		{"b200", "mxfp8", true, 4500},
		{"b200", "nvfp4", true, 9000},
		{"gb300", "nvfp4", true, 15000},
		{"h100-sxm", "fp8", true, 1979},
		{"h100-sxm", "mxfp8", false, 989},
		{"h100-sxm", "nvfp4", false, 989},
		{"a100-sxm-80gb", "fp8", false, 312},
		{"a100-sxm-80gb", "bf16", true, 312},
		{"mi355x", "nvfp4", false, 2500},
	} {
		c, ok := LookupChip(tc.chip)
		if !ok {
			t.Errorf("%s not in the catalog", tc.chip)
			continue
		}
		if c.Supports(tc.precision) != tc.supported || c.PeakTFLOPS(tc.precision) != tc.peak {
			t.Errorf("%s %s: supported %v peak %v; want %v %v", tc.chip, tc.precision, c.Supports(tc.precision), c.PeakTFLOPS(tc.precision), tc.supported, tc.peak)
		}
	}
	bad := Chip{Name: "x", BlockScaled: []string{"nvfp4"}}
	if bad.checkBlockScaled() == nil {
		t.Error("nvfp4 without an FP4 peak must be refused")
	}
	bad = Chip{Name: "x", FP8TFLOPS: 1, BlockScaled: []string{"mxfp6"}}
	if bad.checkBlockScaled() == nil {
		t.Error("an unknown format must be refused")
	}
}
