package hardware_test

import (
	"math"
	"testing"

	"github.com/flopcast/flopcast/hardware"
)

// twoTier is an 8-chip NVLink server (450 GB/s) on a 50 GB/s network, no
// latency, so that times are bytes over bandwidth by hand.
var twoTier = hardware.NewFabric([]hardware.Tier{
	{Name: "nvlink", Size: 8, GBps: 450, Efficiency: 1, Topology: "switch"},
	{Name: "ib", Size: 0, GBps: 100, Efficiency: 0.5, Topology: "switch"},
})

func near(got, want float64) bool { return math.Abs(got-want) <= 1e-12*math.Max(1, math.Abs(want)) }

func TestFabricCollectives(t *testing.T) {
	const nv, ib = 450e9, 50e9
	const B = 1e9
	for _, c := range []struct {
		name string
		got  float64
		want float64
	}{
		// A ring over 8 chips moves 7/8 of the buffer per chip, twice for
		// an all-reduce.
		{"all-reduce in a server", twoTier.AllReduce(B, 8, 1), 2 * 7.0 / 8 * B / nv},
		{"reduce-scatter in a server", twoTier.ReduceScatter(B, 8, 1), 7.0 / 8 * B / nv},
		{"all-gather mirrors reduce-scatter", twoTier.AllGather(B, 8, 1), 7.0 / 8 * B / nv},
		// 16 chips: 8 inside each server, then 2 servers over the network
		// on the 1/8 shard that reaches it.
		{"all-reduce over two servers", twoTier.AllReduce(B, 16, 1), 2 * (7.0/8*B/nv + 1.0/2*B/8/ib)},
		// stride 8: every member in its own server, all over the network.
		{"data-parallel group across servers", twoTier.ReduceScatter(B, 4, 8), 3.0 / 4 * B / ib},
		// Each chip sends 7/8 of its bytes to the others of its server.
		{"all-to-all in a server", twoTier.AllToAll(B, 8, 1), 7.0 / 8 * B / nv},
		// 16 chips: half the bytes leave the server, over the slower link.
		{"all-to-all over two servers", twoTier.AllToAll(B, 16, 1), 8.0 / 16 * B / ib},
		{"send inside a server", twoTier.SendRecv(B, 1), B / nv},
		{"send to the next server", twoTier.SendRecv(B, 8), B / ib},
		{"one chip", twoTier.AllReduce(B, 1, 1), 0},
		{"no bytes", twoTier.AllToAll(0, 8, 1), 0},
	} {
		if !near(c.got, c.want) {
			t.Errorf("%s: %g s, want %g s", c.name, c.got, c.want)
		}
	}
}

func TestFabricLatency(t *testing.T) {
	f := hardware.NewFabric([]hardware.Tier{{Size: 8, GBps: 100, Efficiency: 1, LatencyUs: 10}, {GBps: 10, Efficiency: 1, LatencyUs: 20}})
	// A ring of k members takes k-1 steps, each paying the latency.
	if got, want := f.ReduceScatter(1, 8, 1), 7*10e-6+7.0/8/100e9; !near(got, want) {
		t.Errorf("reduce-scatter latency: %g, want %g", got, want)
	}
	if got, want := f.SendRecv(1e6, 8), 1e6/10e9+20e-6; !near(got, want) {
		t.Errorf("send-recv: %g, want %g", got, want)
	}
}

// A line prices any buffer size as the collective does.
func TestFabricLine(t *testing.T) {
	l := twoTier.ReduceScatterLine(16, 1)
	for _, b := range []float64{1, 1e6, 3e9} {
		if got, want := l.At(b), twoTier.ReduceScatter(b, 16, 1); !near(got, want) {
			t.Errorf("line at %g: %g, want %g", b, got, want)
		}
	}
	if l.At(0) != 0 || l.At(-1) != 0 {
		t.Error("an empty buffer costs time")
	}
}

// A torus group spanning one dimension of three uses a third of the links.
func TestFabricTorus(t *testing.T) {
	f := hardware.NewFabric([]hardware.Tier{{Size: 4096, GBps: 300, Efficiency: 1, Topology: "torus3d"}})
	if got, want := f.ReduceScatter(1e9, 4, 1), 3.0/4*1e9/100e9; !near(got, want) {
		t.Errorf("torus ring of 4: %g, want %g", got, want)
	}
}

func TestFabricDoesNotAllocate(t *testing.T) {
	var sink float64
	n := testing.AllocsPerRun(100, func() {
		sink += twoTier.AllReduce(1e9, 64, 2) + twoTier.AllToAll(1e8, 16, 1) + twoTier.SendRecv(1e6, 64) + twoTier.ReduceScatterLine(32, 8).At(1e9)
	})
	if n != 0 {
		t.Errorf("%v allocations per call", n)
	}
	_ = sink
}
