package economics

import (
	"context"
	"errors"
	"github.com/flopcast/flopcast"
	"math"
	"strings"
	"testing"

	"github.com/flopcast/flopcast/estimate"
	"github.com/flopcast/flopcast/hardware"
	"github.com/flopcast/flopcast/model"
	"github.com/flopcast/flopcast/spec"
)

func ptr[T any](v T) *T { return &v }

func near(t *testing.T, what string, got, want, rel float64) {
	t.Helper()
	if math.Abs(got-want) > rel*math.Abs(want) {
		t.Errorf("%s = %.6g, want %.6g (±%g)", what, got, want, rel)
	}
}

func testChip() hardware.Chip {
	return hardware.Chip{Name: "testchip", BF16TFLOPS: 1000, TDPW: 700, IdleW: 70, HostW: 300,
		RentUSDPerHour: hardware.Price{USD: 2, Date: "2025", Source: "test"},
		PurchaseUSD:    hardware.Price{USD: 30000, Date: "2025", Source: "test"}}
}

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

func TestCapexBudget(t *testing.T) {
	for _, budget := range []float64{1e6, 1e9, 100e9} {
		rep, err := Capex(budget, testChip(), CapexOptions{MFU: 0.4, Models: []model.Config{}})
		if err != nil {
			t.Fatal(err)
		}
		all := rep.PerChipUSD.AllIn
		spent := float64(rep.Chips) * all
		if spent > budget || budget-spent >= all {
			t.Errorf("budget %.3g: %d chips × $%.0f = %.6g, want within one chip below the budget", budget, rep.Chips, all, spent)
		}
		near(t, "all-in", all, 30000*1.5+20e6*(700+300)/1e6, 1e-12)
		s := rep.CapexSplit
		near(t, "split", s.Chips+s.ServerNetwork+s.PowerCooling+s.LandSite, 1, 1e-12)
		near(t, "power", rep.PowerMW, float64(rep.Chips)*1000*1.2/1e6, 1e-12)
		near(t, "annual FLOP", rep.AnnualBF16FLOP, float64(rep.Chips)*1000e12*0.4*8766*3600, 1e-12)
	}
}

