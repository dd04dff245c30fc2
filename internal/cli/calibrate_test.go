package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/flopcast/flopcast/calibrate"
	"github.com/flopcast/flopcast/hardware"
)

const calibrateH100 = "../../calibrate/testdata/h100-microbench.json"

func TestCalibrate(t *testing.T) {
	if _, ok := hardware.LookupChip("h100-sxm"); !ok {
		t.Fatal("h100-sxm is not in the chip catalog")
	}
	b, err := os.ReadFile(calibrateH100)
	if err != nil {
		t.Fatal(err)
	}
	m, err := calibrate.ParseMeasurement(b)
	if err != nil {
		t.Fatal(err)
	}
	m.Source = "h100-microbench.json"
	want, _, err := calibrate.Fit(m, "h100-sxm")
	if err != nil {
		t.Fatal(err)
	}

	for _, args := range [][]string{
		{"--chip", "h100-sxm"},
		nil, // inferred from "NVIDIA H100 80GB HBM3"
	} {
		t.Run(strings.Join(append([]string{"args"}, args...), " "), func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "h100.yaml")
			code, stdout, stderr := runCLI(t, "", append([]string{"calibrate", "--from", calibrateH100, "--out", out}, args...)...)
			if code != 0 {
				t.Fatalf("exit %d\nstderr: %s", code, stderr)
			}
			for _, s := range []string{"h100-sxm profile from", "max_eff 0.7315", "34 points", "half_seq 1060", "mem_eff 0.8836", "wrote " + out} {
				if !strings.Contains(stdout, s) {
					t.Errorf("stdout lacks %q:\n%s", s, stdout)
				}
			}
			if inferred := strings.Contains(stdout, "chip inferred"); inferred != (args == nil) {
				t.Errorf("inferred note %v, want %v", inferred, args == nil)
			}
			y, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			got, err := hardware.ParseProfile(y)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(want, got, cmpopts.EquateApprox(1e-9, 0)); d != "" {
				t.Errorf("written profile (-Fit +file):\n%s", d)
			}
		})
	}

	t.Run("json", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "h100.yaml")
		code, stdout, stderr := runCLI(t, "", "calibrate", "--from", calibrateH100, "--out", out, "--json")
		if code != 0 {
			t.Fatalf("exit %d\nstderr: %s", code, stderr)
		}
		var r struct {
			Chip     string            `json:"chip"`
			Profile  hardware.Profile  `json:"profile"`
			Warnings []string          `json:"warnings"`
			Points   []json.RawMessage `json:"points"`
		}
		if err := json.Unmarshal([]byte(stdout), &r); err != nil {
			t.Fatalf("%v\n%s", err, stdout)
		}
		if r.Chip != "h100-sxm" || r.Profile.GEMM.MaxEff != want.GEMM.MaxEff || r.Warnings == nil || len(r.Points) != 44 {
			t.Errorf("chip %q, max_eff %v, warnings %v, %d points", r.Chip, r.Profile.GEMM.MaxEff, r.Warnings, len(r.Points))
		}
	})

	t.Run("stdin to stdout", func(t *testing.T) {
		code, stdout, stderr := runCLI(t, string(b), "calibrate", "--from", "-", "--out", "-", "--chip", "h100-sxm")
		if code != 0 {
			t.Fatalf("exit %d\nstderr: %s", code, stderr)
		}
		if _, err := hardware.ParseProfile([]byte(stdout)); err != nil {
			t.Errorf("stdout is not a profile: %v\n%s", err, stdout)
		}
		if !strings.Contains(stderr, "max_eff") {
			t.Errorf("summary not on stderr: %s", stderr)
		}
	})

	t.Run("device mismatch warns", func(t *testing.T) {
		h200 := strings.Replace(string(b), `"gpu": "NVIDIA H100 80GB HBM3"`, `"gpu": "NVIDIA H200"`, 1)
		code, _, stderr := runCLI(t, h200, "calibrate", "--from", "-", "--out", filepath.Join(t.TempDir(), "p.yaml"), "--chip", "h100-sxm")
		if code != 0 || !strings.Contains(stderr, `warning: env.gpu: "NVIDIA H200" does not look like chip h100-sxm`) {
			t.Errorf("exit %d, stderr %s", code, stderr)
		}
	})
}

func TestCalibrateErrors(t *testing.T) {
	b, err := os.ReadFile(calibrateH100)
	if err != nil {
		t.Fatal(err)
	}
	missingS := strings.Replace(string(b), `"s": 6.534399837255478e-05,`, "", 1)
	rtx := strings.Replace(string(b), `"gpu": "NVIDIA H100 80GB HBM3"`, `"gpu": "NVIDIA GeForce RTX 4090"`, 1)
	tests := []struct {
		name  string
		stdin string
		args  []string
		code  int
		want  string
	}{
		{"missing field", missingS, []string{"--from", "-", "--out", "x.yaml"}, exitConfig, "-: gemm[3].s: (missing) is required"},
		{"not a measurement", "chips: []\n", []string{"--from", "-", "--out", "x.yaml"}, exitError, "not a flopcast GPU measurement"},
		{"unknown device", rtx, []string{"--from", "-", "--out", "x.yaml"}, exitConfig, `env.gpu: "NVIDIA GeForce RTX 4090" is not a device flopcast can match to a catalog chip; try: --chip NAME`},
		{"unknown chip", string(b), []string{"--from", "-", "--out", "x.yaml", "--chip", "h1000"}, exitConfig, "--chip: h1000 is not in the catalog"},
		{"no file", "", []string{"--from", "no-such.json", "--out", "x.yaml"}, exitError, "no-such.json"},
		{"no --from", "", []string{"--out", "x.yaml"}, exitError, `required flag(s) "from" not set`},
		{"json to stdout", "", []string{"--from", "-", "--out", "-", "--json"}, exitConfig, "--out: - would mix"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, tt.stdin, append([]string{"calibrate"}, tt.args...)...)
			if code != tt.code || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", code, stderr, tt.code, tt.want)
			}
		})
	}
}
