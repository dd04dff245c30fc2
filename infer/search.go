package infer

import (
	"cmp"
	"fmt"
	"github.com/flopcast/flopcast"
	"math"
	"slices"
	"strings"
	"time"
)

// Report is the answer of a serving search. Its JSON is the contract of
// `flopcast infer --json`.
type Report struct {
	Results     []Result `json:"results"`
	Pareto      []Result `json:"pareto"`
	Evaluated   int64    `json:"evaluated"`
	Feasible    int64    `json:"feasible"`
	ElapsedS    float64  `json:"elapsed_s"`
	Explanation []string `json:"explanation"`
	Warnings    []string `json:"warnings,omitempty"`
}

// candidate is an instance layout with its fixed shape.
type candidate struct {
	l Layout
	s shape
}

// Objectives a serving search ranks by.
const (
	// ObjectiveOutput: output tokens/s per chip of the whole deployment.
	ObjectiveOutput = "output"
	// ObjectiveDecode: output tokens/s per decode chip at the decode
	// pool's capacity (a decode benchmark fed by enough prefill).
	ObjectiveDecode = "decode"
	// ObjectivePrefill: input tokens/s per prefill chip at the prefill
	// pool's capacity.
	ObjectivePrefill = "prefill"
)

// Objectives lists the allowed objectives.
var Objectives = []string{ObjectiveOutput, ObjectiveDecode, ObjectivePrefill}

// Options tune a serving search. Zero fields take defaults.
type Options struct {
	Top       int    // results kept (default 10)
	Objective string // ranking (default ObjectiveOutput)
}

// Infer searches the serving layouts r leaves open and ranks those that
// meet its latency targets by the objective (output tokens per second per
// chip by default). The Pareto front of output tokens/s per chip against
// tokens/s per user is whole.
func Infer(r *Resolved, o Options) (*Report, error) {
	start := time.Now()
	x, err := NewModel(r)
	if err != nil {
		return nil, err
	}
	if o.Top <= 0 {
		o.Top = 10
	}
	key := func(r *Result) float64 { return r.OutputTokensPerSPerChip }
	switch o.Objective {
	case "", ObjectiveOutput:
	case ObjectiveDecode:
		key = func(r *Result) float64 { return r.DecodeOutputTokensPerSPerChip }
	case ObjectivePrefill:
		key = func(r *Result) float64 { return r.PrefillInputTokensPerSPerChip }
	default:
		return nil, &flopcast.FieldError{Field: "objective", Value: o.Objective, Allowed: strings.Join(Objectives, ", ")}
	}
	rep := &Report{Warnings: append([]string(nil), r.Warnings...)}
	if x.price <= 0 {
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("chip %s has no rent in the catalog: dollar figures are 0; set economics.price_per_chip_hour", r.HW.Chip.Name))
	}
	srch := searcher{x: x, r: r, top: o.Top, rep: rep, key: key}
	srch.run()
	if len(srch.best) == 0 {
		return nil, srch.noLayout()
	}
	rep.Results = srch.best
	rep.Pareto = srch.front
	rep.Explanation = srch.explain()
	rep.ElapsedS = time.Since(start).Seconds()
	return rep, nil
}

type searcher struct {
	x   *Model
	r   *Resolved
	top int
	rep *Report
	key func(*Result) float64

	best  []Result // top results, best first
	front []Result // Pareto front, by output tokens/s per chip descending

	// Nearest misses, for the error when nothing is feasible.
	anyFits     bool
	minWeights  float64 // smallest weight bytes per device over the candidates
	closest     Result  // fits in memory, nearest to the latency targets
	closestMiss float64 // its worst ratio of achieved to target latency
	haveClosest bool
	// Best aggregated and disaggregated results, for the explanation.
	bestMode map[string]Result
	last     Result // the point considered last (refine reads it)
}

