package hardware_test

import (
	"math"
	"testing"

	"github.com/flopcast/flopcast/hardware"
)

// twoTier is an 8-chip NVLink server (450 GB/s) on a 50 GB/s network, no
// per-step latency, so that times are bytes over bandwidth by hand plus
// one NCCL call latency per collective.
var twoTier = hardware.NewFabric([]hardware.Tier{
	{Name: "nvlink", Size: 8, GBps: 450, Efficiency: 1, Topology: "switch"},
	{Name: "ib", Size: 0, GBps: 100, Efficiency: 0.5, Topology: "switch"},
})

// call is NCCL's per-call latency (baseLat of a Simple-protocol ring).
const call = 8.4e-6

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
		{"all-reduce in a server", twoTier.AllReduce(B, 8, 1), 2*7.0/8*B/nv + call},
		{"reduce-scatter in a server", twoTier.ReduceScatter(B, 8, 1), 7.0/8*B/nv + call},
		{"all-gather mirrors reduce-scatter", twoTier.AllGather(B, 8, 1), 7.0/8*B/nv + call},
		// 16 chips: 8 inside each server, then 2 servers over the network
		// on the 1/8 shard that reaches it.
		// Across servers NCCL prices a Simple ring all-reduce's latency
		// 1.4 times ("plateau effect of ring", src/graph/tuning.cc).
		{"all-reduce over two servers", twoTier.AllReduce(B, 16, 1), 2*(7.0/8*B/nv+1.0/2*B/8/ib) + 1.4*call},
		// stride 8: every member in its own server, all over the network.
		{"data-parallel group across servers", twoTier.ReduceScatter(B, 4, 8), 3.0/4*B/ib + call},
		// Each chip sends 7/8 of its bytes to the others of its server.
		{"all-to-all in a server", twoTier.AllToAll(B, 8, 1), 7.0/8*B/nv + call},
		// 16 chips: half the bytes leave the server, over the slower link.
		{"all-to-all over two servers", twoTier.AllToAll(B, 16, 1), 8.0/16*B/ib + call},
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
	// A ring of k members takes k-1 steps, each paying the latency (a
	// buffer large enough for NCCL's Simple protocol, whose step is the
	// tier's).
	if got, want := f.ReduceScatter(1e9, 8, 1), call+7*10e-6+7.0/8*1e9/100e9; !near(got, want) {
		t.Errorf("reduce-scatter latency: %g, want %g", got, want)
	}
	if got, want := f.SendRecv(1e6, 8), 1e6/10e9+20e-6; !near(got, want) {
		t.Errorf("send-recv: %g, want %g", got, want)
	}
}

// Achieved bus bandwidth grows with the message: the call and per-step
// latencies weigh on the per-layer tensor-parallel buffers of tens of MiB,
// not on the GiB gradient buckets. On 8 B200-class links (900 GB/s at 0.8,
// 2 µs a step) a 16 MiB reduce-scatter reaches 40-60% of the asymptote,
// 1 GiB above 95%; an all-reduce pays the call once, not once per half.
func TestFabricSizeRamp(t *testing.T) {
	f := hardware.NewFabric([]hardware.Tier{{Name: "nvlink5", Size: 8, GBps: 900, Efficiency: 0.8, LatencyUs: 2, Topology: "switch"}})
	frac := func(bytes float64) float64 {
		return 7.0 / 8 * bytes / f.ReduceScatter(bytes, 8, 1) / (900e9 * 0.8)
	}
	if got := frac(16 << 20); got < 0.4 || got > 0.6 {
		t.Errorf("16 MiB reaches %.2f of the asymptotic bus bandwidth, want 0.4-0.6", got)
	}
	if got := frac(1 << 30); got < 0.95 || got >= 1 {
		t.Errorf("1 GiB reaches %.2f of the asymptotic bus bandwidth, want 0.95-1", got)
	}
	if got, want := f.AllReduce(1<<26, 8, 1), 2*f.ReduceScatter(1<<26, 8, 1)-call; !near(got, want) {
		t.Errorf("all-reduce %g, want two reduce-scatters less one call %g", got, want)
	}
	torus := hardware.NewFabric([]hardware.Tier{{Size: 4096, GBps: 300, Efficiency: 1, Topology: "torus3d"}})
	if got := torus.ReduceScatter(1, 4, 1); got > 1e-9 {
		t.Errorf("a torus fabric pays a call latency: %g s", got)
	}
}

// A Cost prices any buffer size as the collective does.
func TestFabricCost(t *testing.T) {
	l := twoTier.ReduceScatterCost(16, 1)
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
		sink += twoTier.AllReduce(1e9, 64, 2) + twoTier.AllToAll(1e8, 16, 1) + twoTier.SendRecv(1e6, 64) + twoTier.ReduceScatterCost(32, 8).At(1e9) + twoTier.AllReduceCost(16, 1).At(1e3)
	})
	if n != 0 {
		t.Errorf("%v allocations per call", n)
	}
	_ = sink
}

