package estimate

import (
	"math"
	"testing"
)

// The busiest rank's load: 1 when balanced or without expert parallelism,
// larger with fewer tokens per expert, with more ranks over the same
// experts, and with more router skew; random routing has counting noise
// alone.
func TestBusiestLoad(t *testing.T) {
	e := &Estimator{experts: 128, routeCV: auxLossRouteCV, varLoads: true}
	load := func(ep, perExpert float64) float64 { return e.busiestLoad(&shape{ep: ep}, perExpert) }
	if got := load(1, 1000); got != 1 {
		t.Errorf("ep 1: load %g, want 1", got)
	}
	if got := (&Estimator{experts: 128}).busiestLoad(&shape{ep: 8}, 1000); got != 1 {
		t.Errorf("balanced: load %g, want 1", got)
	}
	for _, tc := range []struct {
		name       string
		less, more float64
	}{
		{"tokens", load(8, 4096), load(8, 64)},
		{"ranks", load(8, 2048), load(64, 2048)},
	} {
		if !(1 < tc.less && tc.less < tc.more) {
			t.Errorf("%s: load %g then %g, want 1 < first < second", tc.name, tc.less, tc.more)
		}
	}
	bias := &Estimator{experts: 128, routeCV: expertBiasRouteCV, varLoads: true}
	random := &Estimator{experts: 128, varLoads: true}
	r, b, a := random.busiestLoad(&shape{ep: 8}, 2048), bias.busiestLoad(&shape{ep: 8}, 2048), load(8, 2048)
	if !(1 < r && r < b && b < a) {
		t.Errorf("random %g, expert bias %g, aux loss %g: want 1 < random < bias < aux", r, b, a)
	}
	// Random routing: 16 experts a rank of 2048 tokens each, Poisson
	// counts: the rank's coefficient of variation is
	// √(1/2048)·√((128−16)/127/16), and the busiest of 8 ranks sits
	// MaxOfNormals(8) ≈ 1.42 of them above the mean.
	if want := 1 + 1.4236*math.Sqrt(1.0/2048)*math.Sqrt(112.0/127/16); math.Abs(r-want) > 1e-3 {
		t.Errorf("random: load %g, want %g", r, want)
	}
	// ep = experts: one expert a rank, the experts' own spread.
	if got, want := load(128, 1e12), 1+0.52/2.335*2.6; got < want-0.1 || got > want+0.1 {
		t.Errorf("one expert a rank: load %g, want about %g", got, want)
	}
}
