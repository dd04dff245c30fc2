package infer

import (
	"errors"
	"github.com/flopcast/flopcast"
	"math"
	"strings"
	"testing"

	"github.com/flopcast/flopcast/model"
)

func resolve(t testing.TB, y string) *Resolved {
	t.Helper()
	s, err := Parse([]byte(y))
	if err != nil {
		t.Fatal(err)
	}
	r, err := Resolve(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestKVBytesPerToken(t *testing.T) {
	for _, tt := range []struct {
		model, format string
		want          float64 // bytes per token, all layers
	}{
		// 80 layers x 2 x 8 KV heads x 128 x 2 B = 327,680 B (vLLM's
		// paged-KV formula; Mooncake's "40 GB for 128k tokens").
		{"llama3-70b", "bf16", 327680},
		{"llama3-70b", "fp8", 163840},
		// MLA: (512 + 64) x 2 B = 1152 B a layer; vLLM's fp8_ds_mla 656 B.
		{"deepseek-v3", "bf16", 61 * 1152},
		{"deepseek-v3", "fp8", 61 * 656},
	} {
		m, ok := model.Lookup(tt.model)
		if !ok {
			t.Fatal(tt.model)
		}
		got := KVBytesPerTokenLayer(&m, tt.format) * float64(m.Layers)
		if got != tt.want {
			t.Errorf("%s %s: %v B/token, want %v", tt.model, tt.format, got, tt.want)
		}
	}
}

func TestResolveErrors(t *testing.T) {
	base := "model: llama3-8b\ncluster: {chip: h100-sxm, chips: 8}\n"
	for _, tt := range []struct {
		name, yaml, field string
	}{
		{"zero output", base + "serving: {input_tokens: 100, output_tokens: 0}", "serving.output_tokens"},
		{"no input", base + "serving: {output_tokens: 10}", "serving.input_tokens"},
		{"hit rate", base + "serving: {input_tokens: 100, output_tokens: 10, cache_hit_rate: 1}", "serving.cache_hit_rate"},
		{"precision", base + "serving: {input_tokens: 100, output_tokens: 10, precision: int4}", "serving.precision"},
		{"fp4 on hopper", base + "serving: {input_tokens: 100, output_tokens: 10, kv_precision: fp4}", "serving.kv_precision"},
		{"tpot", base + "serving: {input_tokens: 100, output_tokens: 10, tpot_ms: -1}", "serving.tpot_ms"},
		{"adp", base + "serving: {input_tokens: 100, output_tokens: 10}\nparallel: {tp: 4, attention_dp: 3}", "parallel.attention_dp"},
		{"tp", base + "serving: {input_tokens: 100, output_tokens: 10}\nparallel: {tp: 16}", "parallel.tp"},
		{"chip", "model: llama3-8b\ncluster: {chip: h1000, chips: 8}\nserving: {input_tokens: 1, output_tokens: 1}", "cluster.chip"},
		{"sliding window", "model: {layers: 4, hidden: 512, heads: 8, ffn: 1024, vocab: 1000, sliding_window: 128}\ncluster: {chip: h100-sxm, chips: 8}\nserving: {input_tokens: 100, output_tokens: 10}", "model.sliding_window"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Parse([]byte(tt.yaml))
			if err == nil {
				_, err = Resolve(s)
			}
			var fe *flopcast.FieldError
			if !errors.As(err, &fe) || fe.Field != tt.field {
				t.Fatalf("error %v, want a FieldError on %s", err, tt.field)
			}
		})
	}
}

func TestParseStrict(t *testing.T) {
	for _, y := range []string{
		"model: llama3-8b\ncluster: {chip: h100-sxm, chips: 8}\nserving: {input_tokens: 1, output_tokens: 1, batch: 4}",
		"model: llama3-8b\ncluster: {chip: h100-sxm, chips: 8}\nserving: {input_tokens: 1, output_tokens: 1}\nparallel: {cp: 2}",
		"model: llama3-8b\ncluster: {chip: h100-sxm, chips: 8}\nserving: {input_tokens: 1, output_tokens: 1, disaggregated: maybe}",
	} {
		_, err := Parse([]byte(y))
		var fe *flopcast.FieldError
		if !errors.As(err, &fe) {
			t.Errorf("%q: %v, want a FieldError", y, err)
		}
	}
	if _, err := ParseJSON([]byte(`{"model":"llama3-8b","serving":{"input_tokens":1,"output_tokens":1,"ttl":3}}`)); err == nil {
		t.Error("unknown JSON field accepted")
	}
}

func TestNoLayout(t *testing.T) {
	tooBig := resolve(t, "model: llama3-405b\ncluster: {chip: h100-sxm, chips: 4}\nserving: {input_tokens: 1000, output_tokens: 100}")
	_, err := Infer(tooBig, Options{Top: 5})
	var ne *NoLayoutError
	if !errors.As(err, &ne) || !strings.Contains(err.Error(), "does not fit") || !strings.Contains(err.Error(), "more than") {
		t.Errorf("too big: %v", err)
	}
	fast := resolve(t, "model: llama3-70b\ncluster: {chip: h100-sxm, chips: 8}\nserving: {input_tokens: 1000, output_tokens: 100, tpot_ms: 1}")
	_, err = Infer(fast, Options{Top: 5})
	if !errors.As(err, &ne) || ne.Closest == nil || !strings.Contains(err.Error(), "serving.tpot_ms >=") {
		t.Fatalf("unreachable target: %v", err)
	}
	if ne.Closest.TPOTS <= 1e-3 {
		t.Errorf("nearest miss %v meets the target it missed", ne.Closest.TPOTS)
	}
}

// TestDecodeMechanisms checks the directions the mechanisms must take.
func TestDecodeMechanisms(t *testing.T) {
	r := resolve(t, "model: llama3-70b\ncluster: {chip: h100-sxm, chips: 8}\nserving: {input_tokens: 2000, output_tokens: 500}")
	x, err := NewModel(r)
	if err != nil {
		t.Fatal(err)
	}
	s := x.shape(Layout{TP: 8, EP: 1, PP: 1, DP: 1, AttentionDP: 1})
	t1, _ := x.decodePoint(&s, 1)
	t64, p64 := x.decodePoint(&s, 64)
	if !(t64 > t1) || 64/t64 < 16/t1 {
		t.Errorf("batching: TPOT %.2f ms at 1, %.2f ms at 64", t1*1e3, t64*1e3)
	}
	if p64.kv <= 0 || p64.weights+p64.compute <= 0 {
		t.Errorf("decode at 64 reads no KV cache or weights: %+v", p64)
	}
	r8 := resolve(t, "model: llama3-70b\ncluster: {chip: h100-sxm, chips: 8}\nserving: {input_tokens: 2000, output_tokens: 500, precision: fp8, kv_precision: fp8}")
	x8, _ := NewModel(r8)
	s8 := x8.shape(Layout{TP: 8, EP: 1, PP: 1, DP: 1, AttentionDP: 1})
	if f1, _ := x8.decodePoint(&s8, 1); !(f1 < t1) {
		t.Errorf("fp8 weights decode %.2f ms, bf16 %.2f ms", f1*1e3, t1*1e3)
	}
	if !(s8.replicaMaxBatch > 1.9*s.replicaMaxBatch) {
		t.Errorf("fp8 KV holds %v requests, bf16 %v", s8.replicaMaxBatch, s.replicaMaxBatch)
	}
	// MoE: a decode batch touches more experts as it grows, never more
	// than the device holds.
	rm := resolve(t, "model: deepseek-v3\ncluster: {chip: h200, chips: 16}\nserving: {input_tokens: 2000, output_tokens: 500, precision: fp8}")
	xm, _ := NewModel(rm)
	sm := xm.shape(Layout{TP: 16, EP: 16, PP: 1, DP: 1, AttentionDP: 16})
	_, a := xm.decodePoint(&sm, 1)
	_, b := xm.decodePoint(&sm, 32)
	if !(b.weights+b.compute > a.weights+a.compute) {
		t.Errorf("expert traffic does not grow with the batch: %+v vs %+v", a, b)
	}
}

func TestSearchFront(t *testing.T) {
	r := resolve(t, "model: mixtral-8x7b\ncluster: {chip: h100-sxm, chips: 16}\nserving: {input_tokens: 1000, output_tokens: 1000, precision: fp8, tpot_ms: 50, ttft_ms: 2000}")
	rep, err := Infer(r, Options{Top: 5})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Results) != 5 || rep.Feasible < 5 || len(rep.Explanation) < 2 {
		t.Fatalf("results %d, feasible %d, explanation %v", len(rep.Results), rep.Feasible, rep.Explanation)
	}
	for i, res := range rep.Results {
		if res.TPOTS > 0.05 || res.TTFTS > 2 || !res.Memory.Fits {
			t.Errorf("result %d breaks a target: %+v", i, res)
		}
		if i > 0 && res.OutputTokensPerSPerChip > rep.Results[i-1].OutputTokensPerSPerChip {
			t.Errorf("results out of order at %d", i)
		}
		if res.USDPerMOutputTokensAllIn <= 0 || res.KWhPerMOutputTokens <= 0 || math.IsInf(res.USDPerMOutputTokens, 0) {
			t.Errorf("result %d has no cost: %+v", i, res)
		}
	}
	for i, a := range rep.Pareto {
		if i > 0 && !(a.OutputTokensPerSPerChip < rep.Pareto[i-1].OutputTokensPerSPerChip && a.TokensPerSPerUser > rep.Pareto[i-1].TokensPerSPerUser) {
			t.Errorf("front point %d is dominated or out of order", i)
		}
	}
	if rep.Pareto[0].OutputTokensPerSPerChip != rep.Results[0].OutputTokensPerSPerChip {
		t.Error("the winner is not on the front")
	}
}
