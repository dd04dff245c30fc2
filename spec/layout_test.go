package spec_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/flopcast/flopcast"
	"github.com/flopcast/flopcast/spec"
)

func TestRecomputeText(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want spec.Recompute
		text string // String() of the result
		err  string // substring of the error; "" when valid
	}{
		{"none", spec.RecomputeNone, "none", ""},
		{"selective", spec.RecomputeSelective, "selective", ""},
		{"core_attn", spec.RecomputeCoreAttn, "selective", ""},
		{"full", spec.RecomputeFull, "full", ""},
		{"op", spec.RecomputeOp, "op", ""},
		{"op,mlp", 0, "", "op cannot be combined"},
		{"layernorm,mla_up_proj", spec.RecomputeLayerNorm | spec.RecomputeMLAUpProj, "layernorm,mla_up_proj", ""},
		{"mla_up_proj, layernorm", spec.RecomputeLayerNorm | spec.RecomputeMLAUpProj, "layernorm,mla_up_proj", ""},
		{"selective,mlp", spec.RecomputeCoreAttn | spec.RecomputeMLP, "core_attn,mlp", ""},
		{"moe_act,moe,shared_experts", spec.RecomputeMoEAct | spec.RecomputeMoE | spec.RecomputeSharedExperts, "moe_act,moe,shared_experts", ""},
		{"some", 0, "", `unknown module "some"`},
		{"full,layernorm", 0, "", "full cannot be combined"},
		{"none,mlp", 0, "", "none cannot be combined"},
		{"mlp,,moe", 0, "", "empty module name"},
		{"", 0, "", "empty module name"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := spec.ParseRecompute(tc.in)
			if tc.err != "" {
				var fe *flopcast.FieldError
				if !errors.As(err, &fe) || fe.Field != "parallel.recompute" || !strings.Contains(err.Error(), tc.err) || !strings.Contains(fe.Allowed, "mla_up_proj") {
					t.Fatalf("ParseRecompute(%q) = %v, %v; want a parallel.recompute error with %q", tc.in, got, err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want || got.String() != tc.text {
				t.Fatalf("ParseRecompute(%q) = %v (%s), %v; want %v (%s)", tc.in, uint16(got), got, err, uint16(tc.want), tc.text)
			}
			back, err := spec.ParseRecompute(got.String())
			if err != nil || back != got {
				t.Errorf("round trip of %s: %v, %v", got, back, err)
			}
		})
	}
}

func TestOffloadAndScheduleText(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want spec.Offload
		err  bool
	}{
		{"none", spec.OffloadNone, false},
		{"activations", spec.OffloadActivations, false},
		{"optimizer,activations", spec.OffloadActivations | spec.OffloadOptimizer, false},
		{"weights", 0, true},
		{"none,optimizer", 0, true},
	} {
		got, err := spec.ParseOffload(tc.in)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("ParseOffload(%q) = %v, %v", tc.in, got, err)
		}
	}
	for _, s := range []spec.Schedule{spec.Schedule1F1B, spec.ScheduleInterleaved, spec.ScheduleDualPipe} {
		if got, err := spec.ParseSchedule(s.String()); err != nil || got != s {
			t.Errorf("ParseSchedule(%q) = %v, %v", s, got, err)
		}
	}
	if _, err := spec.ParseSchedule("zb1p"); err == nil || !strings.Contains(err.Error(), "1f1b, interleaved, dualpipe") {
		t.Errorf("unknown schedule: %v", err)
	}
}

const dsv3 = `
model: deepseek-v3
cluster: {chip: h800, chips: 2048}
training: {seq_len: 4096, global_batch: 15360, precision: fp8}
`

const qwen3 = `
model: qwen3-235b-a22b
cluster: {chip: h100-sxm, chips: 256}
training: {seq_len: 4096, global_batch: 1024}
`

func resolveLayout(t *testing.T, src string) (*spec.Resolved, error) {
	t.Helper()
	run, err := spec.Parse([]byte(src))
	if err != nil {
		return nil, err
	}
	r, err := spec.Resolve(run)
	if err != nil {
		return nil, err
	}
	return r, r.CheckLayout(r.Layout)
}

