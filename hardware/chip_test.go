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

func TestCommFraction(t *testing.T) {
	share := func(v float64) *float64 { return &v }
	for _, tc := range []struct {
		name  string
		chip  Chip
		units int
		want  float64
	}{
		// GPUs: CommUnits SMs of the units in use.
		{"h100", Chip{}, 132, 20.0 / 132},
		{"a100", Chip{}, 108, 20.0 / 108},
		// A stated share wins, including 0 (dedicated collective cores).
		{"stated", Chip{CommShare: share(0.3)}, 132, 0.3},
		{"dedicated cores", Chip{CommShare: share(0)}, 0, 0},
	} {
		if got := tc.chip.CommFraction(tc.units); got != tc.want {
			t.Errorf("%s: CommFraction(%d) = %v, want %v", tc.name, tc.units, got, tc.want)
		}
	}
	for _, tc := range []struct {
		name string
		chip Chip
	}{
		{"no units, no share", Chip{}},
		{"share of 1", Chip{CommShare: share(1), CommShareSource: "x", GEMM: GEMMModel{Units: 132}}},
		{"negative share", Chip{CommShare: share(-0.1), CommShareSource: "x"}},
		{"share without source", Chip{CommShare: share(0.1)}},
	} {
		if err := tc.chip.checkCommShare(); err == nil {
			t.Errorf("%s: checkCommShare accepted it", tc.name)
		}
	}
	if err := (&Chip{GEMM: GEMMModel{Units: 132}}).checkCommShare(); err != nil {
		t.Errorf("a GPU with units: %v", err)
	}
	// The catalog: Trainium2's collectives run on dedicated cores.
	for name, want := range map[string]float64{"h100-sxm": 20.0 / 132, "a100-sxm-80gb": 20.0 / 108, "trainium2": 0} {
		c, _ := LookupChip(name)
		if got := c.CommFraction(c.GEMM.Units); got != want {
			t.Errorf("%s: CommFraction = %v, want %v", name, got, want)
		}
	}
}

func TestTPOverlapByDefault(t *testing.T) {
	yes, no := true, false
	for _, tc := range []struct {
		name string
		chip Chip
		want bool
		ok   bool
	}{
		{"not stated", Chip{}, true, true},
		{"multicast", Chip{Multicast: &yes, MulticastSource: "x"}, true, true},
		{"no multicast", Chip{Multicast: &no, MulticastSource: "x"}, false, true},
		{"no source", Chip{Multicast: &no}, false, false},
	} {
		if got := tc.chip.TPOverlapByDefault(); got != tc.want {
			t.Errorf("%s: TPOverlapByDefault = %v, want %v", tc.name, got, tc.want)
		}
		if err := tc.chip.checkMulticast(); (err == nil) != tc.ok {
			t.Errorf("%s: checkMulticast = %v, want ok %v", tc.name, err, tc.ok)
		}
	}
	// The catalog: Ampere's NVSwitch has no multicast, Hopper's has.
	for name, want := range map[string]bool{"a100-sxm-80gb": false, "h100-sxm": true} {
		c, _ := LookupChip(name)
		if got := c.TPOverlapByDefault(); got != want {
			t.Errorf("%s: TPOverlapByDefault = %v, want %v", name, got, want)
		}
	}
}

func TestResidualDerateCheck(t *testing.T) {
	for _, tc := range []struct {
		name string
		chip Chip
		ok   bool
	}{
		{"none", Chip{}, true},
		{"with source", Chip{ResidualDerate: 0.9, ResidualDerateSource: "x"}, true},
		{"without source", Chip{ResidualDerate: 0.9}, false},
		{"above 1", Chip{ResidualDerate: 1.2, ResidualDerateSource: "x"}, false},
		{"negative", Chip{ResidualDerate: -0.5, ResidualDerateSource: "x"}, false},
	} {
		if err := tc.chip.checkResidualDerate(); (err == nil) != tc.ok {
			t.Errorf("%s: checkResidualDerate = %v, want ok %v", tc.name, err, tc.ok)
		}
	}
	// The derate slows tensor-core work as the clock does.
	base := Chip{Name: "x", BF16TFLOPS: 1000, HBMTBps: 3, GEMM: GEMMModel{MaxEff: 0.8, MemEff: 1}}
	slow := base
	slow.ResidualDerate, slow.ResidualDerateSource = 0.5, "x"
	d0, _ := NewDevice(&base, nil, "bf16")
	d1, _ := NewDevice(&slow, nil, "bf16")
	if r := d1.GEMMCompute(1, 4096, 4096, 4096) / d0.GEMMCompute(1, 4096, 4096, 4096); r < 1.999 || r > 2.001 {
		t.Errorf("residual_derate 0.5: GEMM time x%v, want x2", r)
	}
}
