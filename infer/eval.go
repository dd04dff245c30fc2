package infer

import "math"

// Modes of a serving layout.
const (
	ModeAggregated    = "aggregated"
	ModeDisaggregated = "disaggregated"
)

// Result is one serving layout's prediction. Its JSON is the contract of
// `flopcast infer --json` (docs/serving.md).
type Result struct {
	// Parallel is the layout of the instances that decode (of every
	// instance when aggregated); PrefillParallel that of the prefill pool
	// when disaggregated.
	Parallel        Layout  `json:"parallel"`
	PrefillParallel *Layout `json:"prefill_parallel,omitempty"`
	Mode            string  `json:"mode"`
	// Chips in each pool; aggregated, both are every chip used.
	PrefillChips int `json:"prefill_chips"`
	DecodeChips  int `json:"decode_chips"`
	Chips        int `json:"chips"` // chips used
	// Concurrency is the requests in flight per (decode) instance.
	Concurrency int `json:"concurrency"`
	// PrefillTokens is the tokens one prefill forward pass takes per
	// attention replica (the chunk).
	PrefillTokens int `json:"prefill_tokens"`

	TTFTS                   float64 `json:"ttft_s"`
	TPOTS                   float64 `json:"tpot_s"`
	TokensPerSPerUser       float64 `json:"tokens_per_s_per_user"`
	OutputTokensPerSPerChip float64 `json:"output_tokens_per_s_per_chip"`
	InputTokensPerSPerChip  float64 `json:"input_tokens_per_s_per_chip"`
	// RequestsPerS is the whole deployment's request rate.
	RequestsPerS float64 `json:"requests_per_s"`
	// Capacity of each pool alone, per chip of the pool: the output
	// tokens/s a decode chip serves and the input tokens/s (cache hits
	// included) a prefill chip takes when its pool is the bottleneck.
	// Aggregated, both are the instance's throughput per chip.
	DecodeOutputTokensPerSPerChip float64 `json:"decode_output_tokens_per_s_per_chip"`
	PrefillInputTokensPerSPerChip float64 `json:"prefill_input_tokens_per_s_per_chip"`
	Memory                        Memory  `json:"memory"`

	// Cost: decode chip-time per output token and prefill chip-time per
	// input token, each pool at its capacity (aggregated: chip-time split
	// by the share of each step), and every chip used per output token of
	// the deployment (all_in).
	USDPerMOutputTokens      float64 `json:"usd_per_m_output_tokens"`
	USDPerMInputTokens       float64 `json:"usd_per_m_input_tokens"`
	USDPerMOutputTokensAllIn float64 `json:"usd_per_m_output_tokens_all_in"`
	KWhPerMOutputTokens      float64 `json:"kwh_per_m_output_tokens"`

	// Decode is where one decode step's time goes (TPOT = its total
	// plus the prefill share when aggregated).
	Decode      Breakdown `json:"decode"`
	KVTransferS float64   `json:"kv_transfer_s,omitempty"`
	Bottleneck  string    `json:"bottleneck"`
}

// Memory is one (decode) device's memory.
type Memory struct {
	WeightsGiB   float64 `json:"weights_gib"`
	KVCacheGiB   float64 `json:"kv_cache_gib"`
	WorkspaceGiB float64 `json:"workspace_gib"`
	PeakGiB      float64 `json:"peak_gib"`
	CapacityGiB  float64 `json:"capacity_gib"`
	Fits         bool    `json:"fits"`
	// MaxConcurrency is the most requests per instance whose KV cache
	// fits beside the weights.
	MaxConcurrency int `json:"max_concurrency"`
}

// Breakdown is a decode step's time by what bounds each kernel, seconds.
type Breakdown struct {
	WeightsS  float64 `json:"weights_s"`  // GEMMs bound by streaming weights
	KVCacheS  float64 `json:"kv_cache_s"` // attention bound by reading the KV cache
	ComputeS  float64 `json:"compute_s"`  // compute-bound GEMMs and attention
	TPCommS   float64 `json:"tp_comm_s"`
	AllToAllS float64 `json:"all_to_all_s"` // exposed expert dispatch and combine
	PPCommS   float64 `json:"pp_comm_s"`
	LaunchS   float64 `json:"launch_s"`  // kernel launch floor
	PrefillS  float64 `json:"prefill_s"` // chunked prefill riding on the step (aggregated)
}

const gib = 1 << 30

func (p *parts) breakdown() Breakdown {
	return Breakdown{WeightsS: p.weights, KVCacheS: p.kv, ComputeS: p.compute, TPCommS: p.tp,
		AllToAllS: p.a2a, PPCommS: p.pp, LaunchS: p.launch}
}

