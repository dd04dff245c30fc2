package estimate_test

import (
	"fmt"
	"math"
	"testing"

	"github.com/flopcast/flopcast/estimate"
	"github.com/flopcast/flopcast/spec"
)

// scenario is one run; layouts are varied around its base layout by the
// invariant checks below, in the style of the Go runtime's pacer tests.
type scenario struct {
	model, chip string
	chips       int
	seq, gbs    int
	base        spec.Layout
	precision   string
	recipe      string
}

var scenarios = []scenario{
	{"llama3-70b", "h100-sxm", 1024, 8192, 1024, spec.Layout{TP: 8, PP: 4, DP: 32, CP: 1, EP: 1, ETP: 8, VPP: 1, MicroBatch: 1, ZeRO: 1, SequenceParallel: true}, "bf16", "megatron"},
	{"llama3-8b", "a100-sxm-80gb", 64, 4096, 256, spec.Layout{TP: 2, PP: 1, DP: 32, CP: 1, EP: 1, ETP: 2, VPP: 1, MicroBatch: 2, ZeRO: 1, SequenceParallel: true}, "bf16", "pytorch-amp"},
	{"gpt3-175b", "b200", 512, 2048, 1536, spec.Layout{TP: 8, PP: 8, DP: 8, CP: 1, EP: 1, ETP: 8, VPP: 2, MicroBatch: 1, ZeRO: 1, Schedule: spec.ScheduleInterleaved, SequenceParallel: true}, "fp8", "megatron"},
	{"mixtral-8x7b", "h100-sxm", 256, 4096, 1024, spec.Layout{TP: 2, PP: 4, DP: 32, CP: 1, EP: 8, ETP: 2, VPP: 1, MicroBatch: 1, ZeRO: 1, SequenceParallel: true}, "bf16", "megatron"},
	{"deepseek-v3", "h800", 2048, 4096, 15360, spec.Layout{TP: 1, PP: 16, DP: 128, CP: 1, EP: 64, ETP: 1, VPP: 1, MicroBatch: 1, ZeRO: 1}, "fp8", "megatron"},
	{"llama3-405b", "trainium2", 4096, 8192, 1024, spec.Layout{TP: 16, PP: 8, DP: 32, CP: 1, EP: 1, ETP: 16, VPP: 1, MicroBatch: 1, ZeRO: 1, SequenceParallel: true}, "bf16", "megatron"},
	{"qwen3-235b-a22b", "tpu-v5p", 1024, 4096, 1024, spec.Layout{TP: 4, PP: 1, DP: 256, CP: 1, EP: 16, ETP: 4, VPP: 1, MicroBatch: 1, ZeRO: 3, SequenceParallel: true}, "bf16", "megatron"},
	{"llama3-70b", "gb200", 576, 32768, 72, spec.Layout{TP: 8, PP: 1, DP: 18, CP: 4, EP: 1, ETP: 8, VPP: 1, MicroBatch: 1, ZeRO: 3, Recompute: spec.RecomputeFull, SequenceParallel: true}, "bf16", "megatron"},
}

func (s scenario) estimator(t *testing.T, chips int) (*spec.Resolved, *estimate.Estimator) {
	t.Helper()
	run := &spec.Run{Model: spec.ModelRef{Name: s.model}, Cluster: spec.Cluster{Chip: s.chip, Chips: chips},
		Training: spec.Training{SeqLen: s.seq, GlobalBatch: s.gbs, Precision: spec.Precision(s.precision), Recipe: spec.Recipe(s.recipe)}}
	return newEstimator(t, run)
}

// newEstimator resolves run and prepares its estimator, failing the test
// on an error.
func newEstimator(t *testing.T, run *spec.Run) (*spec.Resolved, *estimate.Estimator) {
	t.Helper()
	return estimate.Prepare(t, run)
}

func (s scenario) name() string { return fmt.Sprintf("%s/%s/%d", s.model, s.chip, s.chips) }

func eval(t *testing.T, r *spec.Resolved, e *estimate.Estimator, l spec.Layout) estimate.Result {
	t.Helper()
	if err := r.CheckLayout(l); err != nil {
		t.Fatalf("layout %v: %v", l, err)
	}
	return e.Estimate(l)
}

