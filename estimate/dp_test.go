package estimate

import (
	"math"
	"testing"

	"github.com/flopcast/flopcast/spec"
)

// Interleaved, a chunk's gradients reduce as soon as its last micro-batch's
// backward is done, beside the later chunks' backwards: the window grows
// from one micro-batch's backward (1F1B) towards p of them.
func TestInterleavedDPWindow(t *testing.T) {
	for _, c := range []struct{ p, v int }{{4, 1}, {4, 2}, {4, 12}, {8, 6}} {
		l := spec.Layout{PP: c.p, VPP: c.v}
		got := interleavedDPWindow(&l, 1)
		want := (1 + float64((c.v-1)*c.p)) / float64(c.v)
		if math.Abs(got-want) > 1e-12 || got < 1 || got > float64(c.p) {
			t.Errorf("p%d v%d: window %g passes, want %g, within [1, p]", c.p, c.v, got, want)
		}
	}
	// End to end: the same pipeline hides more of its data-parallel
	// traffic with more chunks.
	dp := func(vpp int) float64 {
		r, e := resolveRun(t, `
model: {layers: 48, hidden: 8192, heads: 64, ffn: 32768, vocab: 50000}
cluster: {chip: a100-sxm-80gb, chips: 512}
training: {seq_len: 2048, global_batch: 512}
parallel: {tp: 8, pp: 4, micro_batch: 1, vpp: `+itoa(vpp)+`}
`)
		return e.Estimate(r.Layout).Breakdown.ExposedDPCommS
	}
	if one, four := dp(1), dp(4); !(four < one) {
		t.Errorf("exposed DP communication %.4g s with 4 chunks per rank, not less than 1F1B's %.4g s", four, one)
	}
}
