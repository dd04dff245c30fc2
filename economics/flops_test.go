package economics

import (
	"math"
	"testing"

	"github.com/flopcast/flopcast/estimate"
	"github.com/flopcast/flopcast/hardware"
	"github.com/flopcast/flopcast/model"
	"github.com/flopcast/flopcast/spec"
)

func deepseekV3() model.Config {
	return model.Config{Name: "deepseek-v3", Layers: 61, Hidden: 7168, Heads: 128, FFN: 18432, Vocab: 129280,
		MoE: &model.MoE{Experts: 256, TopK: 8, SharedExperts: 1, ExpertFFN: 2048, DenseLayers: 3},
		MLA: &model.MLA{QLoraRank: 1536, KVLoraRank: 512, QKRopeDim: 64, QKNopeDim: 128, VHeadDim: 128}}
}

func TestTrainFLOPsPerToken(t *testing.T) {
	m := model.Config{Layers: 2, Hidden: 64, Heads: 4, FFN: 256, Vocab: 1000, TiedEmbeddings: true}
	m.Normalize()
	want := 6*m.ActiveNonEmbeddingParams() + 6*64*1000 + 6*2*128*64
	if got := trainFLOPsPerToken(m, 128); got != want {
		t.Errorf("trainFLOPsPerToken = %v, want %v", got, want)
	}
}

// Capex's FLOPs agree with the estimator's model FLOPs (which leave the
// norms out, a few parts per million).
func TestTrainFLOPsMatchEstimator(t *testing.T) {
	chip, ok := hardware.LookupChip("h100-sxm")
	if !ok {
		t.Fatal("h100-sxm is not in the chip catalog")
	}
	for _, m := range []model.Config{llama8b(), deepseekV3()} {
		m.Normalize()
		r := &spec.Resolved{Model: m, Chip: chip, Chips: 8,
			Training: spec.ResolvedTraining{SeqLen: 4096, GlobalBatch: 64, Precision: "bf16", Recipe: "megatron", FlashAttention: true},
			Layout:   spec.Layout{TP: 1, PP: 1, DP: 8, CP: 1, EP: 1, ETP: 1, VPP: 1, MicroBatch: 1, ZeRO: 1}}
		e, err := estimate.New(r)
		if err != nil {
			t.Fatalf("estimate.New: %v", err)
		}
		got, want := trainFLOPsPerToken(m, 4096), e.ModelFLOPsPerToken()
		if math.Abs(got/want-1) > 1e-4 {
			t.Errorf("%s: %.6g FLOPs per token, estimator %.6g", m.Name, got, want)
		}
	}
}
