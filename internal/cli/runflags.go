package cli

import (
	"errors"
	"fmt"
	"strings"

	"github.com/flopcast/flopcast/spec"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// runFlags are the flags that fill run.yaml fields (docs/conventions.md). Flags
// override the file's fields of the same meaning.
type runFlags struct {
	file                       string
	model, chip, precision     string
	chips, seq, gbs            int
	tokens                     float64
	recipe, recompute, profile string
	tp, pp, dp, cp, ep, etp    int
	vpp, mb, zero              int
	sp, offload, schedule      string
	fp8Params                  bool
	ints                       []*wholeFlag
}

// wholeFlag is an integer flag that also takes an exact number in
// exponent form (--chips 1e9); a fraction is reported by run as a field
// error naming the flag.
type wholeFlag struct {
	name string
	v    *int
	bad  error
}

func (w *wholeFlag) Set(s string) error {
	n, err := spec.ParseWhole("--"+w.name, s)
	w.bad = err
	if err == nil {
		*w.v = n
	}
	return nil
}

func (w *wholeFlag) String() string {
	if w.v == nil || *w.v == 0 {
		return "0"
	}
	return fmt.Sprint(*w.v)
}

func (w *wholeFlag) Type() string { return "int" }

func (f *runFlags) intVar(fs *pflag.FlagSet, v *int, name, usage string) {
	w := &wholeFlag{name: name, v: v}
	f.ints = append(f.ints, w)
	fs.Var(w, name, usage)
}

func (f *runFlags) add(fs *pflag.FlagSet) {
	fs.StringVarP(&f.file, "file", "f", "", "run.yaml file")
	fs.StringVar(&f.model, "model", "", "catalog model name (flopcast catalog models)")
	fs.StringVar(&f.chip, "chip", "", "catalog chip name (flopcast catalog chips)")
	f.intVar(fs, &f.chips, "chips", "number of chips")
	f.intVar(fs, &f.seq, "seq", "sequence length (training.seq_len)")
	f.intVar(fs, &f.gbs, "global-batch", "sequences per optimizer step (training.global_batch)")
	fs.Float64Var(&f.tokens, "tokens", 0, "tokens in the whole run (training.tokens)")
	fs.StringVar(&f.precision, "precision", "", "bf16 | fp8 | mxfp8 | nvfp4 (mxfp8 and nvfp4 on Blackwell)")
	fs.StringVar(&f.recipe, "recipe", "", "megatron | pytorch-amp")
	fs.StringVar(&f.profile, "profile", "", "chip profile file from flopcast calibrate, or \"default\" for the catalog curve")
	f.intVar(fs, &f.tp, "tp", "tensor parallel size")
	f.intVar(fs, &f.pp, "pp", "pipeline parallel size")
	f.intVar(fs, &f.dp, "dp", "data parallel size")
	f.intVar(fs, &f.cp, "cp", "context parallel size")
	f.intVar(fs, &f.ep, "ep", "expert parallel size")
	f.intVar(fs, &f.etp, "etp", "expert tensor parallel size (default: tp; ep×etp must divide tp×cp×dp)")
	f.intVar(fs, &f.vpp, "vpp", "virtual pipeline stages per rank (interleaved 1F1B)")
	f.intVar(fs, &f.mb, "micro-batch", "micro-batch size")
	f.intVar(fs, &f.zero, "zero", "ZeRO stage 0-3 (3 = FSDP full shard; default 1)")
	fs.StringVar(&f.recompute, "recompute", "", "none | selective | full | op (torchtitan per-op) | a comma list of core_attn,layernorm,mla_up_proj,mlp,moe_act,moe,shared_experts")
	fs.StringVar(&f.offload, "offload", "", "none | activations | optimizer | activations,optimizer (to host memory)")
	fs.StringVar(&f.schedule, "pp-schedule", "", "1f1b | interleaved | dualpipe (default: interleaved when vpp > 1, else 1f1b)")
	fs.BoolVar(&f.fp8Params, "fp8-params", false, "keep the primary weights in the low-precision format (default true for megatron under fp8, mxfp8, nvfp4)")
	fs.StringVar(&f.sp, "sequence-parallel", "", "true | false")
}

// run builds the run from the file (if any) and the flags.
func (f *runFlags) run(cmd *cobra.Command) (*spec.Run, error) {
	for _, w := range f.ints {
		if w.bad != nil {
			return nil, w.bad
		}
	}
	run := &spec.Run{}
	if f.file != "" {
		r, err := spec.ParseFile(f.file)
		if err != nil {
			return nil, err
		}
		run = r
	}
	fs := cmd.Flags()
	changed := fs.Changed
	if f.model != "" {
		run.Model = spec.ModelRef{Name: f.model}
	}
	if f.chip != "" {
		run.Cluster.Chip = f.chip
	}
	if f.profile != "" {
		run.Cluster.Profile = f.profile
	}
	if changed("chips") {
		run.Cluster.Chips = f.chips
	}
	if changed("seq") {
		run.Training.SeqLen = f.seq
	}
	if changed("global-batch") {
		run.Training.GlobalBatch = f.gbs
	}
	if changed("tokens") {
		run.Training.Tokens = f.tokens
	}
	if f.precision != "" {
		run.Training.Precision = spec.Precision(f.precision)
	}
	if f.recipe != "" {
		run.Training.Recipe = spec.Recipe(f.recipe)
	}
	if changed("fp8-params") {
		v := f.fp8Params
		run.Training.FP8Params = &v
	}
	p := &run.Parallel
	for _, k := range []struct {
		name string
		v    int
		dst  **int
	}{{"tp", f.tp, &p.TP}, {"pp", f.pp, &p.PP}, {"dp", f.dp, &p.DP}, {"cp", f.cp, &p.CP}, {"ep", f.ep, &p.EP}, {"etp", f.etp, &p.ETP},
		{"vpp", f.vpp, &p.VPP}, {"micro-batch", f.mb, &p.MicroBatch}, {"zero", f.zero, &p.ZeRO}} {
		if changed(k.name) {
			v := k.v
			*k.dst = &v
		}
	}
	if changed("recompute") {
		v, err := spec.ParseRecompute(f.recompute)
		if err != nil {
			return nil, asFlag(err, "--recompute")
		}
		p.Recompute = &v
	}
	if changed("offload") {
		v, err := spec.ParseOffload(f.offload)
		if err != nil {
			return nil, asFlag(err, "--offload")
		}
		p.Offload = &v
	}
	if changed("pp-schedule") {
		v, err := spec.ParseSchedule(f.schedule)
		if err != nil {
			return nil, asFlag(err, "--pp-schedule")
		}
		p.PPSchedule = &v
	}
	if changed("sequence-parallel") {
		switch strings.ToLower(f.sp) {
		case "true", "1", "yes":
			v := true
			p.SequenceParallel = &v
		case "false", "0", "no":
			v := false
			p.SequenceParallel = &v
		default:
			return nil, &fieldError{Field: "--sequence-parallel", Value: f.sp, Allowed: "true, false"}
		}
	}
	if run.Model.Name == "" && run.Model.Inline == nil {
		return nil, &fieldError{Field: "model", Value: "(missing)", Reason: "is required", Allowed: "--model NAME or -f run.yaml", Hint: "flopcast catalog models"}
	}
	if run.Cluster.Chip == "" {
		return nil, &fieldError{Field: "cluster.chip", Value: "(missing)", Reason: "is required", Allowed: "--chip NAME or cluster.chip in run.yaml", Hint: "flopcast catalog chips"}
	}
	for _, c := range []struct {
		flag string
		v    int
	}{{"--chips", run.Cluster.Chips}, {"--seq", run.Training.SeqLen}, {"--global-batch", run.Training.GlobalBatch}} {
		if c.v == 0 && f.file == "" {
			return nil, &fieldError{Field: c.flag, Value: "(missing)", Reason: "is required without -f run.yaml", Allowed: "a positive integer"}
		}
	}
	return run, nil
}

// asFlag names a field error by the flag that gave the value.
func asFlag(err error, flag string) error {
	var fe *fieldError
	if errors.As(err, &fe) {
		c := *fe
		c.Field = flag
		return &c
	}
	return err
}

// flagOf is the flag that sets each run.yaml field.
var flagOf = map[string]string{
	"model": "--model", "cluster.chip": "--chip", "cluster.chips": "--chips", "cluster.profile": "--profile",
	"training.seq_len": "--seq", "training.global_batch": "--global-batch", "training.tokens": "--tokens",
	"training.precision": "--precision", "training.recipe": "--recipe", "training.fp8_params": "--fp8-params",
	"parallel.tp": "--tp", "parallel.pp": "--pp", "parallel.dp": "--dp", "parallel.cp": "--cp", "parallel.ep": "--ep",
	"parallel.etp": "--etp", "parallel.vpp": "--vpp", "parallel.micro_batch": "--micro-batch", "parallel.zero": "--zero",
	"parallel.recompute": "--recompute", "parallel.offload": "--offload", "parallel.pp_schedule": "--pp-schedule",
	"parallel.sequence_parallel": "--sequence-parallel",
}

// withFlags adds the flag spelling to a field error whose value came from
// a flag: "parallel.tp (--tp)".
func withFlags(cmd *cobra.Command, err error) error { return withFlagMap(cmd, err, flagOf) }

// withFlagMap is withFlags with the field-to-flag map of a command.
func withFlagMap(cmd *cobra.Command, err error, flagOf map[string]string) error {
	var fe *fieldError
	if !errors.As(err, &fe) {
		return err
	}
	flag, ok := flagOf[fe.Field]
	if !ok || !cmd.Flags().Changed(strings.TrimPrefix(flag, "--")) {
		return err
	}
	c := *fe
	c.Field = fmt.Sprintf("%s (%s)", fe.Field, flag)
	return &c
}

// resolve parses and resolves, and prints resolution warnings to stderr.
func (f *runFlags) resolve(cmd *cobra.Command, io *IO) (*spec.Resolved, error) {
	run, err := f.run(cmd)
	if err != nil {
		return nil, err
	}
	r, err := spec.Resolve(run)
	if err != nil {
		return nil, withFlags(cmd, err)
	}
	for _, w := range r.Warnings {
		fmt.Fprintf(io.Err, "warning: %s\n", w)
	}
	return r, nil
}
