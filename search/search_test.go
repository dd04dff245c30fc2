package search

import (
	"context"
	"errors"
	"github.com/flopcast/flopcast"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flopcast/flopcast/economics"
	"github.com/flopcast/flopcast/estimate"
	"github.com/flopcast/flopcast/model"
	"github.com/flopcast/flopcast/spec"
	"github.com/google/go-cmp/cmp"
)

func ip(v int) *int                        { return &v }
func bp(v bool) *bool                      { return &v }
func sp(v string) *string                  { return &v }
func rcp(v spec.Recompute) *spec.Recompute { return &v }
func fp(v float64) *float64                { return &v }

// namedRun is a run a test or benchmark searches, by name.
type namedRun struct {
	name string
	run  spec.Run
}

// catalogRun is a run of the catalog model name on chips of the catalog chip at
// seqLen and globalBatch, every other setting left to its default.
func catalogRun(name, chip string, chips, seqLen, globalBatch int) spec.Run {
	return spec.Run{Model: spec.ModelRef{Name: name}, Cluster: spec.Cluster{Chip: chip, Chips: chips},
		Training: spec.Training{SeqLen: seqLen, GlobalBatch: globalBatch}}
}

// smallRuns are spaces small enough to enumerate exhaustively, chosen to
// cover dense and MoE models, both recipes, FP8, unfused attention, given
// knobs, and memory-tight clusters where most layouts are pruned.
func smallRuns() []namedRun {
	gpt := spec.Run{Model: spec.ModelRef{Inline: &model.Config{Layers: 24, Hidden: 2304, Heads: 24, FFN: 9216, FFNKind: "gelu", Vocab: 51200, TiedEmbeddings: true}},
		Cluster: spec.Cluster{Chip: "a100-sxm-80gb", Chips: 32}, Training: spec.Training{SeqLen: 2048, GlobalBatch: 512, Recipe: "pytorch-amp", FlashAttention: bp(false), Dropout: true}}
	fp8 := catalogRun("llama3-70b", "h100-sxm", 128, 8192, 256)
	fp8.Training.Precision = "fp8"
	fp8.Parallel = spec.Parallel{TP: ip(8), ZeRO: ip(1)}
	return []namedRun{
		{"llama3-8b-h100-64", catalogRun("llama3-8b", "h100-sxm", 64, 4096, 256)},
		{"llama3-70b-a100-16-tight", catalogRun("llama3-70b", "a100-sxm-80gb", 16, 8192, 64)},
		{"mixtral-8x7b-h100-16", catalogRun("mixtral-8x7b", "h100-sxm", 16, 4096, 128)},
		{"gpt-1.7b-eager-unfused", gpt},
		{"llama3-70b-fp8-given", fp8},
	}
}

func mustResolve(t testing.TB, run spec.Run) *spec.Resolved {
	t.Helper()
	r, err := spec.Resolve(&run)
	if err != nil {
		t.Fatalf("resolve: %v", err)
	}
	return r
}

// bruteForce is the reference: every candidate, one goroutine, no
// pruning. It returns the feasible layouts' estimates and the candidate
// count; reference ranks them for one objective.
func bruteForce(t *testing.T, r *spec.Resolved) (feasible []estimate.Result, candidates int64) {
	t.Helper()
	e, err := estimate.New(r)
	if err != nil {
		t.Fatal(err)
	}
	s := newSpace(r)
	for _, tk := range s.tasks {
		var buf [2]bool
		for _, ep := range tk.ep {
			for _, etp := range tk.etp {
				for _, vpp := range tk.vpp {
					for _, mb := range tk.mb {
						for _, off := range s.offload {
							for _, rc := range s.rc {
								for _, spv := range s.spList(tk.tp, &buf) {
									for _, z := range s.zero {
										candidates++
										l := spec.Layout{TP: tk.tp, PP: tk.pp, DP: tk.dp, CP: tk.cp, EP: ep, ETP: etp, VPP: vpp, MicroBatch: mb, ZeRO: z, Recompute: rc,
											Offload: off, Schedule: spec.DefaultSchedule(vpp), SequenceParallel: spv}
										if s.scheduleGiven {
											l.Schedule = s.schedule
										}
										if r.Violation(l) != spec.OK {
											continue
										}
										res := e.Estimate(l)
										if !res.Memory.Fits {
											continue
										}
										feasible = append(feasible, res)
									}
								}
							}
						}
					}
				}
			}
		}
	}
	return feasible, candidates
}

