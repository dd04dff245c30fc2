package economics

import (
	"errors"
	"github.com/flopcast/flopcast"
	"math"
	"strings"
	"testing"

	"github.com/flopcast/flopcast/catalog"
	"github.com/flopcast/flopcast/estimate"
	"github.com/flopcast/flopcast/hardware"
	"github.com/flopcast/flopcast/internal/testkit"
	"github.com/flopcast/flopcast/model"
	"github.com/flopcast/flopcast/spec"
)

func ptr[T any](v T) *T { return &v }

var near = testkit.Near

var testChip = testkit.Chip

func llama8b() model.Config {
	return model.Config{Name: "llama3-8b", Layers: 32, Hidden: 4096, Heads: 32, KVHeads: 8, FFN: 14336, Vocab: 128256}
}

func testRun(chips int) *spec.Resolved {
	return &spec.Resolved{
		Model: llama8b(), Chip: testChip(), Chips: chips,
		Training: spec.ResolvedTraining{SeqLen: 8192, GlobalBatch: 512, Tokens: 1e12, Recipe: "megatron", Precision: "bf16"},
	}
}

// A synthetic step: 10 s, of which 8 s compute.
func testResult() *estimate.Result {
	return &estimate.Result{StepTimeS: 10, MFU: 0.4, Breakdown: estimate.Breakdown{
		ComputeS: 7.5, OptimizerS: 0.5, PipelineBubbleS: 1, ExposedDPCommS: 0.6, ExposedTPCommS: 0.4}}
}

func TestSteps(t *testing.T) {
	r := testRun(512)
	run, err := WholeRun(r, testResult())
	if err != nil {
		t.Fatal(err)
	}
	want := int64(math.Ceil(1e12 / (512 * 8192)))
	if run.Steps != want {
		t.Errorf("steps = %d, want %d", run.Steps, want)
	}
	near(t, "work hours", run.Time[0].Hours+run.Time[1].Hours, float64(want)*10/3600, 1e-12)
}

func TestBatchRamp(t *testing.T) {
	r := testRun(512)
	// Llama 3's ramp in sequences of 8192: 512 until 252M tokens, 1024
	// until 2.87T, then global_batch.
	r.Training.Tokens = 15.6e12
	r.Training.GlobalBatch = 2048
	r.Training.BatchRamp = []spec.Ramp{{Tokens: 252e6, GlobalBatch: 512}, {Tokens: 2.87e12, GlobalBatch: 1024}}
	run, err := WholeRun(r, testResult())
	if err != nil {
		t.Fatal(err)
	}
	if len(run.Stages) != 3 {
		t.Fatalf("stages = %+v, want 3", run.Stages)
	}
	var steps int64
	var work float64
	for i, want := range []struct {
		tokens float64
		batch  int
	}{{252e6, 512}, {2.87e12 - 252e6, 1024}, {15.6e12 - 2.87e12, 2048}} {
		s := run.Stages[i]
		near(t, "stage tokens", s.Tokens, want.tokens, 1e-12)
		if s.GlobalBatch != want.batch {
			t.Errorf("stage %d batch %d, want %d", i, s.GlobalBatch, want.batch)
		}
		near(t, "stage step time", s.StepTimeS, 10*float64(want.batch)/2048, 1e-12)
		steps += s.Steps
		work += float64(s.Steps) * s.StepTimeS
	}
	if run.Steps != steps {
		t.Errorf("steps %d, want the stages' %d", run.Steps, steps)
	}
	// Time per token is held fixed, so the ramp changes steps, not time.
	near(t, "work", work, 15.6e12/(2048*8192)*10, 1e-5)
}

func TestRentCost(t *testing.T) {
	for _, tc := range []struct {
		name  string
		price *float64
		want  float64
	}{{"catalog rent", nil, 2}, {"given price", ptr(3.5), 3.5}} {
		t.Run(tc.name, func(t *testing.T) {
			r := testRun(1024)
			r.Economics.PricePerChipHour = tc.price
			run, err := WholeRun(r, testResult())
			if err != nil {
				t.Fatal(err)
			}
			if run.CostBasis != "rent" {
				t.Errorf("basis %q, want rent", run.CostBasis)
			}
			near(t, "cost", run.CostUSD, run.ChipHours*tc.want, 1e-12)
			near(t, "chip-hours", run.ChipHours, 1024*run.Days*24, 1e-12)
			if len(run.Warnings) != 0 {
				t.Errorf("warnings %q", run.Warnings)
			}
		})
	}
}