// decodePoint prices an instance decoding b requests per attention replica:
// TPOT and the step's parts (per stage, times pp stages).
func (x *Model) decodePoint(s *shape, b float64) (tpot float64, p parts) {
	nmb := math.Min(s.pp, b) // micro-batches in flight
	bm := b / nmb
	p = x.decodeStep(s, bm, x.ctxMean)
	var q parts
	q.add(p, s.pp)
	return q.total(), q
}

// prefillPoint prices the prefill of an instance taking chunk new tokens
// per replica per pass: the seconds per pass of one stage and the latency
// of one request's prompt through all stages.
func (x *Model) prefillPoint(s *shape, chunk float64) (stage, latency float64) {
	seg := math.Min(x.inNew, chunk)
	cached := x.in - x.inNew
	n := math.Ceil(x.inNew / chunk)
	stage = x.prefillChunk(s, chunk, seg, cached+(n-1)*seg/2).total()
	return stage, (n + s.pp - 1) * stage
}

// memory fills the memory block of a (decode) instance at b requests per
// replica.
func (x *Model) memory(s *shape, b float64) Memory {
	kv := b * x.ctxMean * s.kvChipToken * s.stageLayers
	m := Memory{WeightsGiB: s.weights / gib, KVCacheGiB: kv / gib, WorkspaceGiB: s.workspace / gib,
		CapacityGiB: x.capacity / gib}
	m.PeakGiB = m.WeightsGiB + m.KVCacheGiB + m.WorkspaceGiB
	m.Fits = s.memFits && b <= s.replicaMaxBatch
	m.MaxConcurrency = int(math.Min(s.replicaMaxBatch*s.adp, maxConcurrency))
	return m
}

// busy is the share of a step the chip's kernels run (its power draw).
func (p *parts) busy() float64 {
	t := p.total()
	if t <= 0 {
		return 0
	}
	return (p.weights + p.kv + p.compute) / t
}

// aggregated prices an instance layout that prefills and decodes on the
// same chips (chunked prefill riding on decode steps) at b requests per
// attention replica.
func (x *Model) aggregated(l Layout, s *shape, b float64, out *Result) {
	n := float64(l.DP * l.chips())
	tpot0, p := x.decodePoint(s, b)
	// Prefill work per step: each step finishes b/out requests per
	// replica, whose uncached prompts must be prefilled (chunked prefill
	// mixes them into the step at the chunk's efficiency).
	perToken := s.chunkStage / chunkTokens * s.pp
	pre := b / x.out * x.inNew * perToken
	tpot := tpot0 + pre
	// TTFT: the prompt's chunks, each riding on one step of the others'
	// decode.
	nc := math.Ceil(x.inNew / chunkTokens)
	ttft := (nc + s.pp - 1) * (s.promptChunk + tpot0/s.pp)
	B := b * s.adp
	*out = Result{Parallel: l, Mode: ModeAggregated, PrefillChips: int(n), DecodeChips: int(n), Chips: int(n),
		Concurrency: int(B), PrefillTokens: chunkTokens, TTFTS: ttft, TPOTS: tpot, TokensPerSPerUser: 1 / tpot}
	instOut := B / tpot
	out.OutputTokensPerSPerChip = instOut / float64(l.chips())
	out.InputTokensPerSPerChip = out.OutputTokensPerSPerChip * x.in / x.out
	out.RequestsPerS = instOut / x.out * float64(l.DP)
	out.DecodeOutputTokensPerSPerChip = out.OutputTokensPerSPerChip
	out.PrefillInputTokensPerSPerChip = out.InputTokensPerSPerChip
	out.Memory = x.memory(s, b)
	out.Decode = p.breakdown()
	out.Decode.PrefillS = pre
	// Cost split by the step's share of prefill and decode.
	perChipS := x.price / 3600
	fpre := pre / tpot
	out.USDPerMOutputTokens = perChipS * (1 - fpre) / out.OutputTokensPerSPerChip * 1e6
	out.USDPerMInputTokens = perChipS * fpre / out.InputTokensPerSPerChip * 1e6
	out.USDPerMOutputTokensAllIn = perChipS / out.OutputTokensPerSPerChip * 1e6
	u := (p.busy()*tpot0 + pre) / tpot
	out.KWhPerMOutputTokens = x.power.drawW(u) / out.OutputTokensPerSPerChip * 1e6 / 3.6e6
	out.Bottleneck = bottleneck(&out.Decode, out.Memory)
}

// prefillPool is a prefill instance layout at its best chunk.
type prefillPool struct {
	l       Layout
	chunk   float64
	latency float64 // one prompt through all stages, s
	rate    float64 // requests/s per instance
	busy    float64
}