// A job places power-of-two groups inside a non-power-of-two domain when it
// spans several (64 of an NVL72 rack), and a job that fits in one domain
// keeps every group inside it.
func TestFabricForJob(t *testing.T) {
	nvl72 := hardware.NewFabric([]hardware.Tier{
		{Name: "NVLink5 (NVL72)", Size: 72, GBps: 900, Efficiency: 1, Topology: "switch"},
		{Name: "InfiniBand", Size: 0, GBps: 50, Efficiency: 1, Topology: "switch"},
	})
	for _, c := range []struct {
		chips, n, stride int
		want             string
	}{
		{256, 32, 1, "32 in one NVLink5 (NVL72) domain"},
		{256, 64, 1, "64 in one NVLink5 (NVL72) domain"},
		{256, 128, 1, "64 per NVLink5 (NVL72) domain × 2 over InfiniBand"},
		{256, 8, 32, "2 per NVLink5 (NVL72) domain × 4 over InfiniBand"},
		{72, 72, 1, "72 in one NVLink5 (NVL72) domain"},
		{64, 16, 4, "16 in one NVLink5 (NVL72) domain"},
		{256, 4, 64, "4, each in its own NVLink5 (NVL72) domain, over InfiniBand"},
		{256, 1, 1, "one chip"},
	} {
		f := nvl72.ForJob(c.chips)
		if got := f.Describe(f.Where(c.n, c.stride)); got != c.want {
			t.Errorf("%d chips, group %d stride %d: %q, want %q", c.chips, c.n, c.stride, got, c.want)
		}
	}
	// Without ForJob the rack boundary at 72 splits a group of 32.
	if got := nvl72.Describe(nvl72.Where(32, 1)); got != "8 per NVLink5 (NVL72) domain × 4 over InfiniBand" {
		t.Errorf("raw NVL72, group of 32: %q", got)
	}
	// EP32 inside the rack is all NVLink: 31/32 of the copies at 900 GB/s,
	// one per distinct chip a token's 8 experts sit on, 32(1-(31/32)^8).
	f := nvl72.ForJob(256)
	if got, want := f.Dispatch(1000, 1e6, 8, 32, 1, 0, true), 1000*32*(1-math.Pow(31.0/32, 8))*1e6*31.0/32/900e9; !near(got, want) {
		t.Errorf("EP32 dispatch in a rack: %g, want %g", got, want)
	}
	// An 8-GPU server is a power of two: unchanged for a large job.
	big := twoTier.ForJob(1024)
	if got := big.Describe(big.Where(16, 1)); got != "8 per nvlink domain × 2 over ib" {
		t.Errorf("8-GPU servers: %q", got)
	}
}

// Dispatch across servers sends a token once per destination server and
// forwards it inside; node-limited routing caps the servers it reaches.
func TestFabricDispatch(t *testing.T) {
	const nv, ib = 450e9, 50e9
	const tok, B, k = 1000.0, 1e4, 8.0
	// Inside a server: one copy per distinct destination chip, 8(1-(7/8)^8)
	// = 5.25 of a token's 8 experts' chips, but the chip's own share, over
	// NVLink; Megatron's alltoall sends all 8.
	if got, want := twoTier.Dispatch(tok, B, k, 8, 1, 0, true), tok*8*(1-math.Pow(7.0/8, 8))*B*7/8/nv; !near(got, want) {
		t.Errorf("EP8 in a server: %g, want %g", got, want)
	}
	if got, want := twoTier.Dispatch(tok, B, k, 8, 1, 0, false), twoTier.AllToAll(tok*k*B, 8, 1); got != want {
		t.Errorf("EP8 alltoall in a server: %g, want %g", got, want)
	}
	// One expert a token: nothing to deduplicate.
	if got, want := twoTier.Dispatch(tok, B, 1, 8, 1, 0, true), tok*B*7/8/nv; !near(got, want) {
		t.Errorf("top-1 in a server: %g, want %g", got, want)
	}
	// EP64 over 8 servers (DeepSeek-V3 on H800): a token's 8 experts sit in
	// 8(1-(7/8)^8) = 5.25 servers on average, 4 with node-limited routing;
	// 7/8 of those are remote. The network is the bottleneck.
	reach := 8 * (1 - math.Pow(7.0/8, 8))
	if got, want := twoTier.Dispatch(tok, B, k, 64, 1, 0, true), tok*reach*7/8*B/ib; !near(got, want) {
		t.Errorf("EP64 unlimited: %g, want %g", got, want)
	}
	if got, want := twoTier.Dispatch(tok, B, k, 64, 1, 4, true), tok*4*7.0/8*B/ib; !near(got, want) {
		t.Errorf("EP64 at most 4 nodes: %g, want %g", got, want)
	}
	// Deduplication never sends more over the network than one copy per
	// (token, expert), Megatron's alltoall dispatcher, does.
	d, a := twoTier.Dispatch(tok, B, k, 64, 1, 0, true), twoTier.Dispatch(tok, B, k, 64, 1, 0, false)
	if d >= a {
		t.Errorf("deduplicated dispatch %g not below all-to-all %g", d, a)
	}
	if want := twoTier.AllToAll(tok*k*B, 64, 1); a != want {
		t.Errorf("alltoall dispatch %g, want AllToAll's %g", a, want)
	}
	if twoTier.Dispatch(tok, B, k, 1, 1, 0, true) != 0 || twoTier.Dispatch(0, B, k, 8, 1, 0, true) != 0 {
		t.Error("a group of one or no tokens costs time")
	}
}

func TestTreeAllReduceLatency(t *testing.T) {
	f := hardware.NewFabric([]hardware.Tier{
		{Name: "nvlink", Size: 8, GBps: 450, Efficiency: 1, LatencyUs: 2, Topology: "switch"},
		{Name: "ib", Size: 0, GBps: 50, Efficiency: 1, LatencyUs: 5, Topology: "switch"},
	})
	for _, c := range []struct {
		name string
		n    float64
		want float64
	}{
		{"one chip", 1, 0},
		// 8 in a server: 3 steps up and 3 down at 2 µs.
		{"one server", 8, 2 * 3 * 2e-6},
		// 1024 chips: 3 steps in the server, then 128 servers, 7 steps,
		// each way.
		{"128 servers", 1024, 2 * (3*2e-6 + 7*5e-6)},
		// 3 servers round up to 2 steps.
		{"3 servers", 24, 2 * (3*2e-6 + 2*5e-6)},
	} {
		if got := f.TreeAllReduceLatency(c.n, 1); !near(got, c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}
