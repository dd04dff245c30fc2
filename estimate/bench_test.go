package estimate_test

import (
	"testing"

	"github.com/flopcast/flopcast/estimate"
	"github.com/flopcast/flopcast/spec"
)

func intp(v int) *int { return &v }

// benchRuns are representative configurations: a large dense model on a
// deep pipeline with interleaving, and an MoE model with expert
// parallelism.
var benchRuns = []struct {
	name string
	run  spec.Run
}{
	{"llama3-405b", spec.Run{
		Model:    spec.ModelRef{Name: "llama3-405b"},
		Cluster:  spec.Cluster{Chip: "h100-sxm", Chips: 16384},
		Training: spec.Training{SeqLen: 8192, GlobalBatch: 2048},
		Parallel: spec.Parallel{TP: intp(8), PP: intp(16), VPP: intp(7), MicroBatch: intp(1)},
	}},
	{"gpt3-175b", spec.Run{
		Model:    spec.ModelRef{Name: "gpt3-175b"},
		Cluster:  spec.Cluster{Chip: "a100-sxm-80gb", Chips: 1024},
		Training: spec.Training{SeqLen: 2048, GlobalBatch: 1536},
		Parallel: spec.Parallel{TP: intp(8), PP: intp(8), MicroBatch: intp(1)},
	}},
	{"mixtral-8x7b", spec.Run{
		Model:    spec.ModelRef{Name: "mixtral-8x7b"},
		Cluster:  spec.Cluster{Chip: "h100-sxm", Chips: 256},
		Training: spec.Training{SeqLen: 4096, GlobalBatch: 1024},
		Parallel: spec.Parallel{TP: intp(2), PP: intp(4), EP: intp(8), MicroBatch: intp(1)},
	}},
}

// BenchmarkEstimate is one Eval of one layout (the target: under 2 µs,
// 0 allocations).
func BenchmarkEstimate(b *testing.B) {
	for _, c := range benchRuns {
		b.Run(c.name, func(b *testing.B) {
			r, err := spec.Resolve(&c.run)
			if err != nil {
				b.Fatal(err)
			}
			e, err := estimate.New(r)
			if err != nil {
				b.Fatal(err)
			}
			l := r.Layout
			var res estimate.Result
			b.ReportAllocs()
			for b.Loop() {
				e.Eval(l, &res)
			}
		})
	}
}
