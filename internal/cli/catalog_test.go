package cli

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestCatalog(t *testing.T) {
	for _, tc := range []struct {
		what string
		want []string
	}{
		{"chips", []string{"a100-sxm-80gb", "h100-sxm", "h800", "gb200", "mi355x", "tpu-v5p", "tpu7x", "trainium2", "gaudi3", "measured"}},
		{"models", []string{"gpt3-175b", "llama3-405b", "mixtral-8x22b", "deepseek-v3", "qwen3-235b-a22b", "MLA", "GQA"}},
		{"runs", []string{"narayanan21-gpt-1.7b", "maxtext-v5p-32b-128", "confirmed", "recalled"}},
	} {
		t.Run(tc.what, func(t *testing.T) {
			code, out, errs := flopcast(t, "catalog", tc.what)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errs)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("catalog %s lacks %q", tc.what, w)
				}
			}
			code, out, _ = flopcast(t, "catalog", tc.what, "--json")
			var v []map[string]any
			if code != 0 || json.Unmarshal([]byte(out), &v) != nil || len(v) == 0 {
				t.Errorf("catalog %s --json: exit %d, not a JSON list", tc.what, code)
			}
			for _, item := range v {
				if s, _ := item["source"].(string); s == "" {
					t.Errorf("catalog %s: %v has no source", tc.what, item["name"])
				}
			}
		})
	}
	if code, _, errs := flopcast(t, "catalog", "gpus"); code == 0 || !strings.Contains(errs, "chips, models, runs") {
		t.Errorf("unknown catalog: exit %d, %q", code, errs)
	}
}
