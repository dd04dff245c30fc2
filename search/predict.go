package search

import (
	"context"
	"fmt"
	"sync"

	"github.com/flopcast/flopcast/spec"
)

// MFUPredictor returns a function that predicts the MFU of a run's best
// layout, as economics.CapexOptions.PredictMFU wants. run performs the
// search (Run, or a caller's wrapper that bounds time or concurrency).
// Answers are kept per chip and chip count: a capex scenario asks for the
// same plan more than once.
func MFUPredictor(run func(context.Context, *spec.Resolved, Options) (*Report, error)) func(context.Context, *spec.Resolved) (float64, error) {
	type key struct {
		chip  string
		chips int
	}
	var mu sync.Mutex
	seen := map[key]float64{}
	return func(ctx context.Context, r *spec.Resolved) (float64, error) {
		k := key{r.Chip.Name, r.Chips}
		mu.Lock()
		mfu, ok := seen[k]
		mu.Unlock()
		if ok {
			return mfu, nil
		}
		rep, err := run(ctx, r, Options{Top: 1, Objective: ObjectiveTime})
		if err != nil {
			return 0, err
		}
		if len(rep.Results) == 0 {
			return 0, fmt.Errorf("no layout of %s on %d × %s fits", r.Model.Name, r.Chips, r.Chip.Name)
		}
		mfu = rep.Results[0].MFU
		mu.Lock()
		seen[k] = mfu
		mu.Unlock()
		return mfu, nil
	}
}
