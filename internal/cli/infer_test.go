package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestInferGolden(t *testing.T) {
	needCatalog(t, []string{"h100-sxm", "h800"}, []string{"llama3-70b", "llama3-8b", "deepseek-v3"})
	for _, tt := range []struct {
		name string
		args []string
	}{
		{"infer-text", []string{"infer", "--model", "llama3-70b", "--chip", "h100-sxm", "--chips", "2", "--input-tokens", "1000", "--output-tokens", "1000", "--precision", "fp8", "--top", "5"}},
		{"infer-json", []string{"infer", "--model", "llama3-8b", "--chip", "h100-sxm", "--chips", "8", "--input-tokens", "2000", "--output-tokens", "500",
			"--precision", "fp8", "--kv-precision", "fp8", "--tpot-ms", "30", "--ttft-ms", "1000", "--cache-hit-rate", "0.5", "--top", "2", "--json"}},
		{"infer-deepseek", []string{"infer", "--model", "deepseek-v3", "--chip", "h800", "--chips", "144", "--input-tokens", "5000", "--output-tokens", "1000",
			"--precision", "fp8", "--tpot-ms", "50", "--top", "5"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := flopcast(t, tt.args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errs)
			}
			golden(t, tt.name, out)
		})
	}
}

func TestInferJSONContract(t *testing.T) {
	needCatalog(t, []string{"h100-sxm"}, []string{"llama3-8b"})
	code, out, errs := flopcast(t, "infer", "--model", "llama3-8b", "--chip", "h100-sxm", "--chips", "4", "--input-tokens", "1000", "--output-tokens", "1000", "--json", "--top", "3")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var got struct {
		Results   []map[string]json.RawMessage `json:"results"`
		Pareto    []map[string]json.RawMessage `json:"pareto"`
		Evaluated *int64                       `json:"evaluated"`
		ElapsedS  *float64                     `json:"elapsed_s"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Results) != 3 || len(got.Pareto) == 0 || got.Evaluated == nil || got.ElapsedS == nil {
		t.Fatalf("results %d, pareto %d, evaluated %v, elapsed %v", len(got.Results), len(got.Pareto), got.Evaluated, got.ElapsedS)
	}
	for _, k := range []string{"parallel", "mode", "prefill_chips", "decode_chips", "concurrency", "ttft_s", "tpot_s", "tokens_per_s_per_user",
		"output_tokens_per_s_per_chip", "input_tokens_per_s_per_chip", "memory", "usd_per_m_output_tokens", "usd_per_m_input_tokens", "kwh_per_m_output_tokens"} {
		if _, ok := got.Results[0][k]; !ok {
			t.Errorf("result lacks %q", k)
		}
	}
	var par map[string]int
	if err := json.Unmarshal(got.Results[0]["parallel"], &par); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"tp", "ep", "pp", "dp", "attention_dp"} {
		if _, ok := par[k]; !ok {
			t.Errorf("parallel lacks %q", k)
		}
	}
	var mem map[string]any
	json.Unmarshal(got.Results[0]["memory"], &mem)
	for _, k := range []string{"weights_gib", "kv_cache_gib", "peak_gib", "fits"} {
		if _, ok := mem[k]; !ok {
			t.Errorf("memory lacks %q", k)
		}
	}
}

func TestInferErrors(t *testing.T) {
	needCatalog(t, []string{"h100-sxm", "a100-sxm-80gb"}, []string{"llama3-8b", "llama3-405b"})
	base := []string{"infer", "--model", "llama3-8b", "--chip", "h100-sxm", "--chips", "8", "--input-tokens", "1000"}
	dir := t.TempDir()
	bad := filepath.Join(dir, "serve.yaml")
	os.WriteFile(bad, []byte("model: llama3-8b\ncluster: {chip: h100-sxm, chips: 8}\nserving: {input_tokens: 10, output_tokens: 10, max_batch: 4}\n"), 0o644)
	for _, tt := range []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"zero output", append(append([]string{}, base...), "--output-tokens", "0"), exitConfig, []string{"serving.output_tokens (--output-tokens): 0", "at least one token"}},
		{"too big", []string{"infer", "--model", "llama3-405b", "--chip", "h100-sxm", "--chips", "2", "--input-tokens", "100", "--output-tokens", "100"},
			exitError, []string{"does not fit on 2 h100-sxm", "GiB per device", "try: more than"}},
		{"latency", append(append([]string{}, base...), "--output-tokens", "100", "--tpot-ms", "0.5"), exitError, []string{"no layout meets TPOT <= 0.5 ms", "the nearest", "serving.tpot_ms >="}},
		{"fp8 on a100", []string{"infer", "--model", "llama3-8b", "--chip", "a100-sxm-80gb", "--chips", "1", "--input-tokens", "10", "--output-tokens", "10", "--precision", "fp8"},
			exitConfig, []string{"serving.precision (--precision): fp8 is not supported by a100-sxm-80gb", "allowed: bf16"}},
		{"disaggregated", append(append([]string{}, base...), "--output-tokens", "10", "--disaggregated=sometimes"), exitConfig, []string{"--disaggregated", "true, false, auto"}},
		{"unknown yaml field", []string{"infer", "-f", bad}, exitConfig, []string{"serving.max_batch", "is not a known field", "input_tokens, output_tokens"}},
		{"no model", []string{"infer", "--chip", "h100-sxm"}, exitConfig, []string{"--model", "is required"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, _, errs := flopcast(t, tt.args...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d: %s", code, tt.code, errs)
			}
			for _, w := range tt.want {
				if !strings.Contains(errs, w) {
					t.Errorf("stderr %q lacks %q", errs, w)
				}
			}
		})
	}
}
