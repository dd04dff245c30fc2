package hardware_test

import (
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/flopcast/flopcast/catalog"
	"github.com/flopcast/flopcast/hardware"
)

// designChips are the chip names docs/conventions.md promises to scripts.
var designChips = []string{
	"a100-sxm-80gb", "h100-sxm", "h100-pcie", "h800", "h200", "b200", "gb200",
	"b300", "gb300", "mi300x", "mi325x", "mi355x", "tpu-v4", "tpu-v5e",
	"tpu-v5p", "tpu-v6e", "tpu7x", "trainium1", "trainium2", "trainium3",
	"gaudi3",
}

func TestCatalogHasDesignChips(t *testing.T) {
	have := map[string]bool{}
	for _, n := range hardware.ChipNames() {
		have[n] = true
	}
	var missing []string
	for _, n := range designChips {
		if !have[n] {
			missing = append(missing, n)
		}
	}
	sort.Strings(missing)
	if d := cmp.Diff([]string(nil), missing); d != "" {
		t.Errorf("chips missing from catalog/chips.yaml (-want +got):\n%s", d)
	}
}

var dateRE = regexp.MustCompile(`^\d{4}-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?$`)

func checkConfidence(t *testing.T, what, c string) {
	t.Helper()
	switch c {
	case "", "high", "medium", "low":
	default:
		t.Errorf("%s: confidence %q, want high, medium or low", what, c)
	}
}

func checkPrice(t *testing.T, what string, p hardware.Price) {
	t.Helper()
	if p.USD <= 0 {
		t.Errorf("%s.usd = %v, want > 0", what, p.USD)
	}
	if !dateRE.MatchString(p.Date) {
		t.Errorf("%s.date = %q, want YYYY-MM or YYYY-MM-DD", what, p.Date)
	}
	if p.Source == "" {
		t.Errorf("%s: no source", what)
	}
	checkConfidence(t, what, p.Confidence)
}

func TestCatalogChipsWellFormed(t *testing.T) {
	for _, c := range hardware.Chips() {
		t.Run(c.Name, func(t *testing.T) {
			if c.Source == "" {
				t.Error("chip: no source")
			}
			if c.Vendor == "" {
				t.Error("chip: no vendor")
			}
			checkConfidence(t, "chip", c.Confidence)
			if c.BF16TFLOPS <= 0 {
				t.Errorf("bf16_tflops = %v, want > 0", c.BF16TFLOPS)
			}
			if c.FP8TFLOPS != 0 && c.FP8TFLOPS < c.BF16TFLOPS {
				t.Errorf("fp8_tflops %v below bf16_tflops %v", c.FP8TFLOPS, c.BF16TFLOPS)
			}
			if c.HBMGB <= 0 || c.HBMTBps <= 0 {
				t.Errorf("hbm_gb %v, hbm_tbps %v: want both > 0", c.HBMGB, c.HBMTBps)
			}
			if c.TDPW <= 0 || c.IdleW <= 0 || c.IdleW >= c.TDPW || c.HostW <= 0 {
				t.Errorf("tdp_w %v, idle_w %v, host_w %v: want 0 < idle < tdp and host > 0", c.TDPW, c.IdleW, c.HostW)
			}

			g := c.GEMM
			if g.Source == "" {
				t.Error("gemm: no source")
			}
			for _, f := range []struct {
				name string
				v    float64
			}{{"max_eff", g.MaxEff}, {"mem_eff", g.MemEff}, {"attn_max_eff", g.AttnMaxEff}, {"attn_bwd_ratio", g.AttnBwdRatio}} {
				if !(f.v > 0 && f.v <= 1) {
					t.Errorf("gemm.%s = %v, want 0 < x <= 1", f.name, f.v)
				}
			}
			if g.FP8MaxEff < 0 || g.FP8MaxEff > 1 {
				t.Errorf("gemm.fp8_max_eff = %v, want 0 (same as max_eff) or in (0, 1]", g.FP8MaxEff)
			}
			if g.OverheadUs < 0 || g.AttnHalfSeq <= 0 {
				t.Errorf("gemm.overhead_us %v, attn_half_seq %v: want >= 0 and > 0", g.OverheadUs, g.AttnHalfSeq)
			}
			if g.Units < 0 || (g.Units > 0 && (g.TileM <= 0 || g.TileN <= 0)) {
				t.Errorf("gemm.units %d with tile %dx%d: units > 0 needs positive tiles", g.Units, g.TileM, g.TileN)
			}

			if len(c.Fabric) < 2 {
				t.Fatalf("fabric has %d tiers, want a scale-up tier and a scale-out tier", len(c.Fabric))
			}
			prev := 1
			for i, tier := range c.Fabric {
				last := i == len(c.Fabric)-1
				if tier.Name == "" || tier.Source == "" {
					t.Errorf("fabric[%d]: name %q, source %q: want both", i, tier.Name, tier.Source)
				}
				checkConfidence(t, "fabric", tier.Confidence)
				switch {
				case last && tier.Size != 0:
					t.Errorf("fabric[%d] (%s): last tier size %d, want 0 (scale-out)", i, tier.Name, tier.Size)
				case !last && tier.Size <= prev:
					t.Errorf("fabric[%d] (%s): size %d, want > %d (increasing outwards)", i, tier.Name, tier.Size, prev)
				}
				if !last {
					prev = tier.Size
				}
				if tier.GBps <= 0 {
					t.Errorf("fabric[%d] (%s): gbps %v, want > 0", i, tier.Name, tier.GBps)
				}
				if !(tier.Efficiency > 0 && tier.Efficiency <= 1) {
					t.Errorf("fabric[%d] (%s): efficiency %v, want 0 < x <= 1", i, tier.Name, tier.Efficiency)
				}
				if tier.LatencyUs <= 0 {
					t.Errorf("fabric[%d] (%s): latency_us %v, want > 0", i, tier.Name, tier.LatencyUs)
				}
				switch tier.Topology {
				case "switch", "torus2d", "torus3d":
				default:
					t.Errorf("fabric[%d] (%s): topology %q, want switch, torus2d or torus3d", i, tier.Name, tier.Topology)
				}
			}

			checkPrice(t, "rent", c.RentUSDPerHour)
			checkPrice(t, "purchase", c.PurchaseUSD)

			if c.Profile != "" {
				if _, err := catalog.Read("profiles/" + c.Profile + ".yaml"); err != nil {
					t.Errorf("profile %q is not in catalog/profiles: %v", c.Profile, err)
				}
				if _, err := hardware.BuiltinProfile(c.Profile); err != nil {
					t.Errorf("profile %q: %v", c.Profile, err)
				}
			}
		})
	}
}

