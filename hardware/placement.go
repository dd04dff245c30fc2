package hardware

import (
	"fmt"
	"math"
	"strings"
)

// ForJob is the fabric as a job of chips chips sees it, placed the way
// launchers place ranks:
//
//   - A job that fits in one domain of a tier uses that domain alone: every
//     group of the job is inside it (a 64-GPU job on one NVL72 rack, four
//     chips of an 8-GPU server).
//   - A job larger than a switched domain whose size is not a power of two
//     uses the largest power of two of it in each domain, so that
//     power-of-two groups do not straddle domains: 64 of an NVL72 rack's 72
//     GPUs, 32 of an NVL36's (Megatron-LM's GB200 DeepSeek-V3 recipe places
//     each EP32 group inside one rack with NVLINK_DOMAIN_SIZE=72;
//     Megatron-LM docs/api-guide/core/generalized_tensor_parallel.md keeps
//     EP64 inside an NVL72; the spare trays are the common practice).
//
// Ranks are numbered domain-major (torchrun numbers node-major: node_rank ×
// nproc + local_rank), so the innermost parallel axes fall inside the
// innermost domains. Torus tiers are carved into slices that fit the job
// already (membersIn).
func (f Fabric) ForJob(chips int) Fabric {
	c := float64(chips)
	if chips <= 0 {
		return f
	}
	for i := 0; i < f.n; i++ {
		s := f.size[i]
		if math.IsInf(s, 1) || f.dims[i] > 0 {
			continue
		}
		switch {
		case c <= s:
			f.size[i] = c
		case !isPow2(s):
			f.size[i] = math.Exp2(math.Floor(math.Log2(s)))
		}
	}
	return f
}

func isPow2(x float64) bool {
	if x < 1 || x != math.Floor(x) {
		return false
	}
	n := uint64(x)
	return n&(n-1) == 0
}

// Spread says where a group of n chips, stride apart, lives: Fanout[j]
// members of it meet at level j over tier Tier[j] (innermost first); the
// product of the fan-outs is n. A group with one level lives inside one
// domain of that tier.
type Spread struct {
	Levels int
	Fanout [maxTiers]int
	Tier   [maxTiers]int
}

// Where places a group of n chips whose members sit stride chips apart.
func (f *Fabric) Where(n, stride int) Spread {
	var s Spread
	if n <= 1 {
		return s
	}
	inner := 1.0
	for i := 0; i < f.n && inner < float64(n); i++ {
		in := f.membersIn(i, float64(n), float64(stride))
		if in <= inner {
			continue
		}
		s.Fanout[s.Levels] = int(math.Round(in / inner))
		s.Tier[s.Levels] = i
		s.Levels++
		inner = in
	}
	return s
}

// TierName is the name of tier i as the catalog gives it.
func (f *Fabric) TierName(i int) string {
	if i < 0 || i >= f.n {
		return ""
	}
	return f.name[i]
}

// Describe says in words where a group lives ("8 in one NVLink4 domain",
// "8 per NVLink4 domain × 4 over InfiniBand NDR").
func (f *Fabric) Describe(s Spread) string {
	if s.Levels == 0 {
		return "one chip"
	}
	if s.Levels == 1 {
		t := s.Tier[0]
		if math.IsInf(f.size[t], 1) && t > 0 {
			return fmt.Sprintf("%d, each in its own %s domain, over %s", s.Fanout[0], f.name[t-1], f.name[t])
		}
		return fmt.Sprintf("%d in one %s domain", s.Fanout[0], f.name[t])
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d per %s domain", s.Fanout[0], f.name[s.Tier[0]])
	for j := 1; j < s.Levels; j++ {
		fmt.Fprintf(&b, " × %d over %s", s.Fanout[j], f.name[s.Tier[j]])
	}
	return b.String()
}
