package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestCatalogIsTheFit checks that the B200's figures in catalog/chips.yaml
// are what this tool fits on the Llama 3 70B and DeepSeek-V2 cases of
// simumax-b200: no neighbouring grid point fits those rows better, and the
// rows held out (Llama 3 405B and DeepSeek-V3) stay within SimuMax's own mean error
// on its cases (5.6%).
// refitTolerance is how much better (in mean |error|) a neighbouring grid
// point may fit before the catalog's figures count as stale: a change of
// the model elsewhere that moves the fit by less does not call for a refit.
const refitTolerance = 0.001

func TestCatalogIsTheFit(t *testing.T) {
	rows, cur, err := Rows("simumax-b200", "b200", []string{"llama3-70b", "deepseekv2"})
	if err != nil {
		t.Fatal(err)
	}
	at, err := Score(rows, cur)
	if err != nil {
		t.Fatal(err)
	}
	g := DefaultGrid
	steps := []struct {
		name string
		set  func(p *Params, d float64)
		step float64
	}{
		{"gemm.max_eff", func(p *Params, d float64) { p.GEMM += d }, g.GEMM[2]},
		{"gemm.attn_max_eff", func(p *Params, d float64) { p.Attn += d }, g.Attn[2]},
		{"fabric[0].efficiency", func(p *Params, d float64) { p.Link += d }, g.Link[2]},
	}
	for _, s := range steps {
		for _, d := range []float64{-s.step, s.step} {
			p := cur
			s.set(&p, d)
			got, err := Score(rows, p)
			if err != nil {
				t.Fatal(err)
			}
			if got.FitMean < at.FitMean-refitTolerance {
				t.Errorf("%s %+g fits the Llama 3 70B and DeepSeek-V2 rows better (%.4f < %.4f): catalog/chips.yaml's b200 is not the fit; rerun go run ./tools/stepfit and write its figures there", s.name, d, got.FitMean, at.FitMean)
			}
		}
	}
	if at.HeldMean > 0.056 {
		t.Errorf("held-out mean |error| %.3f, want at most SimuMax's 0.056", at.HeldMean)
	}
}

func TestRunReports(t *testing.T) {
	var b bytes.Buffer
	g := Grid{GEMM: [3]float64{0.6, 0.7, 0.05}, Attn: [3]float64{0.64, 0.64, 1}, Link: [3]float64{0.4, 0.8, 0.4}}
	if err := run(&b, "simumax-b200", "b200", []string{"llama3-70b", "deepseekv2"}, g, true); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"catalog ", "fitted ", "rows: 22 fitted, 21 held out", "held-out measured"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, b.String())
		}
	}
	if _, _, err := Rows("simumax-b200", "h100-sxm", nil); err == nil {
		t.Error("no rows on h100-sxm: want an error")
	}
}
