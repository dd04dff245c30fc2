package validate

import (
	"fmt"
	"sync"

	"github.com/flopcast/flopcast/spec"
)

// builtIn is the built-in corpus's report, computed once.
var builtIn = sync.OnceValues(Run)

// minGroupRows is the fewest rows whose mean error stands for a group;
// below it the mean over every step row is used.
const minGroupRows = 5

// StepTimeErr is the step-time model's mean absolute error on the report
// group a run like r falls in, as a fraction, and a note naming the group:
// the width whole-run ranges take from the step time. A group of fewer
// than 5 rows takes the mean over all step rows. It is 0 when the corpus
// cannot be evaluated.
func StepTimeErr(r *spec.Resolved) (frac float64, from string) {
	rep, err := builtIn()
	if err != nil {
		return 0, ""
	}
	g := GroupOf(MetricStepTime, r)
	if s := rep.Groups[g]; s != nil && s.Rows >= minGroupRows {
		return s.MeanAbsErr, fmt.Sprintf("validate group %s: mean |error| over %d rows", g, s.Rows)
	}
	n := 0
	if s := rep.Groups[g]; s != nil {
		n = s.Rows
	}
	return rep.MeanAbsErr, fmt.Sprintf("validate: mean |error| over all step rows; group %s has %d", g, n)
}
