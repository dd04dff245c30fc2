package estimate_test

import (
	"testing"

	"github.com/flopcast/flopcast/model"
	"github.com/flopcast/flopcast/spec"
)

// gptOSS is GPT-OSS-120B (Hugging Face openai/gpt-oss-120b config.json) on
// 64 H100 as Megatron-Bridge runs it (TP1 PP4 EP8), its layers attending
// to a sliding window of window tokens (0: none) except every every-th.
func gptOSS(t *testing.T, seq, window, every int) (step, mfuFLOPs float64) {
	t.Helper()
	c := model.Config{Layers: 36, Hidden: 2880, Heads: 64, KVHeads: 8, HeadDim: 64, FFN: 2880, Vocab: 201088, Bias: true,
		SlidingWindow: window, FullAttentionEvery: every,
		MoE: &model.MoE{Experts: 128, TopK: 4, ExpertFFN: 2880, Routing: model.RoutingRandom}}
	run := &spec.Run{Model: spec.ModelRef{Inline: &c}, Cluster: spec.Cluster{Chip: "h100-sxm", Chips: 64},
		Training: spec.Training{SeqLen: seq, GlobalBatch: 1280, Precision: "bf16", Recipe: spec.RecipeMegatron}}
	r, e := newEstimator(t, run)
	l := spec.Layout{TP: 1, PP: 4, DP: 16, CP: 1, EP: 8, ETP: 1, VPP: 1, MicroBatch: 1, ZeRO: 1, Schedule: spec.Schedule1F1B}
	res := eval(t, r, e, l)
	return res.StepTimeS, e.ModelFLOPsPerToken()
}

// Sliding-window layers do a window's attention instead of half the
// sequence's: the step is faster, and more so at longer sequences, where
// full attention grows and the window does not; a window as long as the
// sequence is full attention; windowing every layer saves more than every
// other one.
func TestSlidingWindowStep(t *testing.T) {
	for _, seq := range []int{4096, 16384} {
		full, fullFLOPs := gptOSS(t, seq, 0, 0)
		alt, altFLOPs := gptOSS(t, seq, 128, 2)
		all, _ := gptOSS(t, seq, 128, 0)
		same, sameFLOPs := gptOSS(t, seq, seq, 2)
		if !(all < alt && alt < full) {
			t.Errorf("seq %d: step every layer windowed %.3f s, alternating %.3f s, full %.3f s: want increasing", seq, all, alt, full)
		}
		if same != full || sameFLOPs != fullFLOPs {
			t.Errorf("seq %d: a window of the whole sequence: %.4f s, %g FLOPs; full attention %.4f s, %g FLOPs", seq, same, sameFLOPs, full, fullFLOPs)
		}
		if !(altFLOPs < fullFLOPs) {
			t.Errorf("seq %d: windowed model FLOPs %g not below full %g", seq, altFLOPs, fullFLOPs)
		}
	}
	f4, _ := gptOSS(t, 4096, 0, 0)
	a4, _ := gptOSS(t, 4096, 128, 2)
	f16, _ := gptOSS(t, 16384, 0, 0)
	a16, _ := gptOSS(t, 16384, 128, 2)
	if !(1-a16/f16 > 1-a4/f4) {
		t.Errorf("windows save %.1f%% at seq 16384, not more than %.1f%% at 4096", 100*(1-a16/f16), 100*(1-a4/f4))
	}
}