// layouts lists the instance layouts a fixed block p allows.
func (sr *searcher) layouts(p Parallel) []candidate {
	x := sr.x
	n := sr.r.HW.Chips
	m := &sr.r.HW.Model
	var tps []int
	seen := map[int]bool{}
	addTP := func(t int) {
		if t >= 1 && t <= n && !seen[t] {
			seen[t] = true
			tps = append(tps, t)
		}
	}
	for t := 1; t <= n; t *= 2 {
		addTP(t)
		addTP(t * int(x.domain))
	}
	if int(x.domain) > 0 && n%int(x.domain) == 0 {
		addTP(n)
	}
	if p.TP != nil {
		tps = []int{*p.TP}
	}
	slices.Sort(tps)
	var out []candidate
	for _, tp := range tps {
		eps := []int{1}
		if x.moe && tp > 1 {
			eps = append(eps, tp)
		}
		if p.EP != nil {
			eps = []int{*p.EP}
		}
		// Attention data parallelism matters only where something is shared
		// across the replicas (the experts); for a dense model adp = a is
		// a smaller tp with a times the instances, searched already.
		adps := []int{1}
		for a := 2; a <= tp && x.moe; a *= 2 {
			if tp%a == 0 {
				adps = append(adps, a)
			}
		}
		if x.moe && !slices.Contains(adps, tp) {
			adps = append(adps, tp)
		}
		if p.AttentionDP != nil {
			adps = []int{*p.AttentionDP}
		}
		var pps []int
		for q := 1; q <= m.Layers && tp*q <= n; q *= 2 {
			pps = append(pps, q)
		}
		if p.PP != nil {
			pps = []int{*p.PP}
		}
		for _, ep := range eps {
			if ep > int(x.E) && x.moe || tp%ep != 0 {
				continue
			}
			for _, adp := range adps {
				if tp%adp != 0 || m.Heads%(tp/adp) != 0 {
					continue
				}
				for _, pp := range pps {
					if tp*pp > n {
						continue
					}
					l := Layout{TP: tp, EP: ep, PP: pp, AttentionDP: adp, DP: n / (tp * pp)}
					if p.DP != nil {
						if *p.DP*tp*pp > n {
							continue
						}
						l.DP = *p.DP
					}
					out = append(out, candidate{l: l, s: x.shape(l)})
				}
			}
		}
	}
	return out
}

// batches lists requests per attention replica to try: powers of two up
// to the most that fit, and that most; or the given concurrency.
func (sr *searcher) batches(c *candidate, dst []float64) []float64 {
	dst = dst[:0]
	if g := sr.r.Serving.Concurrency; g != nil {
		return append(dst, float64(*g)/c.s.adp)
	}
	maxB := c.s.replicaMaxBatch
	for b := 1.0; b <= maxB && b <= maxConcurrency; b *= 2 {
		dst = append(dst, b)
	}
	if maxB >= 1 && (len(dst) == 0 || dst[len(dst)-1] < maxB) {
		dst = append(dst, math.Min(maxB, maxConcurrency))
	}
	if len(dst) == 0 {
		dst = append(dst, 1) // does not fit: priced for the nearest-miss report
	}
	return dst
}

func (sr *searcher) run() {
	r, x := sr.r, sr.x
	sr.minWeights = math.Inf(1)
	sr.bestMode = map[string]Result{}
	decode := sr.layouts(r.Parallel)
	var pools []prefillPool
	mode := r.Serving.Disaggregated
	if mode != DisaggOff && r.HW.Chips >= 2 {
		// The prefill pool: the layout and chunk with the most prompts
		// per second per chip whose latency meets the TTFT target.
		var best prefillPool
		var bestMet, have bool
		for _, c := range sr.layouts(r.PrefillParallel) {
			if !c.s.memFits || c.l.chips() >= r.HW.Chips {
				continue
			}
			pf, met := x.prefillFor(c.l, &c.s, r.TTFT)
			sr.rep.Evaluated++
			perChip := pf.rate / float64(c.l.chips())
			if !have || (met && !bestMet) || (met == bestMet && perChip > best.rate/float64(best.l.chips())) {
				best, bestMet, have = pf, met, true
			}
		}
		if have {
			pools = append(pools, best)
		}
	}
	var bs []float64
	var res Result
	// price evaluates layout c at b requests per replica in one mode and
	// considers the point; ok is false when the mode does not apply.
	price := func(c *candidate, b float64, m string) (ok bool) {
		if m == ModeAggregated {
			if c.l.DP < 1 {
				return false
			}
			x.aggregated(c.l, &c.s, b, &res)
			sr.consider(&res)
			return true
		}
		for j := range pools {
			if c.l.chips()+pools[j].l.chips() <= r.HW.Chips && x.disaggregated(c.l, &c.s, b, &pools[j], r.HW.Chips, &res) {
				sr.consider(&res)
				ok = true
			}
		}
		return ok
	}
	for i := range decode {
		c := &decode[i]
		sr.minWeights = math.Min(sr.minWeights, c.s.weights)
		bs = sr.batches(c, bs)
		for _, b := range bs {
			if mode != DisaggOn {
				price(c, b, ModeAggregated)
			}
			if len(pools) > 0 {
				price(c, b, ModeDisaggregated)
			}
		}
	}
	sr.refine(decode, price)
}