func TestOwnCost(t *testing.T) {
	r := testRun(1024)
	r.Economics = spec.Economics{CapexPerChip: ptr(20000.0), DepreciationYears: ptr(4.0),
		ServerNetworkShare: ptr(10000.0), FacilityUSDPerMW: ptr(10e6), ElectricityUSDPerMWh: ptr(50.0)}
	run, err := WholeRun(r, testResult())
	if err != nil {
		t.Fatal(err)
	}
	if run.CostBasis != "own" || run.Own == nil {
		t.Fatalf("basis %q, own %v; want own", run.CostBasis, run.Own)
	}
	o := run.Own
	near(t, "hardware", o.HardwareUSD, run.ChipHours*30000/(4*8766), 1e-12)
	near(t, "facility", o.FacilityUSD, run.ChipHours*10e6*(700+300)/1e6/(20*8766), 1e-12)
	near(t, "electricity", o.ElectricityUSD, run.EnergyMWh*50, 1e-12)
	near(t, "total", run.CostUSD, o.HardwareUSD+o.FacilityUSD+o.ElectricityUSD, 1e-12)
	if run.Rent == nil {
		t.Error("rent cost missing although the chip has a rent price")
	}
}

func TestEnergyBounds(t *testing.T) {
	for _, tc := range []struct {
		name string
		res  *estimate.Result
		pue  float64
	}{
		{"mostly compute", testResult(), 1.2},
		{"all communication", &estimate.Result{StepTimeS: 5, Breakdown: estimate.Breakdown{ComputeS: 0.01, ExposedDPCommS: 4.99}}, 1.1},
		{"no breakdown", &estimate.Result{StepTimeS: 5}, 1.5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := testRun(2048)
			r.Economics.PUE = &tc.pue
			run, err := WholeRun(r, tc.res)
			if err != nil {
				t.Fatal(err)
			}
			c := testChip()
			wallH := run.Days * 24
			lo := 2048 * (c.IdleW + c.HostW) * wallH * tc.pue / 1e6
			hi := 2048 * (c.TDPW + c.HostW) * wallH * tc.pue / 1e6
			if run.EnergyMWh < lo || run.EnergyMWh > hi {
				t.Errorf("energy %.1f MWh outside [%.1f, %.1f]", run.EnergyMWh, lo, hi)
			}
			near(t, "CO2", run.CO2T, run.EnergyMWh*0.367, 1e-12)
			p := run.Power
			near(t, "busy W", p.ChipBusyW, c.IdleW+(c.TDPW-c.IdleW)*p.Utilisation, 1e-12)
		})
	}
}

// The three energy conventions nest: chips alone, plus hosts (IT), times
// PUE (facility). BLOOM's 433 MWh is GPU-hours × 400 W (Luccioni et al.
// 2022): with the chips drawing TDP throughout and no host, the chips'
// convention reproduces that arithmetic.
func TestEnergyConventions(t *testing.T) {
	r := testRun(1024)
	r.Economics = spec.Economics{PUE: ptr(1.3), GridKgCO2PerKWh: ptr(0.057)}
	run, err := WholeRun(r, testResult())
	if err != nil {
		t.Fatal(err)
	}
	if !(run.EnergyChipsMWh < run.EnergyITMWh && run.EnergyITMWh < run.EnergyMWh) {
		t.Errorf("chips %.1f, IT %.1f, facility %.1f MWh: want chips < IT < facility", run.EnergyChipsMWh, run.EnergyITMWh, run.EnergyMWh)
	}
	near(t, "facility / IT", run.EnergyMWh/run.EnergyITMWh, 1.3, 1e-12)
	near(t, "hosts", run.EnergyITMWh-run.EnergyChipsMWh, 1024*testChip().HostW*run.Days*24/1e6, 1e-9)
	near(t, "chips' carbon", run.CO2ChipsT, run.EnergyChipsMWh*0.057, 1e-12)

	// BLOOM's convention: 1,082,990 GPU-hours at 400 W = 433.2 MWh.
	r.Economics = spec.Economics{ChipPowerW: ptr(400.0), HostPowerW: ptr(0.0)}
	r.Chip.IdleW = 400 // the card's convention has no idle draw either
	run, err = WholeRun(r, testResult())
	if err != nil {
		t.Fatal(err)
	}
	near(t, "chips at 400 W", run.EnergyChipsMWh, run.ChipHours*0.4/1e3, 1e-9)
	near(t, "IT with no host", run.EnergyITMWh, run.EnergyChipsMWh, 1e-12)
	near(t, "BLOOM arithmetic", 1_082_990*0.4/1e3, 433.2, 1e-3)
}

