package validate_test

import (
	"testing"

	"github.com/flopcast/flopcast/validate"
)

// The corpus must keep the model honest: every row resolves and predicts,
// and the confirmed and secondary rows stay within the error budget.
func TestCorpus(t *testing.T) {
	rep, err := validate.Run()
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Rows) < 45 {
		t.Errorf("corpus has %d rows, want the ~45+ published runs of catalog/runs.yaml", len(rep.Rows))
	}
	for _, r := range rep.Rows {
		t.Logf("%-44s %-10s %-16s measured %10.4g predicted %10.4g err %+6.1f%%", r.Name, r.Confidence, r.Metric, r.Measured, r.Predicted, 100*r.Err)
	}
	t.Logf("mean |err| %.1f%% (trusted %.1f%%, recalled %.1f%%), worst %.1f%% (trusted %.1f%%)",
		100*rep.MeanAbsErr, 100*rep.TrustedMeanAbs, 100*rep.RecalledMeanAbs, 100*rep.WorstAbsErr, 100*rep.TrustedWorstAbs)
	const budget = 0.10
	if rep.TrustedMeanAbs > budget {
		t.Errorf("mean |error| over confirmed/secondary rows = %.1f%%, budget %.0f%%", 100*rep.TrustedMeanAbs, 100*budget)
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
