package estimate

import (
	"testing"

	"github.com/flopcast/flopcast/spec"
)

// TestStepTimeLowerBound: over a grid of valid layouts of runs that cover
// dense and MoE models, MLA with multi-token prediction, DualPipe and
// interleaving, activation and optimizer offload, context parallelism,
// both recipes and FP8, the bound never exceeds the step Eval gives, the
// group bound never exceeds the bound of any layout of the group, and
// an Evaluator (which remembers shapes across layouts, in any order) gives
// exactly what a fresh Estimator.Eval gives.
func TestStepTimeLowerBound(t *testing.T) {
	runs := []struct{ name, yaml string }{
		{"deepseek-v3", "model: deepseek-v3\ncluster: {chip: h800, chips: 1024}\ntraining: {seq_len: 4096, global_batch: 4096, precision: fp8}\n"},
		{"qwen3", "model: qwen3-235b-a22b\ncluster: {chip: h100-sxm, chips: 256}\ntraining: {seq_len: 4096, global_batch: 1024}\n"},
		{"llama3-8b-eager", "model: llama3-8b\ncluster: {chip: a100-sxm-80gb, chips: 64}\ntraining: {seq_len: 4096, global_batch: 256, recipe: pytorch-amp}\n"},
		{"gpt3-13b", "model: gpt3-13b\ncluster: {chip: h100-sxm, chips: 128}\ntraining: {seq_len: 2048, global_batch: 512}\n"},
		{"llama3-70b-1", "model: llama3-70b\ncluster: {chip: b200, chips: 1}\ntraining: {seq_len: 8192, global_batch: 8}\n"},
	}
	for _, c := range runs {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			r, e := resolveRun(t, c.yaml)
			ev := e.Evaluator()
			gb := r.Training.GlobalBatch
			eps := []int{1}
			if r.Model.MoE != nil {
				eps = []int{1, 32}
			}
			// Recompute sets as the search tries them: none, selective,
			// the cheap modules, the FFN as well, full.
			cheap := spec.RecomputeCoreAttn | spec.RecomputeLayerNorm | spec.RecomputeMLAUpProj | spec.RecomputeMoEAct
			var rcs []spec.Recompute
			for _, rc := range []spec.Recompute{spec.RecomputeNone, spec.RecomputeSelective, cheap,
				cheap | spec.RecomputeMLP | spec.RecomputeMoE | spec.RecomputeSharedExperts, spec.RecomputeFull} {
				if r.UsableRecompute(rc) {
					rcs = append(rcs, rc)
				}
			}
			var layouts []spec.Layout
			seen := map[spec.Layout]bool{}
			for _, tp := range []int{1, 2, 8} {
				for _, pp := range []int{1, 2, 4, 16} {
					for _, cp := range []int{1, 2} {
						if r.Chips%(tp*pp*cp) != 0 {
							continue
						}
						dp := r.Chips / (tp * pp * cp)
						for _, ep := range eps {
							for _, etp := range []int{1, tp} {
								for _, vpp := range []int{1, 3} {
									for _, sched := range []spec.Schedule{spec.DefaultSchedule(vpp), spec.ScheduleDualPipe} {
										for _, mb := range []int{1, 2} {
											for _, z := range []int{0, 1, 3} {
												for _, rc := range rcs {
													for _, sp := range []bool{false, true} {
														for _, off := range []spec.Offload{spec.OffloadNone, spec.OffloadActivations, spec.OffloadOptimizer} {
															l := spec.Layout{TP: tp, PP: pp, DP: dp, CP: cp, EP: ep, ETP: etp, VPP: vpp, MicroBatch: mb,
																ZeRO: z, Recompute: rc, SequenceParallel: sp, Offload: off, Schedule: sched}
															if r.Violation(l) == spec.OK && !seen[l] {
																seen[l] = true
																layouts = append(layouts, l)
															}
														}
													}
												}
											}
										}
									}
								}
							}
						}
					}
				}
			}
			if len(layouts) < 50 {
				t.Fatalf("only %d valid layouts", len(layouts))
			}
			// Interleave the layouts so that the Evaluator sees shapes
			// come back after others.
			for i := range layouts {
				j := (i * 7919) % len(layouts)
				layouts[i], layouts[j] = layouts[j], layouts[i]
			}
			tight := 1.0
			var res, got Result
			for _, l := range layouts {
				e.Eval(l, &res)
				lb := ev.StepTimeLowerBound(l)
				ev.Eval(l, &got)
				if got != res {
					t.Fatalf("%v: Evaluator gives %+v, Estimator.Eval %+v", l, got, res)
				}
				if !(lb > 0) || lb > res.StepTimeS {
					t.Errorf("%v (%d micro-batches): lower bound %v s, step %v s", l, l.MicroBatches(gb), lb, res.StepTimeS)
				}
				if glb := ev.GroupStepTimeLowerBound(l); !(glb > 0) || glb > lb {
					t.Errorf("%v: group lower bound %v s, above the layout's %v s", l, glb, lb)
				}
				tight = min(tight, lb/res.StepTimeS)
			}
			t.Logf("%d layouts, bound at least %.0f%% of the step", len(layouts), 100*tight)
		})
	}
}
