package hardware

import "math"

// maxTiers is the most fabric tiers a Fabric models (scale-up, scale-out
// and two more); deeper catalogs are cut at it.
const maxTiers = 4

// Fabric prices collectives over a chip's fabric tiers. It is a plain value
// (no pointers, no slices): build it once with NewFabric and call its
// methods from a hot loop without allocating.
//
// Every collective is a hierarchical ring: a group of n chips whose members
// sit stride chips apart (tensor-parallel groups have stride 1, data-parallel
// groups stride tp, and so on) spans as many tiers as it must, and each tier
// runs at its achieved bandwidth (GBps × Efficiency) with its per-step latency.
//
// A collective's achieved bus bandwidth therefore grows with its size: each
// call pays a fixed launch and synchronisation cost (ncclCallLatency) and a
// ring pays its tier's per-step latency α over its n-1 steps (2(n-1) for an
// all-reduce) before the bytes' β term, the form of NCCL's own cost model
// (src/graph/tuning.cc: latency = baseLat + nsteps·hwLat, time = latency +
// bytes/busBw). A 64 MiB reduce-scatter over 8 B200 (2 µs a step) thus
// reaches about 80% of its asymptotic bus bandwidth, a 1 GiB one 98%.
// Reduce-scatters, all-gathers and all-reduces through NCCL run on the
// fastest of its three protocols for their size (nccl.go): small buffers
// on LL or LL128, at lower latency and bandwidth, the rest on Simple, whose
// bandwidth and step latency are the tier's.
type Fabric struct {
	n     int
	nccl  bool                      // collectives are NCCL calls (not on torus fabrics): a call latency, a choice of protocols
	size  [maxTiers]float64         // chips per domain; +Inf for the outermost tier
	bw    [maxTiers]float64         // achieved bytes/s per chip, one direction
	alpha [maxTiers]float64         // seconds per collective step (Simple's under NCCL)
	step  [maxTiers][nProto]float64 // seconds per ring step, by NCCL protocol
	dims  [maxTiers]float64         // torus dimensions (0 for switched tiers)
	name  [maxTiers]string          // the catalog's tier names, for Describe
}

// NewFabric builds a Fabric from tiers, innermost first. A tier with
// Efficiency 0 runs at its full GBps. When no tier is unbounded (Size 0)
// the last one is treated as unbounded rather than fail.
func NewFabric(tiers []Tier) Fabric {
	var f Fabric
	for i, t := range tiers {
		if i == maxTiers {
			break
		}
		f.n = i + 1
		f.name[i] = t.Name
		f.size[i] = float64(t.Size)
		if t.Size == 0 {
			f.size[i] = math.Inf(1)
		}
		eff := t.Efficiency
		if eff <= 0 {
			eff = 1
		}
		f.bw[i] = t.GBps * 1e9 * eff
		f.alpha[i] = t.LatencyUs * 1e-6
		switch t.Topology {
		case "torus2d":
			f.dims[i] = 2
		case "torus3d":
			f.dims[i] = 3
		}
	}
	if f.n > 0 && !math.IsInf(f.size[f.n-1], 1) {
		f.size[f.n-1] = math.Inf(1)
	}
	f.nccl = f.n > 0 && f.dims[0] == 0
	for i := 0; i < f.n; i++ {
		kind := min(i, 1) // NVLink for the scale-up tier, network beyond
		for p := protoLL; p < nProto; p++ {
			f.step[i][p] = f.alpha[i] * ncclRingHwLat[kind][p] / ncclRingHwLat[kind][protoSimple]
		}
	}
	return f
}

// ncclCallLatency is the fixed cost of one NCCL collective call, its kernel
// launch and the ranks' synchronisation before the first step: NCCL's
// base latency of a ring collective on the Simple protocol, the one it runs
// for buffers of MiBs and more (baseLat[Ring][Simple] = 8.4 µs, NCCL
// src/graph/tuning.cc, v2.12-v2.23). Torus fabrics (TPU ICI) run
// collectives compiled into the step by XLA, without a per-call launch, so
// they carry none.
const ncclCallLatency = 8.4e-6

// split is a group split over the fabric tiers (Fabric.levels).
type split struct {
	k     [maxTiers]float64 // fan-out at each level; their product is n
	bw    [maxTiers]float64 // bytes/s per chip at each level
	alpha [maxTiers]float64 // seconds per step at each level
	tier  [maxTiers]int     // the tier each level runs on
	cnt   int
}

// levels splits a group of n chips, whose members sit stride chips apart,
// over the fabric tiers: k[i] is the fan-out at level i (the product of
// the k's is n), with the bandwidth, step latency and tier of the level.
func (f *Fabric) levels(n, stride float64) (lv split) {
	inner := 1.0 // group members inside one domain of the previous tier
	for i := 0; i < f.n && inner < n; i++ {
		in := f.membersIn(i, n, stride)
		if in <= inner {
			continue
		}
		k := in / inner
		b := f.bw[i]
		if d := f.dims[i]; d > 0 {
			// A torus group uses as many dimensions as it spans; each
			// dimension contributes 1/d of the chip's links.
			used := min(d, math.Ceil(math.Log(k)/math.Log(4)))
			if used < 1 {
				used = 1
			}
			b *= used / d
		}
		lv.k[lv.cnt], lv.bw[lv.cnt], lv.alpha[lv.cnt], lv.tier[lv.cnt] = k, b, f.alpha[i], i
		lv.cnt++
		inner = in
	}
	return lv
}

