package search

import (
	"fmt"
	"github.com/flopcast/flopcast/internal/format"
	"slices"
	"strings"

	"github.com/flopcast/flopcast/estimate"
	"github.com/flopcast/flopcast/spec"
)

// NoLayoutError is the answer of a search whose space holds no feasible
// layout: either every candidate breaks a layout rule, or every valid one
// needs more memory than the chip has. It says which, by how much, and
// what would admit a layout.
type NoLayoutError struct {
	Candidates int64 `json:"candidates"`
	Valid      int64 `json:"valid"`
	Evaluated  int64 `json:"evaluated"`
	// Violations counts the invalid candidates by the rule they break,
	// most common first.
	Violations []ViolationCount `json:"violations,omitempty"`
	// Closest is the valid layout that comes nearest to fitting, when there
	// is one.
	Closest *estimate.Result `json:"closest,omitempty"`
	// Hints are changes that would admit a layout.
	Hints []string `json:"hints,omitempty"`
}

// ViolationCount is how many candidates break one rule, with an example
// and spec's explanation of it.
type ViolationCount struct {
	Code    spec.Violation `json:"code"`
	Count   int64          `json:"count"`
	Example spec.Layout    `json:"example"`
	Message string         `json:"message"`
	err     error
}

// Unwrap gives spec's explanation of the commonest broken rule when no
// layout is valid, so that callers see the configuration error in it.
func (e *NoLayoutError) Unwrap() error {
	if e.Valid == 0 && len(e.Violations) > 0 {
		return e.Violations[0].err
	}
	return nil
}

func (e *NoLayoutError) Error() string {
	var b strings.Builder
	if e.Valid == 0 {
		fmt.Fprintf(&b, "search: none of the %s candidate layouts is valid", format.Thousands(e.Candidates))
		for i, v := range e.Violations {
			if i == 3 {
				fmt.Fprintf(&b, "; and %d other rules", len(e.Violations)-3)
				break
			}
			sep := ": "
			if i > 0 {
				sep = "; "
			}
			fmt.Fprintf(&b, "%s%s, such as %s, fail with: %s", sep, format.Thousands(v.Count), v.Example, v.Message)
		}
	} else {
		fmt.Fprintf(&b, "search: none of the %s valid layouts fits in memory", format.Thousands(e.Valid))
		if c := e.Closest; c != nil {
			fmt.Fprintf(&b, ": the closest, %s, needs %.1f GiB of the %.1f GiB usable (over by %.1f GiB)",
				c.Parallel, c.Memory.PeakGiB, c.Memory.CapacityGiB, c.Memory.OverflowGiB)
		}
	}
	if len(e.Hints) > 0 {
		fmt.Fprintf(&b, "; try: %s", strings.Join(e.Hints, ", or "))
	}
	return b.String()
}

// noLayout builds the error of an empty search.
func (s *searcher) noLayout(rep *Report, viol *[32]int64, ex *[32]spec.Layout, closest *estimate.Result, minDP int) error {
	r := s.r
	e := &NoLayoutError{Candidates: rep.Candidates, Valid: rep.Valid, Evaluated: rep.Evaluated, Closest: closest}
	for v, n := range viol {
		if n == 0 {
			continue
		}
		err := r.CheckLayout(ex[v])
		if err == nil {
			err = fmt.Errorf("rule %d", v)
		}
		e.Violations = append(e.Violations, ViolationCount{Code: spec.Violation(v), Count: n, Example: ex[v], Message: err.Error(), err: err})
	}
	slices.SortStableFunc(e.Violations, func(a, b ViolationCount) int { return int(b.Count - a.Count) })
	g := r.Given
	if e.Valid == 0 {
		if len(e.Violations) > 0 {
			switch e.Violations[0].Code {
			case spec.BadBatch:
				if minDP > 0 {
					e.Hints = append(e.Hints, fmt.Sprintf("a global batch that is a multiple of %d", minDP))
				} else {
					e.Hints = append(e.Hints, "a global batch divisible by the data-parallel size")
				}
				e.Hints = append(e.Hints, "fewer chips")
			case spec.BadProduct:
				e.Hints = append(e.Hints, "leave parallel.dp out (it follows from the chip count)")
			case spec.BadCPSeq:
				e.Hints = append(e.Hints, "a sequence length divisible by 2×cp")
			case spec.BadVPPMicroBatches, spec.BadVPP:
				e.Hints = append(e.Hints, "leave parallel.vpp out")
			}
		}
		for _, k := range []struct {
			g    spec.Given
			name string
		}{{spec.GivenTP, "tp"}, {spec.GivenPP, "pp"}, {spec.GivenCP, "cp"}, {spec.GivenEP, "ep"}, {spec.GivenVPP, "vpp"}, {spec.GivenMicroBatch, "micro_batch"}} {
			if g.Has(k.g) {
				e.Hints = append(e.Hints, "leave parallel."+k.name+" open")
			}
		}
		return e
	}
	e.Hints = append(e.Hints, "more chips (more tp or pp shards the weights)", "a chip with more memory")
	if r.Training.SeqLen > 1024 {
		e.Hints = append(e.Hints, fmt.Sprintf("a shorter sequence than %d", r.Training.SeqLen))
	}
	if g.Has(spec.GivenMicroBatch) && r.Layout.MicroBatch > 1 {
		e.Hints = append(e.Hints, "a smaller micro-batch")
	}
	if g.Has(spec.GivenZeRO) && r.Layout.ZeRO < 3 {
		e.Hints = append(e.Hints, "ZeRO-3 (parallel.zero: 3)")
	}
	if g.Has(spec.GivenRecompute) && r.Layout.Recompute != spec.RecomputeFull {
		e.Hints = append(e.Hints, "full recompute")
	}
	for _, k := range []struct {
		g    spec.Given
		name string
	}{{spec.GivenTP, "tp"}, {spec.GivenPP, "pp"}, {spec.GivenCP, "cp"}, {spec.GivenSP, "sequence_parallel"}} {
		if g.Has(k.g) {
			e.Hints = append(e.Hints, "leave parallel."+k.name+" open")
		}
	}
	return e
}