// reference is a naive implementation of the group filter, ranking and
// Pareto front over the brute-force feasible layouts, for one objective.
func reference(r *spec.Resolved, feasible []estimate.Result, opt Options) (top []estimate.Result, front []estimate.Result) {
	f := scoreFactor(r, opt.Objective)
	type key struct {
		tp, pp, dp, cp, ep, etp, vpp, mb int
		off                              spec.Offload
	}
	// Pointers, not copies: a Result is large and there are tens of
	// thousands of them to group and sort.
	scores := make([]scored, len(feasible))
	groups := map[key][]*scored{}
	all := make([]*scored, len(feasible))
	for i, res := range feasible {
		scores[i] = scored{score: f * res.StepTimeS, res: res}
		sc := &scores[i]
		l := res.Parallel
		k := key{l.TP, l.PP, l.DP, l.CP, l.EP, l.ETP, l.VPP, l.MicroBatch, l.Offload}
		groups[k] = append(groups[k], sc)
		all[i] = sc
	}
	var kept []*scored
	for _, g := range groups {
		for i := range g {
			dom := false
			for j := range g {
				if i != j && dominatesScored(g[j], g[i]) {
					dom = true
					break
				}
			}
			if !dom {
				kept = append(kept, g[i])
			}
		}
	}
	slices.SortFunc(kept, better)
	for i := 0; i < len(kept) && i < opt.Top; i++ {
		top = append(top, kept[i].res)
	}
	// Pareto: sort by step, then memory, then layout; a point is on the
	// front when its memory is below every earlier point's.
	slices.SortFunc(all, func(a, b *scored) int {
		if c := cmpf(a.res.StepTimeS, b.res.StepTimeS); c != 0 {
			return c
		}
		if c := cmpf(a.res.Memory.PeakGiB, b.res.Memory.PeakGiB); c != 0 {
			return c
		}
		return compareLayout(&a.res.Parallel, &b.res.Parallel)
	})
	minMem := 0.0
	for i, a := range all {
		if i == 0 || a.res.Memory.PeakGiB < minMem {
			front = append(front, a.res)
			minMem = a.res.Memory.PeakGiB
		}
	}
	return top, front
}

// TestPrunedMatchesBruteForce: pruning and parallel evaluation change
// neither the top N, nor the Pareto front, nor the feasible count, for any
// objective, and a Fastest search finds the fastest layout. Each run is enumerated by brute force once (the objectives
// differ only in the score's factor, which reference applies); the runs
// are checked in parallel, since the brute force uses one core.
func TestPrunedMatchesBruteForce(t *testing.T) {
	for _, c := range smallRuns() {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			r := mustResolve(t, c.run)
			feasible, candidates := bruteForce(t, r)
			// The objectives rank alike, so one exhaustive (unpruned)
			// search is the reference for all three.
			ex, err := Run(context.Background(), r, Options{Top: 15, Workers: 1, exhaustive: true})
			if err != nil {
				t.Fatal(err)
			}
			if ex.Evaluated != ex.Valid || ex.Pruned != 0 {
				t.Errorf("exhaustive: evaluated %d of %d valid, pruned %d", ex.Evaluated, ex.Valid, ex.Pruned)
			}
			// A Fastest search finds brute force's best layout, whatever
			// the objective.
			for _, obj := range Objectives {
				fast, err := Run(context.Background(), r, Options{Fastest: true, Objective: obj, Workers: 2})
				if err != nil {
					t.Fatal(err)
				}
				if top, _ := reference(r, feasible, Options{Top: 1, Objective: obj}); !cmp.Equal(top, fast.Results) {
					t.Errorf("%s: fastest differs from brute force (-brute +fastest):\n%s", obj, cmp.Diff(top, fast.Results))
				}
			}
			for _, obj := range Objectives {
				t.Run(string(obj), func(t *testing.T) {
					opt := Options{Top: 15, Objective: obj, Workers: 3}
					rep, err := Run(context.Background(), r, opt)
					if err != nil {
						t.Fatal(err)
					}
					top, front := reference(r, feasible, opt)
					if diff := cmp.Diff(top, rep.Results); diff != "" {
						t.Errorf("top-N differs from brute force (-brute +search):\n%s", diff)
					}
					if diff := cmp.Diff(front, rep.Pareto); diff != "" {
						t.Errorf("Pareto front differs from brute force (-brute +search):\n%s", diff)
					}
					if rep.Feasible != int64(len(feasible)) {
						t.Errorf("feasible = %d, brute force %d", rep.Feasible, len(feasible))
					}
					if rep.Candidates != candidates {
						t.Errorf("candidates = %d, brute force %d", rep.Candidates, candidates)
					}
					if rep.Valid != rep.Evaluated+rep.Pruned {
						t.Errorf("valid %d != evaluated %d + pruned %d", rep.Valid, rep.Evaluated, rep.Pruned)
					}
					if diff := cmp.Diff(ex.Results, rep.Results); diff != "" {
						t.Errorf("pruned differs from exhaustive (-exhaustive +pruned):\n%s", diff)
					}
					t.Logf("candidates %d, valid %d, evaluated %d, pruned %d, feasible %d", rep.Candidates, rep.Valid, rep.Evaluated, rep.Pruned, rep.Feasible)
				})
			}
		})
	}
}

