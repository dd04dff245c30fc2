package estimate

import "testing"

// The stages tile the layers; the closed-form rank loads agree with
// walking every virtual stage; the first stage is never heavier than the
// middle ones.
func TestSplitMatchesStages(t *testing.T) {
	for _, c := range []struct{ L, p, v, D int }{
		{126, 16, 1, 0}, {126, 16, 7, 0}, {61, 16, 1, 3}, {80, 4, 5, 0}, {96, 8, 6, 0}, {105, 35, 3, 0}, {128, 64, 2, 0},
		{61, 8, 2, 3}, {10, 3, 3, 4}, {7, 7, 1, 1}, {27, 4, 2, 1}, {58, 2, 29, 0}, {5, 2, 1, 0}, {3, 1, 1, 0},
	} {
		e := &Estimator{layers: float64(c.L), denseLayers: float64(c.D)}
		if c.D == 0 {
			e.denseLayers = e.layers
		}
		sp := newSplit(c.L, c.p, c.v)
		next := 0
		for j := 0; j < c.p*c.v; j++ {
			if sp.start(j) != next {
				t.Errorf("L%d S%d: stage %d starts at %d, want %d", c.L, c.p*c.v, j, sp.start(j), next)
			}
			next += sp.layers(j)
		}
		if next != c.L {
			t.Errorf("L%d S%d: %d layers placed", c.L, c.p*c.v, next)
		}
		for r := 0; r < c.p; r++ {
			var dense, all int
			for k := 0; k < c.v; k++ {
				j := r + k*c.p
				n, start := sp.layers(j), sp.start(j)
				all += n
				dense += min(max(int(e.denseLayers)-start, 0), n)
			}
			rl := e.rank(&sp, r)
			if int(rl.dense) != dense || int(rl.dense+rl.moe) != all {
				t.Errorf("L%d p%d v%d D%d rank %d: got %v dense of %v, want %d of %d", c.L, c.p, c.v, c.D, r, rl.dense, rl.dense+rl.moe, dense, all)
			}
		}
		if c.L%(c.p*c.v) != 0 && c.p*c.v > 2 && sp.layers(0) > sp.layers(1) {
			t.Errorf("L%d S%d: first stage %d layers > second %d", c.L, c.p*c.v, sp.layers(0), sp.layers(1))
		}
	}
}