// prefillFor picks the chunk of a prefill layout with the highest request
// rate whose prompt latency meets ttft (0: no target); when none does, the
// fastest, and met is false.
func (x *Model) prefillFor(l Layout, s *shape, ttft float64) (best prefillPool, met bool) {
	have := false
	for c := 1024.0; c <= 4*chunkTokens; c *= 2 {
		stage, lat := x.prefillPoint(s, c)
		meets := ttft <= 0 || lat <= ttft
		cand := prefillPool{l: l, chunk: c, latency: lat, rate: c * s.adp / stage / x.inNew, busy: 1}
		if !have || (meets && (!met || cand.rate > best.rate)) || (!meets && !met && lat < best.latency) {
			best, have, met = cand, true, meets
		}
	}
	return best, met
}

// kvTransfer is the time to move one prompt's KV cache from the prefill
// pool to a decode device, over the scale-out network.
func (x *Model) kvTransfer(s *shape) float64 {
	return x.fab.SendRecv(x.in*s.kvChipToken*s.stageLayers, x.domain)
}

// disaggregated prices decode layout l at b requests per replica fed by
// the prefill pool pf, on at most n chips split between the pools in the
// ratio of their request rates.
func (x *Model) disaggregated(l Layout, s *shape, b float64, pf *prefillPool, n int, out *Result) bool {
	tpot, p := x.decodePoint(s, b)
	B := b * s.adp
	rD := B / tpot / x.out // requests/s per decode instance
	nD, nP := l.chips(), pf.l.chips()
	bestR, bestD, bestP := 0.0, 0, 0
	ideal := float64(n) / (float64(nD) + float64(nP)*rD/pf.rate)
	for _, xd := range [...]int{int(ideal), int(ideal) + 1} {
		if xd < 1 || xd*nD >= n {
			continue
		}
		xp := (n - xd*nD) / nP
		if xp < 1 {
			continue
		}
		if r := math.Min(float64(xp)*pf.rate, float64(xd)*rD); r > bestR {
			bestR, bestD, bestP = r, xd, xp
		}
	}
	if bestR == 0 {
		return false
	}
	transfer := x.kvTransfer(s)
	used := bestD*nD + bestP*nP
	l.DP = bestD
	pl := pf.l
	pl.DP = bestP
	*out = Result{Parallel: l, PrefillParallel: &pl, Mode: ModeDisaggregated, PrefillChips: bestP * nP, DecodeChips: bestD * nD,
		Chips: used, Concurrency: int(B), PrefillTokens: int(pf.chunk), TTFTS: pf.latency + transfer, TPOTS: tpot,
		TokensPerSPerUser: 1 / tpot, KVTransferS: transfer, RequestsPerS: bestR}
	outTok := bestR * x.out
	out.OutputTokensPerSPerChip = outTok / float64(used)
	out.InputTokensPerSPerChip = bestR * x.in / float64(used)
	out.Memory = x.memory(s, b)
	out.Decode = p.breakdown()
	out.DecodeOutputTokensPerSPerChip = rD * x.out / float64(nD)
	out.PrefillInputTokensPerSPerChip = pf.rate * x.in / float64(nP)
	// Each pool's chip-time over the tokens it serves at its capacity.
	perChipS := x.price / 3600
	out.USDPerMOutputTokens = perChipS / out.DecodeOutputTokensPerSPerChip * 1e6
	out.USDPerMInputTokens = perChipS / out.PrefillInputTokensPerSPerChip * 1e6
	out.USDPerMOutputTokensAllIn = perChipS * float64(used) / outTok * 1e6
	w := float64(out.DecodeChips)*x.power.drawW(p.busy()) + float64(out.PrefillChips)*x.power.drawW(pf.busy)
	out.KWhPerMOutputTokens = w / outTok * 1e6 / 3.6e6
	out.Bottleneck = bottleneck(&out.Decode, out.Memory)
	return true
}

// Bottlenecks a result can name.
const (
	BottleneckWeights  = "weights bandwidth"
	BottleneckKV       = "KV-cache bandwidth"
	BottleneckCompute  = "compute"
	BottleneckAllToAll = "all-to-all"
	BottleneckTP       = "tensor-parallel communication"
	BottleneckLaunch   = "kernel launches"
	BottleneckPrefill  = "prefill"
	BottleneckPP       = "pipeline communication"
	BottleneckMemory   = "memory capacity"
)

// bottleneck names the largest share of a decode step; a step at the most
// requests that fit is bound by memory capacity.
func bottleneck(b *Breakdown, m Memory) string {
	terms := [...]struct {
		name string
		v    float64
	}{{BottleneckWeights, b.WeightsS}, {BottleneckKV, b.KVCacheS}, {BottleneckCompute, b.ComputeS},
		{BottleneckAllToAll, b.AllToAllS}, {BottleneckTP, b.TPCommS}, {BottleneckLaunch, b.LaunchS},
		{BottleneckPrefill, b.PrefillS}, {BottleneckPP, b.PPCommS}}
	if !m.Fits {
		return BottleneckMemory
	}
	big := 0
	for i := range terms {
		if terms[i].v > terms[big].v {
			big = i
		}
	}
	return terms[big].name
}
