package estimate

import (
	"math"
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

// Groups over switched domains: how many members share the innermost
// domain.
func TestLevelsPlacement(t *testing.T) {
	f := fabric{n: 2}
	f.size[0], f.bw[0] = 8, 1
	f.size[1], f.bw[1] = math.Inf(1), 1
	g := fabric{n: 2}
	g.size[0], g.bw[0] = 72, 1
	g.size[1], g.bw[1] = math.Inf(1), 1
	for _, c := range []struct {
		f         *fabric
		n, stride float64
		want      float64 // members inside one innermost domain
	}{
		{&f, 8, 1, 8}, {&f, 4, 1, 4}, {&f, 6, 1, 2}, {&f, 16, 1, 8}, {&f, 32, 8, 1}, {&f, 4, 2, 4}, {&f, 64, 4, 2},
		{&g, 8, 1, 8}, {&g, 16, 1, 8}, {&g, 128, 8, 9}, {&g, 72, 1, 72}, {&g, 4, 4, 2}, {&g, 9, 8, 9},
	} {
		got := c.f.membersIn(0, c.n, c.stride)
		if got != c.want {
			t.Errorf("size %v n %v stride %v: %v members per domain, want %v", c.f.size[0], c.n, c.stride, got, c.want)
		}
	}
}