// refine bisects the concurrency of the best layouts between the last
// power of two that met the latency targets and the next, which did not:
// the grid alone leaves up to half the throughput of a tight TPOT target
// on the table.
func (sr *searcher) refine(decode []candidate, price func(*candidate, float64, string) bool) {
	r := sr.r
	if r.Serving.Concurrency != nil || (r.TPOT <= 0 && r.TTFT <= 0) {
		return
	}
	meets := func() bool {
		w := &sr.last
		return w.Memory.Fits && (r.TPOT <= 0 || w.TPOTS <= r.TPOT) && (r.TTFT <= 0 || w.TTFTS <= r.TTFT)
	}
	for _, w := range slices.Clone(sr.best) {
		i := slices.IndexFunc(decode, func(c candidate) bool {
			l := c.l
			return l.TP == w.Parallel.TP && l.EP == w.Parallel.EP && l.PP == w.Parallel.PP && l.AttentionDP == w.Parallel.AttentionDP &&
				(w.Mode == ModeDisaggregated || l.DP == w.Parallel.DP)
		})
		if i < 0 {
			continue
		}
		c := &decode[i]
		lo := float64(w.Concurrency) / c.s.adp
		hi := math.Min(2*lo, c.s.replicaMaxBatch+1)
		for k := 0; k < 12 && hi-lo > math.Max(1, lo/128); k++ {
			mid := math.Floor((lo + hi) / 2)
			if !price(c, mid, w.Mode) {
				break
			}
			if meets() {
				lo = mid
			} else {
				hi = mid
			}
		}
	}
}

// consider counts one priced point and keeps it if it is feasible and
// ranks, or if it is the nearest miss so far.
func (sr *searcher) consider(res *Result) {
	sr.rep.Evaluated++
	sr.last = *res
	if !res.Memory.Fits {
		return
	}
	sr.anyFits = true
	miss := 1.0
	if t := sr.r.TTFT; t > 0 {
		miss = math.Max(miss, res.TTFTS/t)
	}
	if t := sr.r.TPOT; t > 0 {
		miss = math.Max(miss, res.TPOTS/t)
	}
	if miss > 1 {
		if !sr.haveClosest || miss < sr.closestMiss {
			sr.closest, sr.closestMiss, sr.haveClosest = *res, miss, true
		}
		return
	}
	sr.rep.Feasible++
	if b, ok := sr.bestMode[res.Mode]; !ok || sr.rank(res, &b) < 0 {
		sr.bestMode[res.Mode] = *res
	}
	// Top list; a point priced twice (the grid and the bisection can
	// meet) is kept once.
	if slices.ContainsFunc(sr.best, func(b Result) bool { return samePoint(&b, res) }) {
		return
	}
	if len(sr.best) < sr.top || sr.rank(res, &sr.best[len(sr.best)-1]) < 0 {
		i, _ := slices.BinarySearchFunc(sr.best, res, func(a Result, b *Result) int { return sr.rank(&a, b) })
		sr.best = slices.Insert(sr.best, i, *res)
		if len(sr.best) > sr.top {
			sr.best = sr.best[:sr.top]
		}
	}
	// Pareto front: output tokens/s per chip against tokens/s per user.
	for i := range sr.front {
		f := &sr.front[i]
		if f.OutputTokensPerSPerChip >= res.OutputTokensPerSPerChip && f.TokensPerSPerUser >= res.TokensPerSPerUser {
			return
		}
	}
	sr.front = slices.DeleteFunc(sr.front, func(f Result) bool {
		return res.OutputTokensPerSPerChip >= f.OutputTokensPerSPerChip && res.TokensPerSPerUser >= f.TokensPerSPerUser
	})
	i, _ := slices.BinarySearchFunc(sr.front, res, func(a Result, b *Result) int {
		return cmp.Compare(b.OutputTokensPerSPerChip, a.OutputTokensPerSPerChip)
	})
	sr.front = slices.Insert(sr.front, i, *res)
}

// rank orders results: the objective, then output tokens/s per chip, then
// tokens/s per user, then fewer chips, then the layout.
func (sr *searcher) rank(a, b *Result) int {
	if c := cmp.Compare(sr.key(b), sr.key(a)); c != 0 {
		return c
	}
	if c := cmp.Compare(b.OutputTokensPerSPerChip, a.OutputTokensPerSPerChip); c != 0 {
		return c
	}
	if c := cmp.Compare(b.TokensPerSPerUser, a.TokensPerSPerUser); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Chips, b.Chips); c != 0 {
		return c
	}
	return cmp.Compare(a.Parallel.String()+a.Mode, b.Parallel.String()+b.Mode)
}

// samePoint reports whether two results price the same layout, mode and
// concurrency.
func samePoint(a, b *Result) bool {
	if a.Mode != b.Mode || a.Parallel != b.Parallel || a.Concurrency != b.Concurrency || (a.PrefillParallel == nil) != (b.PrefillParallel == nil) {
		return false
	}
	return a.PrefillParallel == nil || *a.PrefillParallel == *b.PrefillParallel
}

// NoLayoutError says why no serving layout is feasible: nothing fits in
// memory, or nothing meets the latency targets, with the nearest miss.
type NoLayoutError struct {
	Reason  string   `json:"reason"`
	Closest *Result  `json:"closest,omitempty"`
	Hints   []string `json:"hints,omitempty"`
}

func (e *NoLayoutError) Error() string {
	s := "infer: " + e.Reason
	if len(e.Hints) > 0 {
		s += "; try: " + strings.Join(e.Hints, ", or ")
	}
	return s
}

func (sr *searcher) noLayout() error {
	r := sr.r
	if !sr.anyFits {
		need := math.Ceil(sr.minWeights / sr.x.capacity * float64(r.HW.Chips))
		return &NoLayoutError{
			Reason: fmt.Sprintf("%s does not fit on %d %s: the smallest share of its weights is %.1f GiB per device against %.1f GiB usable (%.0f%% of %.0f GiB), with no room for the KV cache",
				r.HW.Model.Name, r.HW.Chips, r.HW.Chip.Name, sr.minWeights/gib, sr.x.capacity/gib, memUtil*100, r.HW.Chip.HBMGB),
			Hints: []string{fmt.Sprintf("more than %.0f chips", need), "fp8 or fp4 weights (serving.precision)", "a chip with more memory"},
		}
	}
	c := sr.closest
	var want []string
	if r.TTFT > 0 {
		want = append(want, fmt.Sprintf("TTFT <= %.0f ms", r.TTFT*1e3))
	}
	if r.TPOT > 0 {
		want = append(want, fmt.Sprintf("TPOT <= %.1f ms", r.TPOT*1e3))
	}
	var hints []string
	if r.TPOT > 0 && c.TPOTS > r.TPOT {
		hints = append(hints, fmt.Sprintf("serving.tpot_ms >= %.1f", math.Ceil(c.TPOTS*1e4)/10))
	}
	if r.TTFT > 0 && c.TTFTS > r.TTFT {
		hints = append(hints, fmt.Sprintf("serving.ttft_ms >= %.0f", math.Ceil(c.TTFTS*1e3)))
	}
	hints = append(hints, "more chips", "fp8 weights and KV cache")
	return &NoLayoutError{
		Reason: fmt.Sprintf("no layout meets %s; the nearest, %s %s at concurrency %d, reaches TTFT %.0f ms and TPOT %.1f ms (bound by %s)",
			strings.Join(want, " and "), c.Mode, c.Parallel, c.Concurrency, c.TTFTS*1e3, c.TPOTS*1e3, c.Bottleneck),
		Closest: &c, Hints: hints,
	}
}