func TestInvariants(t *testing.T) {
	for _, s := range scenarios {
		t.Run(s.name(), func(t *testing.T) {
			r, e := s.estimator(t, s.chips)
			base := eval(t, r, e, s.base)

			// The breakdown adds up to the step time.
			b := base.Breakdown
			sum := b.ComputeS + b.ExposedTPCommS + b.ExposedCPCommS + b.ExposedEPCommS + b.ExposedPPCommS + b.PipelineBubbleS + b.ExposedDPCommS + b.OptimizerS + b.SyncS
			assertInEpsilon(t, "breakdown sum", sum, base.StepTimeS, 1e-9)
			for name, v := range map[string]float64{"compute": b.ComputeS, "tp": b.ExposedTPCommS, "cp": b.ExposedCPCommS, "ep": b.ExposedEPCommS,
				"pp": b.ExposedPPCommS, "bubble": b.PipelineBubbleS, "dp": b.ExposedDPCommS, "optimizer": b.OptimizerS, "sync": b.SyncS} {
				if v < 0 || math.IsNaN(v) {
					t.Errorf("breakdown %s = %v", name, v)
				}
			}
			// Utilisation is a fraction, and HFU counts at least the model FLOPs.
			if base.MFU <= 0 || base.MFU > base.HFU+1e-12 || base.HFU > 1 {
				t.Errorf("mfu %v hfu %v", base.MFU, base.HFU)
			}
			assertInEpsilon(t, "tokens/s", base.TokensPerS*base.StepTimeS, float64(s.gbs*s.seq), 1e-9)

			// Recompute never lowers step time, and never raises memory.
			prevT, prevM := 0.0, math.Inf(1)
			for _, rc := range []spec.Recompute{spec.RecomputeNone, spec.RecomputeSelective, spec.RecomputeFull} {
				l := s.base
				l.Recompute = rc
				res := eval(t, r, e, l)
				if res.StepTimeS < prevT*(1-1e-12) {
					t.Errorf("recompute %v lowered step time: %v < %v", rc, res.StepTimeS, prevT)
				}
				if res.Memory.ActivationsGiB > prevM*(1+1e-12) {
					t.Errorf("recompute %v raised activation memory: %v > %v", rc, res.Memory.ActivationsGiB, prevM)
				}
				prevT, prevM = res.StepTimeS, res.Memory.ActivationsGiB
			}

			// Along MemoryOrder, no ZeRO stage needs less per-device
			// memory than the one before.
			prev := 0.0
			for _, z := range estimate.MemoryOrder(s.base.PP) {
				l := s.base
				l.ZeRO = z
				res := eval(t, r, e, l)
				if res.Memory.PeakGiB < prev*(1-1e-12) {
					t.Errorf("zero %d needs less memory than the stage before it in MemoryOrder(%d): %v < %v", z, s.base.PP, res.Memory.PeakGiB, prev)
				}
				prev = res.Memory.PeakGiB
			}

			// pp=1 has no bubble.
			if s.base.PP == 1 && base.Breakdown.PipelineBubbleS != 0 {
				t.Errorf("pp=1 bubble = %v", base.Breakdown.PipelineBubbleS)
			}

			// Eval never allocates.
			var out estimate.Result
			if n := testing.AllocsPerRun(100, func() { e.Eval(s.base, &out) }); n != 0 {
				t.Errorf("Eval allocates %v times", n)
			}
		})
	}
}

// Doubling dp at a fixed global batch (twice the chips) halves the
// micro-batches per pipeline and never raises per-device activations, nor
// the per-device memory under ZeRO.
func TestMoreDataParallel(t *testing.T) {
	for _, s := range scenarios {
		if (s.gbs/(s.base.DP*s.base.MicroBatch))%2 != 0 || (s.base.VPP > 1 && (s.gbs/(2*s.base.DP*s.base.MicroBatch))%s.base.PP != 0) {
			continue
		}
		t.Run(s.name(), func(t *testing.T) {
			r1, e1 := s.estimator(t, s.chips)
			r2, e2 := s.estimator(t, 2*s.chips)
			l2 := s.base
			l2.DP *= 2
			a, b := eval(t, r1, e1, s.base), eval(t, r2, e2, l2)
			if b.Memory.ActivationsGiB > a.Memory.ActivationsGiB*(1+1e-12) {
				t.Errorf("activations rose with dp: %v > %v", b.Memory.ActivationsGiB, a.Memory.ActivationsGiB)
			}
			if s.base.ZeRO >= 1 && b.Memory.PeakGiB > a.Memory.PeakGiB*(1+1e-12) {
				t.Errorf("memory rose with dp: %v > %v", b.Memory.PeakGiB, a.Memory.PeakGiB)
			}
			if b.StepTimeS > a.StepTimeS {
				t.Errorf("twice the chips at the same batch was slower: %v > %v", b.StepTimeS, a.StepTimeS)
			}
		})
	}
}