// TestMemoryMonotone checks the properties the pruning relies on, over
// random valid layouts: a higher ZeRO stage, sequence parallelism on, and
// the next of the nested recompute sets (full aside) never need more
// memory.
func TestMemoryMonotone(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, c := range smallRuns() {
		t.Run(c.name, func(t *testing.T) {
			r := mustResolve(t, c.run)
			e, err := estimate.New(r)
			if err != nil {
				t.Fatal(err)
			}
			s := newSpace(r)
			mem := func(l spec.Layout) (float64, bool) {
				if r.Violation(l) != spec.OK {
					return 0, false
				}
				res := e.Estimate(l)
				return res.Memory.PeakGiB, true
			}
			le := func(a, b float64) bool { return a <= b*(1+1e-12) }
			checked := 0
			for range 3000 {
				tk := &s.tasks[rng.IntN(len(s.tasks))]
				l := spec.Layout{TP: tk.tp, PP: tk.pp, DP: tk.dp, CP: tk.cp, EP: tk.ep[rng.IntN(len(tk.ep))], ETP: tk.tp,
					VPP: tk.vpp[rng.IntN(len(tk.vpp))], MicroBatch: tk.mb[rng.IntN(len(tk.mb))], ZeRO: rng.IntN(4),
					SequenceParallel: rng.IntN(2) == 0}
				ri := rng.IntN(len(s.rc))
				l.Recompute = s.rc[ri]
				l.Schedule = spec.DefaultSchedule(l.VPP)
				m0, ok := mem(l)
				if !ok {
					continue
				}
				checked++
				// The next stage towards the front of MemoryOrder.
				order := estimate.MemoryOrder(l.PP)
				if i := slices.Index(order, l.ZeRO); i > 0 {
					h := l
					h.ZeRO = order[i-1]
					if m1, ok := mem(h); ok && !le(m1, m0) {
						t.Errorf("zero %d → %d raises memory %.6f → %.6f GiB for %v", l.ZeRO, h.ZeRO, m0, m1, l)
					}
				}
				if l.TP > 1 && !l.SequenceParallel {
					h := l
					h.SequenceParallel = true
					if m1, ok := mem(h); ok && !le(m1, m0) {
						t.Errorf("sequence parallelism raises memory %.6f → %.6f GiB for %v", m0, m1, l)
					}
				}
				if ri < s.lightRC {
					h := l
					h.Recompute = s.rc[ri+1]
					if m1, ok := mem(h); ok && !le(m1, m0) {
						t.Errorf("recompute %v → %v raises memory %.6f → %.6f GiB for %v", l.Recompute, h.Recompute, m0, m1, l)
					}
				}
			}
			if checked == 0 {
				t.Fatal("no valid layout sampled")
			}
		})
	}
}

// TestWorkersDoNotChangeTheAnswer: the report is the same on 1 to 7
// workers.
func TestWorkersDoNotChangeTheAnswer(t *testing.T) {
	r := mustResolve(t, smallRuns()[0].run)
	var first *Report
	for _, w := range []int{1, 2, 7} {
		rep, err := Run(context.Background(), r, Options{Top: 10, Workers: w})
		if err != nil {
			t.Fatal(err)
		}
		rep.ElapsedS = 0
		if first == nil {
			first = rep
			continue
		}
		if diff := cmp.Diff(first, rep); diff != "" {
			t.Errorf("workers=%d differs from workers=1:\n%s", w, diff)
		}
	}
}

func TestGivenKnobsAreKept(t *testing.T) {
	run := smallRuns()[0].run
	run.Parallel = spec.Parallel{TP: ip(2), Recompute: rcp(spec.RecomputeFull), SequenceParallel: bp(false), MicroBatch: ip(1)}
	r := mustResolve(t, run)
	rep, err := Run(context.Background(), r, Options{Top: 50})
	if err != nil {
		t.Fatal(err)
	}
	for _, res := range append(rep.Results, rep.Pareto...) {
		l := res.Parallel
		if l.TP != 2 || l.Recompute != spec.RecomputeFull || l.SequenceParallel || l.MicroBatch != 1 {
			t.Errorf("layout %v ignores a given knob", l)
		}
		if l.TP*l.PP*l.DP*l.CP != r.Chips {
			t.Errorf("layout %v does not use %d chips", l, r.Chips)
		}
	}
}

// Given etp, pp_schedule and offload are kept; left open, etp is searched
// for a MoE model (folding over tp×cp×dp) and stays tp for a dense one.
func TestExpertTPAndScheduleKnobs(t *testing.T) {
	moe := spec.Run{Model: spec.ModelRef{Name: "qwen3-235b-a22b"}, Cluster: spec.Cluster{Chip: "h100-sxm", Chips: 256},
		Training: spec.Training{SeqLen: 4096, GlobalBatch: 1024}}
	for _, tc := range []struct {
		name  string
		run   spec.Run
		check func(t *testing.T, s *space, rep *Report)
	}{
		{"moe open etp", withParallel(moe, spec.Parallel{TP: ip(2), PP: ip(8)}), func(t *testing.T, s *space, rep *Report) {
			etps := map[int]bool{}
			for _, tk := range s.tasks {
				for _, e := range tk.etp {
					etps[e] = true
				}
			}
			if !etps[1] || !etps[2] {
				t.Errorf("etp candidates %v; want 1 and tp 2", etps)
			}
			eps := false
			for _, res := range rep.Results {
				if res.Parallel.EP*res.Parallel.ETP > res.Parallel.DP*res.Parallel.CP {
					eps = true // folded over tp: beyond the old ep | dp×cp rule
				}
			}
			if !eps && len(rep.Results) > 0 {
				t.Logf("no result folds experts over tp (results %d)", len(rep.Results))
			}
		}},
		{"moe given etp and schedule", withParallel(moe, spec.Parallel{TP: ip(2), PP: ip(8), EP: ip(32), ETP: ip(1), PPSchedule: schedp(spec.ScheduleDualPipe), Offload: offp(spec.OffloadOptimizer)}),
			func(t *testing.T, s *space, rep *Report) {
				if len(rep.Results) == 0 {
					t.Fatal("no result")
				}
				for _, res := range rep.Results {
					l := res.Parallel
					if l.ETP != 1 || l.EP != 32 || l.Schedule != spec.ScheduleDualPipe || l.VPP != 1 || l.Offload != spec.OffloadOptimizer {
						t.Errorf("layout %v ignores a given knob", l)
					}
				}
			}},
		{"dense", smallRuns()[0].run, func(t *testing.T, s *space, rep *Report) {
			for _, tk := range s.tasks {
				if len(tk.etp) != 1 || tk.etp[0] != tk.tp {
					t.Fatalf("dense task tp %d has etp %v", tk.tp, tk.etp)
				}
			}
			for _, res := range rep.Results {
				if l := res.Parallel; l.ETP != l.TP || l.Schedule != spec.DefaultSchedule(l.VPP) {
					t.Errorf("layout %v: etp or schedule off the defaults", l)
				}
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := mustResolve(t, tc.run)
			rep, err := Run(context.Background(), r, Options{Top: 20})
			if err != nil {
				t.Fatal(err)
			}
			for _, res := range rep.Results {
				if v := r.Violation(res.Parallel); v != spec.OK {
					t.Errorf("result %v breaks a rule: %v", res.Parallel, r.CheckLayout(res.Parallel))
				}
			}
			tc.check(t, newSpace(r), rep)
		})
	}
}

func withParallel(run spec.Run, p spec.Parallel) spec.Run { run.Parallel = p; return run }
func schedp(v spec.Schedule) *spec.Schedule               { return &v }
func offp(v spec.Offload) *spec.Offload                   { return &v }

func TestResultsAreValidFeasibleAndRanked(t *testing.T) {
	for _, c := range smallRuns() {
		r := mustResolve(t, c.run)
		rep, err := Run(context.Background(), r, Options{Top: 20, Objective: ObjectiveCost})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if len(rep.Scores) != len(rep.Results) {
			t.Fatalf("%s: %d scores for %d results", c.name, len(rep.Scores), len(rep.Results))
		}
		for i, res := range rep.Results {
			if v := r.Violation(res.Parallel); v != spec.OK {
				t.Errorf("%s: result %v breaks rule %d", c.name, res.Parallel, v)
			}
			if !res.Memory.Fits {
				t.Errorf("%s: result %v does not fit", c.name, res.Parallel)
			}
			if want := Score(r, ObjectiveCost, &res); rep.Scores[i] != want {
				t.Errorf("%s: score %g, want %g", c.name, rep.Scores[i], want)
			}
			if i > 0 && rep.Scores[i] < rep.Scores[i-1] {
				t.Errorf("%s: results out of order at %d", c.name, i)
			}
		}
		for i := 1; i < len(rep.Pareto); i++ {
			a, b := rep.Pareto[i-1], rep.Pareto[i]
			if !(a.StepTimeS < b.StepTimeS && a.Memory.PeakGiB > b.Memory.PeakGiB) {
				t.Errorf("%s: Pareto front not strictly ordered at %d", c.name, i)
			}
		}
		if len(rep.Explanation) < 3 {
			t.Errorf("%s: explanation %q", c.name, rep.Explanation)
		}
	}
}

func TestObjectives(t *testing.T) {
	r := mustResolve(t, smallRuns()[0].run)
	res := estimate.Result{StepTimeS: 2}
	tokens := float64(r.Training.GlobalBatch * r.Training.SeqLen)
	tests := []struct {
		obj  Objective
		want float64
	}{
		{ObjectiveTime, 2},
		{ObjectiveCost, 2 * 64 * r.Chip.RentUSDPerHour.USD / 3600 / tokens},
		{ObjectiveEnergy, 2 * 64 * r.Chip.TDPW / tokens},
	}
	for _, tt := range tests {
		if got := Score(r, tt.obj, &res); got != tt.want {
			t.Errorf("%s: %g, want %g", tt.obj, got, tt.want)
		}
	}
	r.Economics.PricePerChipHour = fp(10)
	if got, want := Score(r, ObjectiveCost, &res), 2.0*64*10/3600/tokens; got != want {
		t.Errorf("cost with economics price: %g, want %g", got, want)
	}
	// A chip with no power figure ranks at the TDP economics estimates,
	// the same figure the whole-run energy uses.
	r.Chip.TDPW = 0
	if got, want := Score(r, ObjectiveEnergy, &res), 2*64*economics.PowerOf(r.Chip, r.Economics).TDPW/tokens; got != want || !(want > 0) {
		t.Errorf("energy with no catalog power: %g, want %g", got, want)
	}
	if _, err := Run(context.Background(), r, Options{Objective: "speed"}); err == nil {
		t.Error("unknown objective: no error")
	}
}

func TestNoLayoutErrors(t *testing.T) {
	tests := []struct {
		name  string
		run   spec.Run
		valid bool     // some layout is valid (but none fits)
		want  []string // in the message
	}{
		{"absurd: 1e7 chips, batch 1", spec.Run{Model: spec.ModelRef{Name: "llama3-8b"}, Cluster: spec.Cluster{Chip: "h100-sxm", Chips: 10_000_000},
			Training: spec.Training{SeqLen: 4096, GlobalBatch: 1}}, false, []string{"is valid", "global_batch", "try:", "fewer chips"}},
		{"405b on 8 chips", spec.Run{Model: spec.ModelRef{Name: "llama3-405b"}, Cluster: spec.Cluster{Chip: "h100-sxm", Chips: 8},
			Training: spec.Training{SeqLen: 8192, GlobalBatch: 16}}, true, []string{"fits in memory", "closest", "over by", "more chips"}},
		{"given zero 0 and mb 4", spec.Run{Model: spec.ModelRef{Name: "llama3-70b"}, Cluster: spec.Cluster{Chip: "h100-sxm", Chips: 8},
			Training: spec.Training{SeqLen: 8192, GlobalBatch: 64}, Parallel: spec.Parallel{ZeRO: ip(0), MicroBatch: ip(4)}},
			true, []string{"ZeRO-3", "smaller micro-batch"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mustResolve(t, tt.run)
			_, err := Run(context.Background(), r, DefaultOptions)
			var nl *NoLayoutError
			if !errors.As(err, &nl) {
				t.Fatalf("error %v (%T), want *NoLayoutError", err, err)
			}
			// Even an absurd run stays a bounded space (counted, not timed).
			if nl.Candidates > 50_000_000 {
				t.Errorf("%d candidates", nl.Candidates)
			}
			if (nl.Valid > 0) != tt.valid {
				t.Errorf("valid = %d", nl.Valid)
			}
			if tt.valid && nl.Closest == nil {
				t.Error("no closest layout")
			}
			if !tt.valid && len(nl.Violations) == 0 {
				t.Error("no violation counts")
			}
			msg := err.Error()
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("message lacks %q:\n%s", w, msg)
				}
			}
			t.Log(msg)
		})
	}
}

// boundedRun has a highly composite chip count and an inline model with
// many divisors: the largest space the candidate caps allow.
func boundedRun() spec.Run {
	m := &model.Config{Layers: 720, Hidden: 7200, Heads: 720, FFN: 28800, Vocab: 50400,
		MoE: &model.MoE{Experts: 720, TopK: 2, ExpertFFN: 2880}}
	return spec.Run{Model: spec.ModelRef{Inline: m}, Cluster: spec.Cluster{Chip: "tpu-v5p", Chips: 735134400},
		Training: spec.Training{SeqLen: 1 << 20, GlobalBatch: 1}}
}

func TestBoundedSpace(t *testing.T) {
	r := mustResolve(t, boundedRun())
	s := newSpace(r)
	if n := s.candidates(); n > 400_000_000 {
		t.Errorf("%d candidates", n)
	}
	for _, tk := range s.tasks {
		if len(tk.ep) > maxEP || len(tk.vpp) > maxVPP || len(tk.mb) > maxMB {
			t.Fatalf("uncapped task %+v", tk)
		}
	}
	if len(s.tasks) > maxTP*maxPP*maxCP {
		t.Errorf("%d tasks", len(s.tasks))
	}
}

// TestCancel: a search whose context is already cancelled returns
// context.Canceled at once: each worker stops at the first check, within
// the first task it takes, so at most one task per worker is counted done.
// Counted, not timed, so that a loaded machine cannot fail it.
func TestCancel(t *testing.T) {
	r := mustResolve(t, catalogRun("llama3-405b", "h100-sxm", 16384, 8192, 2048))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	const workers = 2
	var done, total int64
	_, err := Run(ctx, r, Options{Top: 10, Workers: workers, exhaustive: true, Progress: func(d, n int64) { done, total = d, n }})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	if total < 100 || done > workers {
		t.Errorf("a cancelled search finished %d of %d tasks on %d workers, want at most one each", done, total, workers)
	}
}

func TestProgress(t *testing.T) {
	r := mustResolve(t, smallRuns()[0].run)
	var last, total int64
	_, err := Run(context.Background(), r, Options{Progress: func(d, n int64) { last, total = d, n }})
	if err != nil {
		t.Fatal(err)
	}
	if last != total || total == 0 {
		t.Errorf("progress ended at %d of %d", last, total)
	}
}

func TestOpenRunResolves(t *testing.T) {
	// spec.Resolve checks single knobs only, so a run whose default layout
	// (dp = chips) breaks the batch rule still resolves for a search.
	run := spec.Run{Model: spec.ModelRef{Name: "llama3-405b"}, Cluster: spec.Cluster{Chip: "h100-sxm", Chips: 16384},
		Training: spec.Training{SeqLen: 8192, GlobalBatch: 2048}, Parallel: spec.Parallel{TP: ip(4), Recompute: rcp(spec.RecomputeNone)}}
	r := mustResolve(t, run)
	if r.Violation(r.Layout) == spec.OK {
		t.Fatal("the default layout is valid; this test needs one that is not")
	}
	if _, err := Run(context.Background(), r, Options{Top: 1}); err != nil {
		t.Fatal(err)
	}
}

func TestGivenKnobsAdmitNothing(t *testing.T) {
	// tp 3 does not divide 64 chips: no candidate at all; the error is
	// spec's explanation of the given layout.
	run := smallRuns()[0].run
	run.Parallel = spec.Parallel{TP: ip(8), PP: ip(3)}
	r := mustResolve(t, run)
	_, err := Run(context.Background(), r, DefaultOptions)
	var fe *flopcast.FieldError
	if !errors.As(err, &fe) || !strings.Contains(err.Error(), "does not divide cluster.chips") {
		t.Errorf("err %v", err)
	}
	// Every candidate breaks a rule: the error unwraps to spec's
	// explanation of the commonest one.
	run.Parallel = spec.Parallel{TP: ip(8), MicroBatch: ip(3)}
	r = mustResolve(t, run)
	_, err = Run(context.Background(), r, DefaultOptions)
	var nl *NoLayoutError
	if !errors.As(err, &nl) || !errors.As(err, &fe) || fe.Field != "training.global_batch" {
		t.Errorf("err %v", err)
	}
}

func TestSweep(t *testing.T) {
	base := spec.Run{Model: spec.ModelRef{Name: "llama3-8b"}, Training: spec.Training{SeqLen: 4096, GlobalBatch: 256}}
	rep, err := Sweep(context.Background(), base, SweepOptions{Chips: []string{"h100-sxm", "b200"}, Counts: []int{128, 32}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Cells) != 4 || rep.Cells[0].Chips != 32 || rep.Cells[1].Chips != 128 || rep.Cells[2].Chip != "b200" {
		t.Fatalf("cells %+v", rep.Cells)
	}
	if !strings.Contains(rep.TokensNote, "Chinchilla") || rep.Tokens < 1e11 {
		t.Errorf("tokens %g (%s)", rep.Tokens, rep.TokensNote)
	}
	for _, c := range rep.Cells {
		if c.Best == nil || c.Days <= 0 || c.RunUSD <= 0 || c.USDPerMTokens <= 0 || c.GlobalBatch != 256 {
			t.Errorf("cell %+v", c)
		}
	}
	// Strong scaling: more chips, fewer days.
	if rep.Cells[1].Days >= rep.Cells[0].Days {
		t.Errorf("128 chips take %g days, 32 take %g", rep.Cells[1].Days, rep.Cells[0].Days)
	}
	weak, err := Sweep(context.Background(), base, SweepOptions{Chips: []string{"h100-sxm"}, Counts: []int{32, 128}, Weak: true, Tokens: 1e12})
	if err != nil {
		t.Fatal(err)
	}
	if weak.Cells[1].GlobalBatch != 1024 || weak.Tokens != 1e12 {
		t.Errorf("weak scaling: %+v", weak.Cells[1])
	}
	if _, err := Sweep(context.Background(), base, SweepOptions{Chips: []string{"h100"}, Counts: []int{8}}); err == nil {
		t.Error("unknown chip: no error")
	}
	// A cell where nothing fits carries its reason.
	big := spec.Run{Model: spec.ModelRef{Name: "llama3-405b"}, Training: spec.Training{SeqLen: 8192, GlobalBatch: 64}}
	rep, err = Sweep(context.Background(), big, SweepOptions{Chips: []string{"h100-sxm"}, Counts: []int{8}})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Cells[0].Best != nil || !strings.Contains(rep.Cells[0].Error, "fits") {
		t.Errorf("cell %+v", rep.Cells[0])
	}
}

// TestGroupDoesNotAllocate: the hot path (enumerate, check, prune,
// estimate and rank one group) allocates nothing once the buffers exist.
func TestGroupDoesNotAllocate(t *testing.T) {
	r := mustResolve(t, smallRuns()[0].run)
	e, err := estimate.New(r)
	if err != nil {
		t.Fatal(err)
	}
	s := &searcher{r: r, e: e, sp: newSpace(r), factor: 1, opt: Options{Top: 10}}
	w := &worker{s: s, ev: s.e.Evaluator(), top: newTopK(10)}
	w.par.p = make([]estimate.Result, 0, 64)
	tk := s.sp.tasks[len(s.sp.tasks)/2]
	base := spec.Layout{TP: tk.tp, PP: tk.pp, DP: tk.dp, CP: tk.cp, EP: tk.ep[0], ETP: tk.tp, VPP: tk.vpp[0], MicroBatch: tk.mb[0]}
	w.group(base)
	if n := testing.AllocsPerRun(100, func() { w.group(base) }); n != 0 {
		t.Errorf("%v allocations per group", n)
	}
	if w.evaluated == 0 {
		t.Error("nothing evaluated")
	}
}

// TestCancelMidway: a running search stops soon after its context is
// cancelled. The check counts work rather than timing it, so that a loaded
// machine cannot fail it: the space is the capped one of TestBoundedSpace
// with a batch every data-parallel size divides, so that most of its
// hundreds of millions of candidates are valid and estimated (tens of
// seconds of work on two cores); cancelled at its first progress report
// (100 ms in), the search returns context.Canceled with most of its tasks
// never done. A search that ignores the cancel fails after a minute.
func TestCancelMidway(t *testing.T) {
	run := boundedRun()
	run.Training.SeqLen = 4096
	run.Training.GlobalBatch = run.Cluster.Chips
	r := mustResolve(t, run)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var first, last, total int64 = -1, 0, 0
	progress := func(d, n int64) {
		if first < 0 {
			first = d
			cancel()
		}
		last, total = d, n
	}
	done := make(chan error, 1)
	go func() {
		_, err := Run(ctx, r, Options{Top: 10, Workers: 2, exhaustive: true, Progress: progress})
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled (first progress report at %d of %d tasks)", err, first, total)
		}
		if first < 0 {
			t.Fatal("no progress report before the search ended")
		}
		if last >= total/2 {
			t.Errorf("the search went on to %d of %d tasks after a cancel at %d", last, total, first)
		}
		t.Logf("cancelled at %d, stopped at %d of %d tasks", first, last, total)
	case <-time.After(time.Minute):
		t.Fatal("search did not stop")
	}
}

func TestParseObjective(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Objective
		err  bool
	}{{"", ObjectiveTime, false}, {"time", ObjectiveTime, false}, {"cost", ObjectiveCost, false}, {"energy", ObjectiveEnergy, false},
		{"speed", "", true}, {"Time", "", true}} {
		got, err := ParseObjective(tc.in)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("ParseObjective(%q) = %q, %v", tc.in, got, err)
		}
		if err != nil && !strings.Contains(err.Error(), `objective: "`+tc.in+`" is not allowed (allowed: time, cost, energy)`) {
			t.Errorf("error %q", err)
		}
	}
}