// The parallel knobs of docs/run-yaml.md: what is accepted, what is refused and
// with which field.
func TestParallelKnobs(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		field     string // "" when valid
		msg       string // substrings of the error
	}{
		// MoE parallel folding: ep × etp divides tp × cp × dp.
		{"qwen3 tp2 ep32 pp8 etp1", qwen3 + "parallel: {tp: 2, ep: 32, pp: 8, etp: 1}\n", "", ""},
		{"qwen3 tp2 ep32 pp8 default etp", qwen3 + "parallel: {tp: 2, ep: 32, pp: 8}\n", "parallel.ep", "etp 2 = 64 does not divide tp×cp×dp = 2×1×16 = 32"},
		{"ep beyond dp folds over tp", qwen3 + "parallel: {tp: 4, ep: 64, pp: 4, etp: 1}\n", "", ""},
		{"etp not dividing expert_ffn", qwen3 + "parallel: {tp: 2, ep: 8, pp: 8, etp: 7}\n", "parallel.etp", "does not divide model.moe.expert_ffn=1536"},
		{"etp on a dense model", good[:len(good)-len("parallel: {tp: 8, pp: 4}\n")] + "parallel: {tp: 8, pp: 4, etp: 2}\n", "parallel.etp", "needs a mixture-of-experts model"},
		{"etp equal to tp on a dense model", good[:len(good)-len("parallel: {tp: 8, pp: 4}\n")] + "parallel: {tp: 8, pp: 4, etp: 8}\n", "", ""},
		{"tp need not divide expert_ffn", "model: {layers: 4, hidden: 512, heads: 8, ffn: 2048, vocab: 1000, moe: {experts: 8, top_k: 2, expert_ffn: 100}}\ncluster: {chip: h100-sxm, chips: 8}\ntraining: {seq_len: 1024, global_batch: 8}\nparallel: {tp: 8, etp: 4, ep: 2}\n", "", ""},
		// Recompute modules against the model.
		{"dsv3 layernorm and mla_up_proj", dsv3 + "parallel: {pp: 16, ep: 64, recompute: [layernorm, mla_up_proj]}\n", "", ""},
		{"dsv3 comma string", dsv3 + "parallel: {pp: 16, ep: 64, recompute: \"layernorm,mla_up_proj,moe_act,shared_experts\"}\n", "", ""},
		{"mla_up_proj without MLA", qwen3 + "parallel: {tp: 2, ep: 32, pp: 8, etp: 1, recompute: [mla_up_proj]}\n", "parallel.recompute", "needs multi-head latent attention"},
		{"moe on a dense model", good[:len(good)-len("parallel: {tp: 8, pp: 4}\n")] + "parallel: {tp: 8, pp: 4, recompute: [moe_act]}\n", "parallel.recompute", "moe_act, which need a mixture-of-experts model"},
		{"shared_experts without shared experts", qwen3 + "parallel: {tp: 2, ep: 32, pp: 8, etp: 1, recompute: [shared_experts]}\n", "parallel.recompute", "model.moe.shared_experts is 0"},
		{"op on an MoE model", dsv3 + "parallel: {pp: 16, ep: 64, recompute: op}\n", "parallel.recompute", "torchtitan's per-op policy"},
		{"op on a dense model", good[:len(good)-len("parallel: {tp: 8, pp: 4}\n")] + "parallel: {tp: 8, pp: 4, recompute: op}\n", "", ""},
		{"full with a module", dsv3 + "parallel: {pp: 16, ep: 64, recompute: [full, layernorm]}\n", "parallel.recompute", "full cannot be combined"},
		{"recompute list of lists", dsv3 + "parallel: {pp: 16, ep: 64, recompute: [[layernorm]]}\n", "parallel.recompute", "has the wrong type"},
		{"offload list", dsv3 + "parallel: {pp: 16, ep: 64, offload: [activations, optimizer]}\n", "", ""},
		{"offload unknown", dsv3 + "parallel: {pp: 16, ep: 64, offload: weights}\n", "parallel.offload", "unknown kind \"weights\""},
		// Pipeline schedules.
		{"dualpipe", dsv3 + "parallel: {pp: 16, ep: 64, pp_schedule: dualpipe}\n", "", ""},
		{"dualpipe odd pp", qwen3 + "parallel: {tp: 8, pp: 1, ep: 8, etp: 1, pp_schedule: dualpipe}\n", "parallel.pp_schedule", "(vpp 1, pp 1, 32 micro-batches)"},
		{"dualpipe with vpp", strings.Replace(dsv3, "15360", "16384", 1) + "parallel: {pp: 16, ep: 64, vpp: 2, pp_schedule: dualpipe}\n", "parallel.pp_schedule", "needs vpp 1, an even pp"},
		{"dualpipe odd micro-batches", dsv3[:len(dsv3)-len("global_batch: 15360, precision: fp8}\n")] + "global_batch: 15232, precision: fp8}\nparallel: {pp: 16, ep: 64, pp_schedule: dualpipe}\n", "parallel.pp_schedule", "119 micro-batches"},
		{"interleaved without vpp", good[:len(good)-len("parallel: {tp: 8, pp: 4}\n")] + "parallel: {tp: 8, pp: 4, pp_schedule: interleaved}\n", "parallel.pp_schedule", "needs virtual stages"},
		{"1f1b with vpp", good[:len(good)-len("parallel: {tp: 8, pp: 4}\n")] + "parallel: {tp: 8, pp: 4, vpp: 2, pp_schedule: 1f1b}\n", "parallel.pp_schedule", "vpp is 2"},
		{"unknown schedule", good[:len(good)-len("parallel: {tp: 8, pp: 4}\n")] + "parallel: {tp: 8, pp: 4, pp_schedule: zb}\n", "parallel.pp_schedule", "allowed: 1f1b, interleaved, dualpipe"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := resolveLayout(t, tc.src)
			if tc.field == "" {
				if err != nil {
					t.Fatalf("want valid, got %v", err)
				}
				return
			}
			var fe *flopcast.FieldError
			if !errors.As(err, &fe) || fe.Field != tc.field || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("error %v; want field %s with %q", err, tc.field, tc.msg)
			}
		})
	}
}

