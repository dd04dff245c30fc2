package estimate_test

import (
	"testing"

	"github.com/flopcast/flopcast/model"
	"github.com/flopcast/flopcast/spec"
)

// qwen3ModelZoo is Qwen3-235B-A22B as Megatron-MoE-ModelZoo trains it at
// long context on 256 H100: TP4 PP8 VP4 EP8, CP growing with the sequence
// so each CP rank holds 16k tokens.
func qwen3ModelZoo(t *testing.T, seq, cp, ep int, routing, balance string) float64 {
	t.Helper()
	c, ok := model.Lookup("qwen3-235b-a22b")
	if !ok {
		t.Fatal("qwen3-235b-a22b is not in the catalog")
	}
	moe := *c.MoE
	moe.Routing, moe.LoadBalance = routing, balance
	c.MoE = &moe
	run := &spec.Run{Model: spec.ModelRef{Inline: &c}, Cluster: spec.Cluster{Chip: "h100-sxm", Chips: 256},
		Training: spec.Training{SeqLen: seq, GlobalBatch: 256, Precision: "bf16", Recipe: spec.RecipeMegatron}}
	r, e := newEstimator(t, run)
	l := spec.Layout{TP: 4, PP: 8, DP: 8 / cp, CP: cp, EP: ep, ETP: 1, VPP: 4, MicroBatch: 1, ZeRO: 1, SequenceParallel: true, Schedule: spec.ScheduleInterleaved}
	if err := r.CheckLayout(l); err != nil {
		t.Fatal(err)
	}
	return e.Estimate(l).StepTimeS
}

// Dropless routing costs time over a balanced router, more with an
// auxiliary loss than with DeepSeek-V3's expert bias, and relatively less
// as the sequence grows: the tokens per micro-batch stay the same, but
// attention takes a growing share of each layer. Random routing (forced
// balance) costs least of the three: counting noise and ragged tiles,
// no skew.
func TestDroplessCost(t *testing.T) {
	prev := 0.0
	for _, tc := range []struct{ seq, cp int }{{16384, 1}, {32768, 2}, {65536, 4}, {131072, 8}} {
		bal := qwen3ModelZoo(t, tc.seq, tc.cp, 8, model.RoutingBalanced, "")
		aux := qwen3ModelZoo(t, tc.seq, tc.cp, 8, model.RoutingDropless, model.BalanceAuxLoss)
		bias := qwen3ModelZoo(t, tc.seq, tc.cp, 8, model.RoutingDropless, model.BalanceExpertBias)
		random := qwen3ModelZoo(t, tc.seq, tc.cp, 8, model.RoutingRandom, "")
		if !(bal < random && random < bias && bias < aux) {
			t.Errorf("seq %d: step balanced %.3f s, random %.3f s, expert bias %.3f s, aux loss %.3f s: want increasing", tc.seq, bal, random, bias, aux)
		}
		gap := aux/bal - 1
		if gap > 0.05 {
			t.Errorf("seq %d: dropless costs %.1f%%, more than the router's skew over 16 experts a rank allows", tc.seq, 100*gap)
		}
		if prev > 0 && gap >= prev {
			t.Errorf("seq %d: dropless costs %.2f%%, not less than %.2f%% at half the sequence", tc.seq, 100*gap, 100*prev)
		}
		prev = gap
	}
	// Without expert parallelism no rank waits for another, but the
	// grouped GEMMs' ragged groups still cost their part-empty tiles:
	// half a 128-row tile on each expert's 256 tokens, a quarter more
	// expert GEMM time, a few percent of the step.
	bal := qwen3ModelZoo(t, 16384, 1, 1, model.RoutingBalanced, "")
	aux := qwen3ModelZoo(t, 16384, 1, 1, model.RoutingDropless, model.BalanceAuxLoss)
	if gap := aux/bal - 1; gap <= 0.005 || gap > 0.05 {
		t.Errorf("ep 1: dropless costs %.2f%%, want 0.5-5%% (ragged tiles)", 100*gap)
	}
}