// More micro-batches shrink the bubble; interleaving shrinks it further.
func TestBubble(t *testing.T) {
	s := scenarios[0]
	r, e := s.estimator(t, s.chips)
	one := eval(t, r, e, s.base)
	l := s.base
	l.VPP, l.Schedule = 2, spec.ScheduleInterleaved
	two := eval(t, r, e, l)
	if two.Breakdown.PipelineBubbleS >= one.Breakdown.PipelineBubbleS {
		t.Errorf("vpp 2 bubble %v >= vpp 1 bubble %v", two.Breakdown.PipelineBubbleS, one.Breakdown.PipelineBubbleS)
	}
	// The 1F1B bubble is close to (p-1)/m of the ideal time.
	m := float64(s.base.MicroBatches(s.gbs))
	p := float64(s.base.PP)
	ideal := one.StepTimeS - one.Breakdown.PipelineBubbleS - one.Breakdown.ExposedDPCommS - one.Breakdown.OptimizerS - one.Breakdown.ExposedPPCommS
	got := one.Breakdown.PipelineBubbleS / ideal
	if got < (p-1)/m || got > 1.5*(p-1)/m {
		t.Errorf("bubble share %v, want about (p-1)/m = %v", got, (p-1)/m)
	}
}

func TestFP8Faster(t *testing.T) {
	s := scenarios[0]
	s.precision = "bf16"
	r, e := s.estimator(t, s.chips)
	s.precision = "fp8"
	r8, e8 := s.estimator(t, s.chips)
	a, b := eval(t, r, e, s.base), eval(t, r8, e8, s.base)
	if b.StepTimeS >= a.StepTimeS {
		t.Errorf("fp8 %v not faster than bf16 %v", b.StepTimeS, a.StepTimeS)
	}
	if b.ModelTFLOPsPerChip/a.ModelTFLOPsPerChip > 2 {
		t.Errorf("fp8 speedup %v beyond the 2x of the GEMM peak", b.ModelTFLOPsPerChip/a.ModelTFLOPsPerChip)
	}
}

func TestWarnings(t *testing.T) {
	s := scenarios[0]
	r, e := s.estimator(t, s.chips)
	l := s.base
	l.TP, l.ETP, l.DP = 16, 16, 16
	res := eval(t, r, e, l)
	w := e.Warnings(&res)
	if len(w) == 0 || res.Warn&estimate.WarnTPCrossesScaleUp == 0 {
		t.Fatalf("tp 16 on an 8-GPU NVLink domain: warnings %q", w)
	}
	slow := res.StepTimeS
	if fast := eval(t, r, e, s.base).StepTimeS; fast >= slow {
		t.Errorf("tp16 across nodes (%v s) should be slower than tp8 (%v s)", slow, fast)
	}
}

// A layout that does not fit is still estimated, with the overflow.
func TestDoesNotFit(t *testing.T) {
	s := scenario{"llama3-405b", "h100-sxm", 64, 8192, 64, spec.Layout{TP: 8, PP: 1, DP: 8, CP: 1, EP: 1, ETP: 8, VPP: 1, MicroBatch: 1, ZeRO: 0, SequenceParallel: true}, "bf16", "megatron"}
	r, e := s.estimator(t, s.chips)
	res := eval(t, r, e, s.base)
	if res.Memory.Fits || res.Memory.OverflowGiB <= 0 || res.StepTimeS <= 0 {
		t.Fatalf("memory %+v", res.Memory)
	}
	assertInEpsilon(t, "overflow", res.Memory.OverflowGiB, res.Memory.PeakGiB-res.Memory.CapacityGiB, 1e-12)
}

func assertInEpsilon(t *testing.T, what string, got, want, eps float64) {
	t.Helper()
	if math.Abs(got-want) > eps*math.Max(math.Abs(want), 1e-300) {
		t.Errorf("%s = %v, want %v (±%v)", what, got, want, eps)
	}
}

// The timeline's chunk times add up to the step's compute and exposed
// layer communication: the two are built from one function.
func TestScheduleMatchesStep(t *testing.T) {
	for _, s := range scenarios {
		t.Run(s.name(), func(t *testing.T) {
			r, e := s.estimator(t, s.chips)
			res := eval(t, r, e, s.base)
			sc := e.Schedule(s.base)
			var sum float64
			for i := range sc.FwdS {
				sum += (sc.FwdS[i] + sc.BwdS[i]) * float64(sc.VPP)
			}
			b := res.Breakdown
			want := b.ComputeS + b.ExposedTPCommS + b.ExposedCPCommS + b.ExposedEPCommS
			assertInEpsilon(t, "timeline total", sum*float64(sc.MicroBatches)/float64(sc.Stages), want, 1e-9)
		})
	}
}
