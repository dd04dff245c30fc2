package cli

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/flopcast/flopcast/spec"
	"github.com/spf13/cobra"
)

func init() { register(newCompareCmd) }

// compareRun is one run of compare --json: the estimate object of
// docs/output.md with the file it came from.
type compareRun struct {
	File string `json:"file"`
	*estimateOutput
}

// compareOutput is the JSON of compare --json.
type compareOutput struct {
	Runs []compareRun `json:"runs"`
}

func newCompareCmd(io *IO) *cobra.Command {
	var files []string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "compare",
		Short: "Runs side by side: step time, MFU, days, chip-hours, cost, energy, carbon, goodput",
		Example: `  flopcast compare -f examples/llama3-405b-h100.yaml -f examples/deepseek-v3-h800.yaml
  flopcast compare -f a.yaml -f b.yaml --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if len(files) == 0 {
				return &fieldError{Field: "-f", Value: "(missing)", Reason: "names no run file",
					Allowed: "one or more run.yaml files", Hint: "flopcast compare -f a.yaml -f b.yaml"}
			}
			out := &compareOutput{}
			for _, path := range files {
				run, err := spec.ParseFile(path)
				if err != nil {
					return err
				}
				r, err := spec.Resolve(run)
				if err != nil {
					return fmt.Errorf("%s: %w", path, err)
				}
				for _, w := range r.Warnings {
					fmt.Fprintf(io.Err, "warning: %s: %s\n", path, w)
				}
				est, err := estimateRun(r)
				if err != nil {
					return fmt.Errorf("%s: %w", path, err)
				}
				out.Runs = append(out.Runs, compareRun{File: path, estimateOutput: est})
			}
			if asJSON {
				return writeJSON(io.Out, out)
			}
			writeCompare(io.Out, out.Runs)
			return nil
		},
	}
	cmd.Flags().StringArrayVarP(&files, "file", "f", nil, "run.yaml file (repeat for each run)")
	cmd.Flags().BoolVar(&asJSON, "json", false, `print JSON: {"runs": [estimate objects with "file"]}`)
	return cmd
}

// writeCompare prints one column per run and one row per measure.
func writeCompare(w io.Writer, runs []compareRun) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	row := func(name string, f func(c compareRun) string) {
		fmt.Fprintf(tw, "%s\t", name)
		for _, c := range runs {
			fmt.Fprintf(tw, "%s\t", f(c))
		}
		fmt.Fprintln(tw)
	}
	whole := func(f func(c compareRun) string) func(c compareRun) string {
		return func(c compareRun) string {
			if c.Run == nil {
				return "-"
			}
			return f(c)
		}
	}
	row("", func(c compareRun) string { return strings.TrimSuffix(filepath.Base(c.File), filepath.Ext(c.File)) })
	row("model", func(c compareRun) string { return c.Model })
	row("chips", func(c compareRun) string { return fmt.Sprintf("%s × %s", group(float64(c.Chips)), c.Chip) })
	row("layout", func(c compareRun) string {
		l := c.Parallel
		return fmt.Sprintf("tp%d pp%d dp%d cp%d ep%d", l.TP, l.PP, l.DP, l.CP, l.EP)
	})
	row("step time s", func(c compareRun) string { return fmt.Sprintf("%.2f", c.StepTimeS) })
	row("MFU", func(c compareRun) string { return fmt.Sprintf("%.1f%%", 100*c.MFU) })
	row("fits", func(c compareRun) string { return fmt.Sprint(c.Memory.Fits) })
	row("days", whole(func(c compareRun) string { return fmt.Sprintf("%.1f", c.Run.Days) }))
	row("chip-hours", whole(func(c compareRun) string { return group(c.Run.ChipHours) }))
	row("cost", whole(func(c compareRun) string {
		if c.Run.CostBasis == "none" {
			return "unknown"
		}
		return fmtUSD(c.Run.CostUSD) + " (" + c.Run.CostBasis + ")"
	}))
	row("energy MWh", whole(func(c compareRun) string { return group(c.Run.EnergyMWh) }))
	row("CO2 t", whole(func(c compareRun) string { return group(c.Run.CO2T) }))
	row("interruptions", whole(func(c compareRun) string { return fmt.Sprintf("%.0f", c.Run.Interruptions) }))
	row("goodput", whole(func(c compareRun) string { return fmt.Sprintf("%.1f%%", 100*c.Run.Goodput) }))
	tw.Flush()
	for _, c := range runs {
		var warns []string
		warns = append(warns, c.Warnings...)
		if c.Run != nil {
			warns = append(warns, c.Run.Warnings...)
		}
		for _, s := range warns {
			fmt.Fprintf(w, "warning: %s: %s\n", c.File, s)
		}
	}
	if len(runs) > 0 && anyMissingTokens(runs) {
		fmt.Fprintf(w, "(-: the run gives no training.tokens, so it has no whole-run totals)\n")
	}
}

func anyMissingTokens(runs []compareRun) bool {
	for _, c := range runs {
		if c.Run == nil {
			return true
		}
	}
	return false
}
