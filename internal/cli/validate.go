package cli

import (
	"fmt"
	"text/tabwriter"

	"github.com/flopcast/flopcast/validate"
	"github.com/spf13/cobra"
)

func init() { register(newValidateCmd) }

func newValidateCmd(io *IO) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "validate",
		Short: "Compare predictions with the built-in corpus of published runs",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			rep, err := validate.Run()
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(io.Out, rep)
			}
			w := io.Out
			part := func(r validate.Result) int {
				switch {
				case validate.IsWholeRun(r.Metric):
					return 2
				case r.Confidence == validate.Recalled:
					return 1
				}
				return 0
			}
			for i, title := range []string{"confirmed (✔) and secondary (◐) rows", "recalled (✱) rows, reported apart",
				"whole-run rows (chip-hours, carbon; goodput and an unpublished layout included), reported apart"} {
				fmt.Fprintf(w, "%s\n", title)
				tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
				fmt.Fprintln(tw, "  row\tmetric\tmeasured\tpredicted\terror\tlayout")
				for _, r := range rep.Rows {
					if part(r) != i {
						continue
					}
					fmt.Fprintf(tw, "  %s\t%s\t%.4g\t%.4g\t%+.1f%%\t%s\n", r.Name, r.Metric, r.Measured, r.Predicted, 100*r.Err, r.Layout)
				}
				tw.Flush()
				fmt.Fprintln(w)
			}
			fmt.Fprintf(w, "rows: %d (%d confirmed/secondary, %d recalled, %d whole-run)\n", len(rep.Rows), rep.Trusted, rep.Recalled, rep.WholeRun)
			fmt.Fprintf(w, "mean |error|: %.1f%% over all step rows, %.1f%% over confirmed/secondary, %.1f%% over recalled, %.1f%% over whole-run rows\n",
				100*rep.MeanAbsErr, 100*rep.TrustedMeanAbs, 100*rep.RecalledMeanAbs, 100*rep.WholeRunMeanAbs)
			fmt.Fprintf(w, "worst |error|: %.1f%% over all step rows, %.1f%% over confirmed/secondary\n", 100*rep.WorstAbsErr, 100*rep.TrustedWorstAbs)
			fmt.Fprintf(w, "worst step rows:\n")
			for _, r := range rep.Worst(3) {
				fmt.Fprintf(w, "  %s: %+.1f%% (%s)\n", r.Name, 100*r.Err, r.Source)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON (DESIGN.md §3)")
	return cmd
}
