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
//
// Rows that differ only in their parallel knobs share one search, checked
// against each of their published layouts. Runs on up to openChips chips
// search every knob; larger runs open the shape of the layout (tp, pp, dp,
// cp, ep, etp, vpp, micro-batch, schedule) and keep the published ZeRO
// stage, recompute, offload and sequence parallelism: those knobs multiply
// the space (and the test's time) several times over, and
// TestPrunedMatchesBruteForce checks that the search over them is exact.
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
	type published struct {
		name string
		pub  *spec.Resolved
		pres estimate.Result
	}
	var order []string
	byRun := map[string][]published{}
	opens := map[string]spec.Run{}
	for _, row := range rows {
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
		open := row.Run
		open.Parallel = spec.Parallel{}
		if pub.Chips > openChips {
			l := pub.Layout
			open.Parallel = spec.Parallel{ZeRO: &l.ZeRO, Recompute: &l.Recompute, SequenceParallel: &l.SequenceParallel, Offload: &l.Offload}
		}
		// A memory row shares its run with the time row beside it.
		key, err := json.Marshal(open)
		if err != nil {
			t.Fatal(err)
		}
		k := string(key)
		if _, ok := byRun[k]; !ok {
			order = append(order, k)
			opens[k] = open
		}
		for _, p := range byRun[k] {
			if p.pub.Layout == pub.Layout {
				k = ""
			}
		}
		if k != "" {
			byRun[k] = append(byRun[k], published{row.Name, pub, e.Estimate(pub.Layout)})
		}
	}
	t.Logf("%d rows, %d distinct searches", len(rows), len(order))
	for _, k := range order {
		open := opens[k]
		pubs := byRun[k]
		r, err := spec.Resolve(&open)
		if err != nil {
			t.Errorf("%s: open run does not resolve: %v", pubs[0].name, err)
			continue
		}
		rep, err := search.Run(context.Background(), r, search.Options{Top: 1})
		for _, p := range pubs {
			pres := p.pres
			if err != nil {
				if pres.Memory.Fits {
					t.Errorf("%s: search found nothing, but the published layout fits: %v", p.name, err)
				} else {
					t.Logf("%-38s %-50s %-50s %9s", p.name, short(p.pub.Layout), "none: "+err.Error()[:min(40, len(err.Error()))], "-")
				}
				continue
			}
			best := rep.Results[0]
			gain := best.TokensPerS / pres.TokensPerS
			note := ""
			if !pres.Memory.Fits {
				note = " (published does not fit: " + fmtGiB(pres.Memory.OverflowGiB) + " over)"
			}
			t.Logf("%-38s %-50s %-50s %8.3fx%s", p.name, short(p.pub.Layout), best.Parallel.String(), gain, note)
			if pres.Memory.Fits && gain < 1-1e-9 {
				t.Errorf("%s: search best %v (%.0f tokens/s) is slower than the published %v (%.0f tokens/s)",
					p.name, best.Parallel, best.TokensPerS, p.pub.Layout, pres.TokensPerS)
			}
		}
	}
}

// openChips is the largest run whose corpus search opens every knob (the
// single-node rows: some fifty runs, dense, MoE and long-context).
const openChips = 8

func short(l spec.Layout) string { return l.String() }

func fmtGiB(v float64) string {
	return ftoa(v) + " GiB"
}

func ftoa(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }
