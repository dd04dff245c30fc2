// Package search finds the best parallel layouts for a run: it enumerates
// the knobs the run leaves open, prunes what cannot fit or cannot win,
// evaluates the rest on all cores and keeps the top N and the Pareto front.
//
// The space is tp, pp, cp (dp follows from the chip count), ep, vpp,
// micro_batch, ZeRO stage, recompute mode and sequence parallelism; knobs
// the run gives keep their value. Whether a layout is valid is decided by
// spec.Resolved.Violation only. Pruning never changes the answer: it skips
// only layouts that provably cannot fit in memory, using three properties
// of the estimator's memory model that the tests check (a ZeRO stage never
// needs less memory than one before it in estimate.MemoryOrder, sequence
// parallelism on never needs more than
// off, selective recompute never more than none), and it keeps, within one
// group of layouts that differ only in ZeRO, recompute and sequence
// parallelism, those no other member matches or beats on objective, step
// time and memory at once.
package search

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/flopcast/flopcast"
	"github.com/flopcast/flopcast/economics"
	"github.com/flopcast/flopcast/estimate"
	"github.com/flopcast/flopcast/spec"
)

// Objective ranks layouts.
type Objective string

// Objectives.
const (
	ObjectiveTime   Objective = "time"   // step time (equivalently tokens/s)
	ObjectiveCost   Objective = "cost"   // dollars per token
	ObjectiveEnergy Objective = "energy" // joules per token
)

// Objectives lists the valid objectives.
var Objectives = []Objective{ObjectiveTime, ObjectiveCost, ObjectiveEnergy}

// ParseObjective reads an objective name; "" is ObjectiveTime.
func ParseObjective(s string) (Objective, error) {
	if s == "" {
		return ObjectiveTime, nil
	}
	if o := Objective(s); slices.Contains(Objectives, o) {
		return o, nil
	}
	return "", &flopcast.FieldError{Field: "objective", Value: strconv.Quote(s), Allowed: "time, cost, energy"}
}

// Options tune a search. DefaultOptions gives the defaults.
type Options struct {
	Top       int       // results kept (default 10)
	Objective Objective // default time
	Workers   int       // 0: GOMAXPROCS
	// Progress, if set, is called now and then with done and total counts
	// of outer tasks, from one goroutine at a time.
	Progress func(done, total int64)

	// Fastest asks for the best layout alone (Top is 1): a layout is
	// skipped unestimated when a lower bound on its step time
	// (estimate.Evaluator.StepTimeLowerBound) exceeds the step of a
	// fitting layout already found, as it cannot win under any objective
	// (they all rank by step time, see Score). The winner is the one an
	// exhaustive search ranks first; Evaluated and Feasible count the
	// layouts estimated, Pruned includes the bounded ones, and Pareto
	// holds the winner only. Planning (capex) needs no more. With more
	// than one worker the counts depend on the order the workers find
	// layouts in; the winner does not.
	Fastest bool

	// exhaustive turns pruning off (tests compare against it).
	exhaustive bool
}

// DefaultOptions are the options used when none are given.
var DefaultOptions = Options{Top: 10, Objective: ObjectiveTime}

// Report is the outcome of a search. Its JSON is described in docs/output.md.
type Report struct {
	Results   []estimate.Result `json:"results"`
	Pareto    []estimate.Result `json:"pareto"`
	Evaluated int64             `json:"evaluated"` // full estimates done
	Feasible  int64             `json:"feasible"`  // evaluated layouts that are valid and fit
	ElapsedS  float64           `json:"elapsed_s"`
	// Explanation of the winner: bottleneck, sensitivity, roofline distance.
	Explanation []string `json:"explanation,omitempty"`

	// Candidates is the number of layouts enumerated, Valid those that
	// pass spec's rules, and Pruned the valid ones skipped because they
	// provably cannot fit (never estimated). Valid = Evaluated + Pruned.
	Candidates int64 `json:"candidates"`
	Valid      int64 `json:"valid"`
	Pruned     int64 `json:"pruned"`
	// Objective ranked Results; Scores holds each result's value of it
	// (seconds, USD per token or J per token).
	Objective Objective `json:"objective"`
	Scores    []float64 `json:"scores"`
}

// Score is res's objective value: the step time in seconds, the dollars per
// trained token, or the joules per trained token.
func Score(r *spec.Resolved, obj Objective, res *estimate.Result) float64 {
	return scoreFactor(r, obj) * res.StepTimeS
}

// scoreFactor turns a step time into the objective. Chips, price, power and
// tokens per step are the same for every layout of a run, so all three
// objectives rank alike; they differ in the number shown.
func scoreFactor(r *spec.Resolved, obj Objective) float64 {
	tokens := r.TokensPerStep()
	switch obj {
	case ObjectiveCost:
		price, _, _ := economics.PricePerChipHour(r)
		return float64(r.Chips) * price / 3600 / tokens
	case ObjectiveEnergy:
		// Every chip at full power for the whole step, no hosts or PUE:
		// the same for every layout of a run, so it ranks, it does not bill.
		return float64(r.Chips) * economics.ChipPowerW(r) / tokens
	}
	return 1
}

// searcher is one search's shared, read-only state.
type searcher struct {
	r      *spec.Resolved
	e      *estimate.Estimator
	sp     *space
	factor float64
	opt    Options
	next   atomic.Int64 // next task
	done   atomic.Int64 // tasks finished
	// best is the shortest step of a fitting layout found so far
	// (math.Float64bits), for Options.Fastest.
	best atomic.Uint64
	stop <-chan struct{}
}

// worker holds one goroutine's buffers and partial results, merged at the
// end, so that the hot path neither allocates nor synchronises.
type worker struct {
	s    *searcher
	ev   *estimate.Evaluator // reuses layer costs across a group's variants
	top  topK
	par  pareto
	grp  group
	keep [maxInner]bool

	evaluated, feasible, valid, pruned, candidates int64

	viol      [32]int64
	violEx    [32]spec.Layout
	closest   estimate.Result
	hasClose  bool
	cancelled bool
}

// group is the inner variants of one (tp, pp, dp, cp, ep, vpp, mb).
type group struct {
	n     int
	l     [maxInner]spec.Layout
	ri    [maxInner]int8 // index into space.rc
	si    [maxInner]int8 // index into the sp list
	zi    [maxInner]int8 // index into space.zero or space.zeroPP
	state [maxInner]uint8
	res   [maxInner]scored
}

const (
	stInvalid uint8 = iota
	stValid
	stEvaluated
	stPruned
)

// Run searches the layouts of r that r.Given leaves open.
func Run(ctx context.Context, r *spec.Resolved, opt Options) (*Report, error) {
	start := time.Now()
	if r == nil {
		return nil, fmt.Errorf("search: nil run")
	}
	if opt.Top <= 0 {
		opt.Top = DefaultOptions.Top
	}
	if opt.Fastest {
		opt.Top = 1
	}
	obj, err := ParseObjective(string(opt.Objective))
	if err != nil {
		return nil, err
	}
	opt.Objective = obj
	if opt.Workers <= 0 {
		opt.Workers = runtime.GOMAXPROCS(0)
	}
	e, err := estimate.New(r)
	if err != nil {
		return nil, err
	}
	s := &searcher{r: r, e: e, sp: newSpace(r), factor: scoreFactor(r, opt.Objective), opt: opt, stop: ctx.Done()}
	s.best.Store(math.Float64bits(math.Inf(1)))
	if len(s.sp.tasks) == 0 {
		// The given knobs alone leave no tp×pp×cp dividing the chips.
		if err := r.CheckLayout(r.Layout); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("search: the given knobs leave no layout for %d chips", r.Chips)
	}
	workers := min(opt.Workers, max(len(s.sp.tasks), 1))
	ws := make([]*worker, workers)
	var wg sync.WaitGroup
	for i := range ws {
		w := &worker{s: s, ev: s.e.Evaluator(), top: newTopK(opt.Top)}
		w.par.p = make([]estimate.Result, 0, 64)
		ws[i] = w
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.run()
		}()
	}
	if opt.Progress != nil {
		total := int64(len(s.sp.tasks))
		fin := make(chan struct{})
		go func() { wg.Wait(); close(fin) }()
		tick := time.NewTicker(100 * time.Millisecond)
	loop:
		for {
			select {
			case <-fin:
				break loop
			case <-tick.C:
				opt.Progress(s.done.Load(), total)
			}
		}
		tick.Stop()
		opt.Progress(s.done.Load(), total)
	} else {
		wg.Wait()
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	return s.merge(ws, start)
}

func (w *worker) run() {
	s := w.s
	for {
		i := s.next.Add(1) - 1
		if i >= int64(len(s.sp.tasks)) {
			return
		}
		w.task(&s.sp.tasks[i])
		s.done.Add(1)
		if w.cancelled {
			return
		}
	}
}

func (w *worker) task(t *task) {
	s := w.s
	for _, ep := range t.ep {
		for _, etp := range t.etp {
			for _, vpp := range t.vpp {
				sched := spec.DefaultSchedule(vpp)
				if s.sp.scheduleGiven {
					sched = s.sp.schedule
				}
				for _, mb := range t.mb {
					for _, off := range s.sp.offload {
						select {
						case <-s.stop:
							w.cancelled = true
							return
						default:
						}
						w.group(spec.Layout{TP: t.tp, PP: t.pp, DP: t.dp, CP: t.cp, EP: ep, ETP: etp, VPP: vpp, MicroBatch: mb,
							Offload: off, Schedule: sched})
					}
				}
			}
		}
	}
}

// group enumerates, checks, prunes and evaluates the inner variants of
// base, then hands the undominated feasible ones to the top-N and the
// Pareto front.
func (w *worker) group(base spec.Layout) {
	s, sp, g := w.s, w.s.sp, &w.grp
	var spBuf [2]bool
	sps := sp.spList(base.TP, &spBuf)
	zeros := sp.zero
	if base.PP > 1 {
		zeros = sp.zeroPP
	}
	g.n = 0
	// Validity does not depend on the knobs a group varies (recompute,
	// sequence parallelism, and ZeRO stages the space keeps in 0..3), so
	// the rules run once per group, and an invalid group is only counted.
	if v := s.r.Violation(base); v != spec.OK {
		n := len(sp.rc) * len(sps) * len(zeros)
		w.candidates += int64(n)
		if n > 0 && int(v) < len(w.viol) {
			if w.viol[v] == 0 {
				l := base
				l.Recompute, l.SequenceParallel, l.ZeRO = sp.rc[0], sps[0], zeros[0]
				w.violEx[v] = l
			}
			w.viol[v] += int64(n)
		}
		return
	}
	for ri, rc := range sp.rc {
		for si, spv := range sps {
			for zi, z := range zeros {
				n := g.n
				g.l[n] = base
				g.l[n].Recompute, g.l[n].SequenceParallel, g.l[n].ZeRO = rc, spv, z
				g.ri[n], g.si[n], g.zi[n], g.state[n] = int8(ri), int8(si), int8(zi), stValid
				g.n++
			}
		}
	}
	w.candidates += int64(g.n)
	w.valid += int64(g.n)

	// Probes: the most memory-saving variant of each recompute class (the
	// first ZeRO stage of estimate.MemoryOrder, sequence parallelism on where tried, selective
	// or none, and full). A variant is at least as large as its class's
	// probe, so a probe that does not fit rules its class out.
	prune := !s.opt.exhaustive
	if prune && s.opt.Fastest && w.pruneByBound(base) {
		return
	}
	probeLight, probeFull := -1, -1
	if prune {
		for i := 0; i < g.n; i++ {
			if g.zi[i] != 0 || g.si[i] != 0 || g.state[i] != stValid {
				continue
			}
			switch int(g.ri[i]) {
			case sp.lightRC:
				probeLight = i
				w.eval(i)
			case sp.fullRC:
				probeFull = i
				w.eval(i)
			}
		}
	}
	failed := -1 // (ri, si) whose higher ZeRO stage did not fit
	for i := 0; i < g.n; i++ {
		if g.state[i] != stValid {
			continue
		}
		key := int(g.ri[i])*2 + int(g.si[i])
		if prune {
			// A class's probe bounds its members from below: full for
			// full, selective (or none) for none and selective. Other
			// module sets may need less memory than selective and are
			// not pruned by a probe.
			probe := -1
			switch sp.bound[g.ri[i]] {
			case boundFull:
				probe = probeFull
			case boundLight:
				probe = probeLight
			}
			free := estimate.OutsideMemoryOrder(g.l[i].PP, g.l[i].ZeRO)
			if !free && ((probe >= 0 && !g.res[probe].res.Memory.Fits) || failed == key) {
				g.state[i] = stPruned
				w.pruned++
				continue
			}
		}
		w.eval(i)
		if prune && !g.res[i].res.Memory.Fits && !estimate.OutsideMemoryOrder(g.l[i].PP, g.l[i].ZeRO) {
			failed = key // later ZeRO stages in the order need no less memory
		}
	}
	w.keepUndominated()
}

// pruneByBound marks the variants of the current group (of base) that
// cannot beat the fastest fitting layout found so far (Options.Fastest),
// and reports whether that is all of them, which one group bound shows
// without looking at each.
func (w *worker) pruneByBound(base spec.Layout) bool {
	g := &w.grp
	best := math.Float64frombits(w.s.best.Load())
	if w.ev.GroupStepTimeLowerBound(base) > best {
		w.pruned += int64(g.n)
		return true
	}
	for i := 0; i < g.n; i++ {
		if w.ev.StepTimeLowerBound(g.l[i]) > best {
			g.state[i] = stPruned
			w.pruned++
		}
	}
	return false
}

// keepUndominated is the group filter: it keeps the feasible variants of
// the current group that no other feasible variant matches or beats on
// objective, step time and memory, and hands them to the worker's top list
// (and Pareto front).
func (w *worker) keepUndominated() {
	g := &w.grp
	for i := 0; i < g.n; i++ {
		w.keep[i] = g.state[i] == stEvaluated && g.res[i].res.Memory.Fits
	}
	for i := 0; i < g.n; i++ {
		if !w.keep[i] {
			continue
		}
		for j := 0; j < g.n; j++ {
			if j != i && g.state[j] == stEvaluated && g.res[j].res.Memory.Fits && dominatesScored(&g.res[j], &g.res[i]) {
				w.keep[i] = false
				break
			}
		}
	}
	for i := 0; i < g.n; i++ {
		if w.keep[i] {
			w.top.push(&g.res[i])
			if !w.s.opt.Fastest {
				w.par.add(&g.res[i].res)
			}
		}
	}
}

// eval estimates variant i of the current group once.
func (w *worker) eval(i int) {
	g := &w.grp
	if g.state[i] == stEvaluated {
		return
	}
	g.state[i] = stEvaluated
	sc := &g.res[i]
	w.ev.Eval(g.l[i], &sc.res)
	sc.score = w.s.factor * sc.res.StepTimeS
	w.evaluated++
	if sc.res.Memory.Fits {
		w.feasible++
		if w.s.opt.Fastest {
			w.s.lower(sc.res.StepTimeS)
		}
		return
	}
	if !w.hasClose || sc.res.Memory.OverflowGiB < w.closest.Memory.OverflowGiB ||
		(sc.res.Memory.OverflowGiB == w.closest.Memory.OverflowGiB && compareLayout(&sc.res.Parallel, &w.closest.Parallel) < 0) {
		w.closest, w.hasClose = sc.res, true
	}
}

// lower makes step the best step found if it is shorter.
func (s *searcher) lower(step float64) {
	for {
		old := s.best.Load()
		if step >= math.Float64frombits(old) || s.best.CompareAndSwap(old, math.Float64bits(step)) {
			return
		}
	}
}

// merge combines the workers' results into the report.
func (s *searcher) merge(ws []*worker, start time.Time) (*Report, error) {
	rep := &Report{Objective: s.opt.Objective, Results: []estimate.Result{}, Pareto: []estimate.Result{}, Scores: []float64{}}
	var all []scored
	var front pareto
	var viol [32]int64
	var violEx [32]spec.Layout
	var closest *estimate.Result
	minDP := -1
	for i := range s.sp.tasks {
		if d := s.sp.tasks[i].dp; d > 0 && (minDP < 0 || d < minDP) {
			minDP = d
		}
	}
	for _, w := range ws {
		rep.Evaluated += w.evaluated
		rep.Feasible += w.feasible
		rep.Valid += w.valid
		rep.Pruned += w.pruned
		rep.Candidates += w.candidates
		all = append(all, w.top.h...)
		for i := range w.par.p {
			front.add(&w.par.p[i])
		}
		for v := range w.viol {
			if w.viol[v] > 0 && (viol[v] == 0 || compareLayout(&w.violEx[v], &violEx[v]) < 0) {
				violEx[v] = w.violEx[v]
			}
			viol[v] += w.viol[v]
		}
		if w.hasClose && (closest == nil || w.closest.Memory.OverflowGiB < closest.Memory.OverflowGiB ||
			(w.closest.Memory.OverflowGiB == closest.Memory.OverflowGiB && compareLayout(&w.closest.Parallel, &closest.Parallel) < 0)) {
			c := w.closest
			closest = &c
		}
	}
	slices.SortFunc(all, func(a, b scored) int { return better(&a, &b) })
	if len(all) > s.opt.Top {
		all = all[:s.opt.Top]
	}
	for i := range all {
		rep.Results = append(rep.Results, all[i].res)
		rep.Scores = append(rep.Scores, all[i].score)
	}
	rep.Pareto = append(rep.Pareto, front.p...)
	if s.opt.Fastest {
		rep.Pareto = append(rep.Pareto, rep.Results...)
	}
	if len(rep.Results) == 0 {
		return nil, s.noLayout(rep, &viol, &violEx, closest, minDP)
	}
	rep.Explanation = explain(s, rep)
	rep.ElapsedS = time.Since(start).Seconds()
	return rep, nil
}
