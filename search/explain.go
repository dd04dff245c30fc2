package search

import (
	"fmt"
	"strings"

	"github.com/flopcast/flopcast/estimate"
	"github.com/flopcast/flopcast/hardware"
	"github.com/flopcast/flopcast/spec"
)

// explain says why the winner wins: what bounds its step, what would change
// the ranking, and how far it is from the roofline.
func explain(s *searcher, rep *Report) []string {
	r := s.r
	win := &rep.Results[0]
	var out []string

	// Bottleneck: the largest term besides compute.
	b := &win.Breakdown
	step := win.StepTimeS
	terms := []struct {
		name string
		v    float64
	}{
		{"exposed TP communication", b.ExposedTPCommS},
		{"exposed CP communication", b.ExposedCPCommS},
		{"exposed EP all-to-all", b.ExposedEPCommS},
		{"exposed PP send/recv", b.ExposedPPCommS},
		{"the pipeline bubble", b.PipelineBubbleS},
		{dpName(win.Parallel), b.ExposedDPCommS},
		{"the optimizer step", b.OptimizerS},
	}
	big := 0
	for i := range terms {
		if terms[i].v > terms[big].v {
			big = i
		}
	}
	if step > 0 && terms[big].v > 0.01*step {
		out = append(out, fmt.Sprintf("bottleneck: %s is %.0f%% of the %.3g s step (compute %.0f%%)",
			terms[big].name, 100*terms[big].v/step, step, 100*b.ComputeS/step))
	} else {
		out = append(out, fmt.Sprintf("bottleneck: compute, %.0f%% of the %.3g s step; communication and the bubble are hidden",
			100*b.ComputeS/step, step))
	}

	// Runner-up: the knobs that separate it from the winner.
	if len(rep.Results) > 1 {
		ru := &rep.Results[1]
		gap := 100 * (rep.Scores[1]/rep.Scores[0] - 1)
		what := "faster"
		if rep.Objective != ObjectiveTime {
			what = "better on " + string(rep.Objective)
		}
		out = append(out, fmt.Sprintf("runner-up: %s differs in %s; the winner is %s %s",
			ru.Parallel, diffKnobs(win.Parallel, ru.Parallel), pctSmall(gap), what))
	}

	// Sensitivity: the winner, and the ranking of the top N, at twice the
	// bandwidth of each fabric tier.
	fab := r.Chip.Fabric
	for i := len(fab) - 1; i >= 0; i-- {
		if i < len(fab)-1 && i != 0 {
			continue // the scale-out and the scale-up tiers only
		}
		which := "scale-out"
		if i == 0 && len(fab) > 1 {
			which = "scale-up"
		}
		if line := sensitivity(s, rep, i, which); line != "" {
			out = append(out, line)
		}
	}

	// Roofline.
	ceil := s.e.GEMMCeiling()
	hidden := 0.0
	if b.ComputeS > 0 {
		hidden = win.MFU * step / b.ComputeS
	}
	gemms := r.Chip.Name + " GEMMs reach"
	if r.Training.Precision.LowPrecision() {
		gemms = r.Chip.Name + " " + strings.ToUpper(string(r.Training.Precision)) + " GEMMs reach (MFU counts against the BF16 peak)"
	}
	out = append(out, fmt.Sprintf("roofline: MFU %.1f%% is %.0f%% of the %.0f%% that %s at best; with every exposed communication, bubble and optimizer term hidden it would be %.1f%%",
		100*win.MFU, 100*win.MFU/ceil, 100*ceil, gemms, 100*hidden))

	// Memory headroom and the Pareto trade-off.
	m := &win.Memory
	line := fmt.Sprintf("memory: %.1f of %.1f GiB usable", m.PeakGiB, m.CapacityGiB)
	if len(rep.Pareto) > 1 {
		lo := &rep.Pareto[len(rep.Pareto)-1]
		slower := fmt.Sprintf("%.1f%% longer steps", 100*(lo.StepTimeS/step-1))
		if lo.StepTimeS > 2*step {
			slower = fmt.Sprintf("%.3g× the step time", lo.StepTimeS/step)
		}
		line += fmt.Sprintf("; the leanest layout on the Pareto front, %s, needs %.1f GiB at %s", lo.Parallel, lo.Memory.PeakGiB, slower)
	}
	out = append(out, line)
	return out
}

func dpName(l spec.Layout) string {
	if l.ZeRO == 0 {
		return "the exposed DP all-reduce"
	}
	return "exposed DP reduce-scatter/all-gather"
}

// sensitivity re-estimates the top N with tier i's bandwidth doubled.
func sensitivity(s *searcher, rep *Report, i int, which string) string {
	r := s.r
	rr := *r
	rr.Chip.Fabric = append([]hardware.Tier(nil), r.Chip.Fabric...)
	t := &rr.Chip.Fabric[i]
	t.GBps *= 2
	e2, err := estimate.New(&rr)
	if err != nil {
		return ""
	}
	win := &rep.Results[0]
	var w2 estimate.Result
	e2.Eval(win.Parallel, &w2)
	line := fmt.Sprintf("at 2× %s bandwidth (%s %.0f → %.0f GB/s) the winner's MFU would go from %.1f%% to %.1f%%",
		which, t.Name, t.GBps/2, t.GBps, 100*win.MFU, 100*w2.MFU)
	if d := w2.MFU - win.MFU; d < 0.0005 {
		line = fmt.Sprintf("at 2× %s bandwidth (%s %.0f → %.0f GB/s) the winner's MFU would not change (%.1f%%): it is not bound by that tier",
			which, t.Name, t.GBps/2, t.GBps, 100*win.MFU)
	}
	// Would another of the top N overtake it?
	best, bestStep := -1, w2.StepTimeS
	for k := 1; k < len(rep.Results); k++ {
		var x estimate.Result
		e2.Eval(rep.Results[k].Parallel, &x)
		if x.Memory.Fits && x.StepTimeS < bestStep {
			best, bestStep = k, x.StepTimeS
		}
	}
	if best > 0 {
		line += fmt.Sprintf("; then %s (now #%d) would win by %s", rep.Results[best].Parallel, best+1, pctSmall(100*(w2.StepTimeS/bestStep-1)))
	} else if len(rep.Results) > 1 {
		line += "; the ranking of the top " + fmt.Sprint(len(rep.Results)) + " would keep its winner"
	}
	return line
}

// pctSmall prints a percentage that may be tiny: 1.2%, 0.04%, <0.01%.
func pctSmall(p float64) string {
	switch {
	case p >= 1:
		return fmt.Sprintf("%.1f%%", p)
	case p >= 0.01:
		return fmt.Sprintf("%.2f%%", p)
	case p > 0:
		return "<0.01%"
	}
	return "0%"
}

// diffKnobs names the knobs in which b differs from a.
func diffKnobs(a, b spec.Layout) string {
	var d []string
	add := func(name string, x, y any) {
		if x != y {
			d = append(d, fmt.Sprintf("%s (%v vs %v)", name, y, x))
		}
	}
	add("tp", a.TP, b.TP)
	add("pp", a.PP, b.PP)
	add("dp", a.DP, b.DP)
	add("cp", a.CP, b.CP)
	add("ep", a.EP, b.EP)
	add("vpp", a.VPP, b.VPP)
	add("micro_batch", a.MicroBatch, b.MicroBatch)
	add("zero", a.ZeRO, b.ZeRO)
	add("recompute", a.Recompute.String(), b.Recompute.String())
	add("sequence_parallel", a.SequenceParallel, b.SequenceParallel)
	if len(d) == 0 {
		return "nothing"
	}
	return strings.Join(d, ", ")
}
