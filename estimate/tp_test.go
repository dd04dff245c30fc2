package estimate

import (
	"math"
	"testing"
)

// Under per-tensor fp8 the sequence-parallel all-gathers carry the fp8
// input (half the bf16 bytes) and the reduce-scatters stay bf16; row-wise
// fp8 gathers bf16 as a bf16 run does, and pays twice per-tensor's casts.
func TestFP8TPGather(t *testing.T) {
	run := func(training string) (*Estimator, layerCost, shape) {
		_, e := resolveRun(t, `
model: llama3-70b
cluster: {chip: h100-sxm, chips: 64}
training: {seq_len: 8192, global_batch: 64, tp_comm_overlap: false, `+training+`}
parallel: {tp: 8, dp: 8, micro_batch: 1, sequence_parallel: true}
`)
		l := e.r.Layout
		s := e.newShape(&l)
		return e, e.layer(&s, false), s
	}
	eb, bf16, s := run("precision: bf16")
	_, tensor, _ := run("precision: fp8")
	_, row, _ := run("precision: fp8, fp8_scaling: rowwise")
	msg := s.tokens * eb.hidden * bf16Bytes
	ag := func(bytes float64) float64 { return eb.fab.AllGather(bytes, s.tp, 1) }
	rs := eb.fab.ReduceScatter(msg, s.tp, 1)
	for _, c := range []struct {
		name     string
		got      layerCost
		fwd, bwd float64
	}{
		{"bf16", bf16, 2 * (ag(msg) + rs), 2 * (2*ag(msg) + rs)},
		{"fp8 tensorwise", tensor, 2 * (ag(msg/2) + rs), 2 * (2*ag(msg/2) + rs)},
		{"fp8 rowwise", row, 2 * (ag(msg) + rs), 2 * (2*ag(msg) + rs)},
	} {
		if math.Abs(c.got.tpFwd-c.fwd) > 1e-12 || math.Abs(c.got.tpBwd-c.bwd) > 1e-12 {
			t.Errorf("%s: TP forward %g s, backward %g s; want %g, %g", c.name, c.got.tpFwd, c.got.tpBwd, c.fwd, c.bwd)
		}
	}
	if row.fwd <= tensor.fwd || row.bwd <= tensor.bwd {
		t.Errorf("rowwise compute %g + %g s not above tensorwise %g + %g s", row.fwd, row.bwd, tensor.fwd, tensor.bwd)
	}
}

// Under asynchronous TP, row-wise fp8 leaves its all-gathers on the
// critical path (their GEMMs read the casts, not the gathered tensor) and
// overlaps the reduce-scatters alone; per-tensor fp8 overlaps both.
func TestRowwiseGathersApart(t *testing.T) {
	run := func(training string) (layerCost, shape, float64) {
		_, e := resolveRun(t, `
model: llama3-70b
cluster: {chip: h100-sxm, chips: 64}
training: {seq_len: 8192, global_batch: 64, tp_comm_overlap: true, `+training+`}
parallel: {tp: 8, dp: 8, micro_batch: 1, sequence_parallel: true, recompute: full}
`)
		l := e.r.Layout
		s := e.newShape(&l)
		c := e.layer(&s, false)
		return c, s, exposedTP(&s, &c, e.commShare)
	}
	tc, ts, tensor := run("precision: fp8")
	rc, rs, row := run("precision: fp8, fp8_scaling: rowwise")
	if ts.gatherApart || !rs.gatherApart {
		t.Fatalf("gatherApart: tensorwise %v, rowwise %v; want false, true", ts.gatherApart, rs.gatherApart)
	}
	// Full recompute: forward, recomputed forward, and backward's two.
	if want := 4 * rc.tpGatherF; math.Abs(rc.tpGather-want) > 1e-12 {
		t.Errorf("rowwise all-gathers %g s, want 4 x forward's = %g s", rc.tpGather, want)
	}
	if row < rc.tpGather || row >= rc.tpFwd+rc.tpBwd {
		t.Errorf("rowwise exposed TP %g s: want at least its all-gathers (%g s), below all its TP (%g s)", row, rc.tpGather, rc.tpFwd+rc.tpBwd)
	}
	if tensor >= tc.tpGather {
		t.Errorf("tensorwise exposed TP %g s not below its all-gathers %g s", tensor, tc.tpGather)
	}
}