// Fabric shapes that other packages and the corpus runs depend on.
func TestCatalogFabricShapes(t *testing.T) {
	for _, tc := range []struct {
		chip  string
		sizes []int
		gbps  []float64
	}{
		{"h100-sxm", []int{8, 0}, []float64{450, 50}},
		{"a100-sxm-80gb", []int{8, 0}, []float64{300, 25}},
		{"h800", []int{8, 0}, []float64{200, 50}},
		{"b200", []int{8, 0}, []float64{900, 50}},
		{"gb200", []int{72, 0}, []float64{900, 50}},
		{"gb300", []int{72, 0}, []float64{900, 100}},
		{"trainium2", []int{16, 64, 0}, []float64{512, 128, 25}},
		{"tpu-v4", []int{4096, 0}, []float64{270, 3.125}},
		{"tpu-v5p", []int{8960, 0}, []float64{600, 6.25}},
		{"tpu7x", []int{9216, 0}, []float64{600, 12.5}},
		{"gaudi3", []int{8, 0}, []float64{525, 75}},
	} {
		t.Run(tc.chip, func(t *testing.T) {
			c, ok := hardware.LookupChip(tc.chip)
			if !ok {
				t.Fatalf("%s not in catalog", tc.chip)
			}
			var sizes []int
			var gbps []float64
			for _, tier := range c.Fabric {
				sizes = append(sizes, tier.Size)
				gbps = append(gbps, tier.GBps)
			}
			if d := cmp.Diff(tc.sizes, sizes); d != "" {
				t.Errorf("tier sizes (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tc.gbps, gbps); d != "" {
				t.Errorf("tier gbps (-want +got):\n%s", d)
			}
			if got := c.ScaleUpDomain(); got != tc.sizes[0] {
				t.Errorf("ScaleUpDomain() = %d, want %d", got, tc.sizes[0])
			}
		})
	}
}

// Datasheet figures that the validation corpus leans on.
func TestCatalogPeaks(t *testing.T) {
	type peak struct{ BF16, FP8, HBMGB, HBMTBps float64 }
	for _, tc := range []struct {
		chip string
		want peak
	}{
		{"a100-sxm-80gb", peak{312, 0, 80, 2.039}},
		{"h100-sxm", peak{989, 1979, 80, 3.35}},
		{"h200", peak{989, 1979, 141, 4.8}},
		{"b200", peak{2250, 4500, 180, 8.0}},
		{"mi300x", peak{1307, 2615, 192, 5.3}},
		{"tpu-v5p", peak{459, 459, 95, 2.765}},
		{"trainium2", peak{667, 1299, 96, 2.9}},
	} {
		c, ok := hardware.LookupChip(tc.chip)
		if !ok {
			t.Errorf("%s not in catalog", tc.chip)
			continue
		}
		got := peak{c.BF16TFLOPS, c.FP8TFLOPS, c.HBMGB, c.HBMTBps}
		if d := cmp.Diff(tc.want, got); d != "" {
			t.Errorf("%s (-want +got):\n%s", tc.chip, d)
		}
	}
}

func TestParseProfileRejectsBadFields(t *testing.T) {
	good := "profile:\n  chip: h100-sxm\n  gemm: {max_eff: 0.7, overhead_us: 20, units: 132, tile_m: 128, tile_n: 256, mem_eff: 0.88, attn_max_eff: 0.74, attn_half_seq: 1060, attn_bwd_ratio: 0.68, source: test}\n"
	if _, err := hardware.ParseProfile([]byte(good)); err != nil {
		t.Fatalf("good profile: %v", err)
	}
	for _, bad := range []string{"attn_half_seq: 1060", "max_eff: 0.7", "mem_eff: 0.88", "overhead_us: 20"} {
		var repl string
		switch bad {
		case "attn_half_seq: 1060":
			repl = "attn_half_seq: -8192"
		case "max_eff: 0.7":
			repl = "max_eff: .nan"
		case "mem_eff: 0.88":
			repl = "mem_eff: 1.5"
		default:
			repl = "overhead_us: -1"
		}
		src := strings.Replace(good, bad, repl, 1)
		if _, err := hardware.ParseProfile([]byte(src)); err == nil {
			t.Errorf("%s: want an error", repl)
		}
	}
}
