package hardware_test

import (
	"testing"

	"github.com/flopcast/flopcast/hardware"
)

// NCCL runs each collective on the fastest of its protocols for the size
// (src/graph/tuning.cc). On 8 B200-class links (900 GB/s at 0.8, 2 µs a
// Simple step) a reduce-scatter's Simple ring costs 8.4 + 7·2 = 22.4 µs of
// latency, LL's 6.6 + 7·2·0.6/3.4 = 9.1 µs at a third of the bandwidth, and
// LL128's 14 + 7·2·1.9/3.4 = 21.8 µs at 0.92 of it.
func TestFabricProtocols(t *testing.T) {
	const bus = 900e9 * 0.8
	f := hardware.NewFabric([]hardware.Tier{
		{Name: "nvlink5", Size: 8, GBps: 900, Efficiency: 0.8, LatencyUs: 2, Topology: "switch"},
		{Name: "ib", Size: 0, GBps: 50, Efficiency: 0.9, LatencyUs: 5, Topology: "switch"},
	})
	rs := f.ReduceScatterCost(8, 1)
	simple := func(b float64) float64 { return 8.4e-6 + 7*2e-6 + 7.0/8*b/bus }
	ll := func(b float64) float64 { return 6.6e-6 + 7*2e-6*0.6/3.4 + 7.0/8*b/(bus/3) }
	for _, c := range []struct {
		bytes float64
		proto string
		want  float64
	}{
		// A decode step's activations: latency bound, LL.
		{64 << 10, "LL", ll(64 << 10)},
		{1 << 20, "LL", ll(1 << 20)},
		// LL128's shorter step never pays for its 8% of bandwidth here:
		// LL hands over to Simple at about 5.5 MB.
		{5.4e6, "LL", ll(5.4e6)},
		{5.6e6, "Simple", simple(5.6e6)},
		// A layer's sequence-parallel gather (tens of MiB) and above:
		// Simple, at the tier's bandwidth and step latency.
		{16 << 20, "Simple", simple(16 << 20)},
		{64 << 20, "Simple", simple(64 << 20)},
	} {
		if got := rs.Protocol(c.bytes); got != c.proto {
			t.Errorf("%g bytes on %s, want %s", c.bytes, got, c.proto)
		}
		if got := rs.At(c.bytes); !near(got, c.want) {
			t.Errorf("%g bytes: %g s, want %g s", c.bytes, got, c.want)
		}
		if got := f.ReduceScatter(c.bytes, 8, 1); got != rs.At(c.bytes) {
			t.Errorf("%g bytes: ReduceScatter %g s, its Cost %g s", c.bytes, got, rs.At(c.bytes))
		}
		// No protocol is slower than Simple alone.
		if got := rs.At(c.bytes); got > simple(c.bytes)*(1+1e-12) {
			t.Errorf("%g bytes: %g s above Simple's %g s", c.bytes, got, simple(c.bytes))
		}
	}
	// LL gets a quarter of the bandwidth in an all-reduce, and across
	// servers; LL128 0.7 of it when no two ranks share a server.
	ar := f.AllReduceCost(8, 1)
	if got, want := ar.At(1<<10), 6.6e-6+14*2e-6*0.6/3.4+2*7.0/8*(1<<10)/(bus/4); ar.Protocol(1<<10) != "LL" || !near(got, want) {
		t.Errorf("1 KiB all-reduce: %g s on %s, want %g s on LL", got, ar.Protocol(1<<10), want)
	}
	// Its 14 steps make LL128's shorter step worth its bandwidth from
	// about 2.6 MB to 32 MB.
	for _, c := range []struct {
		bytes float64
		proto string
	}{{2e6, "LL"}, {3e6, "LL128"}, {24 << 20, "LL128"}, {40 << 20, "Simple"}} {
		if got := ar.Protocol(c.bytes); got != c.proto {
			t.Errorf("%g-byte all-reduce on %s, want %s", c.bytes, got, c.proto)
		}
	}
	if got, want := ar.At(8<<20), 14e-6+14*2e-6*1.9/3.4+2*7.0/8*(8<<20)/(bus*0.92); !near(got, want) {
		t.Errorf("8 MiB all-reduce: %g s, want %g s", got, want)
	}
	dp := f.ReduceScatterCost(4, 8) // one rank a server, over the network
	const ib = 50e9 * 0.9
	if got, want := dp.At(1<<10), 6.6e-6+3*5e-6*2.7/14+3.0/4*(1<<10)/(ib/4); dp.Protocol(1<<10) != "LL" || !near(got, want) {
		t.Errorf("1 KiB across servers: %g s on %s, want %g s on LL", got, dp.Protocol(1<<10), want)
	}
	if got, want := dp.At(400e3), 14e-6+3*5e-6*4.0/14+3.0/4*400e3/(ib*0.7); dp.Protocol(400e3) != "LL128" || !near(got, want) {
		t.Errorf("400 kB across servers: %g s on %s, want %g s on LL128 at 0.7", got, dp.Protocol(400e3), want)
	}
	// Collectives that are not NCCL calls (a torus, an inference engine's
	// own all-reduce) keep one protocol: the tier's bandwidth and steps.
	for _, g := range []hardware.Fabric{
		hardware.NewFabric([]hardware.Tier{{Size: 4096, GBps: 300, Efficiency: 1, LatencyUs: 1, Topology: "torus3d"}}),
		f.WithoutNCCL(),
	} {
		c := g.ReduceScatterCost(4, 1)
		if got := c.Protocol(1 << 10); got != "Simple" {
			t.Errorf("not an NCCL call: %s", got)
		}
	}
	engine := f.WithoutNCCL()
	if got, want := engine.AllReduce(1<<10, 8, 1), 14*2e-6+2*7.0/8*(1<<10)/bus; !near(got, want) {
		t.Errorf("engine all-reduce of 1 KiB: %g s, want %g s", got, want)
	}
	if (hardware.Cost{}).At(1) != 0 || rs.At(0) != 0 || rs.Protocol(0) != "" {
		t.Error("a group of one or an empty buffer costs time")
	}
}
