package hardware

import (
	"math"
	"testing"
)

// Groups over switched domains: how many members share the innermost
// domain.
func TestLevelsPlacement(t *testing.T) {
	f := Fabric{n: 2}
	f.size[0], f.bw[0] = 8, 1
	f.size[1], f.bw[1] = math.Inf(1), 1
	g := Fabric{n: 2}
	g.size[0], g.bw[0] = 72, 1
	g.size[1], g.bw[1] = math.Inf(1), 1
	for _, c := range []struct {
		f         *Fabric
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