// DualPipe feeds micro-batches from both ends: their count must be even.
func TestDualPipeMicroBatches(t *testing.T) {
	r, err := resolveLayout(t, dsv3+"parallel: {pp: 16, ep: 64}\n")
	if err != nil {
		t.Fatal(err)
	}
	l := r.Layout
	l.Schedule = spec.ScheduleDualPipe
	if v := r.Violation(l); v != spec.OK {
		t.Fatalf("pp16 dp128 dualpipe (120 micro-batches): %v", r.CheckLayout(l))
	}
	l.PP, l.DP = 2, 1024 // 15 micro-batches
	if v := r.Violation(l); v != spec.BadSchedule {
		t.Errorf("15 micro-batches: violation %v (%v), want BadSchedule", v, r.CheckLayout(l))
	}
}

func TestResolvedKnobs(t *testing.T) {
	r, err := resolveLayout(t, qwen3+"parallel: {tp: 2, ep: 32, pp: 8, etp: 1, vpp: 2, offload: optimizer}\n")
	if err != nil {
		t.Fatal(err)
	}
	l := r.Layout
	if l.ETP != 1 || l.Schedule != spec.ScheduleInterleaved || l.Offload != spec.OffloadOptimizer || l.ExpertDP() != 1 {
		t.Errorf("layout %v: etp %d schedule %v offload %v edp %d", l, l.ETP, l.Schedule, l.Offload, l.ExpertDP())
	}
	for _, g := range []spec.Given{spec.GivenETP, spec.GivenOffload} {
		if !r.Given.Has(g) {
			t.Errorf("given %b lacks %b", r.Given, g)
		}
	}
	if r.Given.Has(spec.GivenSchedule) {
		t.Error("pp_schedule was not given")
	}
	r, err = resolveLayout(t, good)
	if err != nil {
		t.Fatal(err)
	}
	if r.Layout.ETP != 8 || r.Layout.Schedule != spec.Schedule1F1B {
		t.Errorf("defaults: etp %d (want tp 8), schedule %v", r.Layout.ETP, r.Layout.Schedule)
	}
}

