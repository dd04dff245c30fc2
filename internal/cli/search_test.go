package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var searchSmall = []string{"search", "--model", "llama3-8b", "--chip", "h100-sxm", "--chips", "64", "--seq", "4096", "--global-batch", "256"}

func TestSearchGolden(t *testing.T) {
	needCatalog(t, []string{"h100-sxm", "a100-sxm-80gb"}, []string{"llama3-8b", "llama3-70b"})
	tests := []struct {
		name string
		args []string
	}{
		{"search-text", append(append([]string{}, searchSmall...), "--top", "5")},
		{"search-json", append(append([]string{}, searchSmall...), "--tp", "1", "--pp", "1", "--cp", "1", "--zero", "2", "--recompute", "none", "--top", "3", "--json")},
		{"search-cost-given", []string{"search", "--model", "llama3-70b", "--chip", "a100-sxm-80gb", "--chips", "128", "--seq", "4096",
			"--global-batch", "512", "--tp", "8", "--zero", "1", "--objective", "cost", "--top", "5"}},
		{"search-energy-tokens-json", []string{"search", "--model", "llama3-8b", "--chip", "h100-sxm", "--chips", "32", "--seq", "2048",
			"--global-batch", "128", "--tokens", "1e12", "--tp", "2", "--pp", "2", "--cp", "1", "--zero", "1", "--recompute", "selective",
			"--sequence-parallel", "true", "--objective", "energy", "--top", "2", "--json"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := flopcast(t, tt.args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errs)
			}
			golden(t, tt.name, out)
		})
	}
}

func TestSearchJSONContract(t *testing.T) {
	needCatalog(t, []string{"h100-sxm"}, []string{"llama3-8b"})
	code, out, errs := flopcast(t, append(append([]string{}, searchSmall...), "--top", "4", "--json")...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var got map[string]json.RawMessage
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"results", "pareto", "evaluated", "feasible", "elapsed_s", "explanation"} {
		if _, ok := got[k]; !ok {
			t.Errorf("JSON lacks %q", k)
		}
	}
	var res []map[string]json.RawMessage
	if err := json.Unmarshal(got["results"], &res); err != nil || len(res) != 4 {
		t.Fatalf("results: %v (%d)", err, len(res))
	}
	for _, k := range []string{"parallel", "step_time_s", "tokens_per_s", "model_tflops_per_chip", "mfu", "hfu", "memory", "breakdown"} {
		if _, ok := res[0][k]; !ok {
			t.Errorf("result lacks %q", k)
		}
	}
}

func TestSearchErrors(t *testing.T) {
	needCatalog(t, []string{"h100-sxm"}, []string{"llama3-8b", "llama3-405b"})
	tests := []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"absurd space", []string{"search", "--model", "llama3-8b", "--chip", "h100-sxm", "--chips", "10000000", "--seq", "4096", "--global-batch", "1"},
			exitConfig, []string{"none of the", "is valid", "global_batch", "try:"}},
		{"nothing fits", []string{"search", "--model", "llama3-405b", "--chip", "h100-sxm", "--chips", "8", "--seq", "8192", "--global-batch", "16"},
			exitError, []string{"fits in memory", "closest", "over by", "more chips"}},
		{"bad objective", append(append([]string{}, searchSmall...), "--objective", "speed"), exitConfig, []string{"--objective", "time, cost, energy"}},
		{"bad top", append(append([]string{}, searchSmall...), "--top", "0"), exitConfig, []string{"--top"}},
		{"bad knob", append(append([]string{}, searchSmall...), "--zero", "7"), exitConfig, []string{"parallel.zero"}},
		{"no model", []string{"search", "--chip", "h100-sxm", "--chips", "8", "--seq", "8", "--global-batch", "8"}, exitConfig, []string{"model"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := flopcast(t, tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d (stderr %s)", code, tt.code, errs)
			}
			if out != "" {
				t.Errorf("stdout not empty: %s", out)
			}
			for _, w := range tt.want {
				if !strings.Contains(errs, w) {
					t.Errorf("stderr lacks %q:\n%s", w, errs)
				}
			}
		})
	}
}

func TestSearchHTML(t *testing.T) {
	needCatalog(t, []string{"h100-sxm"}, []string{"llama3-8b"})
	path := filepath.Join(t.TempDir(), "plan.html")
	code, out, errs := flopcast(t, append(append([]string{}, searchSmall...), "--top", "3", "--html", path)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte("<html")) || !strings.Contains(out, "report written to") {
		t.Errorf("html report: %d bytes; stdout %q", len(b), out)
	}
}

var sweepSmall = []string{"sweep", "--model", "llama3-8b", "--chip", "h100-sxm,b200", "--chips", "256,64", "--seq", "4096", "--global-batch", "256"}

func TestSweepGolden(t *testing.T) {
	needCatalog(t, []string{"h100-sxm", "b200"}, []string{"llama3-8b", "llama3-405b"})
	tests := []struct {
		name string
		args []string
	}{
		{"search-sweep-text", sweepSmall},
		{"search-sweep-weak-tokens-json", append(append([]string{}, sweepSmall...), "--weak", "--tokens", "2e12", "--json")},
		{"search-sweep-csv", append(append([]string{}, sweepSmall...), "--csv", "-")},
		{"search-sweep-does-not-fit", []string{"sweep", "--model", "llama3-405b", "--chip", "h100-sxm", "--chips", "8,512", "--seq", "8192", "--global-batch", "512"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := flopcast(t, tt.args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errs)
			}
			if errs != "" {
				t.Errorf("stderr not empty (no terminal, no progress bar): %q", errs)
			}
			golden(t, tt.name, out)
		})
	}
}

func TestSweepErrors(t *testing.T) {
	for _, args := range [][]string{
		{"sweep", "--model", "llama3-8b", "--chip", "h100", "--chips", "64", "--seq", "4096", "--global-batch", "256"},
		{"sweep", "--model", "llama3-8b", "--chip", "h100-sxm", "--chips", "64,x", "--seq", "4096", "--global-batch", "256"},
		{"sweep", "--model", "llama3-8b", "--chips", "64", "--seq", "4096", "--global-batch", "256"},
		{"sweep", "--model", "llama3-8b", "--chip", "h100-sxm", "--seq", "4096", "--global-batch", "256"},
	} {
		code, out, errs := flopcast(t, args...)
		if code != exitConfig || out != "" || errs == "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", args, code, out, errs)
		}
	}
}

func TestSweepProgressOnlyOnTerminal(t *testing.T) {
	needCatalog(t, []string{"h100-sxm"}, []string{"llama3-8b"})
	var out, errw bytes.Buffer
	code := Main(context.Background(), []string{"sweep", "--model", "llama3-8b", "--chip", "h100-sxm", "--chips", "64", "--seq", "4096", "--global-batch", "256"},
		&IO{In: strings.NewReader(""), Out: &out, Err: &errw, IsTerm: true})
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errw.String())
	}
	if !strings.Contains(errw.String(), "sweeping") || strings.Contains(out.String(), "sweeping") {
		t.Errorf("progress: stderr %q", errw.String())
	}
}
