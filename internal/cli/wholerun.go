package cli

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/flopcast/flopcast/economics"
	"github.com/flopcast/flopcast/estimate"
	"github.com/flopcast/flopcast/spec"
	"github.com/flopcast/flopcast/validate"
)

// wholeRun follows one step of r to the whole run, its range taking the
// step-time model's error on r's validation group.
func wholeRun(r *spec.Resolved, res *estimate.Result) (*economics.Run, error) {
	var o economics.Options
	o.StepTimeErr, o.StepTimeErrFrom = validate.StepTimeErr(r)
	return economics.WholeRunOpts(r, res, o)
}

// writeWholeRun prints the whole-run block: totals with their ranges, the
// energy and carbon in each convention, then where the time went.
func writeWholeRun(w io.Writer, run *economics.Run) {
	fmt.Fprintf(w, "whole run\n")
	rg := run.Range
	span := func(i int, f func(float64) string) string {
		if rg == nil {
			return ""
		}
		v := [4][2]float64{rg.Days, rg.ChipHours, rg.CostUSD, rg.EnergyMWh}[i]
		return fmt.Sprintf(" (%s–%s)", f(v[0]), f(v[1]))
	}
	days := func(d float64) string {
		if d >= 10 {
			return fmt.Sprintf("%.0f", d)
		}
		return fmt.Sprintf("%.1f", d)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  steps\t%s\n", group(float64(run.Steps)))
	fmt.Fprintf(tw, "  wall time\t%s days%s\n", days(run.Days), span(0, days))
	fmt.Fprintf(tw, "  chip-hours\t%s%s\n", group(run.ChipHours), span(1, group))
	fmt.Fprintf(tw, "  cost (%s)\t$%s%s\n", run.CostBasis, group(run.CostUSD), span(2, group))
	fmt.Fprintf(tw, "  energy, chips\t%s MWh\taccelerators at their drawn power (the convention of BLOOM's and Meta's reports)\n", group(run.EnergyChipsMWh))
	fmt.Fprintf(tw, "  energy, IT\t%s MWh\tchips plus hosts and network\n", group(run.EnergyITMWh))
	fmt.Fprintf(tw, "  energy, facility\t%s MWh%s\tIT × PUE %.2f (%.1f MW while training)\n", group(run.EnergyMWh), span(3, group), run.Power.PUE, run.Power.FacilityMW)
	fmt.Fprintf(tw, "  carbon, facility\t%s tCO2\ton the facility energy, location-based\n", group(run.CO2T))
	fmt.Fprintf(tw, "  carbon, chips\t%s tCO2\ton the chips' energy, location-based\n", group(run.CO2ChipsT))
	if run.CO2MarketT != nil {
		fmt.Fprintf(tw, "  carbon, market\t%s tCO2\ton the facility energy, market-based\n", group(*run.CO2MarketT))
	}
	ints, good := "", ""
	if rg != nil && len(rg.Sites) == 2 {
		ints = fmt.Sprintf(" (%.0f–%.0f)", rg.Interruptions[0], rg.Interruptions[1])
		good = fmt.Sprintf(" (%.1f–%.1f)", 100*rg.Goodput[1], 100*rg.Goodput[0])
	}
	fmt.Fprintf(tw, "  interruptions\t%.0f expected%s\t%s\n", run.Interruptions, ints, siteNote(run))
	fmt.Fprintf(tw, "  goodput\t%.1f%%%s\n", 100*run.Goodput, good)
	tw.Flush()
	if rg != nil {
		fmt.Fprintf(w, "  ranges: %s\n", rangeNote(rg))
	}
	if len(run.Time) > 0 {
		fmt.Fprintf(w, "  where the time went\n")
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for _, t := range run.Time {
			fmt.Fprintf(tw, "    %s\t%12s h\t%5.1f%%\n", t.What, group(t.Hours), 100*t.Share)
		}
		tw.Flush()
	}
	for _, s := range run.Warnings {
		fmt.Fprintf(w, "  warning: %s\n", s)
	}
}

// siteNote names the failure-rate profile of the interruptions.
func siteNote(run *economics.Run) string {
	if run.Reliability == nil || run.Reliability.Site == "" {
		return "at the run's own failure rate"
	}
	return fmt.Sprintf("at the %s site's failure rate (%.3g per chip-hour)", run.Reliability.Site, run.Reliability.FailuresPerChipHour)
}

// rangeNote says what the low and high ends are.
func rangeNote(rg *economics.Range) string {
	s := ""
	if rg.StepTimeErr > 0 {
		s = fmt.Sprintf("step time ±%.1f%% (%s)", 100*rg.StepTimeErr, rg.StepTimeErrFrom)
	} else {
		s = "step time as estimated"
	}
	if len(rg.Sites) == 2 {
		s += fmt.Sprintf(", failure rates of the %s (low) to the %s (high) site", rg.Sites[0], rg.Sites[1])
	}
	return s
}
