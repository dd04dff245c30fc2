package search_test

import (
	"context"
	"testing"

	"github.com/flopcast/flopcast/search"
	"github.com/flopcast/flopcast/spec"
	"github.com/flopcast/flopcast/validate"
)

// TestGPT3A100AgainstPublished holds the search's answer for GPT-3 175B on
// 1,024 A100 (the job of Narayanan et al. 2021: seq 2048, batch 1536) to
// what Megatron-LM published on A100, in the publications' own convention
// (megatron-model FLOPs), plus a margin the corpus gives:
//
//   - With the software of the published runs (the korthikanti22-175b-mfu
//     row's training switches: no FlashAttention, no TP overlap, dropout),
//     the search's best may exceed the best published A100 MFU of the
//     corpus by no more than the model's worst error on those rows: a
//     layout the publications did not run may be better than theirs by
//     what the model cannot resolve, not by more.
//   - With the defaults, it may exceed that by no more than the defaults
//     gain on the published 175B layout (on A100: FlashAttention, no
//     dropout; TP overlap stays off, hardware.Chip.TPOverlapByDefault),
//     within the same error: software is worth as much on the search's
//     layout as on the published one.
func TestGPT3A100AgainstPublished(t *testing.T) {
	if testing.Short() {
		t.Skip("two searches over GPT-3 175B on 1,024 chips")
	}
	rows, err := validate.Corpus()
	if err != nil {
		t.Fatal(err)
	}
	var pub []validate.Row
	var row175 *validate.Row
	for i := range rows {
		r := &rows[i]
		if r.Run.Cluster.Chip != "a100-sxm-80gb" || r.Metric != validate.MetricMFU || r.Flops != validate.FlopsMegatronModel {
			continue
		}
		pub = append(pub, *r)
		if r.Name == "korthikanti22-175b-mfu" {
			row175 = r
		}
	}
	if row175 == nil || len(pub) < 2 {
		t.Fatalf("corpus: the A100 megatron-model MFU rows (korthikanti22-*-mfu) are missing: %d found", len(pub))
	}
	rep, err := validate.Evaluate(pub)
	if err != nil {
		t.Fatal(err)
	}
	best, worstErr := 0.0, 0.0
	for _, res := range rep.Rows {
		best = max(best, res.Measured)
		worstErr = max(worstErr, res.AbsErr)
	}

	// mfu is the megatron-model MFU of the search's best layout for the
	// job under the given training switches.
	mfu := func(tr spec.Training) (float64, spec.Layout) {
		tr.SeqLen, tr.GlobalBatch = 2048, 1536
		run := spec.Run{Model: row175.Run.Model, Cluster: spec.Cluster{Chip: "a100-sxm-80gb", Chips: 1024}, Training: tr}
		r, err := spec.Resolve(&run)
		if err != nil {
			t.Fatal(err)
		}
		out, err := search.Run(context.Background(), r, search.Options{Top: 1})
		if err != nil {
			t.Fatal(err)
		}
		return megatronMFU(t, run, out.Results[0].Parallel), out.Results[0].Parallel
	}
	published := row175.Run.Training
	old, oldL := mfu(published)
	now, nowL := mfu(spec.Training{Precision: published.Precision, Recipe: published.Recipe})

	// What today's defaults gain on the published 175B layout.
	pubRun := row175.Run
	pubRun.Training = spec.Training{SeqLen: published.SeqLen, GlobalBatch: published.GlobalBatch, Precision: published.Precision, Recipe: published.Recipe}
	gain := megatronMFU(t, pubRun, layoutOf(t, row175.Run)) / megatronMFU(t, row175.Run, layoutOf(t, row175.Run))

	t.Logf("best published A100 MFU %.3f, model's worst error on those rows %.1f%%", best, 100*worstErr)
	t.Logf("published software: search best %v at MFU %.3f (bound %.3f)", oldL, old, best*(1+worstErr))
	t.Logf("defaults: search best %v at MFU %.3f; defaults gain x%.3f on the published layout (bound %.3f)", nowL, now, gain, old*gain*(1+worstErr))
	if old > best*(1+worstErr) {
		t.Errorf("with the published runs' software the search claims MFU %.3f for %v, above the best published A100 MFU %.3f plus the model's worst error %.1f%%",
			old, oldL, best, 100*worstErr)
	}
	if now > old*gain*(1+worstErr) {
		t.Errorf("with the defaults the search claims MFU %.3f for %v: x%.3f over its best with the published software, where the defaults gain x%.3f on the published layout (plus the worst error %.1f%%)",
			now, nowL, now/old, gain, 100*worstErr)
	}
}

// megatronMFU is run's MFU under layout l in the megatron-model convention
// (validate.Predict on a row of that metric).
func megatronMFU(t *testing.T, run spec.Run, l spec.Layout) float64 {
	t.Helper()
	run.Parallel = spec.Parallel{TP: &l.TP, PP: &l.PP, DP: &l.DP, CP: &l.CP, EP: &l.EP, ETP: &l.ETP, VPP: &l.VPP,
		MicroBatch: &l.MicroBatch, ZeRO: &l.ZeRO, Recompute: &l.Recompute, SequenceParallel: &l.SequenceParallel,
		Offload: &l.Offload, PPSchedule: &l.Schedule}
	res, err := validate.Predict(&validate.Row{Name: "search", Confidence: validate.Confirmed, Metric: validate.MetricMFU,
		Flops: validate.FlopsMegatronModel, Measured: 1, Run: run})
	if err != nil {
		t.Fatalf("%v: %v", l, err)
	}
	return res.Predicted
}

// layoutOf is run's resolved layout.
func layoutOf(t *testing.T, run spec.Run) spec.Layout {
	t.Helper()
	r, err := spec.Resolve(&run)
	if err != nil {
		t.Fatal(err)
	}
	return r.Layout
}
