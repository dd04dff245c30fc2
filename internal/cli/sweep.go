package cli

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/flopcast/flopcast/search"
	"github.com/flopcast/flopcast/spec"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

func init() { register(newSweepCmd) }

type sweepOptions struct {
	io        *IO
	flags     runFlags
	chips     []string
	counts    []string
	weak      bool
	csv       string
	asJSON    bool
	objective string
	workers   int
}

func newSweepCmd(io *IO) *cobra.Command {
	o := &sweepOptions{io: io}
	cmd := &cobra.Command{
		Use:   "sweep",
		Short: "Best layout, MFU, throughput, time to train and cost for each chip type × chip count",
		Long: `sweep runs a layout search for every chip type and chip count given and
prints, for each, the best layout with its MFU, tokens/s, time to train and
rent. The global batch stays fixed (strong scaling) unless --weak scales it
with the chip count from its value at the smallest count. Without --tokens
the run length is the Chinchilla rule of 20 tokens per parameter. Times and
costs assume no failures or restarts (see flopcast estimate for goodput).`,
		Example: `  flopcast sweep --model llama3-70b --chip h100-sxm,b200,gb200,trainium2,tpu-v5p --chips 256,1024,4096,16384 --seq 8192 --global-batch 1024
  flopcast sweep --model llama3-70b --chip h100-sxm --chips 256,1024,4096 --seq 8192 --global-batch 256 --weak --tokens 15e12 --csv out.csv`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runSweep(cmd, o)
		},
	}
	// The run flags, except --chip and --chips, which take lists here.
	all := pflag.NewFlagSet("run", pflag.ContinueOnError)
	o.flags.add(all)
	all.VisitAll(func(f *pflag.Flag) {
		if f.Name != "chip" && f.Name != "chips" {
			cmd.Flags().AddFlag(f)
		}
	})
	fs := cmd.Flags()
	fs.StringSliceVar(&o.chips, "chip", nil, "catalog chip names, comma-separated")
	fs.StringSliceVar(&o.counts, "chips", nil, "chip counts, comma-separated")
	fs.BoolVar(&o.weak, "weak", false, "weak scaling: the global batch grows with the chip count from its value at the smallest count")
	fs.StringVar(&o.csv, "csv", "", "write the table as CSV to this file (- for stdout)")
	fs.BoolVar(&o.asJSON, "json", false, "print JSON")
	fs.StringVar(&o.objective, "objective", "time", "rank each cell's layouts by time, cost or energy")
	fs.IntVar(&o.workers, "workers", 0, "goroutines per search (0: all cores)")
	return cmd
}

func runSweep(cmd *cobra.Command, o *sweepOptions) error {
	if len(o.chips) == 0 && o.flags.file == "" {
		return &fieldError{Field: "--chip", Value: "(missing)", Reason: "is required", Allowed: "one or more catalog chip names, comma-separated", Hint: "flopcast catalog chips"}
	}
	var counts []int
	for _, s := range o.counts {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n <= 0 {
			return &fieldError{Field: "--chips", Value: s, Allowed: "positive chip counts, comma-separated (256,1024,4096)"}
		}
		counts = append(counts, n)
	}
	if len(counts) == 0 && o.flags.file == "" {
		return &fieldError{Field: "--chips", Value: "(missing)", Reason: "is required", Allowed: "positive chip counts, comma-separated (256,1024,4096)"}
	}
	obj, err := search.ParseObjective(o.objective)
	if err != nil {
		return asFlag(err, "--objective")
	}
	// runFlags checks --chip and --chips as single values; give it the
	// first of each, the sweep replaces them per cell.
	if len(o.chips) > 0 {
		o.flags.chip = o.chips[0]
	}
	if len(counts) > 0 {
		o.flags.chips = counts[0]
	}
	base, err := o.flags.run(cmd)
	if err != nil {
		return err
	}
	chips := o.chips
	if len(chips) == 0 {
		chips = []string{base.Cluster.Chip}
	}
	if len(counts) == 0 {
		counts = []int{base.Cluster.Chips}
	}
	opt := search.SweepOptions{Chips: chips, Counts: counts, Tokens: base.Training.Tokens, Weak: o.weak, Objective: obj, Workers: o.workers}
	var bar *progressBar
	if o.io.IsTerm {
		bar = &progressBar{w: o.io.Err, label: "sweeping"}
		opt.Progress = func(done, total int) { bar.set(int64(done), int64(total)) }
	}
	rep, err := search.Sweep(cmd.Context(), *base, opt)
	bar.clear()
	var fe *fieldError
	if errors.As(err, &fe) && (fe.Field == "chips" || fe.Field == "counts") {
		return asFlag(err, map[string]string{"chips": "--chip", "counts": "--chips"}[fe.Field])
	}
	if err != nil {
		return err
	}
	if o.csv != "" {
		w := o.io.Out
		var f *os.File
		if o.csv != "-" {
			if f, err = os.Create(o.csv); err != nil {
				return &fieldError{Field: "--csv", Value: o.csv, Reason: "cannot be written: " + err.Error()}
			}
			w = f
		}
		if err := writeSweepCSV(w, rep); err != nil {
			if f != nil {
				f.Close()
			}
			return err
		}
		if f != nil {
			if err := f.Close(); err != nil {
				return err
			}
		} else {
			return nil
		}
	}
	if o.asJSON {
		return writeJSON(o.io.Out, rep)
	}
	writeSweep(o.io.Out, rep)
	if o.csv != "" {
		fmt.Fprintf(o.io.Out, "CSV written to %s\n", o.csv)
	}
	return nil
}

