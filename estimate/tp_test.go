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
