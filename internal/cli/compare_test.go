package cli

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
)

var exampleRuns = []string{"../../examples/llama3-405b-h100.yaml", "../../examples/deepseek-v3-h800.yaml"}

func TestCompare(t *testing.T) {
	needCatalog(t, []string{"h100-sxm", "h800"}, []string{"llama3-405b", "deepseek-v3"})
	code, out, errs := flopcast(t, "compare", "-f", exampleRuns[0], "-f", exampleRuns[1])
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, w := range []string{"llama3-405b-h100", "deepseek-v3-h800", "days", "chip-hours", "cost", "energy MWh", "CO2 t", "goodput",
		"chip-hours per T tokens", "CO2 t per T tokens, facility", "cost per mmlu point", "arXiv 2412.19437"} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}

	code, out, errs = flopcast(t, "compare", "-f", exampleRuns[0], "-f", exampleRuns[1], "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var got struct {
		Runs []struct {
			File  string  `json:"file"`
			Model string  `json:"model"`
			Step  float64 `json:"step_time_s"`
			Run   *struct {
				Days      float64 `json:"days"`
				ChipHours float64 `json:"chip_hours"`
				CostUSD   float64 `json:"cost_usd"`
				EnergyMWh float64 `json:"energy_mwh"`
				CO2T      float64 `json:"co2_t"`
				Goodput   float64 `json:"goodput"`
			} `json:"run"`
			PerT *struct {
				ChipHours float64 `json:"chip_hours"`
			} `json:"per_t_tokens"`
			Benchmarks []struct {
				Benchmark string  `json:"benchmark"`
				Score     float64 `json:"score"`
				PerPoint  struct {
					ChipHours float64 `json:"chip_hours"`
				} `json:"per_point"`
			} `json:"benchmarks"`
		} `json:"runs"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Runs) != 2 {
		t.Fatalf("%d runs, want 2", len(got.Runs))
	}
	for i, r := range got.Runs {
		if r.File != exampleRuns[i] || r.Run == nil || !(r.Run.Days > 0 && r.Run.ChipHours > 0 && r.Run.CostUSD > 0 &&
			r.Run.EnergyMWh > 0 && r.Run.CO2T > 0 && r.Run.Goodput > 0 && r.Run.Goodput < 1) {
			t.Errorf("run %d: %+v %+v", i, r, r.Run)
		}
	}
	// Per trillion tokens (Llama 3.1 15.6T, DeepSeek-V3 14.8T) and per
	// MMLU point of the DeepSeek-V3 report's Table 3 (84.4 and 87.1).
	for i, c := range []struct{ tokens, mmlu float64 }{{15.6e12, 84.4}, {14.8e12, 87.1}} {
		r := got.Runs[i]
		if r.PerT == nil || len(r.Benchmarks) != 1 || r.Benchmarks[0].Benchmark != "mmlu" || r.Benchmarks[0].Score != c.mmlu {
			t.Fatalf("run %d: per_t_tokens %+v, benchmarks %+v", i, r.PerT, r.Benchmarks)
		}
		if got, want := r.PerT.ChipHours, r.Run.ChipHours/(c.tokens/1e12); math.Abs(got/want-1) > 1e-9 {
			t.Errorf("run %d: %v chip-hours per T tokens, want %v", i, got, want)
		}
		if got, want := r.Benchmarks[0].PerPoint.ChipHours, r.Run.ChipHours/c.mmlu; math.Abs(got/want-1) > 1e-9 {
			t.Errorf("run %d: %v chip-hours per MMLU point, want %v", i, got, want)
		}
	}
	// DeepSeek's own figure: $2 per H800-hour.
	if d := got.Runs[1].Run; d.CostUSD != 2*d.ChipHours {
		t.Errorf("deepseek cost %v, want 2 × %v chip-hours", d.CostUSD, d.ChipHours)
	}
}

func TestCompareErrors(t *testing.T) {
	code, _, errs := flopcast(t, "compare")
	if code != exitConfig || !strings.Contains(errs, "-f") {
		t.Errorf("no files: exit %d, %q", code, errs)
	}
	code, _, errs = flopcast(t, "compare", "-f", "no-such-file.yaml")
	if code == 0 || !strings.Contains(errs, "no-such-file.yaml") {
		t.Errorf("missing file: exit %d, %q", code, errs)
	}
}
