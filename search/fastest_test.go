package search

import (
	"context"
	"strings"
	"testing"

	"github.com/flopcast/flopcast/spec"
	"github.com/google/go-cmp/cmp"
)

// TestFastestMatchesFullSearch: a Fastest search, which skips layouts by
// their step-time bound, finds the same layout with the same estimate as
// a full search ranks first (itself checked against brute force by
// TestPrunedMatchesBruteForce), on one worker and on several; and where
// nothing fits it fails as the full search does. The runs are of the
// sizes capex plans: a dense model on many chips, MoE models with expert
// parallelism, DeepSeek-V3 with multi-token prediction under DualPipe,
// the eager recipe.
func TestFastestMatchesFullSearch(t *testing.T) {
	dualPipe := spec.ScheduleDualPipe
	dsv3 := catalogRun("deepseek-v3", "h800", 512, 4096, 1024)
	dsv3.Training.Precision = "fp8"
	dsv3.Parallel = spec.Parallel{PP: ip(16), PPSchedule: &dualPipe}
	eager := catalogRun("gpt3-13b", "a100-sxm-80gb", 128, 2048, 512)
	eager.Training.Recipe = "pytorch-amp"
	runs := []namedRun{
		{"llama3-70b-h100-1024", catalogRun("llama3-70b", "h100-sxm", 1024, 8192, 1024)},
		{"llama3-405b-b200-512", catalogRun("llama3-405b", "b200", 512, 8192, 256)},
		{"mixtral-8x7b-h100-32", catalogRun("mixtral-8x7b", "h100-sxm", 32, 4096, 512)},
		{"deepseek-v3-h800-512-dualpipe", dsv3},
		{"gpt3-13b-a100-128-eager", eager},
		{"llama3-405b-h100-8-nothing-fits", catalogRun("llama3-405b", "h100-sxm", 8, 8192, 8)},
	}
	for _, c := range runs {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			r := mustResolve(t, c.run)
			full, ferr := Run(context.Background(), r, Options{Top: 1})
			for _, workers := range []int{1, 3} {
				fast, err := Run(context.Background(), r, Options{Fastest: true, Workers: workers})
				if ferr != nil || err != nil {
					if ferr == nil || err == nil || err.Error() != ferr.Error() {
						t.Errorf("%d workers: full search error %v, fastest %v", workers, ferr, err)
					}
					continue
				}
				if diff := cmp.Diff(full.Results, fast.Results); diff != "" {
					t.Errorf("%d workers: fastest differs from the full search (-full +fastest):\n%s", workers, diff)
				}
				if diff := cmp.Diff(full.Results, fast.Pareto); diff != "" {
					t.Errorf("%d workers: fastest Pareto is not the winner alone:\n%s", workers, diff)
				}
				if fast.Valid != fast.Evaluated+fast.Pruned || fast.Candidates != full.Candidates || fast.Valid != full.Valid {
					t.Errorf("%d workers: fastest counts %d candidates, %d valid = %d evaluated + %d pruned; full %d, %d",
						workers, fast.Candidates, fast.Valid, fast.Evaluated, fast.Pruned, full.Candidates, full.Valid)
				}
				t.Logf("%d workers: %d of %d valid layouts estimated (full search: %d)", workers, fast.Evaluated, fast.Valid, full.Evaluated)
			}
			if ferr != nil && !strings.HasSuffix(c.name, "nothing-fits") {
				t.Fatal(ferr)
			}
		})
	}
}
