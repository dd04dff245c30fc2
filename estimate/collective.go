package estimate

import (
	"math"

	"github.com/flopcast/flopcast/hardware"
)

// fabric is the allocation-free form of a chip's tiers.
type fabric struct {
	n     int
	size  [4]float64 // chips per domain; +Inf for the outermost tier
	bw    [4]float64 // achieved bytes/s per chip, one direction
	alpha [4]float64 // seconds per collective step
	dims  [4]float64 // torus dimensions (0 for switched tiers)
}

func newFabric(tiers []hardware.Tier) fabric {
	var f fabric
	for i, t := range tiers {
		if i == len(f.size) {
			break
		}
		f.n = i + 1
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
		// No scale-out tier: the last domain bounds the cluster; treat it
		// as unbounded rather than fail.
		f.size[f.n-1] = math.Inf(1)
	}
	return f
}

// levels splits a group of n chips, whose members sit stride chips apart,
// over the fabric tiers: k[i] is the fan-out at tier i (the product of the
// k's is n), and the returned bandwidths are those of the tier each level
// runs on.
func (f *fabric) levels(n, stride float64) (k, bw, alpha [4]float64, cnt int) {
	inner := 1.0 // group members inside one domain of the previous tier
	for i := 0; i < f.n && inner < n; i++ {
		in := f.membersIn(i, n, stride)
		if in <= inner {
			continue
		}
		k[cnt] = in / inner
		b := f.bw[i]
		if d := f.dims[i]; d > 0 {
			// A torus group uses as many dimensions as it spans; each
			// dimension contributes 1/d of the chip's links.
			used := min(d, math.Ceil(math.Log(k[cnt])/math.Log(4)))
			if used < 1 {
				used = 1
			}
			b *= used / d
		}
		bw[cnt] = b
		alpha[cnt] = f.alpha[i]
		cnt++
		inner = in
	}
	return
}

// allReduce is the time of a hierarchical ring all-reduce of bytes over a
// group of n chips with the given stride: reduce-scatter up the tiers, then
// all-gather down. Each level moves 2(k-1)/k of what reaches it.
func (f *fabric) allReduce(bytes, n, stride float64) float64 {
	return 2 * f.reduceScatter(bytes, n, stride)
}

// reduceScatter (and allGather, its mirror) of bytes, the full buffer size.
func (f *fabric) reduceScatter(bytes, n, stride float64) float64 {
	return f.reduceScatterLine(n, stride).at(bytes)
}

func (f *fabric) allGather(bytes, n, stride float64) float64 {
	return f.reduceScatter(bytes, n, stride)
}

// allToAll is the time for each chip to exchange bytes evenly with the other
// n-1 members. Traffic to peers in a tier's domain but outside the inner
// domain crosses that tier's links; tiers run concurrently.
func (f *fabric) allToAll(bytes, n, stride float64) float64 {
	if n <= 1 || bytes <= 0 {
		return 0
	}
	k, bw, alpha, cnt := f.levels(n, stride)
	t := 0.0
	inner := 1.0
	lat := 0.0
	for i := 0; i < cnt; i++ {
		outer := inner * k[i]
		share := (outer - inner) / n
		t = max(t, bytes*share/bw[i])
		lat += alpha[i]
		inner = outer
	}
	return t + lat
}

// sendRecv is one point-to-point transfer between chips stride apart.
func (f *fabric) sendRecv(bytes, stride float64) float64 {
	if bytes <= 0 {
		return 0
	}
	for i := 0; i < f.n; i++ {
		if stride < f.size[i] {
			return bytes/f.bw[i] + f.alpha[i]
		}
	}
	return bytes/f.bw[f.n-1] + f.alpha[f.n-1]
}

// line is a collective's time as a function of its size, a + b·bytes: ring
// collectives are linear in the bytes they move, so the search can price a
// group once and every buffer after.
type line struct{ a, b float64 }

func (l line) at(bytes float64) float64 {
	if bytes <= 0 {
		return 0
	}
	return l.a + l.b*bytes
}

// reduceScatterLine is reduceScatter as a line (allGather's is the same,
// allReduce's twice it).
func (f *fabric) reduceScatterLine(n, stride float64) line {
	if n <= 1 {
		return line{}
	}
	k, bw, alpha, cnt := f.levels(n, stride)
	var l line
	frac := 1.0
	for i := 0; i < cnt; i++ {
		l.b += (k[i] - 1) / k[i] * frac / bw[i]
		l.a += (k[i] - 1) * alpha[i]
		frac /= k[i]
	}
	return l
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// membersIn is how many members of a group of n chips, stride apart, share
// one domain of tier i; for groups that straddle a boundary, the worst.
func (f *fabric) membersIn(i int, n, stride float64) float64 {
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
