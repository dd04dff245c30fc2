package validate_test

import (
	"os"
	"testing"

	"github.com/flopcast/flopcast/calibrate"
	"github.com/flopcast/flopcast/validate"
)

// The plumbing of a measured validation set: rows from a measure.py file,
// predicted with the default curve and with a profile. The step numbers in
// the synthetic file are made up, so only the structure is checked.
func TestMeasuredRows(t *testing.T) {
	b, err := os.ReadFile("testdata/synthetic-steps.json")
	if err != nil {
		t.Fatal(err)
	}
	m, err := calibrate.ParseMeasurement(b)
	if err != nil {
		t.Fatal(err)
	}
	m.Source = "synthetic-steps.json"
	rep, err := validate.CompareMeasured(m, "h100-sxm", "h100-sxm")
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Rows) != 2*len(m.Steps) {
		t.Fatalf("%d rows for %d steps", len(rep.Rows), len(m.Steps))
	}
	for _, r := range rep.Rows {
		if r.Default <= 0 || r.Profile <= 0 {
			t.Errorf("%s: predictions %v, %v", r.Name, r.Default, r.Profile)
		}
		if got := (r.Default - r.Measured) / r.Measured; got != r.DefaultErr {
			t.Errorf("%s: err %v, want %v", r.Name, r.DefaultErr, got)
		}
		t.Logf("%-28s %-15s measured %.4g default %.4g profile %.4g", r.Name, r.Metric, r.Measured, r.Default, r.Profile)
	}
	// Full recompute must cost time: the row pairs are (step, mem).
	m.Steps = m.Steps[:1]
	if _, err := validate.MeasuredRows(m, "h100-sxm", "default"); err != nil {
		t.Fatal(err)
	}
	m.Steps = nil
	if _, err := validate.MeasuredRows(m, "h100-sxm", "default"); err == nil {
		t.Error("a measurement without steps must be an error")
	}
}
