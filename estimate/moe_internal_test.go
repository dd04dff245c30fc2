package estimate

import "testing"

// The busiest rank's load: 1 without skew or expert parallelism, larger
// with fewer tokens per expert, with more ranks over the same experts, and
// with more router skew.
func TestBusiestLoad(t *testing.T) {
	e := &Estimator{experts: 128, routeCV: auxLossRouteCV}
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
	bias := &Estimator{experts: 128, routeCV: expertBiasRouteCV}
	if b, a := bias.busiestLoad(&shape{ep: 8}, 2048), load(8, 2048); !(1 < b && b < a) {
		t.Errorf("expert bias %g, aux loss %g: want 1 < bias < aux", b, a)
	}
	// ep = experts: one expert a rank, the experts' own spread.
	if got, want := load(128, 1e12), 1+0.52/2.335*2.6; got < want-0.1 || got > want+0.1 {
		t.Errorf("one expert a rank: load %g, want about %g", got, want)
	}
}
