package cli

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/flopcast/flopcast/infer"
	"github.com/flopcast/flopcast/spec"
	"github.com/spf13/cobra"
)

func init() { register(newInferCmd) }

// inferFlags fill serve.yaml fields; they override the file's.
type inferFlags struct {
	file, model, chip, profile       string
	chips, in, out, concurrency, top int
	precision, kvPrecision, disagg   string
	objective                        string
	tpot, ttft, hit                  float64
	tp, ep, pp, dp, adp              int
	asJSON                           bool
}

func newInferCmd(io *IO) *cobra.Command {
	f := &inferFlags{}
	cmd := &cobra.Command{
		Use:   "infer",
		Short: "Predict serving: TTFT, TPOT, tokens/s per user and per chip, KV-cache memory, $ and kWh per million tokens",
		Long: `infer searches the serving layouts of a model on a cluster (tensor, expert,
pipeline and data parallelism, attention data parallelism, prefill and decode
aggregated or disaggregated, and the requests in flight) and ranks those that
meet the latency targets by output tokens per second per chip. It prints the
Pareto front of tokens/s per chip against tokens/s per user and what bounds
the winner. serve.yaml (docs/serving.md) holds the same fields as the flags;
flags override it.`,
		Example: `  flopcast infer --model llama3-70b --chip h100-sxm --chips 2 --input-tokens 1000 --output-tokens 1000 --precision fp8
  flopcast infer --model deepseek-v3 --chip h800 --chips 144 --input-tokens 5000 --output-tokens 1000 --tpot-ms 50 --json
  flopcast infer -f examples/deepseek-v3-serving-h800.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runInfer(cmd, io, f) },
	}
	fs := cmd.Flags()
	fs.StringVarP(&f.file, "file", "f", "", "serve.yaml file")
	fs.StringVar(&f.model, "model", "", "catalog model name (flopcast catalog models)")
	fs.StringVar(&f.chip, "chip", "", "catalog chip name (flopcast catalog chips)")
	fs.IntVar(&f.chips, "chips", 0, "number of chips")
	fs.StringVar(&f.profile, "profile", "", "chip profile file from flopcast calibrate, or \"default\"")
	fs.IntVar(&f.in, "input-tokens", 0, "prompt tokens per request (serving.input_tokens)")
	fs.IntVar(&f.out, "output-tokens", 0, "generated tokens per request (serving.output_tokens)")
	fs.StringVar(&f.precision, "precision", "", "weights and GEMMs: bf16 | fp8 | fp4")
	fs.StringVar(&f.kvPrecision, "kv-precision", "", "KV cache: bf16 | fp8 | fp4")
	fs.IntVar(&f.concurrency, "concurrency", 0, "requests in flight per instance (default: searched)")
	fs.Float64Var(&f.tpot, "tpot-ms", 0, "target time per output token, ms")
	fs.Float64Var(&f.ttft, "ttft-ms", 0, "target time to first token, ms")
	fs.Float64Var(&f.hit, "cache-hit-rate", 0, "share of input tokens found in the prefix cache, 0 to <1")
	fs.StringVar(&f.disagg, "disaggregated", "", "true | false | auto (prefill and decode on separate pools; default auto)")
	fs.IntVar(&f.tp, "tp", 0, "tensor parallel size of an instance")
	fs.IntVar(&f.ep, "ep", 0, "expert parallel size (divides tp)")
	fs.IntVar(&f.pp, "pp", 0, "pipeline parallel size")
	fs.IntVar(&f.dp, "dp", 0, "number of instances")
	fs.IntVar(&f.adp, "attention-dp", 0, "attention data-parallel replicas per instance (divides tp)")
	fs.IntVar(&f.top, "top", 10, "number of layouts to print")
	fs.StringVar(&f.objective, "objective", infer.ObjectiveOutput, "rank by output (tokens/s per chip of the deployment), decode (per decode chip) or prefill (input tokens/s per prefill chip)")
	fs.BoolVar(&f.asJSON, "json", false, "print JSON (docs/serving.md)")
	return cmd
}

// serve builds serve.yaml from the file (if any) and the flags.
func (f *inferFlags) serve(cmd *cobra.Command) (*infer.Serve, error) {
	s := &infer.Serve{}
	if f.file != "" {
		v, err := infer.ParseFile(f.file)
		if err != nil {
			return nil, err
		}
		s = v
	}
	changed := cmd.Flags().Changed
	if f.model != "" {
		s.Model = spec.ModelRef{Name: f.model}
	}
	if f.chip != "" {
		s.Cluster.Chip = f.chip
	}
	if f.profile != "" {
		s.Cluster.Profile = f.profile
	}
	if changed("chips") {
		s.Cluster.Chips = f.chips
	}
	v := &s.Serving
	if changed("input-tokens") {
		v.InputTokens = f.in
	}
	if changed("output-tokens") {
		v.OutputTokens = f.out
	}
	if f.precision != "" {
		v.Precision = f.precision
	}
	if f.kvPrecision != "" {
		v.KVPrecision = f.kvPrecision
	}
	if changed("concurrency") {
		v.Concurrency = &f.concurrency
	}
	if changed("tpot-ms") {
		v.TPOTMs = &f.tpot
	}
	if changed("ttft-ms") {
		v.TTFTMs = &f.ttft
	}
	if changed("cache-hit-rate") {
		v.CacheHitRate = f.hit
	}
	if changed("disaggregated") {
		switch f.disagg {
		case "true", "false", "auto":
			v.Disaggregated = infer.Disagg(f.disagg)
		default:
			return nil, &fieldError{Field: "--disaggregated", Value: f.disagg, Allowed: "true, false, auto"}
		}
	}
	for _, k := range []struct {
		flag string
		v    *int
		dst  **int
	}{{"tp", &f.tp, &s.Parallel.TP}, {"ep", &f.ep, &s.Parallel.EP}, {"pp", &f.pp, &s.Parallel.PP},
		{"dp", &f.dp, &s.Parallel.DP}, {"attention-dp", &f.adp, &s.Parallel.AttentionDP}} {
		if changed(k.flag) {
			*k.dst = k.v
		}
	}
	return s, nil
}

func runInfer(cmd *cobra.Command, io *IO, f *inferFlags) error {
	if f.top < 1 {
		return &fieldError{Field: "--top", Value: f.top, Allowed: "a positive integer"}
	}
	s, err := f.serve(cmd)
	if err != nil {
		return err
	}
	if f.file == "" && s.Model.Name == "" && s.Model.Inline == nil {
		return &fieldError{Field: "--model", Value: "(missing)", Reason: "is required", Hint: "flopcast infer --model llama3-70b --chip h100-sxm --chips 2 --input-tokens 1000 --output-tokens 1000, or -f serve.yaml"}
	}
	r, err := infer.Resolve(s)
	if err != nil {
		return withFlagMap(cmd, err, inferFlagOf)
	}
	rep, err := infer.Infer(r, infer.Options{Top: f.top, Objective: f.objective})
	if err != nil {
		var fe *fieldError
		if errors.As(err, &fe) && fe.Field == "objective" {
			return asFlag(err, "--objective")
		}
		return err
	}
	if f.asJSON {
		return writeJSON(io.Out, rep)
	}
	writeInfer(io.Out, r, rep)
	return nil
}

// inferFlagOf is the flag that sets each serve.yaml field.
var inferFlagOf = map[string]string{
	"model": "--model", "cluster.chip": "--chip", "cluster.chips": "--chips", "cluster.profile": "--profile",
	"serving.input_tokens": "--input-tokens", "serving.output_tokens": "--output-tokens",
	"serving.precision": "--precision", "serving.kv_precision": "--kv-precision", "serving.concurrency": "--concurrency",
	"serving.tpot_ms": "--tpot-ms", "serving.ttft_ms": "--ttft-ms", "serving.cache_hit_rate": "--cache-hit-rate",
	"parallel.tp": "--tp", "parallel.ep": "--ep", "parallel.pp": "--pp", "parallel.dp": "--dp", "parallel.attention_dp": "--attention-dp",
}

// paretoShownInfer is the most Pareto points the text output lists.
const paretoShownInfer = 10

func writeInfer(w io.Writer, r *infer.Resolved, rep *infer.Report) {
	v := r.Serving
	fmt.Fprintf(w, "%s on %d × %s: input %d, output %d tokens per request; %s weights, %s KV cache, prefix-cache hits %.0f%%\n",
		r.HW.Model.Name, r.HW.Chips, r.HW.Chip.Name, v.InputTokens, v.OutputTokens, v.Precision, v.KVPrecision, 100*v.CacheHitRate)
	var targets []string
	if r.TTFT > 0 {
		targets = append(targets, fmt.Sprintf("TTFT <= %g ms", r.TTFT*1e3))
	}
	if r.TPOT > 0 {
		targets = append(targets, fmt.Sprintf("TPOT <= %g ms", r.TPOT*1e3))
	}
	if len(targets) == 0 {
		targets = append(targets, "none (maximum throughput)")
	}
	fmt.Fprintf(w, "latency targets: %s; prefill and decode: %s\n", strings.Join(targets, ", "), modeWords(v.Disaggregated))

	fmt.Fprintf(w, "\ntop %d by output tokens/s per chip\n", len(rep.Results))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "#\tmode\ttp\tep\tpp\tdp\tadp\tprefill pool\tconc\tTTFT ms\tTPOT ms\ttok/s/user\tout tok/s/chip\tin tok/s/chip\tKV GiB\tpeak GiB\t$/M out\t$/M in\tkWh/M out\tbottleneck\t")
	for i := range rep.Results {
		res := &rep.Results[i]
		l := res.Parallel
		pool := "-"
		if p := res.PrefillParallel; p != nil {
			pool = fmt.Sprintf("%d×tp%d ep%d pp%d adp%d", p.DP, p.TP, p.EP, p.PP, p.AttentionDP)
		}
		mode := "agg"
		if res.Mode == infer.ModeDisaggregated {
			mode = "disagg"
		}
		fmt.Fprintf(tw, "%d\t%s\t%d\t%d\t%d\t%d\t%d\t%s\t%d\t%.0f\t%.1f\t%.1f\t%s\t%s\t%.1f\t%.1f\t%.3f\t%.3f\t%.3f\t%s\t\n",
			i+1, mode, l.TP, l.EP, l.PP, l.DP, l.AttentionDP, pool, res.Concurrency, res.TTFTS*1e3, res.TPOTS*1e3,
			res.TokensPerSPerUser, group(res.OutputTokensPerSPerChip), group(res.InputTokensPerSPerChip),
			res.Memory.KVCacheGiB, res.Memory.PeakGiB, res.USDPerMOutputTokens, res.USDPerMInputTokens, res.KWhPerMOutputTokens, res.Bottleneck)
	}
	tw.Flush()

	rows := paretoRows(w, "output tokens/s per chip against tokens/s per user", "points", len(rep.Pareto), paretoShownInfer)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "mode\ttp\tep\tpp\tadp\tconc\ttok/s/user\tout tok/s/chip\tTTFT ms\tTPOT ms\t")
	for _, i := range rows {
		res := &rep.Pareto[i]
		l := res.Parallel
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%.1f\t%s\t%.0f\t%.1f\t\n", res.Mode, l.TP, l.EP, l.PP, l.AttentionDP,
			res.Concurrency, res.TokensPerSPerUser, group(res.OutputTokensPerSPerChip), res.TTFTS*1e3, res.TPOTS*1e3)
	}
	tw.Flush()
	fmt.Fprintf(w, "\nwhy the winner wins\n")
	for _, s := range rep.Explanation {
		fmt.Fprintf(w, "  - %s\n", s)
	}
	for _, s := range rep.Warnings {
		fmt.Fprintf(w, "warning: %s\n", s)
	}
	fmt.Fprintf(w, "\nevaluated %s, feasible %s, elapsed %.3f s\n", group(float64(rep.Evaluated)), group(float64(rep.Feasible)), rep.ElapsedS)
}

func modeWords(d infer.Disagg) string {
	switch d {
	case infer.DisaggOn:
		return "disaggregated"
	case infer.DisaggOff:
		return "aggregated"
	}
	return "both searched"
}
