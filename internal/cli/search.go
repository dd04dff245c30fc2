package cli

import (
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/flopcast/flopcast/economics"
	"github.com/flopcast/flopcast/estimate"
	"github.com/flopcast/flopcast/search"
	"github.com/flopcast/flopcast/spec"
	"github.com/flopcast/flopcast/web"
	"github.com/spf13/cobra"
)

func init() { register(newSearchCmd) }

// searchResult is one result in `search --json`: docs/output.md's estimate
// object, with the whole-run block when training.tokens is given.
type searchResult struct {
	estimate.Result
	Run *economics.Run `json:"run,omitempty"`
}

// searchOutput is `search --json`: docs/output.md's keys (results, pareto,
// evaluated, feasible, elapsed_s) and more.
type searchOutput struct {
	Model       string            `json:"model"`
	Chip        string            `json:"chip"`
	Chips       int               `json:"chips"`
	Objective   search.Objective  `json:"objective"`
	Results     []searchResult    `json:"results"`
	Scores      []float64         `json:"scores"`
	Pareto      []estimate.Result `json:"pareto"`
	Evaluated   int64             `json:"evaluated"`
	Feasible    int64             `json:"feasible"`
	Candidates  int64             `json:"candidates"`
	Valid       int64             `json:"valid"`
	Pruned      int64             `json:"pruned"`
	ElapsedS    float64           `json:"elapsed_s"`
	Explanation []string          `json:"explanation"`
	Warnings    []string          `json:"warnings"`
}

type searchOptions struct {
	io        *IO
	flags     runFlags
	top       int
	objective string
	workers   int
	asJSON    bool
	html      string
}

func newSearchCmd(io *IO) *cobra.Command {
	o := &searchOptions{io: io}
	cmd := &cobra.Command{
		Use:   "search",
		Short: "Find the best parallel layouts: the knobs run.yaml leaves open are searched",
		Long: `search enumerates every parallel layout the run leaves open (tp, pp, cp, ep,
vpp, micro-batch, ZeRO stage, recompute, sequence parallelism; dp follows from
the chip count), estimates each one that can fit, and prints the best by the
objective, the Pareto front of step time against memory, and why the winner
wins. Knobs given by flags or run.yaml keep their value.`,
		Example: `  flopcast search --model llama3-405b --chip h100-sxm --chips 16384 --seq 8192 --global-batch 2048
  flopcast search -f run.yaml --top 20 --objective cost --json
  flopcast search --model llama3-70b --chip b200 --chips 1024 --seq 8192 --global-batch 1024 --tp 8 --html plan.html`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runSearch(cmd, o)
		},
	}
	o.flags.add(cmd.Flags())
	fs := cmd.Flags()
	fs.IntVar(&o.top, "top", 10, "number of layouts to print")
	fs.StringVar(&o.objective, "objective", "time", "rank by time (step time), cost ($ per token) or energy (J per token)")
	fs.IntVar(&o.workers, "workers", 0, "goroutines (0: all cores)")
	fs.BoolVar(&o.asJSON, "json", false, "print JSON (keys in docs/output.md)")
	fs.StringVar(&o.html, "html", "", "also write the plan as a self-contained HTML report to this file")
	return cmd
}

func runSearch(cmd *cobra.Command, o *searchOptions) error {
	if o.top < 1 {
		return &fieldError{Field: "--top", Value: o.top, Allowed: "a positive integer"}
	}
	obj, err := search.ParseObjective(o.objective)
	if err != nil {
		return asFlag(err, "--objective")
	}
	r, err := o.flags.resolve(cmd, o.io)
	if err != nil {
		return err
	}
	opt := search.Options{Top: o.top, Objective: obj, Workers: o.workers}
	var bar *progressBar
	if o.io.IsTerm && !o.asJSON {
		bar = &progressBar{w: o.io.Err, label: "searching"}
		opt.Progress = func(done, total int64) { bar.set(done, total) }
	}
	rep, err := search.Run(cmd.Context(), r, opt)
	bar.clear()
	if err != nil {
		return err
	}
	if o.html != "" {
		if err := writeHTMLReport(o.html, r, rep); err != nil {
			return err
		}
	}
	if o.asJSON {
		out, err := searchJSON(r, rep)
		if err != nil {
			return err
		}
		return writeJSON(o.io.Out, out)
	}
	writeSearch(o.io.Out, r, rep)
	if o.html != "" {
		fmt.Fprintf(o.io.Out, "report written to %s\n", o.html)
	}
	return nil
}