// AllReduce is the time of a hierarchical ring all-reduce of bytes (the
// full buffer) over n chips stride apart: reduce-scatter up the tiers, then
// all-gather down. Each level moves 2(k-1)/k of what reaches it.
// It is one call, so it pays the call latency once.
func (f *Fabric) AllReduce(bytes, n, stride float64) float64 {
	if bytes <= 0 || n <= 1 {
		return 0
	}
	return f.AllReduceCost(n, stride).At(bytes)
}

// ReduceScatter is the time of a ring reduce-scatter of bytes, the full
// (unsharded) buffer size.
func (f *Fabric) ReduceScatter(bytes, n, stride float64) float64 {
	if bytes <= 0 || n <= 1 {
		return 0
	}
	return f.ReduceScatterCost(n, stride).At(bytes)
}

// AllGather is the mirror of ReduceScatter: bytes is the gathered size.
func (f *Fabric) AllGather(bytes, n, stride float64) float64 {
	return f.ReduceScatter(bytes, n, stride)
}

// AllToAll is the time for each chip to exchange bytes evenly with the
// other n-1 members. Traffic to peers in a tier's domain but outside the
// inner domain crosses that tier's links; tiers run concurrently.
func (f *Fabric) AllToAll(bytes, n, stride float64) float64 {
	if n <= 1 || bytes <= 0 {
		return 0
	}
	lv := f.levels(n, stride)
	t := 0.0
	inner := 1.0
	lat := 0.0
	for i := 0; i < lv.cnt; i++ {
		outer := inner * lv.k[i]
		share := (outer - inner) / n
		t = max(t, bytes*share/lv.bw[i])
		lat += lv.alpha[i]
		inner = outer
	}
	t += lat
	if f.nccl {
		t += ncclCallLatency // one call
	}
	return t
}

// TreeAllReduceLatency is the time of an all-reduce of a few bytes (a
// gradient norm, an inf/NaN flag) over n chips stride apart, which only
// latency bounds. NCCL runs small all-reduces on trees, a chain inside a
// node and double binary trees across nodes, so the latency grows with the
// logarithm of the group (NVIDIA, "Massively Scale Your Deep Learning
// Training with NCCL 2.4", 2019): each tier adds ⌈log₂ k⌉ steps up to the
// root and as many back down.
func (f *Fabric) TreeAllReduceLatency(n, stride float64) float64 {
	if n <= 1 {
		return 0
	}
	lv := f.levels(n, stride)
	t := 0.0
	for i := 0; i < lv.cnt; i++ {
		t += 2 * math.Ceil(math.Log2(lv.k[i])) * lv.alpha[i]
	}
	return t
}

// SendRecv is one point-to-point transfer of bytes between chips stride
// apart, over the innermost tier whose domain holds both.
func (f *Fabric) SendRecv(bytes, stride float64) float64 {
	if bytes <= 0 || f.n == 0 {
		return 0
	}
	for i := 0; i < f.n; i++ {
		if stride < f.size[i] {
			return bytes/f.bw[i] + f.alpha[i]
		}
	}
	return bytes/f.bw[f.n-1] + f.alpha[f.n-1]
}

// SendRecvLatency is the fixed part of SendRecv between chips stride apart:
// the latency of the innermost tier whose domain holds both.
func (f *Fabric) SendRecvLatency(stride float64) float64 {
	for i := 0; i < f.n; i++ {
		if stride < f.size[i] {
			return f.alpha[i]
		}
	}
	if f.n == 0 {
		return 0
	}
	return f.alpha[f.n-1]
}

// Line is a collective's time on one protocol as a function of its size,
// A + B·bytes: ring collectives are linear in the bytes they move.
type Line struct{ A, B float64 }

// At is the time for bytes; 0 for an empty buffer.
func (l Line) At(bytes float64) float64 {
	if bytes <= 0 {
		return 0
	}
	return l.A + l.B*bytes
}

// ReduceScatterCost is ReduceScatter as a Cost, priced once for the group
// and then for any buffer (AllGather's is the same).
func (f *Fabric) ReduceScatterCost(n, stride float64) Cost {
	return f.ringCost(n, stride, false)
}

// AllReduceCost is AllReduce as a Cost.
func (f *Fabric) AllReduceCost(n, stride float64) Cost {
	return f.ringCost(n, stride, true)
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// membersIn is how many members of a group of n chips, stride apart, share
// one domain of tier i; for groups that straddle a boundary, the worst.
func (f *Fabric) membersIn(i int, n, stride float64) float64 {
	switch {
	case math.IsInf(f.size[i], 1):
		return n
	case f.dims[i] > 0:
		// A torus slice is carved to fit the job.
		return min(max(math.Floor(f.size[i]/stride), 1), n)
	}
	// Groups are laid out contiguously. One that spans less than a
	// switched domain of S chips stays inside it only if the domains'
	// boundaries fall between groups (tp 6 on 8-GPU servers straddles
	// them); one that spans more has S/stride members in each domain.
	S, span := int(f.size[i]), int(n*stride)
	in := math.Floor(f.size[i] / stride)
	if span <= S {
		in = math.Floor(float64(gcd(S, span)) / stride)
	}
	return min(max(in, 1), n)
}

// WithoutCallLatency is the fabric with no per-call NCCL latency, for
// collectives that do not go through an NCCL call: inference engines
// all-reduce small activations with their own one-kernel all-reduce,
// captured in a CUDA graph with the rest of the decode step (vLLM's
// custom_all_reduce, TensorRT-LLM's allReduce plugin), so the per-step
// latencies remain but no launch and rendezvous of a separate NCCL call.
func (f Fabric) WithoutCallLatency() Fabric {
	f.nccl = false
	return f
}
