// Command stepfit calibrates a chip's achieved efficiencies on measured
// training steps: the BF16 GEMM efficiency (gemm.max_eff), the
// fused-attention efficiency (gemm.attn_max_eff) and the scale-up tier's
// achieved fraction of its link bandwidth (the first fabric tier's
// efficiency) that minimise the mean |error| of the predicted step time
// over the corpus rows of one group, by grid search with every other figure
// of the catalog held.
//
// It fits on one split of the rows and reports the error on the rows held
// out, so that the calibration it prints (catalog/chips.yaml records it as
// such) is checked on steps it was not fitted to. The B200 figures come
// from
//
//	go run ./tools/stepfit -group simumax-b200 -chip b200 -fit llama3-70b,deepseekv2
//
// -fit selects the fitted rows by substrings of their names (comma
// separated, any matching); the rest of the group is held out.
package main

import (
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"

	"github.com/flopcast/flopcast/estimate"
	"github.com/flopcast/flopcast/spec"
	"github.com/flopcast/flopcast/validate"
)

// Params are the figures the fit varies.
type Params struct {
	GEMM     float64 // gemm.max_eff
	Attn     float64 // gemm.attn_max_eff
	Link     float64 // fabric[0].efficiency
	LinkLat  float64 // fabric[0].latency_us
	linkName string
}

// Grid is the search space: each figure from its Lo to its Hi in Steps.
type Grid struct {
	GEMM, Attn, Link [3]float64 // lo, hi, step
	LinkLat          []float64  // the latencies tried; empty: the catalog's
}

// DefaultGrid spans every efficiency a current accelerator reaches in
// training.
var DefaultGrid = Grid{
	GEMM: [3]float64{0.40, 0.80, 0.005},
	Attn: [3]float64{0.40, 0.80, 0.02},
	Link: [3]float64{0.30, 0.90, 0.02},
}

// Row is one step-time row, resolved once.
type Row struct {
	Name     string
	Measured float64
	Fit      bool // in the fitted split (else held out)
	r        spec.Resolved
}

func main() {
	group := flag.String("group", "simumax-b200", "corpus group whose step-time rows are fitted")
	chip := flag.String("chip", "b200", "the chip whose figures are fitted")
	fit := flag.String("fit", "llama3-70b,deepseekv2", "comma-separated substrings of the names of the rows fitted; the rest are held out")
	lat := flag.Bool("latency", false, "fit the scale-up tier's per-step latency too (2-30 µs)")
	link := flag.Bool("link", true, "fit the scale-up tier's efficiency (false: hold the catalog's)")
	flag.Parse()
	g := DefaultGrid
	if *lat {
		g.LinkLat = []float64{2, 4, 6, 8, 10, 12, 16, 20, 25, 30}
	}
	if err := run(os.Stdout, *group, *chip, strings.Split(*fit, ","), g, *link); err != nil {
		fmt.Fprintln(os.Stderr, "stepfit:", err)
		os.Exit(1)
	}
}

func run(w io.Writer, group, chip string, fit []string, g Grid, fitLink bool) error {
	rows, cur, err := Rows(group, chip, fit)
	if err != nil {
		return err
	}
	if !fitLink {
		g.Link = [3]float64{cur.Link, cur.Link, 1}
	}
	best, err := Fit(rows, cur, g)
	if err != nil {
		return err
	}
	for _, c := range []struct {
		what string
		p    Params
	}{{"catalog", cur}, {"fitted", best}} {
		s, err := Score(rows, c.p)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "%-8s gemm.max_eff %.3f  gemm.attn_max_eff %.2f  %s efficiency %.2f latency_us %g:  fit mean %.1f%% worst %.1f%%  held-out mean %.1f%% worst %.1f%%\n",
			c.what, c.p.GEMM, c.p.Attn, c.p.linkName, c.p.Link, c.p.LinkLat, 100*s.FitMean, 100*s.FitWorst, 100*s.HeldMean, 100*s.HeldWorst)
	}
	nf := 0
	for _, r := range rows {
		if r.Fit {
			nf++
		}
	}
	fmt.Fprintf(w, "rows: %d fitted, %d held out\n", nf, len(rows)-nf)
	for i := range rows {
		t, err := Predict(&rows[i], best)
		if err != nil {
			return err
		}
		split := "held-out"
		if rows[i].Fit {
			split = "fit"
		}
		fmt.Fprintf(w, "  %-70s %-8s measured %8.4f  predicted %8.4f  %+6.1f%%\n", rows[i].Name, split, rows[i].Measured, t, 100*(t-rows[i].Measured)/rows[i].Measured)
	}
	return nil
}

// Rows resolves the step-time rows of group on chip, marks those whose
// names contain one of fit as the fitted split, and returns them with the
// catalog's current figures.
func Rows(group, chip string, fit []string) ([]Row, Params, error) {
	all, err := validate.Corpus()
	if err != nil {
		return nil, Params{}, err
	}
	var rows []Row
	for i := range all {
		c := &all[i]
		if c.Group != group || c.Metric != validate.MetricStepTime {
			continue
		}
		r, err := spec.Resolve(&c.Run)
		if err != nil {
			return nil, Params{}, fmt.Errorf("%s: %w", c.Name, err)
		}
		if r.Chip.Name != chip {
			continue
		}
		in := slices.ContainsFunc(fit, func(s string) bool { return s != "" && strings.Contains(c.Name, s) })
		rows = append(rows, Row{Name: c.Name, Measured: c.Measured, Fit: in, r: *r})
	}
	if len(rows) == 0 {
		return nil, Params{}, fmt.Errorf("no step-time rows of group %q on chip %q", group, chip)
	}
	c := rows[0].r.Chip
	if len(c.Fabric) == 0 {
		return nil, Params{}, fmt.Errorf("chip %s has no fabric", chip)
	}
	return rows, Params{GEMM: c.GEMM.MaxEff, Attn: c.GEMM.AttnMaxEff, Link: c.Fabric[0].Efficiency, LinkLat: c.Fabric[0].LatencyUs, linkName: c.Fabric[0].Name}, nil
}

// Fit searches g for the figures with the least mean |error| over the
// fitted rows; cur supplies what g does not vary.
func Fit(rows []Row, cur Params, g Grid) (Params, error) {
	lats := g.LinkLat
	if len(lats) == 0 {
		lats = []float64{cur.LinkLat}
	}
	best, bestErr := cur, math.Inf(1)
	for _, lat := range lats {
		for gm := g.GEMM[0]; gm <= g.GEMM[1]+1e-9; gm += g.GEMM[2] {
			for a := g.Attn[0]; a <= g.Attn[1]+1e-9; a += g.Attn[2] {
				for l := g.Link[0]; l <= g.Link[1]+1e-9; l += g.Link[2] {
					p := Params{GEMM: round(gm), Attn: round(a), Link: round(l), LinkLat: lat, linkName: cur.linkName}
					s, err := Score(rows, p)
					if err != nil {
						return Params{}, err
					}
					if s.FitMean < bestErr {
						best, bestErr = p, s.FitMean
					}
				}
			}
		}
	}
	return best, nil
}

// round keeps a grid point at the precision the catalog writes it.
func round(x float64) float64 { return math.Round(x*1000) / 1000 }

// Scores are the mean and worst |error| of the fitted and held-out rows.
type Scores struct{ FitMean, FitWorst, HeldMean, HeldWorst float64 }

// Score evaluates p over rows.
func Score(rows []Row, p Params) (Scores, error) {
	var s Scores
	var nf, nh float64
	for i := range rows {
		t, err := Predict(&rows[i], p)
		if err != nil {
			return s, err
		}
		e := math.Abs(t-rows[i].Measured) / rows[i].Measured
		if rows[i].Fit {
			s.FitMean += e
			s.FitWorst = max(s.FitWorst, e)
			nf++
		} else {
			s.HeldMean += e
			s.HeldWorst = max(s.HeldWorst, e)
			nh++
		}
	}
	if nf > 0 {
		s.FitMean /= nf
	}
	if nh > 0 {
		s.HeldMean /= nh
	}
	return s, nil
}

// Predict is the step time of r with the chip's figures set to p.
func Predict(r *Row, p Params) (float64, error) {
	rr := r.r
	rr.Chip.GEMM.MaxEff = p.GEMM
	rr.Chip.GEMM.AttnMaxEff = p.Attn
	rr.Chip.Fabric = slices.Clone(rr.Chip.Fabric)
	rr.Chip.Fabric[0].Efficiency = p.Link
	rr.Chip.Fabric[0].LatencyUs = p.LinkLat
	e, err := estimate.New(&rr)
	if err != nil {
		return 0, err
	}
	return e.Estimate(rr.Layout).StepTimeS, nil
}