func writeHTMLReport(path string, r *spec.Resolved, rep *search.Report) error {
	f, err := os.Create(path)
	if err != nil {
		return &fieldError{Field: "--html", Value: path, Reason: "cannot be written: " + err.Error()}
	}
	if err := web.WriteReport(f, r, rep); err != nil {
		f.Close()
		return fmt.Errorf("--html %s: %w", path, err)
	}
	return f.Close()
}

func searchJSON(r *spec.Resolved, rep *search.Report) (*searchOutput, error) {
	e, err := estimate.New(r)
	if err != nil {
		return nil, err
	}
	out := &searchOutput{Model: r.Model.Name, Chip: r.Chip.Name, Chips: r.Chips, Objective: rep.Objective,
		Results: []searchResult{}, Scores: rep.Scores, Pareto: rep.Pareto,
		Evaluated: rep.Evaluated, Feasible: rep.Feasible, Candidates: rep.Candidates, Valid: rep.Valid, Pruned: rep.Pruned,
		ElapsedS: rep.ElapsedS, Explanation: rep.Explanation, Warnings: append([]string{}, r.Warnings...)}
	if len(rep.Results) > 0 {
		out.Warnings = append(out.Warnings, e.Warnings(&rep.Results[0])...)
	}
	for i := range rep.Results {
		sr := searchResult{Result: rep.Results[i]}
		if r.Training.Tokens > 0 {
			run, err := wholeRun(r, &rep.Results[i])
			if err != nil {
				return nil, err
			}
			sr.Run = run
		}
		out.Results = append(out.Results, sr)
	}
	return out, nil
}

