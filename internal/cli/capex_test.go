package cli

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/flopcast/flopcast/hardware"
	"github.com/flopcast/flopcast/model"
)

func needCatalog(t *testing.T, chips []string, models []string) {
	t.Helper()
	for _, c := range chips {
		if _, ok := hardware.LookupChip(c); !ok {
			t.Fatalf("chip %s is not in the catalog", c)
		}
	}
	for _, m := range models {
		if _, ok := model.Lookup(m); !ok {
			t.Fatalf("model %s is not in the catalog", m)
		}
	}
}

func TestCapexJSON(t *testing.T) {
	needCatalog(t, []string{"trainium2"}, []string{"llama3-405b"})
	code, out, errs := flopcast(t, "capex", "--budget", "100e9", "--chip", "trainium2", "--model", "llama3-405b",
		"--tokens", "15.6e12", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	// The keys of docs/output.md, decoded loosely so that a missing key shows.
	var got map[string]json.RawMessage
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, k := range []string{"budget_usd", "chip", "chips", "power_mw", "capex_split", "annual_bf16_flop", "trainable"} {
		if _, ok := got[k]; !ok {
			t.Errorf("capex --json lacks %q", k)
		}
	}
	var rep struct {
		BudgetUSD  float64 `json:"budget_usd"`
		Chip       string  `json:"chip"`
		Chips      int64   `json:"chips"`
		PerChipUSD struct {
			AllIn float64 `json:"all_in"`
		} `json:"per_chip_usd"`
		Trainable []map[string]any `json:"trainable"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if spent := float64(rep.Chips) * rep.PerChipUSD.AllIn; spent > 100e9 || 100e9-spent > rep.PerChipUSD.AllIn {
		t.Errorf("%d chips × $%.0f = $%.4g, want just under $100B", rep.Chips, rep.PerChipUSD.AllIn, spent)
	}
	if len(rep.Trainable) != 1 {
		t.Fatalf("trainable: %v", rep.Trainable)
	}
	for _, k := range []string{"model", "tokens", "days", "runs_per_year"} {
		if _, ok := rep.Trainable[0][k]; !ok {
			t.Errorf("trainable lacks %q", k)
		}
	}
	tr := rep.Trainable[0]
	if tr["tokens"] != 15.6e12 {
		t.Errorf("tokens %v, want 15.6e12", tr["tokens"])
	}
	// A job that can run: far below the 3.8M-chip fleet, days to months.
	for _, k := range []string{"job_chips", "job_reason", "concurrent_jobs", "global_batch", "batch_limit_tokens", "mfu", "run"} {
		if _, ok := tr[k]; !ok {
			t.Errorf("trainable lacks %q", k)
		}
	}
	if d, _ := tr["days"].(float64); d < 2 || d > 365 {
		t.Errorf("llama3-405b on 15.6T tokens takes %v days, want days to months", tr["days"])
	}
	if n, _ := tr["job_chips"].(float64); !(n >= 1024 && int64(n) < rep.Chips/10) {
		t.Errorf("job of %v chips out of %d", tr["job_chips"], rep.Chips)
	}
	run, _ := tr["run"].(map[string]any)
	for _, k := range []string{"energy_chips_mwh", "energy_it_mwh", "energy_mwh", "co2_t", "co2_chips_t", "range"} {
		if _, ok := run[k]; !ok {
			t.Errorf("trainable run lacks %q", k)
		}
	}
}

func TestCapexText(t *testing.T) {
	needCatalog(t, []string{"h100-sxm"}, []string{"llama3-70b"})
	code, out, errs := flopcast(t, "capex", "--budget", "1e9", "--chip", "h100-sxm", "--model", "llama3-70b", "--mfu", "0.4")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{"$1B on h100-sxm", "all-in per chip", "chips", "power", "capex split", "McKinsey", "BF16 FLOP a year", "llama3-70b", "runs/year",
		"job chips", "jobs at once", "why each job is that size", "energy, chips", "energy, facility", "carbon, chips"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestCapexScenario(t *testing.T) {
	needCatalog(t, []string{"trainium2", "gb200", "tpu7x"}, []string{"llama3-8b"})
	code, out, errs := flopcast(t, "capex", "--scenario", "hyperscalers-2025", "--model", "llama3-8b", "--mfu", "0.4", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var reps []struct {
		Company   string  `json:"company"`
		BudgetUSD float64 `json:"budget_usd"`
		Chip      string  `json:"chip"`
		Chips     int64   `json:"chips"`
	}
	if err := json.Unmarshal([]byte(out), &reps); err != nil {
		t.Fatal(err)
	}
	want := []struct {
		company string
		budget  float64
		chip    string
	}{{"Amazon", 100e9, "trainium2"}, {"Microsoft", 80e9, "gb200"}, {"Alphabet", 75e9, "tpu7x"}, {"Meta", 62.5e9, "gb200"}}
	if len(reps) != len(want) {
		t.Fatalf("%d entries, want %d", len(reps), len(want))
	}
	for i, w := range want {
		r := reps[i]
		if r.Company != w.company || r.BudgetUSD != w.budget || r.Chip != w.chip || r.Chips <= 0 {
			t.Errorf("entry %d = %+v, want %s $%.3g on %s", i, r, w.company, w.budget, w.chip)
		}
	}
	code, out, errs = flopcast(t, "capex", "--scenario", "hyperscalers-2025", "--model", "llama3-8b", "--mfu", "0.4")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, w := range []string{"Amazon", "Microsoft", "Alphabet", "Meta", "days per run", "sources"} {
		if !strings.Contains(out, w) {
			t.Errorf("scenario table lacks %q:\n%s", w, out)
		}
	}
}

func TestCapexErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"capex", "--chip", "h100-sxm"}, "--budget"},
		{[]string{"capex", "--budget", "0", "--chip", "h100-sxm"}, "--budget"},
		{[]string{"capex", "--budget", "-5e9", "--chip", "h100-sxm", "--mfu", "0.4"}, "--budget"},
		{[]string{"capex", "--budget", "1e9"}, "--chip"},
		{[]string{"capex", "--budget", "1e9", "--chip", "h100-sxn"}, "--chip"},
		{[]string{"capex", "--budget", "1e9", "--chip", "h100-sxm", "--mfu", "40"}, "--mfu"},
		{[]string{"capex", "--scenario", "nope"}, "--scenario"},
		{[]string{"capex", "--scenario", "hyperscalers-2025", "--budget", "1e9"}, "--scenario"},
	} {
		t.Run(strings.Join(tc.args[1:], " "), func(t *testing.T) {
			code, _, errs := flopcast(t, tc.args...)
			if code != exitConfig {
				t.Errorf("exit %d, want %d (%s)", code, exitConfig, errs)
			}
			if !strings.Contains(errs, tc.want) {
				t.Errorf("stderr %q does not name %s", errs, tc.want)
			}
		})
	}
}
