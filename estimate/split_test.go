package estimate

import (
	"testing"
)

// The closed-form rank loads agree with walking every virtual stage.
func TestSplitMatchesStages(t *testing.T) {
	for _, c := range []struct{ L, p, v, D int }{
		{126, 16, 1, 0}, {126, 16, 7, 0}, {61, 16, 1, 3}, {80, 4, 5, 0}, {96, 8, 6, 0}, {105, 35, 3, 0}, {128, 64, 2, 0},
		{61, 8, 2, 3}, {10, 3, 3, 4}, {7, 7, 1, 1}, {27, 4, 2, 1}, {58, 2, 29, 0},
	} {
		e := &Estimator{L: float64(c.L), denseLayers: float64(c.D)}
		if c.D == 0 {
			e.denseLayers = e.L
		}
		sp := newSplit(c.L, c.p, c.v)
		total := 0
		for r := 0; r < c.p; r++ {
			var dense, all int
			for k := 0; k < c.v; k++ {
				n, start := stageLayers(c.L, c.p*c.v, r+k*c.p)
				all += n
				dense += min(max(int(e.denseLayers)-start, 0), n)
			}
			rl := e.rank(&sp, r)
			if int(rl.dense) != dense || int(rl.dense+rl.moe) != all {
				t.Errorf("L%d p%d v%d D%d rank %d: got %v dense of %v, want %d of %d", c.L, c.p, c.v, c.D, r, rl.dense, rl.dense+rl.moe, dense, all)
			}
			total += all
		}
		if total != c.L {
			t.Errorf("L%d p%d v%d: %d layers placed", c.L, c.p, c.v, total)
		}
		// First and last stages are the lighter ones.
		if n0, _ := stageLayers(c.L, c.p*c.v, 0); c.L%(c.p*c.v) != 0 && c.p*c.v > 2 {
			nm, _ := stageLayers(c.L, c.p*c.v, 1)
			if n0 > nm {
				t.Errorf("L%d S%d: first stage %d layers > second %d", c.L, c.p*c.v, n0, nm)
			}
		}
	}
}