// knobsOpen names the knobs the search varied.
func knobsOpen(g spec.Given) (open, given []string) {
	for _, k := range []struct {
		g    spec.Given
		name string
	}{{spec.GivenTP, "tp"}, {spec.GivenPP, "pp"}, {spec.GivenDP, "dp"}, {spec.GivenCP, "cp"}, {spec.GivenEP, "ep"}, {spec.GivenVPP, "vpp"},
		{spec.GivenMicroBatch, "micro_batch"}, {spec.GivenZeRO, "zero"}, {spec.GivenRecompute, "recompute"}, {spec.GivenSP, "sequence_parallel"}} {
		if g.Has(k.g) {
			given = append(given, k.name)
		} else if k.g != spec.GivenDP {
			open = append(open, k.name)
		}
	}
	return open, given
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// objectiveColumn is the header and the formatted value of the objective
// column (none for time: the step column is the objective).
func objectiveColumn(o search.Objective) (string, func(float64) string) {
	switch o {
	case search.ObjectiveCost:
		return "$/M tokens", func(v float64) string { return fmt.Sprintf("%.4g", v*1e6) }
	case search.ObjectiveEnergy:
		return "kWh/M tokens", func(v float64) string { return fmt.Sprintf("%.4g", v*1e6/3.6e6) }
	}
	return "", nil
}

// paretoShown is the most Pareto points the text output lists.
const paretoShown = 12

// paretoRows prints the title of a Pareto table, "Pareto front, what (n
// unit...)", and returns the indices of the n points it lists: all of
// them, or shown spread evenly from the first to the last.
func paretoRows(w io.Writer, what, unit string, n, shown int) []int {
	fmt.Fprintf(w, "\nPareto front, %s (%d %s", what, n, unit)
	if n > shown {
		fmt.Fprintf(w, "; %d shown, --json lists all", shown)
	}
	fmt.Fprintln(w, ")")
	rows := make([]int, min(n, shown))
	for k := range rows {
		rows[k] = k
		if n > shown {
			rows[k] = k * (n - 1) / (shown - 1)
		}
	}
	return rows
}

func writeSearch(w io.Writer, r *spec.Resolved, rep *search.Report) {
	fmt.Fprintf(w, "%s on %d × %s (%s, %s recipe), seq %d, global batch %d\n", r.Model.Name, r.Chips, r.Chip.Name,
		r.Training.Precision, r.Training.Recipe, r.Training.SeqLen, r.Training.GlobalBatch)
	open, given := knobsOpen(r.Given)
	line := "searched: " + strings.Join(open, ", ")
	if len(open) == 0 {
		line = "searched: nothing (every knob is given)"
	}
	if len(given) > 0 {
		line += "; given: " + strings.Join(given, ", ")
	}
	fmt.Fprintln(w, line)

	by := map[search.Objective]string{search.ObjectiveTime: "step time", search.ObjectiveCost: "cost per token", search.ObjectiveEnergy: "energy per token"}[rep.Objective]
	fmt.Fprintf(w, "\ntop %d by %s\n", len(rep.Results), by)
	objHead, objFmt := objectiveColumn(rep.Objective)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	head := "#\ttp\tpp\tdp\tcp\tep\tvpp\tmb\tzero\trecompute\tsp\tstep s\ttokens/s\tMFU\tpeak GiB\tfits\t"
	if objHead != "" {
		head += objHead + "\t"
	}
	fmt.Fprintln(tw, head)
	for i := range rep.Results {
		res := &rep.Results[i]
		l := res.Parallel
		fits := "yes"
		if !res.Memory.Fits {
			fits = "no"
		}
		fmt.Fprintf(tw, "%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%s\t%s\t%.3f\t%s\t%.1f%%\t%.1f\t%s\t", i+1, l.TP, l.PP, l.DP, l.CP, l.EP, l.VPP,
			l.MicroBatch, l.ZeRO, l.Recompute, onOff(l.SequenceParallel), res.StepTimeS, group(res.TokensPerS), 100*res.MFU, res.Memory.PeakGiB, fits)
		if objFmt != nil && i < len(rep.Scores) {
			fmt.Fprintf(tw, "%s\t", objFmt(rep.Scores[i]))
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()

	rows := paretoRows(w, "step time against peak memory", "layouts", len(rep.Pareto), paretoShown)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "tp\tpp\tdp\tcp\tep\tvpp\tmb\tzero\trecompute\tsp\tstep s\tMFU\tpeak GiB\t")
	for _, i := range rows {
		res := &rep.Pareto[i]
		l := res.Parallel
		fmt.Fprintf(tw, "%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%s\t%s\t%.3f\t%.1f%%\t%.1f\t\n", l.TP, l.PP, l.DP, l.CP, l.EP, l.VPP,
			l.MicroBatch, l.ZeRO, l.Recompute, onOff(l.SequenceParallel), res.StepTimeS, 100*res.MFU, res.Memory.PeakGiB)
	}
	tw.Flush()

	if len(rep.Explanation) > 0 {
		fmt.Fprintf(w, "\nwhy the winner wins\n")
		for _, s := range rep.Explanation {
			fmt.Fprintf(w, "  - %s\n", s)
		}
	}
	fmt.Fprintf(w, "\nevaluated %s, feasible %s, elapsed %.3f s (%s candidates: %s valid, %s pruned as too large to fit)\n",
		group(float64(rep.Evaluated)), group(float64(rep.Feasible)), rep.ElapsedS,
		group(float64(rep.Candidates)), group(float64(rep.Valid)), group(float64(rep.Pruned)))
}

// progressBar draws a one-line bar on a terminal's stderr.
type progressBar struct {
	w     io.Writer
	label string
	drawn bool
	last  int
}

func (p *progressBar) set(done, total int64) {
	if p == nil || total <= 0 {
		return
	}
	pc := int(100 * done / total)
	if p.drawn && pc == p.last {
		return
	}
	const width = 30
	fill := width * pc / 100
	fmt.Fprintf(p.w, "\r%s [%s%s] %3d%%", p.label, strings.Repeat("=", fill), strings.Repeat(" ", width-fill), pc)
	p.drawn, p.last = true, pc
}

func (p *progressBar) clear() {
	if p == nil || !p.drawn {
		return
	}
	fmt.Fprintf(p.w, "\r%s\r", strings.Repeat(" ", len(p.label)+40))
	p.drawn = false
}
