package hardware

// NCCL's cost model of a ring collective by protocol (NVIDIA NCCL,
// src/graph/tuning.cc, ncclTopoTuneModel, v2.12-v2.23): a collective of b
// bytes on protocol p takes baseLat[p] + steps·hwLat[p] + b/busBw[p], and
// NCCL runs it on the protocol for which that is least.
//
//   - LL (low latency) sends 8-byte stores each carrying a 4-byte flag: the
//     shortest per-step latency and a quarter of the link's bus bandwidth
//     (a third for an all-gather or reduce-scatter inside one node);
//   - LL128 carries a flag in each 128-byte line: 120/128 of the bandwidth
//     (NCCL writes 0.92) at a shorter step than Simple's, and 0.7 of it
//     when no two ranks share a node;
//   - Simple moves whole chunks behind a memory fence: the full bus
//     bandwidth, the longest per-step latency.
//
// A small buffer (a decode step's activations, a gradient-norm reduction)
// therefore runs on LL at well under the link's bandwidth but a fraction of
// the latency; the buffers of MiBs and more that training moves run on
// Simple. tuning.cc's per-protocol ceilings (llMaxBw, the LL128 per-channel
// limits) bind only above the bus bandwidths the catalog's fabrics reach
// per protocol and are left out.

// proto indexes NCCL's protocols.
type proto int

const (
	protoLL proto = iota
	protoLL128
	protoSimple
	nProto
)

var protoNames = [nProto]string{"LL", "LL128", "Simple"}

// ncclRingBaseLat is NCCL's base latency of a ring collective by protocol
// (baseLat[Ring], seconds; tuning.cc). Simple's is ncclCallLatency.
var ncclRingBaseLat = [nProto]float64{6.6e-6, 14.0e-6, ncclCallLatency}

// ncclRingHwLat is NCCL's per-step latency of a ring by protocol on NVLink
// and on the network (hwLat[NVLINK][Ring], hwLat[NET][Ring], µs;
// tuning.cc). A tier's catalogued latency_us is its Simple step; the other
// protocols' steps keep NCCL's ratio to it on that kind of link.
var ncclRingHwLat = [2][nProto]float64{
	{0.6, 1.9, 3.4},  // NVLink: the scale-up tier
	{2.7, 4.0, 14.0}, // network: every tier beyond it
}

// ncclLL128Share and ncclLL128OneRankShare are LL128's fraction of the bus
// bandwidth with two or more ranks a node and with one (tuning.cc).
const ncclLL128Share, ncclLL128OneRankShare = 0.92, 0.7

// ncclPlateau is the factor NCCL puts on a Simple ring all-reduce's latency
// across nodes on compute capability 8.0 and later (tuning.cc, "plateau
// effect of ring").
const ncclPlateau = 1.4

// Cost is a collective's time as a function of its size: one Line per
// protocol the fabric's library can run, the least of them at each size.
// A Fabric builds it once per group so that every buffer after costs a few
// multiplications (no allocation).
type Cost struct {
	line [nProto]Line // by protocol
	n    int          // protocols in use, the last n (Simple alone, or all); 0 for a group of one chip
}

// At is the time for bytes on the fastest protocol; 0 for an empty buffer.
func (c Cost) At(bytes float64) float64 {
	if bytes <= 0 || c.n == 0 {
		return 0
	}
	first := nProto - proto(c.n)
	t := c.line[first].At(bytes)
	for p := first + 1; p < nProto; p++ {
		t = min(t, c.line[p].At(bytes))
	}
	return t
}

// Protocol names the protocol that At runs bytes on: "LL", "LL128" or
// "Simple" under NCCL; "" for an empty buffer or a group of one, and
// "Simple" for a fabric whose collectives do not go through NCCL.
func (c Cost) Protocol(bytes float64) string {
	if bytes <= 0 || c.n == 0 {
		return ""
	}
	best := nProto - proto(c.n)
	for p := best + 1; p < nProto; p++ {
		if c.line[p].At(bytes) < c.line[best].At(bytes) {
			best = p
		}
	}
	return protoNames[best]
}

// ringCost prices a hierarchical ring over n chips stride apart, reduce-
// scatter up the tiers (allReduce: and all-gather back down, twice the
// steps and bytes, one call), on each protocol.
func (f *Fabric) ringCost(n, stride float64, allReduce bool) Cost {
	var c Cost
	if n <= 1 {
		return c
	}
	lv := f.levels(n, stride)
	passes := 1.0
	if allReduce {
		passes = 2
	}
	// The bytes' term at the tiers' bandwidths, and the steps' latency at
	// each tier's own and on each NCCL protocol; a protocol's share of the
	// bandwidth is the same on every tier.
	var bytes, tierLat float64
	var lat [nProto]float64
	frac := 1.0
	for i := 0; i < lv.cnt; i++ {
		bytes += passes * (lv.k[i] - 1) / lv.k[i] * frac / lv.bw[i]
		steps := passes * (lv.k[i] - 1)
		tierLat += steps * lv.alpha[i]
		for p, st := range f.step[lv.tier[i]] {
			lat[p] += steps * st
		}
		frac /= lv.k[i]
	}
	if !f.nccl {
		// One protocol: the tier's bandwidth and step latency, no call.
		c.line[protoSimple] = Line{A: tierLat, B: bytes}
		c.n = 1
		return c
	}
	// nNodes > 1 and ranks a node < 2 in tuning.cc's terms: the group
	// leaves the scale-up domain, and no two of it share one.
	multiNode := lv.cnt > 0 && lv.tier[lv.cnt-1] > 0
	oneRankANode := lv.cnt > 0 && lv.tier[0] > 0
	llShare, ll128Share := 1.0/3, ncclLL128Share
	if allReduce || multiNode {
		llShare = 1.0 / 4
	}
	if oneRankANode {
		ll128Share = ncclLL128OneRankShare
	}
	simpleLat := lat[protoSimple] + ncclRingBaseLat[protoSimple]
	if allReduce && multiNode {
		simpleLat *= ncclPlateau
	}
	c.line[protoLL] = Line{A: lat[protoLL] + ncclRingBaseLat[protoLL], B: bytes / llShare}
	c.line[protoLL128] = Line{A: lat[protoLL128] + ncclRingBaseLat[protoLL128], B: bytes / ll128Share}
	c.line[protoSimple] = Line{A: simpleLat, B: bytes}
	c.n = int(nProto)
	return c
}