// The range brackets the point: the low end at the lowest published
// failure rate and the step time less its error, the high end the other
// way; with no error it still spans the failure-rate spread.
func TestRange(t *testing.T) {
	for _, e := range []float64{0, 0.1} {
		run, err := WholeRunOpts(testRun(16384), testResult(), Options{StepTimeErr: e, StepTimeErrFrom: "test"})
		if err != nil {
			t.Fatal(err)
		}
		rg := run.Range
		if rg == nil {
			t.Fatal("no range")
		}
		for _, f := range []struct {
			name   string
			point  float64
			lo, hi float64
		}{
			{"days", run.Days, rg.Days[0], rg.Days[1]},
			{"chip-hours", run.ChipHours, rg.ChipHours[0], rg.ChipHours[1]},
			{"cost", run.CostUSD, rg.CostUSD[0], rg.CostUSD[1]},
			{"energy", run.EnergyMWh, rg.EnergyMWh[0], rg.EnergyMWh[1]},
		} {
			if !(f.lo < f.point && f.point < f.hi) {
				t.Errorf("err %v: %s %.4g not inside (%.4g, %.4g)", e, f.name, f.point, f.lo, f.hi)
			}
		}
		if e > 0 && !(rg.Days[1]/rg.Days[0] > 1.2) {
			t.Errorf("a 10%% step-time error gives days %.2f–%.2f, want at least ±10%% apart", rg.Days[0], rg.Days[1])
		}
		if len(rg.Sites) != 2 || rg.Sites[0] != "llama3" || rg.Sites[1] != "rsc" {
			t.Errorf("range sites %v", rg.Sites)
		}
	}
	// A run that gives its own failure rate, or names its site, has no
	// site spread.
	for _, rel := range []spec.Reliability{{FailuresPerChipHour: ptr(2e-5)}, {Site: "rsc"}} {
		r := testRun(16384)
		r.Reliability = rel
		run, err := WholeRun(r, testResult())
		if err != nil {
			t.Fatal(err)
		}
		if run.Range == nil || run.Range.Days[0] != run.Days || run.Range.Days[1] != run.Days {
			t.Errorf("%+v, no step error: range %+v, want the point at both ends", rel, run.Range)
		}
	}
}

func TestMarketCarbon(t *testing.T) {
	r := testRun(64)
	r.Economics = spec.Economics{GridKgCO2PerKWh: ptr(0.5), MarketKgCO2PerKWh: ptr(0.05)}
	run, err := WholeRun(r, testResult())
	if err != nil {
		t.Fatal(err)
	}
	near(t, "location CO2", run.CO2T, run.EnergyMWh*0.5, 1e-12)
	if run.CO2MarketT == nil {
		t.Fatal("no market-based CO2")
	}
	near(t, "market CO2", *run.CO2MarketT, run.EnergyMWh*0.05, 1e-12)
}

func TestTimeTableAddsUp(t *testing.T) {
	run, err := WholeRun(testRun(16384), testResult())
	if err != nil {
		t.Fatal(err)
	}
	var h, s float64
	for _, row := range run.Time {
		h += row.Hours
		s += row.Share
	}
	near(t, "hours", h, run.Days*24, 1e-9)
	near(t, "shares", s, 1, 1e-9)
	near(t, "compute share of work", run.Time[0].Hours/(run.Time[0].Hours+run.Time[1].Hours), 0.8, 1e-12)
	near(t, "goodput", run.Goodput, (run.Time[0].Hours+run.Time[1].Hours)/(run.Days*24), 1e-9)
}

func TestGoodputFallsWithChips(t *testing.T) {
	prev := 1.0
	for _, chips := range []int{256, 1024, 4096, 16384, 65536} {
		// Same per-chip throughput: step time shrinks with chips.
		res := testResult()
		res.StepTimeS = 10 * 16384 / float64(chips)
		res.Breakdown = estimate.Breakdown{ComputeS: res.StepTimeS}
		run, err := WholeRun(testRun(chips), res)
		if err != nil {
			t.Fatal(err)
		}
		if !(run.Goodput < prev) {
			t.Errorf("%d chips: goodput %.4f not below %.4f", chips, run.Goodput, prev)
		}
		prev = run.Goodput
	}
}

func TestPriceWarning(t *testing.T) {
	for _, tc := range []struct {
		price float64
		warn  bool
	}{{0.01, true}, {0.05, false}, {2, false}, {100, false}, {98.32 * 8, true}} {
		r := testRun(8)
		r.Economics.PricePerChipHour = ptr(tc.price)
		run, err := WholeRun(r, testResult())
		if err != nil {
			t.Fatal(err)
		}
		got := false
		for _, w := range run.Warnings {
			got = got || strings.Contains(w, "economics.price_per_chip_hour")
		}
		if got != tc.warn {
			t.Errorf("price %v: warned %v, want %v (%q)", tc.price, got, tc.warn, run.Warnings)
		}
	}
}