// explain says what bounds the winner, what limits its concurrency, how
// the two modes compare and what separates the runner-up.
func (sr *searcher) explain() []string {
	w := &sr.best[0]
	d := &w.Decode
	step := w.TPOTS
	var out []string
	terms := []struct {
		name string
		v    float64
	}{{BottleneckWeights, d.WeightsS}, {BottleneckKV, d.KVCacheS}, {BottleneckCompute, d.ComputeS},
		{BottleneckAllToAll, d.AllToAllS}, {BottleneckTP, d.TPCommS}, {BottleneckLaunch, d.LaunchS},
		{BottleneckPrefill, d.PrefillS}, {BottleneckPP, d.PPCommS}}
	slices.SortStableFunc(terms, func(a, b struct {
		name string
		v    float64
	}) int {
		return cmp.Compare(b.v, a.v)
	})
	var rest []string
	for _, t := range terms[1:] {
		if t.v > 0.05*step {
			rest = append(rest, fmt.Sprintf("%s %.0f%%", t.name, 100*t.v/step))
		}
	}
	line := fmt.Sprintf("bottleneck: %s, %.0f%% of the %.1f ms decode step", terms[0].name, 100*terms[0].v/step, step*1e3)
	if len(rest) > 0 {
		line += " (" + strings.Join(rest, ", ") + ")"
	}
	out = append(out, line)

	// What limits the concurrency.
	switch {
	case sr.r.Serving.Concurrency != nil:
		out = append(out, fmt.Sprintf("concurrency: %d requests per instance, as given", w.Concurrency))
	case w.Concurrency >= w.Memory.MaxConcurrency*9/10:
		out = append(out, fmt.Sprintf("concurrency: %d requests per instance, limited by memory capacity: their KV cache (%.1f GiB per device) fills what the weights (%.1f GiB) leave of %.1f GiB",
			w.Concurrency, w.Memory.KVCacheGiB, w.Memory.WeightsGiB, w.Memory.CapacityGiB))
	case sr.r.TPOT > 0 || sr.r.TTFT > 0:
		out = append(out, fmt.Sprintf("concurrency: %d requests per instance, limited by the latency targets (memory would hold %d)", w.Concurrency, w.Memory.MaxConcurrency))
	}
	if w.Mode == ModeDisaggregated {
		p := w.PrefillParallel
		out = append(out, fmt.Sprintf("pools: %d prefill chips (%d instances of tp%d ep%d pp%d adp%d) feed %d decode chips (%d instances); prefill:decode = %.2f; a prompt's KV cache moves in %.1f ms",
			w.PrefillChips, p.DP, p.TP, p.EP, p.PP, p.AttentionDP, w.DecodeChips, w.Parallel.DP,
			float64(w.PrefillChips)/float64(w.DecodeChips), w.KVTransferS*1e3))
	}
	other := ModeAggregated
	if w.Mode == ModeAggregated {
		other = ModeDisaggregated
	}
	if o, ok := sr.bestMode[other]; ok {
		out = append(out, fmt.Sprintf("mode: %s serves %.2fx the output tokens/s per chip of the best %s layout (%s, %.0f tokens/s per chip)",
			w.Mode, w.OutputTokensPerSPerChip/o.OutputTokensPerSPerChip, other, o.Parallel, o.OutputTokensPerSPerChip))
	}
	if len(sr.best) > 1 {
		ru := &sr.best[1]
		out = append(out, fmt.Sprintf("runner-up: %s %s at concurrency %d, %.1f%% lower on the objective",
			ru.Mode, ru.Parallel, ru.Concurrency, 100*(1-sr.key(ru)/sr.key(w))))
	}
	return out
}
