package cli

import (
	"encoding/json"
	"strings"
	"testing"
)

// --fill-in prints, under each row, how its unpublished knobs were filled.
func TestValidateFillIn(t *testing.T) {
	code, out, errs := flopcast(t, "validate", "--fill-in")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	lines := strings.Split(out, "\n")
	for i, l := range lines {
		if strings.HasPrefix(strings.TrimSpace(l), "narayanan21-gpt-1.7b ") {
			if i+1 >= len(lines) || !strings.HasPrefix(lines[i+1], "      fill-in: precision: the paper used fp16") {
				t.Fatalf("no fill-in line under the row: %q", lines[i+1])
			}
			return
		}
	}
	t.Fatal("row narayanan21-gpt-1.7b not printed")
}

// validate --json keeps the keys and groups of docs/output.md.
func TestValidateJSONContract(t *testing.T) {
	code, out, errs := flopcast(t, "validate", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var rep struct {
		Rows   []map[string]any          `json:"rows"`
		Mean   *float64                  `json:"mean_abs_err"`
		Worst  *float64                  `json:"worst_abs_err"`
		Groups map[string]map[string]any `json:"groups"`
		Memory map[string]any            `json:"memory"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Mean == nil || rep.Worst == nil || len(rep.Rows) == 0 || rep.Memory == nil {
		t.Fatalf("missing top-level keys in %.200s", out)
	}
	for _, k := range []string{"name", "source", "measured", "predicted", "metric", "abs_err", "err", "group"} {
		if _, ok := rep.Rows[0][k]; !ok {
			t.Errorf("rows[0]: missing key %q", k)
		}
	}
	for _, g := range []string{"dense-bf16", "dense-fp8", "moe", "whole-run", "simumax-b200"} {
		for _, k := range []string{"rows", "mean_abs_err", "worst_abs_err"} {
			if _, ok := rep.Groups[g][k]; !ok {
				t.Errorf("groups.%s: missing key %q", g, k)
			}
		}
	}
}
