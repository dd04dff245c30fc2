package validate_test

import (
	"math"
	"slices"
	"testing"

	"github.com/flopcast/flopcast/validate"
)

// groupBudget is the largest mean |error| each report group may have over
// its confirmed and secondary time rows, and over its memory rows. A group
// without a budget here (whole-run rows, which carry goodput and an
// unpublished layout) is reported but not held to one. Where today's error
// is above the corpus's original 10%, the budget holds today's level with
// a margin so that it cannot get worse, and the comment names the work
// that should bring it down; tighten a budget when that work lands.
var groupBudget = map[string]struct{ time, memory float64 }{
	// The corpus's original budget.
	validate.GroupDenseBF16: {0.10, 0.10},
	// single-gpu: the measured H200 steps (catalog/measured/h200.json),
	// 5.9% mean. Models of 4,096 and 8,192 hidden are GPU-bound; those of
	// 768-2,048 hidden are paced by eager PyTorch's host launching their
	// small kernels (estimate's eagerHost, fitted on the GPT-style steps).
	// GPT-350M with full recompute leads (-23.5%): it is slower per layer
	// than GPT-125M with as many kernels and less GPU work, which no
	// per-kernel host cost explains. Memory: full recompute of the
	// 125M-160M models is predicted 19% high.
	validate.GroupSingleGPU: {0.07, 0.07},
	// dense-fp8 time: the corpus's original budget (torchtitan's
	// float8-rowwise rows lead, 12-17% too fast: the row-scaled GEMM
	// kernel is not modelled); memory: FSDP and per-op selective
	// checkpointing as torchtitan runs them.
	validate.GroupDenseFP8: {0.10, 0.13},
	// moe: gpt-oss-120b on H100 (+36%, with its sliding windows priced)
	// and DeepSeek-V3 MXFP8 on GB300 (-32%) lead the error; neither is
	// explained by a modelled mechanism (see the rows' fill_in).
	validate.GroupMoE: {0.15, 0.10},
	// SimuMax's own cases: SimuMax's own 5.6% time and 0.5% memory are
	// the target.
	validate.GroupSimuMaxB200: {0.06, 0.012},
}

// The corpus must keep the model honest: every row resolves and predicts,
// and each group stays within its error budget.
func TestCorpus(t *testing.T) {
	rep, err := validate.Run()
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Rows) < 150 {
		t.Errorf("corpus has %d rows, want the 67 of the first corpus and SimuMax's 43 cases twice", len(rep.Rows))
	}
	for _, r := range rep.Rows {
		t.Logf("%-44s %-12s %-10s %-16s measured %10.4g predicted %10.4g err %+6.1f%%", r.Name, r.Group, r.Confidence, r.Metric, r.Measured, r.Predicted, 100*r.Err)
	}
	for name, s := range rep.Groups {
		t.Logf("time %-14s rows %3d mean %5.1f%% worst %5.1f%% (confirmed/secondary: %d rows, mean %.1f%%)", name, s.Rows, 100*s.MeanAbsErr, 100*s.WorstAbsErr, s.TrustedRows, 100*s.TrustedMeanAbsErr)
		if b, ok := groupBudget[name]; ok && s.TrustedMeanAbsErr > b.time {
			t.Errorf("group %s: mean |error| over confirmed/secondary time rows = %.1f%%, budget %.0f%%", name, 100*s.TrustedMeanAbsErr, 100*b.time)
		}
	}
	for name, s := range rep.Memory.Groups {
		t.Logf("memory %-14s rows %3d mean %5.1f%% worst %5.1f%%", name, s.Rows, 100*s.MeanAbsErr, 100*s.WorstAbsErr)
		if b, ok := groupBudget[name]; ok && s.TrustedMeanAbsErr > b.memory {
			t.Errorf("group %s: mean |error| over confirmed/secondary memory rows = %.1f%%, budget %.0f%%", name, 100*s.TrustedMeanAbsErr, 100*b.memory)
		}
	}
}

