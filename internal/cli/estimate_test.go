package cli

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestEstimateGolden(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"estimate-llama3-70b", []string{"estimate", "--model", "llama3-70b", "--chip", "h100-sxm", "--chips", "1024", "--seq", "8192", "--global-batch", "1024", "--tp", "8", "--pp", "4"}},
		{"estimate-deepseek-v3", []string{"estimate", "-f", "../../examples/deepseek-v3-h800.yaml"}},
		{"estimate-llama3-405b-json", []string{"estimate", "-f", "../../examples/llama3-405b-h100.yaml", "--json"}},
		{"estimate-mixtral-a100-default-curve", []string{"estimate", "--model", "mixtral-8x7b", "--chip", "a100-sxm-80gb", "--chips", "64", "--seq", "4096", "--global-batch", "256", "--pp", "4", "--ep", "8", "--recompute", "full", "--zero", "3"}},
		{"validate", []string{"validate"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := flopcast(t, tc.args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errs)
			}
			golden(t, tc.name, out)
		})
	}
}

// The JSON keys of docs/output.md are a contract for other tools.
func TestEstimateJSONContract(t *testing.T) {
	code, out, errs := flopcast(t, "estimate", "--model", "llama3-8b", "--chip", "h100-sxm", "--chips", "8", "--seq", "8192", "--global-batch", "64", "--tokens", "1e11", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"parallel", "step_time_s", "tokens_per_s", "model_tflops_per_chip", "mfu", "hfu", "memory", "breakdown", "run"} {
		if _, ok := m[k]; !ok {
			t.Errorf("missing key %q", k)
		}
	}
	sub := map[string][]string{
		"parallel":  {"tp", "pp", "dp", "cp", "ep", "vpp", "micro_batch", "zero", "recompute", "sequence_parallel"},
		"memory":    {"peak_gib", "weights_gib", "grads_gib", "optimizer_gib", "activations_gib", "other_gib", "fits"},
		"breakdown": {"compute_s", "exposed_tp_comm_s", "exposed_cp_comm_s", "exposed_ep_comm_s", "pipeline_bubble_s", "exposed_dp_comm_s", "optimizer_s"},
		"run":       {"steps", "days", "chip_hours", "cost_usd", "energy_mwh", "co2_t", "interruptions", "goodput"},
	}
	for obj, keys := range sub {
		o, _ := m[obj].(map[string]any)
		for _, k := range keys {
			if _, ok := o[k]; !ok {
				t.Errorf("missing key %s.%s", obj, k)
			}
		}
	}
}

func TestEstimateErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want []string
		code int
	}{
		{"missing file", []string{"estimate", "-f", "no-such.yaml"}, []string{"no-such.yaml"}, exitError},
		{"unknown chip", []string{"estimate", "--model", "llama3-8b", "--chip", "h100", "--chips", "8", "--seq", "1024", "--global-batch", "8"}, []string{"cluster.chip", "h100-sxm"}, exitConfig},
		{"unknown model", []string{"estimate", "--model", "llama-3-8b", "--chip", "h100-sxm", "--chips", "8", "--seq", "1024", "--global-batch", "8"}, []string{"model", "llama3-8b"}, exitConfig},
		{"layout product", []string{"estimate", "--model", "llama3-8b", "--chip", "h100-sxm", "--chips", "8", "--seq", "1024", "--global-batch", "8", "--tp", "8", "--dp", "2"}, []string{"parallel", "cluster.chips=8"}, exitConfig},
		{"tp heads", []string{"estimate", "--model", "llama3-8b", "--chip", "h100-sxm", "--chips", "24", "--seq", "1024", "--global-batch", "24", "--tp", "3"}, []string{"parallel.tp", "allowed: 1, 2, 4, 8"}, exitConfig},
		{"negative chips", []string{"estimate", "--model", "llama3-8b", "--chip", "h100-sxm", "--chips", "-8", "--seq", "1024", "--global-batch", "8"}, []string{"cluster.chips", "positive"}, exitConfig},
		{"missing seq", []string{"estimate", "--model", "llama3-8b", "--chip", "h100-sxm", "--chips", "8", "--global-batch", "8"}, []string{"--seq"}, exitConfig},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errs := flopcast(t, tc.args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d (%s)", code, tc.code, errs)
			}
			for _, w := range tc.want {
				if !strings.Contains(errs, w) {
					t.Errorf("stderr %q lacks %q", errs, w)
				}
			}
		})
	}
}

// A layout that does not fit still gets an estimate, with the overflow and
// what would help.
func TestEstimateDoesNotFit(t *testing.T) {
	code, out, errs := flopcast(t, "estimate", "--model", "llama3-405b", "--chip", "h100-sxm", "--chips", "8", "--seq", "8192", "--global-batch", "8", "--tp", "8")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, w := range []string{"DOES NOT FIT", "over the", "ZeRO-3"} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
}