func TestBadInput(t *testing.T) {
	for _, tc := range []struct {
		field string
		edit  func(*spec.Resolved)
	}{
		{"economics.pue", func(r *spec.Resolved) { r.Economics.PUE = ptr(0.9) }},
		{"economics.price_per_chip_hour", func(r *spec.Resolved) { r.Economics.PricePerChipHour = ptr(-2.0) }},
		{"economics.price_per_chip_hour", func(r *spec.Resolved) { r.Economics.PricePerChipHour = ptr(0.0) }},
		{"economics.depreciation_years", func(r *spec.Resolved) { r.Economics.DepreciationYears = ptr(0.0) }},
		{"economics.grid_kg_co2_per_kwh", func(r *spec.Resolved) { r.Economics.GridKgCO2PerKWh = ptr(-0.1) }},
		{"economics.chip_power_w", func(r *spec.Resolved) { r.Economics.ChipPowerW = ptr(math.NaN()) }},
		{"training.tokens", func(r *spec.Resolved) { r.Training.Tokens = 0 }},
		{"training.tokens", func(r *spec.Resolved) { r.Training.Tokens = -1e12 }},
		{"training.tokens", func(r *spec.Resolved) { r.Training.Tokens = 512*8192 - 1 }},
		{"training.batch_ramp[1].tokens", func(r *spec.Resolved) {
			r.Training.BatchRamp = []spec.Ramp{{Tokens: 1e9, GlobalBatch: 128}, {Tokens: 1e8, GlobalBatch: 256}}
		}},
		{"training.batch_ramp[0].global_batch", func(r *spec.Resolved) {
			r.Training.BatchRamp = []spec.Ramp{{Tokens: 1e9, GlobalBatch: 0}}
		}},
		{"reliability.restart_s", func(r *spec.Resolved) { r.Reliability.RestartS = ptr(-1.0) }},
	} {
		t.Run(tc.field, func(t *testing.T) {
			r := testRun(64)
			tc.edit(r)
			_, err := WholeRun(r, testResult())
			var fe *flopcast.FieldError
			if !errors.As(err, &fe) || fe.Field != tc.field {
				t.Fatalf("err = %v, want a FieldError on %s", err, tc.field)
			}
			if !strings.Contains(err.Error(), tc.field) {
				t.Errorf("message %q does not name the field", err)
			}
		})
	}
	if _, err := WholeRun(testRun(8), &estimate.Result{}); err == nil || !strings.Contains(err.Error(), "step_time_s") {
		t.Errorf("zero step time: err = %v, want one naming step_time_s", err)
	}
}

func TestNoCost(t *testing.T) {
	r := testRun(8)
	r.Chip.RentUSDPerHour = hardware.Price{}
	r.Chip.PurchaseUSD = hardware.Price{}
	r.Chip.Name = "unpriced"
	run, err := WholeRun(r, testResult())
	if err != nil {
		t.Fatal(err)
	}
	if run.CostBasis != "none" || run.CostUSD != 0 || len(run.Warnings) == 0 {
		t.Errorf("basis %q cost %v warnings %q; want none, 0 and a warning", run.CostBasis, run.CostUSD, run.Warnings)
	}
}

// Every catalog default names its source and date.
func TestCatalogProvenance(t *testing.T) {
	d := CatalogDefaults()
	for name, f := range map[string]catalog.Figure{
		"pue": d.PUE, "electricity": d.ElectricityUSDPerMWh, "grid": d.GridKgCO2PerKWh, "depreciation": d.DepreciationYears,
		"facility life": d.FacilityLifeYears, "facility": d.FacilityUSDPerMW, "server network": d.ServerNetworkFraction,
		"idle": d.IdleFractionOfTDP, "host": d.HostFractionOfTDP,
	} {
		if f.Source == "" || f.Date == "" || f.Unit == "" {
			t.Errorf("%s: %+v lacks source, date or unit", name, f)
		}
	}
	for _, e := range catalog.Must(loaded()).ServerNetworkByChip {
		if _, ok := hardware.LookupChip(e.Chip); !ok && len(hardware.Chips()) > 0 {
			t.Errorf("server_network_fraction_by_chip names %q, which is not a catalog chip", e.Chip)
		}
	}
}

// TestRunsPerYearJulian: a run of a Julian year fits once a year (an
// integer HoursPerYear once made the year 365 days).
func TestRunsPerYearJulian(t *testing.T) {
	if got := (Span{Days: 365.25}).RunsPerYear(); math.Abs(got-1) > 1e-12 {
		t.Errorf("runs per year of a 365.25-day run: %v, want 1", got)
	}
}