// Every row lands in a known group, and a row that states no group gets
// the one its run implies.
func TestGroups(t *testing.T) {
	rep, err := validate.Run()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"narayanan21-gpt-1.7b":                                     validate.GroupDenseBF16,
		"nemo2407-llama3-70b-64":                                   validate.GroupDenseFP8,
		"megatron-core09-mixtral-8x7b-64":                          validate.GroupMoE,
		"llama2-7b-co2-t":                                          validate.GroupWholeRun,
		"simumax-b200-deepseekv3-l4-tp1-ep8-pp1-dp8-mbc4-cef-time": validate.GroupSimuMaxB200,
	}
	for _, r := range rep.Rows {
		if !slices.Contains(validate.Groups, r.Group) {
			t.Errorf("%s: group %q is not a report group", r.Name, r.Group)
		}
		if g, ok := want[r.Name]; ok && r.Group != g {
			t.Errorf("%s: group %q, want %q", r.Name, r.Group, g)
		}
		delete(want, r.Name)
	}
	for name := range want {
		t.Errorf("row %s missing from the corpus", name)
	}
}

// The anchors' own published errors agree with their per-row errors, and
// each anchor holds the rows its publication validated on.
func TestAnchors(t *testing.T) {
	rep, err := validate.Run()
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]int{"calculon": 8, "simumax": 43}
	for _, a := range rep.Anchors {
		if a.Time.Rows != rows[a.Name] {
			t.Errorf("anchor %s: %d time rows, want %d", a.Name, a.Time.Rows, rows[a.Name])
		}
		if a.TheirTime.Rows == 0 {
			continue
		}
		for _, c := range []struct {
			what           string
			got, published float64
		}{
			{"time mean", a.TheirTime.MeanAbsErr, a.TimeMeanAbsErr},
			{"time worst", a.TheirTime.WorstAbsErr, a.TimeWorstAbsErr},
			{"memory mean", a.TheirMemory.MeanAbsErr, a.MemMeanAbsErr},
			{"memory worst", a.TheirMemory.WorstAbsErr, a.MemWorstAbsErr},
		} {
			if math.Abs(c.got-c.published) > 0.001 {
				t.Errorf("anchor %s: %s from its rows %.4f, published %.4f", a.Name, c.what, c.got, c.published)
			}
		}
		delete(rows, a.Name)
	}
	if rows["simumax"] != 0 {
		t.Error("anchor simumax: no per-row errors")
	}
}

func TestRowErrors(t *testing.T) {
	rows, err := validate.Corpus()
	if err != nil {
		t.Fatal(err)
	}
	base := rows[0]
	for _, tc := range []struct {
		name string
		mut  func(r *validate.Row)
	}{
		{"bad metric", func(r *validate.Row) { r.Metric = "speed" }},
		{"bad confidence", func(r *validate.Row) { r.Confidence = "sure" }},
		{"zero measured", func(r *validate.Row) { r.Measured = 0 }},
		{"bad flops", func(r *validate.Row) { r.Metric = validate.MetricMFU; r.Flops = "mine" }},
		{"bad chip", func(r *validate.Row) { r.Run.Cluster.Chip = "h1000" }},
		{"bad group", func(r *validate.Row) { r.Group = "dense" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := base
			tc.mut(&r)
			if _, err := validate.Predict(&r); err == nil {
				t.Fatal("want an error")
			}
		})
	}
}

// A prediction that matches the measurement exactly has zero error: the
// error arithmetic itself is checked against a hand-made row.
func TestEvaluateStats(t *testing.T) {
	rows, err := validate.Corpus()
	if err != nil {
		t.Fatal(err)
	}
	var pick []validate.Row
	for _, r := range rows {
		if r.Metric == validate.MetricStepTime || r.Metric == validate.MetricTFLOPsPerChip {
			pick = append(pick, r)
		}
		if len(pick) == 2 {
			break
		}
	}
	rep, err := validate.Evaluate(pick)
	if err != nil {
		t.Fatal(err)
	}
	want := (rep.Rows[0].AbsErr + rep.Rows[1].AbsErr) / 2
	if d := rep.MeanAbsErr - want; d > 1e-12 || d < -1e-12 {
		t.Errorf("mean = %v, want %v", rep.MeanAbsErr, want)
	}
	for _, r := range rep.Rows {
		if got := (r.Predicted - r.Measured) / r.Measured; got != r.Err {
			t.Errorf("%s: err %v, want %v", r.Name, r.Err, got)
		}
	}
}
