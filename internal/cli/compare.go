package cli

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"text/tabwriter"

	"github.com/flopcast/flopcast/catalog"
	"github.com/flopcast/flopcast/economics"
	"github.com/flopcast/flopcast/spec"
	"github.com/spf13/cobra"
)

func init() { register(newCompareCmd) }

// compareRun is one run of compare --json: the estimate object of
// docs/output.md with the file it came from, and with whole-run totals per
// trillion tokens and per point of the public benchmarks its model has a
// score on.
type compareRun struct {
	File string `json:"file"`
	*estimateOutput
	PerTTokens *perUnit         `json:"per_t_tokens,omitempty"`
	Benchmarks []benchmarkShare `json:"benchmarks,omitempty"`
}

// perUnit is a run's totals divided by a unit: a trillion tokens, or a
// point of a benchmark score.
type perUnit struct {
	ChipHours      float64 `json:"chip_hours"`
	CostUSD        float64 `json:"cost_usd"`
	EnergyMWh      float64 `json:"energy_mwh"`
	EnergyChipsMWh float64 `json:"energy_chips_mwh"`
	CO2T           float64 `json:"co2_t"`
}

func per(run *economics.Run, unit float64) *perUnit {
	return &perUnit{ChipHours: run.ChipHours / unit, CostUSD: run.CostUSD / unit, EnergyMWh: run.EnergyMWh / unit,
		EnergyChipsMWh: run.EnergyChipsMWh / unit, CO2T: run.CO2T / unit}
}

// benchmarkScore is one public score of catalog/benchmarks.yaml.
type benchmarkScore struct {
	Model       string  `yaml:"model" json:"-"`
	Benchmark   string  `yaml:"benchmark" json:"benchmark"`
	Score       float64 `yaml:"score" json:"score"`
	Description string  `yaml:"description" json:"description"`
	Source      string  `yaml:"source" json:"source"`
	Notes       string  `yaml:"notes,omitempty" json:"notes,omitempty"`
}

// benchmarkShare is a run's totals per point of one benchmark score.
type benchmarkShare struct {
	benchmarkScore
	PerPoint *perUnit `json:"per_point"`
}

var benchmarkScores = sync.OnceValues(func() ([]benchmarkScore, error) {
	var f struct {
		Benchmarks []benchmarkScore `yaml:"benchmarks"`
	}
	if err := catalog.Decode("benchmarks.yaml", &f); err != nil {
		return nil, err
	}
	for _, b := range f.Benchmarks {
		if b.Model == "" || b.Benchmark == "" || !(b.Score > 0) || b.Source == "" {
			return nil, fmt.Errorf("catalog/benchmarks.yaml: %s %s: needs a model, a benchmark, a positive score and a source", b.Model, b.Benchmark)
		}
	}
	return f.Benchmarks, nil
})

// withShares adds the per-trillion-token and per-point figures to c, run
// over tokens.
func withShares(c *compareRun, tokens float64) error {
	if c.Run == nil || !(tokens > 0) {
		return nil
	}
	c.PerTTokens = per(c.Run, tokens/1e12)
	scores, err := benchmarkScores()
	if err != nil {
		return err
	}
	for _, b := range scores {
		if b.Model == c.Model {
			c.Benchmarks = append(c.Benchmarks, benchmarkShare{benchmarkScore: b, PerPoint: per(c.Run, b.Score)})
		}
	}
	return nil
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
				c := compareRun{File: path, estimateOutput: est}
				if err := withShares(&c, r.Training.Tokens); err != nil {
					return err
				}
				out.Runs = append(out.Runs, c)
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
	shares := func(name string, u func(c compareRun) *perUnit) {
		val := func(f func(p *perUnit) string) func(c compareRun) string {
			return func(c compareRun) string {
				if p := u(c); p != nil {
					return f(p)
				}
				return "-"
			}
		}
		row("chip-hours "+name, val(func(p *perUnit) string { return group(p.ChipHours) }))
		row("cost "+name, val(func(p *perUnit) string { return fmtUSD(p.CostUSD) }))
		row("energy MWh "+name+", facility", val(func(p *perUnit) string { return group(p.EnergyMWh) }))
		row("energy MWh "+name+", chips", val(func(p *perUnit) string { return group(p.EnergyChipsMWh) }))
		row("CO2 t "+name+", facility", val(func(p *perUnit) string { return group(p.CO2T) }))
	}
	shares("per T tokens", func(c compareRun) *perUnit { return c.PerTTokens })
	var notes []string
	for _, name := range commonBenchmarks(runs) {
		pick := func(c compareRun) *benchmarkShare {
			for i := range c.Benchmarks {
				if c.Benchmarks[i].Benchmark == name {
					return &c.Benchmarks[i]
				}
			}
			return nil
		}
		row(name, func(c compareRun) string { return fmt.Sprintf("%.1f", pick(c).Score) })
		shares("per "+name+" point", func(c compareRun) *perUnit { return pick(c).PerPoint })
		for _, c := range runs {
			b := pick(c)
			notes = append(notes, fmt.Sprintf("%s %s %.1f (%s): %s", c.Model, name, b.Score, b.Description, b.Source))
		}
	}
	tw.Flush()
	for _, n := range notes {
		fmt.Fprintf(w, "%s\n", n)
	}
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

// commonBenchmarks are the benchmarks every run's model has a score on.
func commonBenchmarks(runs []compareRun) []string {
	if len(runs) == 0 {
		return nil
	}
	var out []string
	for _, b := range runs[0].Benchmarks {
		all := true
		for _, c := range runs[1:] {
			found := false
			for _, x := range c.Benchmarks {
				found = found || x.Benchmark == b.Benchmark
			}
			all = all && found
		}
		if all {
			out = append(out, b.Benchmark)
		}
	}
	return out
}

func anyMissingTokens(runs []compareRun) bool {
	for _, c := range runs {
		if c.Run == nil {
			return true
		}
	}
	return false
}
