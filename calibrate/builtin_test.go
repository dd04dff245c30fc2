package calibrate

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/flopcast/flopcast/hardware"
)

var update = flag.Bool("update", false, "rewrite catalog/profiles/h100-sxm.yaml from testdata/h100-microbench.json")

// TestBuiltinProfileH100 checks that the shipped profile is a fresh fit of
// the shipped measurement. Regenerate it with
//
//	go test ./calibrate -run TestBuiltinProfileH100 -update
func TestBuiltinProfileH100(t *testing.T) {
	_, p, _ := fitH100(t)
	want, err := MarshalProfile(p)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("..", "catalog", "profiles", "h100-sxm.yaml")
	if *update {
		if err := os.WriteFile(path, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// Compare values, not bytes: the last digit of a rounded float may
	// differ between architectures (fused multiply-add).
	approx := cmpopts.EquateApprox(1e-3, 1e-9)
	committed, err := hardware.ParseProfile(b)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if d := cmp.Diff(p, committed, approx); d != "" {
		t.Errorf("%s is not a fresh fit of %s (-fit +file); run go test ./calibrate -run TestBuiltinProfileH100 -update\n%s", path, h100File, d)
	}
	if !*update {
		builtin, err := hardware.BuiltinProfile("h100-sxm")
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(committed, builtin, approx); d != "" {
			t.Errorf("embedded profile differs from %s:\n%s", path, d)
		}
	}
	// The efficiencies are relative to the peaks the fit used: the catalog
	// must quote the same ones.
	if c, ok := hardware.LookupChip("h100-sxm"); ok {
		if c.BF16TFLOPS != h100.BF16TFLOPS || c.FP8TFLOPS != h100.FP8TFLOPS || c.HBMTBps != h100.HBMTBps {
			t.Errorf("catalog h100-sxm peaks (bf16 %v, fp8 %v, hbm %v TB/s) differ from the fit's (%v, %v, %v): update h100 in fit_test.go and regenerate",
				c.BF16TFLOPS, c.FP8TFLOPS, c.HBMTBps, h100.BF16TFLOPS, h100.FP8TFLOPS, h100.HBMTBps)
		}
	} else {
		t.Log("catalog has no h100-sxm yet; peaks not cross-checked")
	}
}
