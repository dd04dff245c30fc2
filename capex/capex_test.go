package capex

import (
	"context"
	"errors"
	"math"
	"testing"

	"github.com/flopcast/flopcast"
	"github.com/flopcast/flopcast/hardware"
	"github.com/flopcast/flopcast/internal/testkit"
	"github.com/flopcast/flopcast/model"
	"github.com/flopcast/flopcast/search"
	"github.com/flopcast/flopcast/spec"
)

var near = testkit.Near

var testChip = testkit.Chip

func catalogChip(t *testing.T, name string) hardware.Chip {
	t.Helper()
	c, ok := hardware.LookupChip(name)
	if !ok {
		t.Fatalf("chip %s is not in the catalog", name)
	}
	return c
}

func catalogModel(t *testing.T, name string) model.Config {
	t.Helper()
	m, ok := model.Lookup(name)
	if !ok {
		t.Fatalf("model %s is not in the catalog", name)
	}
	return m
}

func TestPlanBudget(t *testing.T) {
	for _, budget := range []float64{1e6, 1e9, 100e9} {
		rep, err := Plan(budget, testChip(), Options{MFU: 0.4, Models: []model.Config{}})
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

// The batch limit is the DeepSeek LLM law, B = 0.292·C^0.3271 tokens:
// 68M tokens for Llama 3 405B on 15.6T tokens (3.8e25 FLOPs), within the
// range published runs used (Llama 3 405B ended at 16M, DeepSeek-V3 at 63M).
func TestBatchLimit(t *testing.T) {
	law := CatalogDefaults().BatchLimit
	near(t, "B(3.8e25)", law.Tokens(3.8e25), 6.8e7, 0.02)
	near(t, "B(3.3e24)", law.Tokens(3.3e24), 3.07e7, 0.02)
}

// A Llama 3 8B plan on H100s: the job is a power of two within the fleet
// and the batch limit, its MFU is the searched one, the fleet runs
// fleet/job jobs at once, and a run takes longer than its failure-free
// time.
func TestTrainableJob(t *testing.T) {
	m := catalogModel(t, "llama3-8b")
	rep, err := Plan(300e6, catalogChip(t, "h100-sxm"), Options{Models: []model.Config{m}})
	if err != nil {
		t.Fatal(err)
	}
	tr := rep.Trainable[0]
	t.Logf("%d chips: job %d chips (%s), batch %d, MFU %.3f, %.2f days, %d at once, %.1f runs/year; %s",
		rep.Chips, tr.JobChips, tr.Layout, tr.GlobalBatch, tr.MFU, tr.Days, tr.ConcurrentJobs, tr.RunsPerYear, tr.JobReason)
	if tr.MFUSource != "predicted" || !(tr.MFU > 0.1 && tr.MFU < 1) {
		t.Fatalf("MFU %v from %s, want a predicted one", tr.MFU, tr.MFUSource)
	}
	if tr.JobChips < minJob || int64(tr.JobChips) > rep.Chips || tr.JobChips&(tr.JobChips-1) != 0 {
		t.Errorf("job of %d chips: want a power of two in [%d, %d]", tr.JobChips, minJob, rep.Chips)
	}
	if float64(tr.GlobalBatch*8192) > tr.BatchLimitTokens || float64(tr.GlobalBatch*2*8192) <= tr.BatchLimitTokens {
		t.Errorf("batch %d × 8192 is not the largest power of two within %.3g tokens", tr.GlobalBatch, tr.BatchLimitTokens)
	}
	if tr.ConcurrentJobs != rep.Chips/int64(tr.JobChips) {
		t.Errorf("%d jobs at once, want %d / %d", tr.ConcurrentJobs, rep.Chips, tr.JobChips)
	}
	near(t, "runs per year", tr.RunsPerYear, float64(tr.ConcurrentJobs)*365.25/tr.Days, 1e-9)
	for _, s := range tr.Sizes {
		if s.Chips == tr.JobChips && !(tr.Days > s.Days) {
			t.Errorf("days %.3f with failures, not above the failure-free %.3f", tr.Days, s.Days)
		}
	}
	if tr.Run == nil || tr.Run.Range == nil || !(tr.Run.Range.Days[0] < tr.Days && tr.Days < tr.Run.Range.Days[1]) {
		t.Errorf("run %+v: want a range around %.3f days", tr.Run, tr.Days)
	}
	if tr.JobReason == "" {
		t.Error("no reason for the job size")
	}
}

// A fleet larger than a model can use: the job stops well below the fleet,
// and the fleet runs many jobs at once.
func TestJobBelowFleet(t *testing.T) {
	m := catalogModel(t, "llama3-8b")
	rep, err := Plan(100e9, catalogChip(t, "trainium2"), Options{Models: []model.Config{m}, MFU: 0.4})
	if err != nil {
		t.Fatal(err)
	}
	tr := rep.Trainable[0]
	if !(int64(tr.JobChips)*8 <= rep.Chips) || tr.ConcurrentJobs < 8 {
		t.Errorf("fleet %d: job %d chips, %d at once; want a job far below the fleet", rep.Chips, tr.JobChips, tr.ConcurrentJobs)
	}
	if !(tr.Days > 1.0/24) {
		t.Errorf("a Chinchilla llama3-8b run in %.4f days: not a job that can run", tr.Days)
	}
}

func TestPlanMFU(t *testing.T) {
	// A search that fails: the catalog fallback, with a warning.
	fail := func(context.Context, *spec.Resolved, search.Options) (*search.Report, error) {
		return nil, errors.New("search failed")
	}
	rep, err := Plan(1e9, catalogChip(t, "h100-sxm"), Options{Models: []model.Config{}, Search: fail})
	if err != nil {
		t.Fatal(err)
	}
	if rep.MFUSource != "fallback" || rep.MFU != CatalogDefaults().FallbackMFU.Value || len(rep.Warnings) == 0 {
		t.Errorf("MFU %v from %s, warnings %q; want the fallback with a warning", rep.MFU, rep.MFUSource, rep.Warnings)
	}
}

func TestRepresentativeRun(t *testing.T) {
	for _, tc := range []struct {
		chips int64
		want  int
	}{{5, 4}, {1000, 512}, {8192, 8192}, {1e6, 8192}} {
		r, err := RepresentativeRun(catalogChip(t, "h100-sxm"), tc.chips)
		if err != nil {
			t.Fatal(err)
		}
		if r.Chips != tc.want || r.Training.SeqLen != 8192 || r.Training.GlobalBatch != 1024 || r.Model.Name != repModel {
			t.Errorf("chips %d: %s on %d chips, seq %d, batch %d", tc.chips, r.Model.Name, r.Chips, r.Training.SeqLen, r.Training.GlobalBatch)
		}
	}
}

func TestPlanBadInput(t *testing.T) {
	for _, tc := range []struct {
		field  string
		budget float64
		chip   hardware.Chip
		opts   Options
	}{
		{"budget", 0, testChip(), Options{}},
		{"budget", -5e9, testChip(), Options{}},
		{"budget", math.NaN(), testChip(), Options{}},
		{"budget", 1000, testChip(), Options{}}, // buys no chip
		{"pue", 1e9, testChip(), Options{PUE: 0.8}},
		{"mfu", 1e9, testChip(), Options{MFU: 1.5}},
		{"chip", 1e9, hardware.Chip{Name: "nopeak"}, Options{}},
		{"chip_usd", 1e9, hardware.Chip{Name: "noprice", BF16TFLOPS: 100}, Options{}},
		{"model", 1e9, testChip(), Options{MFU: 0.4, Model: "gpt-9"}},
	} {
		t.Run(tc.field, func(t *testing.T) {
			_, err := Plan(tc.budget, tc.chip, tc.opts)
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
		if _, ok := hardware.LookupChip(e.Chip); !ok {
			t.Errorf("%s: chip %s is not in the chip catalog", e.Company, e.Chip)
		}
	}
	// With stand-in chips, so the test does not depend on the chip catalog.
	lookup := func(name string) (hardware.Chip, bool) {
		c := testChip()
		c.Name = name
		return c, true
	}
	reps, err := runScenario(s, Options{MFU: 0.4, Models: []model.Config{}}, lookup)
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
