package model_test

import (
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/flopcast/flopcast/model"
)

// Published totals, in billions. Active is 0 for dense models (then it must
// equal the total).
func TestParamsMatchPublished(t *testing.T) {
	for _, tc := range []struct {
		name          string
		total, active float64
		source        string
	}{
		{"llama3-8b", 8.03, 0, "Hugging Face model card (8.03B)"},
		{"llama3-70b", 70.6, 0, "Hugging Face model card (70.6B)"},
		{"llama3-405b", 405.8, 0, "Hugging Face model card (405.8B)"},
		{"llama2-7b", 6.74, 0, "Hugging Face model card (6.74B)"},
		{"llama2-70b", 69.0, 0, "Hugging Face model card (69.0B)"},
		{"gpt3-175b", 174.6, 0, "GPT-3 paper, 175.0B incl. biases and position embeddings"},
		{"mixtral-8x7b", 46.7, 12.9, "Mixtral paper: 47B total, 13B active"},
		{"mixtral-8x22b", 141, 39, "Mistral announcement: 141B total, 39B active"},
		{"deepseek-v3", 671, 37, "DeepSeek-V3 report: 671B total (without MTP), 37B active"},
		{"qwen3-235b-a22b", 235, 22, "Qwen3 report: 235B total, 22B active"},
		{"nemotron4-340b", 341, 0, "Nemotron-4 340B report: 9.4B embedding + 331.6B non-embedding"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, ok := model.Lookup(tc.name)
			if !ok {
				t.Fatalf("%s not in catalog", tc.name)
			}
			active := tc.active
			if active == 0 {
				active = tc.total
			}
			want := []float64{tc.total, active}
			got := []float64{m.Params() / 1e9, m.ActiveParams() / 1e9}
			t.Logf("total %.2fB, active %.2fB", got[0], got[1])
			if d := cmp.Diff(want, got, cmpopts.EquateApprox(0.02, 0)); d != "" {
				t.Errorf("[total active] in billions, want (%s) within 2%%, -want +got:\n%s", tc.source, d)
			}
		})
	}
}

func TestNemotronEmbeddingSplit(t *testing.T) {
	m, _ := model.Lookup("nemotron4-340b")
	want := []float64{9.4, 331.6}
	got := []float64{m.EmbeddingParams() / 1e9, m.NonEmbeddingParams() / 1e9}
	if d := cmp.Diff(want, got, cmpopts.EquateApprox(0.01, 0)); d != "" {
		t.Errorf("[embedding non-embedding] in billions, -want +got:\n%s", d)
	}
}

// Exact counts for small hand-made configs, one per code path.
func TestParamsFormulas(t *testing.T) {
	mha := model.Config{Layers: 2, Hidden: 8, Heads: 2, FFN: 16, Vocab: 10}
	gqa := model.Config{Layers: 2, Hidden: 8, Heads: 4, KVHeads: 2, HeadDim: 4, FFN: 16, FFNKind: model.FFNGELU, Vocab: 10, TiedEmbeddings: true}
	moe := model.Config{Layers: 3, Hidden: 8, Heads: 2, FFN: 16, Vocab: 10,
		MoE: &model.MoE{Experts: 4, TopK: 2, SharedExperts: 1, ExpertFFN: 4, DenseLayers: 1}}
	mla := model.Config{Layers: 1, Hidden: 8, Heads: 2, FFN: 16, Vocab: 10,
		MLA: &model.MLA{QLoraRank: 4, KVLoraRank: 2, QKRopeDim: 1, QKNopeDim: 3, VHeadDim: 5}}
	mlaNoQ := mla
	mlaNoQ.MLA = &model.MLA{KVLoraRank: 2, QKRopeDim: 1, QKNopeDim: 3, VHeadDim: 5}

	type counts struct {
		Attn, DenseFFN, MoE, ActiveMoE, Emb, Total, Active float64
		MoELayers, DenseLayers                             int
	}
	for _, tc := range []struct {
		name string
		c    model.Config
		want counts
	}{
		// attn 8*(2+4)*4 + 2*4*8 + 16 norms = 192+64+16 = 272; ffn 3*8*16 = 384
		// total 2*(272+384) + 8 final norm + 2*80 emb = 1480
		{"mha", mha, counts{Attn: 272, DenseFFN: 384, Emb: 160, Total: 1480, Active: 1480, DenseLayers: 2}},
		// attn 8*(4+4)*4 + 4*4*8 + 16 = 256+128+16 = 400; ffn 2*8*16 = 256
		// total 2*656 + 8 + 80 tied = 1400
		{"gqa-gelu-tied", gqa, counts{Attn: 400, DenseFFN: 256, Emb: 80, Total: 1400, Active: 1400, DenseLayers: 2}},
		// expert 3*8*4 = 96, router 8*4 = 32; moe (4+1)*96+32 = 512, active (2+1)*96+32 = 320
		// total 3*272 + 384 + 2*512 + 8 + 160 = 2392; active 3*272 + 384 + 2*320 + 8 + 160 = 2008
		{"moe", moe, counts{Attn: 272, DenseFFN: 384, MoE: 512, ActiveMoE: 320, Emb: 160, Total: 2392, Active: 2008, MoELayers: 2, DenseLayers: 1}},
		// q 8*4 + 4*2*(3+1) = 64; kv 8*(2+1) + 2*2*(3+5) = 56; out 2*5*8 = 80;
		// norms 16 + 4 + 2 = 22 -> 222; total 222 + 384 + 8 + 160 = 774
		{"mla", mla, counts{Attn: 222, DenseFFN: 384, Emb: 160, Total: 774, Active: 774, DenseLayers: 1}},
		// q 8*2*(3+1) = 64; kv 56; out 80; norms 16 + 2 -> 218
		{"mla-no-q-lora", mlaNoQ, counts{Attn: 218, DenseFFN: 384, Emb: 160, Total: 770, Active: 770, DenseLayers: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.c
			if err := c.Validate(); err != nil {
				t.Fatal(err)
			}
			c.Normalize()
			got := counts{c.AttnParams(), c.DenseFFNParams(), c.MoEParams(), c.ActiveMoEParams(),
				c.EmbeddingParams(), c.Params(), c.ActiveParams(), c.MoELayers(), c.DenseLayers()}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("-want +got:\n%s", d)
			}
			if ne, e := c.NonEmbeddingParams(), c.EmbeddingParams(); ne+e != c.Params() {
				t.Errorf("non-embedding %v + embedding %v != total %v", ne, e, c.Params())
			}
			if ane, e := c.ActiveNonEmbeddingParams(), c.EmbeddingParams(); ane+e != c.ActiveParams() {
				t.Errorf("active non-embedding %v + embedding %v != active %v", ane, e, c.ActiveParams())
			}
		})
	}
}

