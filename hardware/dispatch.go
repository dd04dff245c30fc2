package hardware

import "math"

// Dispatch is the time of one MoE token dispatch, or of the combine that
// mirrors it, over an expert-parallel group of n chips, stride apart: each
// chip holds tokens tokens and sends each to topk experts spread evenly over
// the group, bytes per copy.
//
// Without perDomain every (token, expert) copy goes straight to its chip,
// as Megatron-Core's alltoall dispatcher sends it (one NCCL all-to-all;
// AllToAll). With perDomain, a group that spans several domains of its
// innermost level is served as DeepEP's normal kernels and HybridEP serve it
// (Megatron-Core's flex dispatcher): a token crosses the outer links once
// per destination domain, to the chip with the same local index, which
// forwards it over the inner links to the chips that hold its experts; the
// combine reduces a token's partial sums inside the domain before they
// cross back (deepseek-ai/DeepEP csrc/kernels/legacy/internode.cu;
// DeepSeek-V3 report, arXiv 2412.19437 §3.2.2). These kernels also send a
// token once per destination chip, not once per expert: the chip expands it
// to its local experts and sums their outputs before the combine sends one
// back (DeepEP's get_dispatch_layout counts num_tokens_per_rank and
// is_token_in_rank; Megatron-Core's flex dispatcher), so the inner links
// carry one copy per distinct chip a token's experts sit on. maxGroups > 0 caps the
// domains one token may reach (node-limited routing; DeepSeek-V3 routes a
// token to at most 4 nodes); 0 leaves routing unlimited. The outer and inner
// links work at once, so the slower of them sets the time.
func (f *Fabric) Dispatch(tokens, bytes, topk, n, stride, maxGroups float64, perDomain bool) float64 {
	if n <= 1 || tokens <= 0 || bytes <= 0 || topk <= 0 {
		return 0
	}
	copies := tokens * topk * bytes
	if !perDomain {
		return f.AllToAll(copies, n, stride)
	}
	lv := f.levels(n, stride)
	k, bw, alpha, cnt := lv.k, lv.bw, lv.alpha, lv.cnt
	if cnt <= 1 {
		return tokens*distinct(n, topk)*bytes*(n-1)/n/bw[0] + alpha[0]
	}
	L := k[0]                  // group members inside one innermost domain
	G := n / L                 // domains the group spans
	reach := distinct(G, topk) // domains a token's experts sit in (uniform routing)
	if maxGroups > 0 {
		reach = min(reach, maxGroups)
	}
	remote := reach * (G - 1) / G // of which other than the sender's own
	// Inner links: every destination chip but the one a token reached its
	// domain through gets its one copy over them; the domain's topk/reach
	// experts sit on distinct(L, topk/reach) of its chips.
	t := tokens * reach * distinct(L, topk/reach) * bytes * (L - 1) / L / bw[0]
	lat := alpha[0]
	// Outer links: one copy per remote domain, split over the tiers it
	// crosses by where the remote members sit.
	out := tokens * remote * bytes
	inner := L
	for j := 1; j < cnt; j++ {
		outer := inner * k[j]
		t = max(t, out*(outer-inner)/(n-L)/bw[j])
		lat += alpha[j]
		inner = outer
	}
	return t + lat
}

// distinct is the expected number of distinct members of a group of n that
// k uniform picks land on: n(1 − (1 − 1/n)^k).
func distinct(n, k float64) float64 {
	return n * (1 - math.Pow(1-1/n, k))
}