func TestPrecision(t *testing.T) {
	const base = "model: llama3-70b\ncluster: {chip: %s, chips: 64}\ntraining: {seq_len: 4096, global_batch: 64, precision: %s%s}\nparallel: {tp: 8}\n"
	for _, tc := range []struct {
		chip, precision, extra string
		fp8Params              bool
		err                    string
	}{
		{"b200", "nvfp4", "", true, ""},
		{"gb300", "mxfp8", "", true, ""},
		{"h100-sxm", "fp8", "", true, ""},
		{"h100-sxm", "fp8", ", fp8_params: false", false, ""},
		{"h100-sxm", "fp8", ", recipe: pytorch-amp", false, ""},
		{"h100-sxm", "bf16", "", false, ""},
		{"h100-sxm", "mxfp8", "", false, `training.precision: "mxfp8" is not supported by h100-sxm (allowed: bf16, fp8)`},
		{"a100-sxm-80gb", "nvfp4", "", false, `training.precision: "nvfp4" is not supported by a100-sxm-80gb (allowed: bf16)`},
		{"h100-sxm", "fp16", "", false, `training.precision: "fp16" is not allowed (allowed: bf16, fp8, mxfp8, nvfp4)`},
		{"h100-sxm", "bf16", ", fp8_params: true", false, "training.fp8_params: true needs a low-precision training.precision"},
		{"h100-sxm", "fp8", ", fp8_params: true, recipe: pytorch-amp", false, "training.fp8_params: true needs the megatron recipe"},
		{"h100-sxm", "fp8", ", recipe: jax", false, `training.recipe: "jax" is not allowed (allowed: megatron, pytorch-amp)`},
		{"h100-sxm", "fp8", ", optimizer_moments: bf16", true, ""},
		{"h100-sxm", "fp8", ", fp8_activations: true", true, ""},
		{"h100-sxm", "bf16", ", fp8_activations: true", false, "training.fp8_activations: true needs a low-precision training.precision and the megatron recipe"},
		{"h100-sxm", "fp8", ", fp8_scaling: rowwise", true, ""},
		{"h100-sxm", "fp8", ", fp8_scaling: tensorwise", true, ""},
		{"h100-sxm", "bf16", ", fp8_scaling: rowwise", false, `training.fp8_scaling: "rowwise" scales fp8 operands, but training.precision is bf16`},
		{"b200", "mxfp8", ", fp8_scaling: rowwise", true, `training.fp8_scaling: "rowwise" scales fp8 operands, but training.precision is mxfp8`},
		{"h100-sxm", "fp8", ", fp8_scaling: blockwise", false, `training.fp8_scaling: "blockwise" is not allowed (allowed: tensorwise, rowwise)`},
		{"h100-sxm", "bf16", ", optimizer_moments: fp16", false, `training.optimizer_moments: "fp16" is not allowed (allowed: fp32, bf16)`},
	} {
		t.Run(tc.chip+"-"+tc.precision+tc.extra, func(t *testing.T) {
			r, err := resolveLayout(t, strings.NewReplacer("%s%s", tc.precision+tc.extra).Replace(strings.Replace(base, "%s", tc.chip, 1)))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.Training.Precision != spec.Precision(tc.precision) || r.Training.FP8Params != tc.fp8Params {
				t.Errorf("precision %s fp8_params %v; want %s %v", r.Training.Precision, r.Training.FP8Params, tc.precision, tc.fp8Params)
			}
			if r.Training.FP8Activations != strings.Contains(tc.extra, "fp8_activations: true") {
				t.Errorf("fp8_activations %v", r.Training.FP8Activations)
			}
			if want := map[bool]string{false: spec.ScalingTensorwise, true: spec.ScalingRowwise}[strings.Contains(tc.extra, "fp8_scaling: rowwise")]; r.Training.FP8Scaling != want {
				t.Errorf("fp8_scaling %q, want %q", r.Training.FP8Scaling, want)
			}
			if want := map[bool]string{false: "fp32", true: "bf16"}[strings.Contains(tc.extra, "optimizer_moments: bf16")]; r.Training.OptimizerMoments != want {
				t.Errorf("optimizer_moments %q, want %q", r.Training.OptimizerMoments, want)
			}
		})
	}
}

// JSON input takes the same forms as YAML, and layouts print the new keys.
func TestParallelJSON(t *testing.T) {
	run, err := spec.ParseJSON([]byte(`{"model":"deepseek-v3","cluster":{"chip":"h800","chips":2048},"training":{"seq_len":4096,"global_batch":15360},
		"parallel":{"pp":16,"ep":64,"etp":1,"recompute":["layernorm","mla_up_proj"],"offload":"activations","pp_schedule":"dualpipe"}}`))
	if err != nil {
		t.Fatal(err)
	}
	r, err := spec.Resolve(run)
	if err != nil {
		t.Fatal(err)
	}
	l := r.Layout
	if l.Recompute != spec.RecomputeLayerNorm|spec.RecomputeMLAUpProj || l.Offload != spec.OffloadActivations || l.Schedule != spec.ScheduleDualPipe {
		t.Errorf("layout %v", l)
	}
	if _, err := spec.ParseJSON([]byte(`{"model":"llama3-8b","parallel":{"recompute":3}}`)); err == nil || !strings.Contains(err.Error(), "parallel.recompute") {
		t.Errorf("recompute as a number: %v", err)
	}
	b, err := l.Recompute.MarshalText()
	if err != nil || string(b) != "layernorm,mla_up_proj" {
		t.Errorf("recompute text %q", b)
	}
}
