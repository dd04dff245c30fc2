package cli

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/flopcast/flopcast/economics"
)

// writeWholeRun prints the whole-run block: totals, then where the time
// went.
func writeWholeRun(w io.Writer, run *economics.Run) {
	fmt.Fprintf(w, "whole run\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  steps\t%s\n", group(float64(run.Steps)))
	fmt.Fprintf(tw, "  wall time\t%.1f days\n", run.Days)
	fmt.Fprintf(tw, "  chip-hours\t%s\n", group(run.ChipHours))
	fmt.Fprintf(tw, "  cost (%s)\t$%s\n", run.CostBasis, group(run.CostUSD))
	fmt.Fprintf(tw, "  energy\t%.0f MWh\t(%.1f MW at the facility while training)\n", run.EnergyMWh, run.Power.FacilityMW)
	fmt.Fprintf(tw, "  carbon\t%.0f tCO2 (location-based)\n", run.CO2T)
	if run.CO2MarketT != nil {
		fmt.Fprintf(tw, "  \t%.0f tCO2 (market-based)\n", *run.CO2MarketT)
	}
	fmt.Fprintf(tw, "  interruptions\t%.0f expected\n", run.Interruptions)
	fmt.Fprintf(tw, "  goodput\t%.1f%%\n", 100*run.Goodput)
	tw.Flush()
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
