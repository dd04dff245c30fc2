package infer

import "testing"

const benchServe = "model: deepseek-v3\ncluster: {chip: h800, chips: 144}\nserving: {input_tokens: 5000, output_tokens: 1000, precision: fp8, tpot_ms: 50}\n"

// BenchmarkInfer prices one serving configuration: DeepSeek-V3's decode on
// 144 H800s (EP144 with DP attention) at 96 requests per device, its
// layout's batch-independent parts (weights, memory, prefill chunk) priced
// once, as the search does.
func BenchmarkInfer(b *testing.B) {
	r := resolve(b, benchServe)
	x, err := NewModel(r)
	if err != nil {
		b.Fatal(err)
	}
	l := Layout{TP: 144, EP: 144, PP: 1, DP: 1, AttentionDP: 144}
	s := x.shape(l)
	var res Result
	b.ReportAllocs()
	for b.Loop() {
		x.aggregated(l, &s, 96, &res)
	}
}

// BenchmarkInferSearch is a whole serving search: DeepSeek-V3 on 144 H800s
// under a 50 ms TPOT target, aggregated and disaggregated.
func BenchmarkInferSearch(b *testing.B) {
	r := resolve(b, benchServe)
	for b.Loop() {
		if _, err := Infer(r, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
