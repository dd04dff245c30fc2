// Package search finds the best parallel layouts for a run: it enumerates
// the knobs the run leaves open, prunes what cannot fit or cannot win,
// evaluates the rest on all cores and keeps the top N and the Pareto front.
package search

import (
	"context"
	"errors"

	"github.com/flopcast/flopcast/estimate"
	"github.com/flopcast/flopcast/spec"
)

// Objective ranks layouts.
type Objective string

// Objectives.
const (
	ObjectiveTime   Objective = "time"   // step time (equivalently tokens/s)
	ObjectiveCost   Objective = "cost"   // dollars per token
	ObjectiveEnergy Objective = "energy" // joules per token
)

// Options tune a search. DefaultOptions gives the defaults.
type Options struct {
	Top       int       // results kept (default 10)
	Objective Objective // default time
	Workers   int       // 0: GOMAXPROCS
	// Progress, if set, is called now and then with done and total counts.
	Progress func(done, total int64)
}

// DefaultOptions are the options used when none are given.
var DefaultOptions = Options{Top: 10, Objective: ObjectiveTime}

// Report is the outcome of a search. Its JSON is DESIGN.md §3.
type Report struct {
	Results   []estimate.Result `json:"results"`
	Pareto    []estimate.Result `json:"pareto"`
	Evaluated int64             `json:"evaluated"`
	Feasible  int64             `json:"feasible"`
	ElapsedS  float64           `json:"elapsed_s"`
	// Explanation of the winner: bottleneck, sensitivity, roofline distance.
	Explanation []string `json:"explanation,omitempty"`
}

// Run searches the layouts of r that r.Given leaves open.
func Run(ctx context.Context, r *spec.Resolved, opt Options) (*Report, error) {
	return nil, errors.New("search: not implemented yet")
}
