package validate

import (
	"fmt"
	"testing"
)

// TestServingCorpus predicts every serving row and bounds the serving
// group's mean error.
func TestServingCorpus(t *testing.T) {
	res, err := RunServing()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	n := 0
	for _, r := range res {
		fmt.Printf("%-95s %-12s measured %9.4g predicted %9.4g err %+5.1f%%  %s\n", r.Name, r.Group, r.Measured, r.Predicted, 100*r.Err, r.Layout)
		if r.Group == GroupServing {
			sum += r.AbsErr
			n++
		}
	}
	if n == 0 {
		t.Fatal("no serving rows")
	}
	mean := sum / float64(n)
	t.Logf("serving group: %d rows, mean |error| %.1f%%", n, 100*mean)
	if mean > 0.30 {
		t.Errorf("serving group mean |error| %.1f%% passes 30%%", 100*mean)
	}
}
