package cli

import (
	"encoding/json"
	"fmt"
	"github.com/flopcast/flopcast/internal/format"
	"io"
	"text/tabwriter"

	"github.com/flopcast/flopcast/economics"
	"github.com/flopcast/flopcast/estimate"
	"github.com/flopcast/flopcast/spec"
	"github.com/spf13/cobra"
)

func init() { register(newEstimateCmd) }

// estimateOutput is the JSON of `estimate --json`: the object of docs/output.md
// with the whole-run block and warnings added.
type estimateOutput struct {
	Model  string `json:"model"`
	Chip   string `json:"chip"`
	Chips  int    `json:"chips"`
	Recipe string `json:"recipe"`
	estimate.Result
	// Placement says where each parallel group's members sit.
	Placement []estimate.Group `json:"placement"`
	Run       *economics.Run   `json:"run,omitempty"`
	Warnings  []string         `json:"warnings"`
}

func newEstimateCmd(io *IO) *cobra.Command {
	var f runFlags
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "estimate",
		Short: "Predict one configuration: step time, breakdown, memory, MFU/HFU, whole-run totals",
		Example: `  flopcast estimate --model llama3-70b --chip h100-sxm --chips 1024 --seq 8192 --global-batch 1024 --tp 8 --pp 4
  flopcast estimate -f examples/deepseek-v3-h800.yaml --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, err := f.resolve(cmd, io)
			if err != nil {
				return err
			}
			out, err := estimateRun(r)
			if err != nil {
				return withFlags(cmd, err)
			}
			if asJSON {
				return writeJSON(io.Out, out)
			}
			writeEstimate(io.Out, r, out)
			return nil
		},
	}
	f.add(cmd.Flags())
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON (keys in docs/output.md)")
	return cmd
}

// estimateRun estimates r's layout, with whole-run totals when tokens are
// given.
func estimateRun(r *spec.Resolved) (*estimateOutput, error) {
	if err := r.CheckLayout(r.Layout); err != nil {
		return nil, err
	}
	e, err := estimate.New(r)
	if err != nil {
		return nil, err
	}
	res := e.Estimate(r.Layout)
	out := &estimateOutput{Model: r.Model.Name, Chip: r.Chip.Name, Chips: r.Chips, Recipe: string(r.Training.Recipe), Result: res, Placement: e.Placement(r.Layout),
		Warnings: append(append([]string{}, r.Warnings...), e.Warnings(&res)...)}
	if !res.Memory.Fits {
		out.Warnings = append(out.Warnings, whatWouldFit(r, e, &res))
	}
	if r.Training.Tokens > 0 {
		run, err := wholeRun(r, &res)
		if err != nil {
			return nil, err
		}
		out.Run = run
	}
	return out, nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func pct(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return 100 * a / b
}

func writeEstimate(w io.Writer, r *spec.Resolved, o *estimateOutput) {
	res := &o.Result
	l := res.Parallel
	fmt.Fprintf(w, "%s on %d × %s (%s, %s recipe)\n", r.Model.Name, r.Chips, r.Chip.Name, r.Training.Precision, r.Training.Recipe)
	sp := "off"
	if l.SequenceParallel {
		sp = "on"
	}
	fmt.Fprintf(w, "layout: tp %d, pp %d, dp %d, cp %d, ep %d, vpp %d, micro-batch %d (%d per step), ZeRO-%d, recompute %s, sequence parallel %s\n",
		l.TP, l.PP, l.DP, l.CP, l.EP, l.VPP, l.MicroBatch, l.MicroBatches(r.Training.GlobalBatch), l.ZeRO, l.Recompute, sp)
	profile := "catalog default curve"
	if r.Profile != nil {
		profile = "measured profile " + r.Profile.Chip + " (" + r.Profile.Measured + ")"
	}
	fmt.Fprintf(w, "efficiency: %s\n\n", profile)

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "step time\t%.3f s\n", res.StepTimeS)
	fmt.Fprintf(tw, "tokens/s\t%s\t(%.0f per chip)\n", group(res.TokensPerS), res.TokensPerS/float64(r.Chips))
	fmt.Fprintf(tw, "MFU\t%.1f%%\t(model FLOPs: causal attention counted half; of the dense BF16 peak)\n", 100*res.MFU)
	fmt.Fprintf(tw, "HFU\t%.1f%%\t(recomputed FLOPs counted too)\n", 100*res.HFU)
	fmt.Fprintf(tw, "model TFLOP/s per chip\t%.1f\t(peak %.0f)\n", res.ModelTFLOPsPerChip, r.Chip.BF16TFLOPS)
	tw.Flush()

	fmt.Fprintf(w, "\nstep time breakdown\n")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	b := &res.Breakdown
	for _, row := range []struct {
		name string
		v    float64
	}{{"compute", b.ComputeS}, {"exposed TP comm", b.ExposedTPCommS}, {"exposed CP comm", b.ExposedCPCommS},
		{"exposed EP comm", b.ExposedEPCommS}, {"pipeline bubble", b.PipelineBubbleS}, {"exposed PP comm", b.ExposedPPCommS},
		{"exposed DP comm", b.ExposedDPCommS}, {"optimizer", b.OptimizerS}, {"synchronisation", b.SyncS},
		{"activation offload", b.OffloadS}} {
		if row.v == 0 && row.name == "activation offload" {
			continue // only runs that offload have it
		}
		fmt.Fprintf(tw, "  %s\t%8.3f s\t%5.1f%%\n", row.name, row.v, pct(row.v, res.StepTimeS))
	}
	tw.Flush()

	if len(o.Placement) > 0 {
		fmt.Fprintf(w, "\nwhere the groups live\n")
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for _, g := range o.Placement {
			fmt.Fprintf(tw, "  %s %d\t%s\n", g.Name, g.Size, g.Where)
		}
		tw.Flush()
	}

	m := &res.Memory
	fmt.Fprintf(w, "\nmemory per device (pipeline stage %d, the fullest)\n", m.Stage)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, row := range []struct {
		name string
		v    float64
	}{{"weights", m.WeightsGiB}, {"gradients", m.GradsGiB}, {"optimizer states", m.OptimizerGiB},
		{"activations", m.ActivationsGiB}, {"other (buffers, fragmentation)", m.OtherGiB}, {"total", m.PeakGiB}} {
		fmt.Fprintf(tw, "  %s\t%6.1f GiB\n", row.name, row.v)
	}
	tw.Flush()
	if m.Fits {
		fmt.Fprintf(w, "  fits: %.1f of %.1f GiB usable\n", m.PeakGiB, m.CapacityGiB)
	} else {
		fmt.Fprintf(w, "  DOES NOT FIT: %.1f GiB over the %.1f GiB usable\n", m.OverflowGiB, m.CapacityGiB)
	}
	if o.Run != nil {
		fmt.Fprintln(w)
		writeWholeRun(w, o.Run)
	}
	if len(o.Warnings) > 0 {
		fmt.Fprintf(w, "\nwarnings\n")
		for _, s := range o.Warnings {
			fmt.Fprintf(w, "  - %s\n", s)
		}
	}
}

// group formats a number with thousands separators.
func group(v float64) string { return format.ThousandsF(v) }

// whatWouldFit tries the memory-saving variants of a layout that does not
// fit and says which one would, at what step time.
func whatWouldFit(r *spec.Resolved, e *estimate.Estimator, res *estimate.Result) string {
	base := res.Parallel
	for _, v := range []struct {
		what string
		mut  func(l *spec.Layout)
	}{
		{"ZeRO-3", func(l *spec.Layout) { l.ZeRO = 3 }},
		{"full recompute", func(l *spec.Layout) { l.Recompute = spec.RecomputeFull }},
		{"ZeRO-3 with full recompute", func(l *spec.Layout) { l.ZeRO, l.Recompute = 3, spec.RecomputeFull }},
	} {
		l := base
		v.mut(&l)
		if l == base || r.CheckLayout(l) != nil {
			continue
		}
		alt := e.Estimate(l)
		if alt.Memory.Fits {
			return fmt.Sprintf("with %s this layout would fit (%.1f GiB) at %.3f s per step", v.what, alt.Memory.PeakGiB, alt.StepTimeS)
		}
	}
	l := base
	l.ZeRO, l.Recompute = 3, spec.RecomputeFull
	least := e.Estimate(l)
	return fmt.Sprintf("even with ZeRO-3 and full recompute this layout needs %.1f GiB of %.1f; shard wider (more tp or pp), add chips, or use flopcast search to find a layout that fits",
		least.Memory.PeakGiB, least.Memory.CapacityGiB)
}
