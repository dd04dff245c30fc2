package cli

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestCapexServe(t *testing.T) {
	needCatalog(t, []string{"h100-sxm"}, []string{"llama3-8b", "llama3-70b"})
	base := []string{"capex", "--budget", "1e9", "--chip", "h100-sxm", "--mfu", "0.4", "--model", "llama3-8b", "--serve", "llama3-70b", "--tpot-ms", "50"}
	code, out, errs := flopcast(t, base...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{"serving llama3-70b", "TPOT <= 50 ms", "output tokens a day", "per million output tokens"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	code, out, errs = flopcast(t, append(base, "--json")...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var got struct {
		Chips   int64 `json:"chips"`
		Serving struct {
			Chips              int64   `json:"chips"`
			OutputTokensPerDay float64 `json:"output_tokens_per_day"`
			USD                float64 `json:"usd_per_m_output_tokens_all_in"`
			Layout             struct {
				TPOTS float64 `json:"tpot_s"`
			} `json:"layout"`
		} `json:"serving"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	s := got.Serving
	if got.Chips == 0 || s.Chips != got.Chips || s.OutputTokensPerDay <= 0 || s.USD <= 0 || s.Layout.TPOTS > 0.05 {
		t.Errorf("capex --serve --json: %+v", got)
	}
	code, _, errs = flopcast(t, "capex", "--budget", "1e9", "--chip", "h100-sxm", "--mfu", "0.4", "--model", "llama3-8b", "--serve", "llama9")
	if code != exitConfig || !strings.Contains(errs, "--serve") {
		t.Errorf("unknown --serve model: exit %d, %s", code, errs)
	}
}
