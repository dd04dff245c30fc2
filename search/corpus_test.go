package search_test

import (
	"context"
	"encoding/json"
	"strconv"
	"testing"

	"github.com/flopcast/flopcast/estimate"
	"github.com/flopcast/flopcast/search"
	"github.com/flopcast/flopcast/spec"
	"github.com/flopcast/flopcast/validate"
)

// TestCorpusSearchBeatsPublished: for every validation-corpus row, a search
// with the row's model, chips, sequence, batch and training flags but the
// parallel knobs open finds a layout at least as fast as the published one
// (as the estimator predicts both). The gains are logged.
func TestCorpusSearchBeatsPublished(t *testing.T) {
	rows, err := validate.Corpus()
	if err != nil {
		t.Fatalf("validate.Corpus: %v", err)
	}
	if len(rows) == 0 {
		t.Fatal("validate.Corpus returned no rows: catalog/runs.yaml is empty")
	}
	if testing.Short() {
		rows = rows[:min(len(rows), 8)]
	}
	t.Logf("%-38s %-50s %-50s %9s", "row", "published layout", "search best", "gain")
	seen := map[string]bool{}
	for _, row := range rows {
		// A memory row shares its run with the time row beside it.
		key, err := json.Marshal(row.Run)
		if err != nil {
			t.Fatal(err)
		}
		if seen[string(key)] {
			continue
		}
		seen[string(key)] = true
		run := row.Run
		pub, err := spec.Resolve(&run)
		if err != nil {
			t.Errorf("%s: published run does not resolve: %v", row.Name, err)
			continue
		}
		e, err := estimate.New(pub)
		if err != nil {
			t.Errorf("%s: %v", row.Name, err)
			continue
		}
		pres := e.Estimate(pub.Layout)

		open := row.Run
		open.Parallel = spec.Parallel{}
		r, err := spec.Resolve(&open)
		if err != nil {
			t.Errorf("%s: open run does not resolve: %v", row.Name, err)
			continue
		}
		rep, err := search.Run(context.Background(), r, search.Options{Top: 1})
		if err != nil {
			if pres.Memory.Fits {
				t.Errorf("%s: search found nothing, but the published layout fits: %v", row.Name, err)
			} else {
				t.Logf("%-38s %-50s %-50s %9s", row.Name, short(pub.Layout), "none: "+err.Error()[:min(40, len(err.Error()))], "-")
			}
			continue
		}
		best := rep.Results[0]
		gain := best.TokensPerS / pres.TokensPerS
		note := ""
		if !pres.Memory.Fits {
			note = " (published does not fit: " + fmtGiB(pres.Memory.OverflowGiB) + " over)"
		}
		t.Logf("%-38s %-50s %-50s %8.3fx%s", row.Name, short(pub.Layout), best.Parallel.String(), gain, note)
		if pres.Memory.Fits && gain < 1-1e-9 {
			t.Errorf("%s: search best %v (%.0f tokens/s) is slower than the published %v (%.0f tokens/s)",
				row.Name, best.Parallel, best.TokensPerS, pub.Layout, pres.TokensPerS)
		}
	}
}

func short(l spec.Layout) string { return l.String() }

func fmtGiB(v float64) string {
	return ftoa(v) + " GiB"
}

func ftoa(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }
