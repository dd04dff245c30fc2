package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/flopcast/flopcast/capex"
	"github.com/flopcast/flopcast/hardware"
	"github.com/flopcast/flopcast/infer"
	"github.com/flopcast/flopcast/search"
	"github.com/flopcast/flopcast/spec"
	"github.com/flopcast/flopcast/validate"
	"github.com/spf13/cobra"
)

func init() { register(newCapexCmd) }

// capexOptions are the flags of flopcast capex.
type capexOptions struct {
	io       *IO
	budget   float64
	chip     string
	model    string
	tokens   float64
	seq      int
	mfu      float64
	chipUSD  float64
	scenario string
	json     bool
	serve    capexServing
}

func newCapexCmd(io *IO) *cobra.Command {
	o := &capexOptions{io: io}
	cmd := &cobra.Command{
		Use:   "capex",
		Short: "What a capex budget buys: chips, power, yearly FLOPs and the training runs it allows",
		Long: `capex turns a budget into installed chips (chip + server and network share +
facility per MW of IT load), their power, the split of the spend, and the BF16
FLOPs they deliver in a year at the MFU flopcast predicts for a representative
run (llama3-70b, seq 8192, global batch 1024).

For each model it then finds the job that trains it best: chip counts double
from 8 up to the fleet, each searched for its best layout, with the global
batch held within the largest useful batch for the run's compute (DeepSeek LLM
scaling law, B = 0.292·C^0.3271 tokens); the job is the largest size whose MFU
stays within 90% of the best. It prints one run's time at that size, with
failures and a low–high range, how many such jobs the fleet runs at once, and
runs per year. Tokens default to Chinchilla-optimal, 20 per parameter.
--scenario plans a built-in set of budgets side by side.`,
		Example: `  flopcast capex --budget 100e9 --chip trainium2
  flopcast capex --budget 100e9 --chip trainium2 --model llama3-405b --tokens 15.6e12
  flopcast capex --scenario hyperscalers-2025 --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.scenario != "" && (cmd.Flags().Changed("budget") || cmd.Flags().Changed("chip")) {
				return &fieldError{Field: "--scenario", Value: o.scenario, Reason: "sets its own budgets and chips",
					Hint: "leave out --budget and --chip, or --scenario"}
			}
			return runCapex(cmd.Context(), o)
		},
	}
	fs := cmd.Flags()
	fs.Float64Var(&o.budget, "budget", 0, "capex budget in US dollars (100e9 is $100B)")
	fs.StringVar(&o.chip, "chip", "", "catalog chip name (flopcast catalog chips)")
	fs.StringVar(&o.model, "model", "", "plan runs of this catalog model only (default: every catalog model)")
	fs.Float64Var(&o.tokens, "tokens", 0, "tokens per run (default: Chinchilla-optimal, 20 per parameter)")
	fs.IntVar(&o.seq, "seq", 8192, "sequence length of the planned runs")
	fs.Float64Var(&o.mfu, "mfu", 0, "MFU to assume, a fraction of the BF16 peak (default: predicted by a layout search)")
	fs.Float64Var(&o.chipUSD, "chip-usd", 0, "purchase price per chip in US dollars (default: the chip catalog)")
	fs.StringVar(&o.scenario, "scenario", "", "a built-in scenario instead of --budget and --chip: "+strings.Join(scenarioNames(), ", "))
	fs.BoolVar(&o.json, "json", false, "print JSON (keys in docs/output.md)")
	fs.StringVar(&o.serve.model, "serve", "", "also say what the chips serve of this catalog model: tokens a day and $ per million (docs/serving.md)")
	fs.Float64Var(&o.serve.tpot, "tpot-ms", 0, "with --serve: the time per output token to meet, ms (default: no target)")
	return cmd
}

func scenarioNames() []string {
	var n []string
	for _, s := range capex.Scenarios() {
		n = append(n, s.Name)
	}
	return n
}

func runCapex(ctx context.Context, o *capexOptions) error {
	if ctx == nil {
		ctx = context.Background()
	}
	opts := capex.Options{Model: o.model, Tokens: o.tokens, SeqLen: o.seq, MFU: o.mfu, ChipUSD: o.chipUSD,
		Context: ctx, Search: boundedSearch, StepTimeErr: validate.StepTimeErr}
	if o.scenario != "" {
		sc, ok := capex.LookupScenario(o.scenario)
		if !ok {
			return &fieldError{Field: "--scenario", Value: strconv.Quote(o.scenario), Reason: "is not a built-in scenario",
				Allowed: strings.Join(scenarioNames(), ", ")}
		}
		reps, err := capex.RunScenario(sc, opts)
		if err != nil {
			return err
		}
		fleets := make([]*infer.Fleet, len(reps))
		for i, rep := range reps {
			if fleets[i], err = o.serve.fleet(rep.Chip, rep.Chips); err != nil {
				return err
			}
		}
		if o.json {
			if o.serve.model != "" {
				return writeJSON(o.io.Out, withFleets(reps, fleets))
			}
			return writeJSON(o.io.Out, reps)
		}
		writeScenario(o.io.Out, sc, reps, o.tokens)
		for _, f := range fleets {
			writeFleet(o.io.Out, f)
		}
		return nil
	}
	if o.budget == 0 {
		return &fieldError{Field: "--budget", Value: "(missing)", Reason: "is required without --scenario",
			Allowed: "a positive number of US dollars", Hint: "--budget 100e9"}
	}
	if o.chip == "" {
		return &fieldError{Field: "--chip", Value: "(missing)", Reason: "is required without --scenario",
			Allowed: strings.Join(hardware.ChipNames(), ", ")}
	}
	chip, ok := hardware.LookupChip(o.chip)
	if !ok {
		return &fieldError{Field: "--chip", Value: strconv.Quote(o.chip), Reason: "is not in the catalog",
			Allowed: strings.Join(hardware.ChipNames(), ", ")}
	}
	rep, err := capex.Plan(o.budget, chip, opts)
	if err != nil {
		return prefixFlag(err)
	}
	fleet, err := o.serve.fleet(rep.Chip, rep.Chips)
	if err != nil {
		return err
	}
	if o.json {
		if fleet != nil {
			return writeJSON(o.io.Out, withFleets([]*capex.Report{rep}, []*infer.Fleet{fleet})[0])
		}
		return writeJSON(o.io.Out, rep)
	}
	writeCapex(o.io.Out, rep, o.tokens)
	writeFleet(o.io.Out, fleet)
	return nil
}

// prefixFlag names capex.Plan's fields as the flags that set them, with an
// example value.
func prefixFlag(err error) error {
	var fe *fieldError
	if errors.As(err, &fe) {
		c := *fe
		switch c.Field {
		case "budget":
			c.Field, c.Hint = "--budget", "--budget 100e9"
		case "chip", "model", "tokens", "seq", "mfu":
			c.Field = "--" + c.Field
		case "chip_usd":
			c.Field, c.Hint = "--chip-usd", "--chip-usd 30000"
		}
		switch {
		case c.Field == "--budget" && c.Reason == "":
			c.Hint = "--budget 100e9"
		case c.Field == "--chip" && strings.Contains(c.Hint, "chip_usd"):
			c.Hint = "--chip-usd 30000"
		}
		return &c
	}
	return err
}

// boundedSearch is one capex job search, bounded in time.
func boundedSearch(ctx context.Context, r *spec.Resolved, o search.Options) (*search.Report, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return search.Run(ctx, r, o)
}

func mfuNote(rep *capex.Report) string {
	switch rep.MFUSource {
	case "predicted":
		return "predicted: best layout of llama3-70b, seq 8192, batch 1024"
	case "given":
		return "given"
	}
	return "fallback: no prediction"
}

func tokensNote(tokens float64) string {
	if tokens > 0 {
		return fmtSI(tokens) + " tokens per run"
	}
	return "Chinchilla-optimal tokens, 20 per parameter"
}

func writeCapex(w io.Writer, rep *capex.Report, tokens float64) {
	fmt.Fprintf(w, "%s on %s\n\n", fmtUSD(rep.BudgetUSD), rep.Chip)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	pc := rep.PerChipUSD
	fmt.Fprintf(tw, "all-in per chip\t%s = chip %s + servers and network %s + facility %s\n",
		fmtUSD(pc.AllIn), fmtUSD(pc.Chip), fmtUSD(pc.ServerNetwork), fmtUSD(pc.Facility))
	fmt.Fprintf(tw, "chips\t%s\n", group(float64(rep.Chips)))
	fmt.Fprintf(tw, "power\t%s MW (%s MW of IT load at full draw, × PUE %.2f)\n",
		group(rep.PowerMW), group(rep.ITPowerMW), rep.PowerMW/rep.ITPowerMW)
	s, ref := rep.CapexSplit, rep.ReferenceSplit
	fmt.Fprintf(tw, "capex split\tchips %.0f%%, servers+network %.0f%%, power+cooling %.0f%%, land+site %.0f%%\n",
		100*s.Chips, 100*s.ServerNetwork, 100*s.PowerCooling, 100*s.LandSite)
	fmt.Fprintf(tw, "\tMcKinsey 2025, for comparison: hardware %.0f%%, power+cooling %.0f%%, land+site %.0f%%\n",
		100*ref.ComputeHardware, 100*ref.PowerCooling, 100*ref.LandSite)
	fmt.Fprintf(tw, "MFU\t%.1f%% (%s)\n", 100*rep.MFU, mfuNote(rep))
	fmt.Fprintf(tw, "BF16 FLOP a year\t%.3g\n", rep.AnnualBF16FLOP)
	tw.Flush()

	if len(rep.Trainable) > 0 {
		fmt.Fprintf(w, "\ntrainable (%s): one job per model at the size it trains best at;\n", tokensNote(tokens))
		fmt.Fprintf(w, "days include failures, with a range from the step-time error and the failure-rate spread\n")
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintf(tw, "  model\tparams\ttokens\tjob chips\tbatch\tMFU\tdays per run\tjobs at once\truns/year\t\n")
		for _, t := range rep.Trainable {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%.1f%%\t%s\t%s\t%s\t\n", t.Model, fmtSI(t.Params), fmtSI(t.Tokens),
				group(float64(t.JobChips)), fmtSI(float64(t.GlobalBatch)), 100*t.MFU, daysWithRange(t), group(float64(t.ConcurrentJobs)), fmtCount(t.RunsPerYear))
		}
		tw.Flush()
		fmt.Fprintf(w, "\nwhy each job is that size\n")
		for _, t := range rep.Trainable {
			fmt.Fprintf(w, "  %s: %s chips (%s); %s\n", t.Model, group(float64(t.JobChips)), t.Layout, t.JobReason)
		}
		if len(rep.Trainable) == 1 && rep.Trainable[0].Run != nil {
			fmt.Fprintln(w)
			writeWholeRun(w, rep.Trainable[0].Run)
		}
	}
	writeWarnings(w, rep.Warnings)
}

func writeScenario(w io.Writer, sc capex.Scenario, reps []*capex.Report, tokens float64) {
	fmt.Fprintf(w, "%s: %s\n\n", sc.Name, sc.Description)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "company\tbudget\tchip\tchips\tall-in/chip\tpower MW\tMFU\tBF16 FLOP/year\t\n")
	for _, r := range reps {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%.1f%%\t%.3g\t\n", r.Company, fmtUSD(r.BudgetUSD), r.Chip,
			group(float64(r.Chips)), fmtUSD(r.PerChipUSD.AllIn), group(r.PowerMW), 100*r.MFU, r.AnnualBF16FLOP)
	}
	tw.Flush()

	if len(reps) > 0 && len(reps[0].Trainable) > 0 {
		fmt.Fprintf(w, "\ndays per run (%s; each model's job at the size it trains best at, failures included)\n", tokensNote(tokens))
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintf(tw, "model\ttokens\t")
		for _, r := range reps {
			fmt.Fprintf(tw, "%s\t", r.Company)
		}
		fmt.Fprintln(tw)
		for i, t := range reps[0].Trainable {
			fmt.Fprintf(tw, "%s\t%s\t", t.Model, fmtSI(t.Tokens))
			for _, r := range reps {
				t := r.Trainable[i]
				fmt.Fprintf(tw, "%s on %s\t", fmtDays(t.Days), group(float64(t.JobChips)))
			}
			fmt.Fprintln(tw)
		}
		tw.Flush()
	}

	fmt.Fprintf(w, "\nsources\n")
	for _, r := range reps {
		fmt.Fprintf(w, "  %s: %s\n    chip: %s\n", r.Company, r.Source, r.ChipReason)
	}
	var warns []string
	for _, r := range reps {
		for _, s := range r.Warnings {
			warns = append(warns, r.Company+": "+s)
		}
	}
	writeWarnings(w, warns)
}

func writeWarnings(w io.Writer, warns []string) {
	if len(warns) == 0 {
		return
	}
	fmt.Fprintf(w, "\nwarnings\n")
	for _, s := range warns {
		fmt.Fprintf(w, "  - %s\n", s)
	}
}

// fmtDays prints a duration given in days in the unit a reader expects:
// "89 days", "5.2 days", "7.5 hours", "12 minutes".
func fmtDays(d float64) string {
	switch {
	case d >= 100:
		return group(d) + " days"
	case d >= 10:
		return fmt.Sprintf("%.0f days", d)
	case d >= 2:
		return fmt.Sprintf("%.1f days", d)
	case d*24 >= 2:
		return fmt.Sprintf("%.1f hours", d*24)
	}
	return fmt.Sprintf("%.0f minutes", d*24*60)
}

// daysWithRange prints a job's days with their range, "89 days (78–101)".
func daysWithRange(t capex.Trainable) string {
	if t.Run == nil || t.Run.Range == nil {
		return fmtDays(t.Days)
	}
	return withRange(t.Days, t.Run.Range.Days)
}

// withRange prints days with their low–high range in the same unit.
func withRange(d float64, r [2]float64) string {
	unit, f, prec := "days", 1.0, 1
	switch {
	case d >= 10:
		prec = 0
	case d*24 < 2:
		unit, f, prec = "minutes", 24*60, 0
	case d < 2:
		unit, f = "hours", 24
	}
	return fmt.Sprintf("%.*f %s (%.*f–%.*f)", prec, d*f, unit, prec, r[0]*f, prec, r[1]*f)
}

// fmtCount prints a count readably: 3, 12.5, 1,204.
func fmtCount(v float64) string {
	if v >= 100 {
		return group(v)
	}
	return fmt.Sprintf("%.1f", v)
}

// fmtSI prints a count with a k/M/B/T suffix: 15.6T, 405B.
func fmtSI(v float64) string {
	for _, u := range []struct {
		s string
		f float64
	}{{"T", 1e12}, {"B", 1e9}, {"M", 1e6}, {"k", 1e3}} {
		if math.Abs(v) >= u.f {
			return fmt.Sprintf("%.3g", v/u.f) + u.s
		}
	}
	return fmt.Sprintf("%.3g", v)
}

// fmtUSD prints dollars: $42.6M, $65,000.
func fmtUSD(v float64) string {
	if math.Abs(v) < 1e6 {
		return "$" + group(v)
	}
	return "$" + fmtSI(v)
}
