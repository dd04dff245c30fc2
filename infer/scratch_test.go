package infer

import (
	"encoding/json"
	"fmt"
	"testing"
)

func TestScratch(t *testing.T) {
	for _, y := range []string{
		`{"model":"llama3-70b","cluster":{"chip":"h100-sxm","chips":2},"serving":{"input_tokens":1000,"output_tokens":1000,"precision":"fp8","kv_precision":"fp8","disaggregated":false},"parallel":{"tp":2}}`,
		`{"model":"llama3-70b","cluster":{"chip":"h200","chips":1},"serving":{"input_tokens":1000,"output_tokens":1000,"precision":"fp8","kv_precision":"fp8","disaggregated":false}}`,
		`{"model":"llama3-8b","cluster":{"chip":"h100-sxm","chips":1},"serving":{"input_tokens":1000,"output_tokens":1000,"precision":"fp8","kv_precision":"fp8","disaggregated":false}}`,
		`{"model":"deepseek-v3","cluster":{"chip":"h800","chips":1814},"serving":{"input_tokens":4400,"output_tokens":1200,"precision":"fp8","tpot_ms":50,"cache_hit_rate":0.563,"disaggregated":true},"parallel":{"tp":144,"ep":144,"attention_dp":144,"pp":1},"prefill_parallel":{"tp":32,"ep":32,"attention_dp":32,"pp":1}}`,
		`{"model":"deepseek-v3","cluster":{"chip":"h800","chips":144},"serving":{"input_tokens":5000,"output_tokens":1000,"precision":"fp8","tpot_ms":50}}`,
	} {
		s, err := ParseJSON([]byte(y))
		if err != nil {
			t.Fatal(err)
		}
		r, err := Resolve(s)
		if err != nil {
			t.Fatal(err)
		}
		rep, err := Infer(r, 3)
		if err != nil {
			t.Log(err)
			continue
		}
		b, _ := json.MarshalIndent(rep.Results[0], "", " ")
		fmt.Println(string(b))
		fmt.Println(rep.Explanation, rep.Evaluated, rep.ElapsedS)
	}
}
