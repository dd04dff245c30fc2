package search

import (
	"context"
	"runtime"
	"testing"
)

// BenchmarkSearch is a whole search of each layout space below (the target:
// at least 10^6 layouts/s/core, a whole space in under 1 s on 2 cores). It
// reports layouts/s/core (candidates enumerated and settled: invalid,
// pruned or estimated), valid/s/core, and evals/s/core (full estimates).
func BenchmarkSearch(b *testing.B) {
	for _, c := range []namedRun{
		{"llama3-405b-h100-16384", catalogRun("llama3-405b", "h100-sxm", 16384, 8192, 2048)},
		{"gpt3-175b-a100-1024", catalogRun("gpt3-175b", "a100-sxm-80gb", 1024, 2048, 1536)},
		{"mixtral-8x22b-h100-1024", catalogRun("mixtral-8x22b", "h100-sxm", 1024, 4096, 1024)},
	} {
		b.Run(c.name, func(b *testing.B) {
			r := mustResolve(b, c.run)
			var cand, valid, evals int64
			b.ReportAllocs()
			for b.Loop() {
				rep, err := Run(context.Background(), r, DefaultOptions)
				if err != nil {
					b.Fatal(err)
				}
				cand += rep.Candidates
				valid += rep.Valid
				evals += rep.Evaluated
			}
			sec := b.Elapsed().Seconds() * float64(runtime.GOMAXPROCS(0))
			b.ReportMetric(float64(cand)/sec, "layouts/s/core")
			b.ReportMetric(float64(valid)/sec, "valid/s/core")
			b.ReportMetric(float64(evals)/sec, "evals/s/core")
			b.ReportMetric(float64(cand)/float64(b.N), "layouts/op")
		})
	}
}
