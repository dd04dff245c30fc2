package cli

import (
	"encoding/json"
	"strings"
	"testing"
)

// The knobs of docs/run-yaml.md work from flags; their errors name the flag.
func TestParallelKnobFlags(t *testing.T) {
	qwen := []string{"estimate", "--model", "qwen3-235b-a22b", "--chip", "h100-sxm", "--chips", "256", "--seq", "4096", "--global-batch", "1024",
		"--tp", "2", "--ep", "32", "--pp", "8"}
	for _, tc := range []struct {
		name string
		args []string
		code int
		want []string // substrings of stdout (exit 0) or stderr
	}{
		{"qwen3 etp1", append(qwen, "--etp", "1", "--json"), 0, []string{`"etp": 1`, `"ep": 32`, `"pp_schedule": "1f1b"`}},
		{"qwen3 default etp", qwen, exitConfig, []string{"parallel.ep (--ep): 32 × etp 2 = 64 does not divide", "try: parallel.etp: 1"}},
		{"recompute list", append(qwen, "--etp", "1", "--recompute", "layernorm,moe_act", "--json"), 0, []string{`"recompute": "layernorm,moe_act"`}},
		{"recompute unknown", append(qwen, "--etp", "1", "--recompute", "layernorm,attn"), exitConfig, []string{`--recompute: "layernorm,attn" names an unknown module "attn"`}},
		{"recompute mla", append(qwen, "--etp", "1", "--recompute", "mla_up_proj"), exitConfig, []string{"parallel.recompute (--recompute)", "needs multi-head latent attention"}},
		{"offload", append(qwen, "--etp", "1", "--offload", "activations,optimizer", "--json"), 0, []string{`"offload": "activations,optimizer"`}},
		{"offload unknown", append(qwen, "--etp", "1", "--offload", "disk"), exitConfig, []string{"--offload", "allowed: none, activations, optimizer"}},
		{"interleaved", append(qwen, "--etp", "1", "--vpp", "2", "--json"), 0, []string{`"pp_schedule": "interleaved"`}},
		{"dualpipe", append(qwen, "--etp", "1", "--pp-schedule", "dualpipe", "--json"), 0, []string{`"pp_schedule": "dualpipe"`}},
		{"schedule unknown", append(qwen, "--etp", "1", "--pp-schedule", "zb"), exitConfig, []string{`--pp-schedule: "zb" is not allowed (allowed: 1f1b, interleaved, dualpipe)`}},
		{"interleaved without vpp", append(qwen, "--etp", "1", "--pp-schedule", "interleaved"), exitConfig, []string{"parallel.pp_schedule (--pp-schedule): interleaved needs virtual stages"}},
		{"mxfp8 on h100", append(qwen, "--etp", "1", "--precision", "mxfp8"), exitConfig, []string{`training.precision (--precision): "mxfp8" is not supported by h100-sxm (allowed: bf16, fp8)`}},
		{"fp8-params with bf16", append(qwen, "--etp", "1", "--fp8-params"), exitConfig, []string{"training.fp8_params (--fp8-params): true needs a low-precision"}},
		{"fp8-params false", append(qwen, "--etp", "1", "--precision", "fp8", "--fp8-params=false", "--json"), 0, []string{`"etp": 1`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := flopcast(t, tc.args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d: %s", code, tc.code, errs)
			}
			text := errs
			if code == 0 {
				text = out
			}
			for _, w := range tc.want {
				if !strings.Contains(text, w) {
					t.Errorf("output lacks %q:\n%s", w, text)
				}
			}
		})
	}
}

func TestEstimateNVFP4OnBlackwell(t *testing.T) {
	code, out, errs := flopcast(t, "estimate", "--model", "llama3-70b", "--chip", "b200", "--chips", "64", "--seq", "8192", "--global-batch", "64",
		"--tp", "8", "--precision", "nvfp4", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var m struct {
		MFU float64 `json:"mfu"`
	}
	if err := json.Unmarshal([]byte(out), &m); err != nil || !(m.MFU > 0) {
		t.Fatalf("mfu %v, %v", m.MFU, err)
	}
}

func TestZeroHelpHasNoSentinel(t *testing.T) {
	code, out, _ := flopcast(t, "estimate", "--help")
	if code != 0 {
		t.Fatal(code)
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, "--zero") && strings.Contains(line, "(default -1)") {
			t.Errorf("--zero help shows a sentinel: %q", line)
		}
	}
	for _, flag := range []string{"--etp", "--pp-schedule", "--offload", "--fp8-params"} {
		if !strings.Contains(out, flag) {
			t.Errorf("help lacks %s", flag)
		}
	}
}

func TestWholeNumberFlags(t *testing.T) {
	base := []string{"estimate", "--model", "llama3-8b", "--chip", "h100-sxm", "--seq", "1024", "--global-batch", "8", "--json"}
	code, out, errs := flopcast(t, append(base, "--chips", "8e0", "--tp", "2.0")...)
	if code != 0 || !strings.Contains(out, `"tp": 2`) {
		t.Fatalf("exact exponent form: exit %d %s", code, errs)
	}
	code, _, errs = flopcast(t, append(base, "--chips", "8.5")...)
	if code != exitConfig || !strings.Contains(errs, "--chips: 8.5 is not a whole number") {
		t.Errorf("fraction: exit %d %q", code, errs)
	}
}