func TestCapexTrainable(t *testing.T) {
	m := llama8b()
	rep, err := Capex(1e9, testChip(), CapexOptions{MFU: 0.5, Models: []model.Config{m}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Trainable) != 1 {
		t.Fatalf("trainable %+v", rep.Trainable)
	}
	tr := rep.Trainable[0]
	near(t, "Chinchilla tokens", tr.Tokens, 20*8.03e9, 0.01)
	// 6N dominates: days ≈ 6·N·D / (chips · 1e15 · 0.5) / 86400.
	approx := 6 * 8.03e9 * tr.Tokens / (float64(rep.Chips) * 1e15 * 0.5) / 86400
	if tr.Days < approx || tr.Days > 1.5*approx {
		t.Errorf("days %.4g, want a bit above 6ND's %.4g", tr.Days, approx)
	}
	near(t, "runs per year", tr.RunsPerYear*tr.Days, 365.25, 1e-12)

	rep, err = Capex(1e9, testChip(), CapexOptions{MFU: 0.5, Models: []model.Config{m}, Tokens: 15e12})
	if err != nil {
		t.Fatal(err)
	}
	near(t, "given tokens", rep.Trainable[0].Tokens, 15e12, 0)
}

func TestCapexMFU(t *testing.T) {
	// No predictor: the catalog fallback, with a warning.
	rep, err := Capex(1e9, testChip(), CapexOptions{Models: []model.Config{}})
	if err != nil {
		t.Fatal(err)
	}
	if rep.MFUSource != "fallback" || rep.MFU != CatalogDefaults().FallbackMFU.Value || len(rep.Warnings) == 0 {
		t.Errorf("MFU %v from %s, warnings %q; want the fallback with a warning", rep.MFU, rep.MFUSource, rep.Warnings)
	}
	// A predictor that fails: the same.
	rep, err = Capex(1e9, testChip(), CapexOptions{Models: []model.Config{},
		PredictMFU: func(context.Context, *spec.Resolved) (float64, error) { return 0, errors.New("search failed") }})
	if err != nil {
		t.Fatal(err)
	}
	if rep.MFUSource != "fallback" || !strings.Contains(strings.Join(rep.Warnings, " "), "search failed") &&
		!strings.Contains(strings.Join(rep.Warnings, " "), "not in the catalog") {
		t.Errorf("MFU from %s, warnings %q", rep.MFUSource, rep.Warnings)
	}
}

func TestRepresentativeRun(t *testing.T) {
	if _, ok := model.Lookup(repModel); !ok {
		t.Fatalf("%s is not in the model catalog", repModel)
	}
	for _, tc := range []struct {
		chips int64
		want  int
	}{{5, 4}, {1000, 512}, {8192, 8192}, {1e6, 8192}} {
		r, err := RepresentativeRun(testChip(), tc.chips)
		if err != nil {
			t.Fatal(err)
		}
		if r.Chips != tc.want || r.Training.SeqLen != 8192 || r.Training.GlobalBatch != 1024 {
			t.Errorf("chips %d: run on %d chips, seq %d, batch %d", tc.chips, r.Chips, r.Training.SeqLen, r.Training.GlobalBatch)
		}
	}
}

func TestCapexBadInput(t *testing.T) {
	for _, tc := range []struct {
		field  string
		budget float64
		chip   hardware.Chip
		opts   CapexOptions
	}{
		{"budget", 0, testChip(), CapexOptions{}},
		{"budget", -5e9, testChip(), CapexOptions{}},
		{"budget", math.NaN(), testChip(), CapexOptions{}},
		{"budget", 1000, testChip(), CapexOptions{}}, // buys no chip
		{"pue", 1e9, testChip(), CapexOptions{PUE: 0.8}},
		{"mfu", 1e9, testChip(), CapexOptions{MFU: 1.5}},
		{"chip", 1e9, hardware.Chip{Name: "nopeak"}, CapexOptions{}},
		{"chip", 1e9, hardware.Chip{Name: "noprice", BF16TFLOPS: 100}, CapexOptions{}},
	} {
		t.Run(tc.field, func(t *testing.T) {
			_, err := Capex(tc.budget, tc.chip, tc.opts)
			var fe *flopcast.FieldError
			if !errors.As(err, &fe) || fe.Field != tc.field {
				t.Fatalf("err = %v, want a FieldError on %s", err, tc.field)
			}
		})
	}
}

func TestScenario(t *testing.T) {
	s, ok := LookupScenario("hyperscalers-2025")
	if !ok {
		t.Fatal("scenario hyperscalers-2025 missing")
	}
	want := map[string]float64{"Amazon": 100e9, "Microsoft": 80e9, "Alphabet": 75e9, "Meta": 62.5e9}
	if len(s.Entries) != len(want) {
		t.Fatalf("entries %d, want 4", len(s.Entries))
	}
	for _, e := range s.Entries {
		if want[e.Company] != e.BudgetUSD {
			t.Errorf("%s: budget %v, want %v", e.Company, e.BudgetUSD, want[e.Company])
		}
	}
	// With stand-in chips, so the test does not depend on the chip catalog.
	lookup := func(name string) (hardware.Chip, bool) {
		c := testChip()
		c.Name = name
		return c, true
	}
	reps, err := runScenario(s, CapexOptions{MFU: 0.4, Models: []model.Config{}}, lookup)
	if err != nil {
		t.Fatal(err)
	}
	for i, rep := range reps {
		if rep.Company != s.Entries[i].Company || rep.Chip != s.Entries[i].Chip || rep.Source == "" || rep.ChipReason == "" {
			t.Errorf("entry %d: %+v", i, rep)
		}
	}
	if !(reps[0].Chips > reps[3].Chips) {
		t.Errorf("Amazon's $100B bought %d chips, not more than Meta's $62.5B %d", reps[0].Chips, reps[3].Chips)
	}
}

func TestScenarioCatalogChips(t *testing.T) {
	s, _ := LookupScenario("hyperscalers-2025")
	for _, e := range s.Entries {
		if _, ok := hardware.LookupChip(e.Chip); !ok {
			t.Fatalf("scenario chip %s is not in the chip catalog", e.Chip)
		}
	}
	reps, err := RunScenario(s, CapexOptions{MFU: 0.4, Models: []model.Config{}})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range reps {
		t.Logf("%-9s %-9s $%.3g: %d chips at $%.0f all-in, %.0f MW, %.3g FLOP/yr", r.Company, r.Chip, r.BudgetUSD, r.Chips, r.PerChipUSD.AllIn, r.PowerMW, r.AnnualBF16FLOP)
	}
}

// Every catalog default names its source and date.
func TestCatalogProvenance(t *testing.T) {
	d := CatalogDefaults()
	for name, f := range map[string]Figure{
		"pue": d.PUE, "electricity": d.ElectricityUSDPerMWh, "grid": d.GridKgCO2PerKWh, "depreciation": d.DepreciationYears,
		"facility life": d.FacilityLifeYears, "facility": d.FacilityUSDPerMW, "server network": d.ServerNetworkFraction,
		"idle": d.IdleFractionOfTDP, "host": d.HostFractionOfTDP, "fallback mfu": d.FallbackMFU,
	} {
		if f.Source == "" || f.Date == "" || f.Unit == "" {
			t.Errorf("%s: %+v lacks source, date or unit", name, f)
		}
	}
	for _, e := range mustLoad().ServerNetworkByChip {
		if _, ok := hardware.LookupChip(e.Chip); !ok && len(hardware.Chips()) > 0 {
			t.Errorf("server_network_fraction_by_chip names %q, which is not a catalog chip", e.Chip)
		}
	}
}