func TestParamsAllocationFree(t *testing.T) {
	m, _ := model.Lookup("deepseek-v3")
	var sink float64
	allocs := testing.AllocsPerRun(100, func() {
		sink += m.Params() + m.ActiveParams() + m.ActiveNonEmbeddingParams() +
			float64(m.MoELayers()+m.DenseLayers())
	})
	if allocs != 0 {
		t.Errorf("%v allocations per call, want 0", allocs)
	}
	_ = sink
}

// Sliding-window attention: gpt-oss alternates 128-token windows with full
// layers, starting windowed (18 of 36 windowed); a query at position i
// sees min(i+1, w) keys; a window as long as the sequence is full causal
// attention; and the model FLOPs drop by the attention the windows skip.
func TestSlidingWindow(t *testing.T) {
	c := model.Config{Layers: 36, Hidden: 2880, Heads: 64, KVHeads: 8, HeadDim: 64, FFN: 2880, Vocab: 201088, SlidingWindow: 128, FullAttentionEvery: 2}
	if got := c.WindowedLayers(); got != 18 {
		t.Errorf("windowed layers %d, want 18", got)
	}
	const seq = 4096
	var sum float64
	for i := 0; i < seq; i++ {
		sum += float64(min(i+1, 128))
	}
	if got, want := c.WindowKeys(seq), sum/seq; math.Abs(got-want) > 1e-9 {
		t.Errorf("window keys %g, want %g (the mean of min(i+1, 128))", got, want)
	}
	if got, want := c.AttendedKeys(seq), (18*seq/2.0+18*sum/seq)/36; math.Abs(got-want) > 1e-9 {
		t.Errorf("attended keys %g, want %g", got, want)
	}
	full := c
	full.SlidingWindow, full.FullAttentionEvery = 0, 0
	if full.WindowedLayers() != 0 || full.AttendedKeys(seq) != seq/2 {
		t.Errorf("no window: windowed %d, keys %g", full.WindowedLayers(), full.AttendedKeys(seq))
	}
	long := c
	long.SlidingWindow = seq
	if got := long.TrainFLOPsPerToken(seq); got != full.TrainFLOPsPerToken(seq) {
		t.Errorf("a window as long as the sequence: %g FLOPs, full attention %g", got, full.TrainFLOPsPerToken(seq))
	}
	skipped := 6 * 18 * (seq/2.0 - sum/seq) * 64 * 128
	if got := full.TrainFLOPsPerToken(seq) - c.TrainFLOPsPerToken(seq); math.Abs(got-skipped) > 1 {
		t.Errorf("windows skip %g FLOPs a token, want %g", got, skipped)
	}
	all := c
	all.FullAttentionEvery = 0
	if all.WindowedLayers() != 36 {
		t.Errorf("every layer windowed: %d", all.WindowedLayers())
	}
}
