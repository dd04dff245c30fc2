package main

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"
)

func loadCases(t *testing.T) []Case {
	t.Helper()
	b, err := os.ReadFile("testdata/simumax_b200_v1.2_cases.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []Case
	if err := json.Unmarshal(b, &cases); err != nil {
		t.Fatal(err)
	}
	return cases
}

// The committed corpus file is exactly what the converter makes of the
// cases: no row was edited by hand.
func TestCommittedFileIsGenerated(t *testing.T) {
	cases := loadCases(t)
	if len(cases) != 43 {
		t.Fatalf("%d cases, want SimuMax's 43", len(cases))
	}
	var b bytes.Buffer
	if err := Convert(&b, cases); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("../../catalog/runs-simumax.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b.Bytes(), got) {
		t.Error("catalog/runs-simumax.yaml differs from the converter's output; run: go run ./tools/simumax2corpus > catalog/runs-simumax.yaml")
	}
}

func TestPaddedVocab(t *testing.T) {
	for _, c := range []struct{ v, tp, want int }{
		{128256, 1, 128256}, {128256, 2, 128256}, {128256, 4, 128512}, {128256, 8, 129024}, {102400, 8, 102400},
	} {
		if got := paddedVocab(c.v, c.tp); got != c.want {
			t.Errorf("paddedVocab(%d, %d) = %d, want %d", c.v, c.tp, got, c.want)
		}
	}
}

// A case the converter cannot express is refused by name, not converted
// wrongly.
func TestRefusesWhatItCannotExpress(t *testing.T) {
	for _, tc := range []struct {
		name string
		mut  func(c *Case)
	}{
		{"precision", func(c *Case) { c.Precision = "FP8" }},
		{"recompute", func(c *Case) { c.Recompute.Effective = "full" }},
		{"layout", func(c *Case) { c.DP *= 2 }},
		{"tp overlap", func(c *Case) { c.Switches.TPCommOverlap = true }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cases := loadCases(t)[:1]
			tc.mut(&cases[0])
			err := Convert(&bytes.Buffer{}, cases)
			if err == nil || !strings.Contains(err.Error(), cases[0].Name) {
				t.Fatalf("err = %v, want one naming the case", err)
			}
		})
	}
}