var sweepCSVHeader = []string{"chip", "chips", "global_batch", "tp", "pp", "dp", "cp", "ep", "vpp", "micro_batch", "zero", "recompute",
	"sequence_parallel", "step_time_s", "tokens_per_s", "mfu", "peak_gib", "tokens", "days", "price_per_chip_hour", "usd_per_m_tokens", "run_usd", "error"}

func writeSweepCSV(w io.Writer, rep *search.SweepReport) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(sweepCSVHeader); err != nil {
		return err
	}
	g := func(v float64) string { return strconv.FormatFloat(v, 'g', 6, 64) }
	for _, c := range rep.Cells {
		rec := []string{c.Chip, strconv.Itoa(c.Chips), strconv.Itoa(c.GlobalBatch)}
		if b := c.Best; b != nil {
			l := b.Parallel
			rec = append(rec, strconv.Itoa(l.TP), strconv.Itoa(l.PP), strconv.Itoa(l.DP), strconv.Itoa(l.CP), strconv.Itoa(l.EP),
				strconv.Itoa(l.VPP), strconv.Itoa(l.MicroBatch), strconv.Itoa(l.ZeRO), l.Recompute.String(), strconv.FormatBool(l.SequenceParallel),
				g(c.StepTimeS), g(c.TokensPerS), g(c.MFU), g(b.Memory.PeakGiB), g(rep.Tokens), g(c.Days), g(c.PricePerChipHour), g(c.USDPerMTokens), g(c.RunUSD), "")
		} else {
			rec = append(rec, make([]string, len(sweepCSVHeader)-len(rec)-1)...)
			rec = append(rec, c.Error)
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

func writeSweep(w io.Writer, rep *search.SweepReport) {
	scaling := "strong scaling: fixed global batch"
	if rep.Weak {
		scaling = "weak scaling: global batch grows with the chips"
	}
	tok := fmtSI(rep.Tokens) + " tokens"
	if rep.TokensNote != "" && rep.TokensNote != "given" {
		tok += " (" + rep.TokensNote + ")"
	}
	fmt.Fprintf(w, "%s, %s; run of %s; days and cost assume no failures or restarts\n\n", rep.Model, scaling, tok)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "chip\tchips\tbatch\tbest layout\tMFU\ttokens/s\tstep s\trun time\t$/M tokens\trun cost\t")
	var errs []string
	for _, c := range rep.Cells {
		if c.Best == nil {
			fmt.Fprintf(tw, "%s\t%d\t%d\t-\t-\t-\t-\t-\t-\t-\t\n", c.Chip, c.Chips, c.GlobalBatch)
			errs = append(errs, fmt.Sprintf("%s × %d: %s", c.Chip, c.Chips, c.Error))
			continue
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%.1f%%\t%s\t%.3f\t%s\t%.3g\t%s\t\n", c.Chip, c.Chips, c.GlobalBatch, layoutShort(c.Best.Parallel),
			100*c.MFU, group(c.TokensPerS), c.StepTimeS, fmtDays(c.Days), c.USDPerMTokens, fmtUSD(c.RunUSD))
	}
	tw.Flush()
	for _, e := range errs {
		fmt.Fprintf(w, "  %s\n", e)
	}
	fmt.Fprintf(w, "\n%d searches, elapsed %.3f s\n", len(rep.Cells), rep.ElapsedS)
}

// layoutShort writes a layout without the knobs at their neutral value.
func layoutShort(l spec.Layout) string {
	var b strings.Builder
	fmt.Fprintf(&b, "tp%d pp%d dp%d", l.TP, l.PP, l.DP)
	if l.CP > 1 {
		fmt.Fprintf(&b, " cp%d", l.CP)
	}
	if l.EP > 1 {
		fmt.Fprintf(&b, " ep%d", l.EP)
	}
	if l.VPP > 1 {
		fmt.Fprintf(&b, " vpp%d", l.VPP)
	}
	fmt.Fprintf(&b, " mb%d zero%d", l.MicroBatch, l.ZeRO)
	if l.Recompute != spec.RecomputeNone {
		fmt.Fprintf(&b, " %s", l.Recompute)
	}
	if l.SequenceParallel {
		b.WriteString(" sp")
	}
	return b.String()
}
