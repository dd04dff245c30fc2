package spec_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/flopcast/flopcast"
	"github.com/flopcast/flopcast/spec"
)

const good = `
model: llama3-70b
cluster: {chip: h100-sxm, chips: 1024}
training: {seq_len: 8192, global_batch: 1024}
parallel: {tp: 8, pp: 4}
`

func TestResolveDefaults(t *testing.T) {
	run, err := spec.Parse([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	r, err := spec.Resolve(run)
	if err != nil {
		t.Fatal(err)
	}
	want := spec.Layout{TP: 8, PP: 4, DP: 32, CP: 1, EP: 1, ETP: 8, VPP: 1, MicroBatch: 1, ZeRO: 1, Recompute: spec.RecomputeNone, SequenceParallel: true}
	if r.Layout != want {
		t.Errorf("layout = %+v, want %+v", r.Layout, want)
	}
	if !r.Given.Has(spec.GivenTP) || !r.Given.Has(spec.GivenPP) || r.Given.Has(spec.GivenDP) {
		t.Errorf("given = %b", r.Given)
	}
	if r.Training.Precision != "bf16" || r.Training.Recipe != "megatron" || !r.Training.FlashAttention {
		t.Errorf("training defaults = %+v", r.Training)
	}
	if r.Profile == nil || r.Profile.Chip != "h100-sxm" {
		t.Errorf("h100-sxm should use its built-in measured profile, got %+v", r.Profile)
	}
}

func TestInlineModel(t *testing.T) {
	src := `
model:
  layers: 4
  hidden: 512
  heads: 8
  ffn: 2048
  vocab: 32000
  moe: {experts: 8, top_k: 2, expert_ffn: 1024}
cluster: {chip: a100-sxm-80gb, chips: 8}
training: {seq_len: 1024, global_batch: 64}
parallel: {ep: 4}
`
	run, err := spec.Parse([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	r, err := spec.Resolve(run)
	if err != nil {
		t.Fatal(err)
	}
	if r.Model.KVHeads != 8 || r.Model.HeadDim != 64 || r.Model.MoE.Experts != 8 || r.Layout.EP != 4 {
		t.Errorf("model = %+v, layout %+v", r.Model, r.Layout)
	}
}

// Resolve leaves the whole-layout rules to CheckLayout, so that a search
// with open knobs is not judged by defaults it never uses.
func TestOpenKnobsResolve(t *testing.T) {
	run, err := spec.Parse([]byte("model: llama3-70b\ncluster: {chip: h100-sxm, chips: 8192}\ntraining: {seq_len: 8192, global_batch: 1024}\n"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := spec.Resolve(run)
	if err != nil {
		t.Fatalf("open knobs: %v", err)
	}
	if err := r.CheckLayout(r.Layout); err == nil {
		t.Error("the default layout (dp 8192, batch 1024) is invalid and CheckLayout should say so")
	}
}

// Every bad input names its field, and says what is allowed.
func TestErrors(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		field     string // substring of the message
		allowed   string
	}{
		{"unknown top-level key", good + "extra: 1\n", "extra", "model, cluster"},
		{"unknown training key", strings.Replace(good, "seq_len:", "seqlen:", 1), "training.seqlen", "seq_len"},
		{"unknown model key", "model: {layers: 2, hidden: 64, heads: 4, ffn: 256, vocab: 100, rope: 1}\ncluster: {chip: h100-sxm, chips: 8}\ntraining: {seq_len: 128, global_batch: 8}\n", "model.rope", "layers"},
		{"not a mapping", "- a\n- b\n", "run.yaml", "model, cluster"},
		{"empty", "", "run.yaml", "model"},
		{"unknown chip", strings.Replace(good, "h100-sxm", "h100-sxn", 1), "cluster.chip", "h100-sxm"},
		{"unknown model", strings.Replace(good, "llama3-70b", "llama3-71b", 1), "model", "llama3-70b"},
		{"zero chips", strings.Replace(good, "1024}", "0}", 1), "cluster.chips", "positive"},
		{"negative seq", strings.Replace(good, "seq_len: 8192", "seq_len: -5", 1), "training.seq_len", "positive"},
		{"tp not dividing heads", strings.Replace(good, "tp: 8", "tp: 3", 1), "parallel.tp", "1, 2, 4, 8"},
		{"product", strings.Replace(good, "pp: 4}", "pp: 4, dp: 7}", 1), "parallel", "1024"},
		{"batch", strings.Replace(good, "global_batch: 1024", "global_batch: 100", 1), "training.global_batch", "multiples of 32"},
		{"precision", strings.Replace(good, "global_batch: 1024", "global_batch: 1024, precision: fp16", 1), "training.precision", "bf16, fp8"},
		{"fp8 on a100", strings.Replace(strings.Replace(good, "h100-sxm", "a100-sxm-80gb", 1), "global_batch: 1024", "global_batch: 1024, precision: fp8", 1), "training.precision", "bf16"},
		{"zero stage", strings.Replace(good, "pp: 4}", "pp: 4, zero: 4}", 1), "parallel.zero", "0, 1, 2, 3"},
		{"recompute", strings.Replace(good, "pp: 4}", "pp: 4, recompute: some}", 1), "parallel.recompute", "none, selective, full"},
		{"ep on dense", strings.Replace(good, "pp: 4}", "pp: 4, ep: 2}", 1), "parallel.ep", "1"},
		{"pue", good + "economics: {pue: 0.9}\n", "economics.pue", ">= 1"},
		{"tokens below a step", strings.Replace(good, "global_batch: 1024", "global_batch: 1024, tokens: 1000", 1), "training.tokens", ">="},
		{"wrong type", strings.Replace(good, "chips: 1024", "chips: many", 1), "cluster.chips: many", "an integer"},
		{"mapping expected", "model: llama3-8b\ncluster: 5\ntraining: {seq_len: 4096, global_batch: 8}\n", "cluster: 5", "a mapping with keys chip, chips"},
		{"list for a number", "model: llama3-8b\ncluster: {chip: h100-sxm, chips: 8}\ntraining:\n  seq_len: 4096\n  global_batch: [1]\n", "training.global_batch", "an integer"},
		{"vpp without pp", strings.Replace(good, "pp: 4}", "pp: 1, vpp: 2}", 1), "parallel.vpp", "pp > 1"},
		{"cp and seq", strings.Replace(good, "pp: 4}", "pp: 4, cp: 3}", 1), "parallel", ""},
		{"huge micro-batch", strings.Replace(good, "pp: 4}", "pp: 4, micro_batch: 4611686018427387904}", 1), "parallel.micro_batch", "1..1024"},
		{"huge cp", strings.Replace(good, "pp: 4}", "pp: 4, cp: 9223372036854775807}", 1), "parallel.cp", "1..1024"},
		{"huge chips", strings.Replace(good, "chips: 1024", "chips: 9223372036854775807", 1), "cluster.chips", "up to"},
		{"nan bandwidth", strings.Replace(good, "chips: 1024", "chips: 1024, scale_out_gbps: .nan", 1), "cluster.scale_out_gbps", "positive"},
		{"inf price", good + "economics: {price_per_chip_hour: .inf}\n", "economics.price_per_chip_hour", "positive"},
		{"nan tokens", strings.Replace(good, "global_batch: 1024", "global_batch: 1024, tokens: .nan", 1), "training.tokens", ""},
		{"zero failure rate", good + "reliability: {failures_per_chip_hour: 0}\n", "reliability.failures_per_chip_hour", "positive"},
		{"both failure rates", good + "reliability: {failures_per_chip_hour: 1e-5, mtti_hours: 3}\n", "reliability.mtti_hours", ""},
		{"cp without flash", strings.Replace(strings.Replace(good, "pp: 4}", "pp: 4, cp: 2}", 1), "global_batch: 1024", "global_batch: 1024, flash_attention: false", 1), "parallel.cp", "flash"},
		{"unknown cp comm type", strings.Replace(good, "global_batch: 1024", "global_batch: 1024, cp_comm_type: ring", 1), "training.cp_comm_type", "p2p, a2a"},
		{"a2a cp beyond the kv heads", strings.Replace(strings.Replace(good, "pp: 4}", "pp: 4, cp: 2}", 1), "global_batch: 1024", "global_batch: 1024, cp_comm_type: a2a", 1), "parallel.cp", "cp_comm_type p2p"},
		{"unknown attention kernel", strings.Replace(good, "global_batch: 1024", "global_batch: 1024, attention_kernel: flash3", 1), "training.attention_kernel", "fused, flash2"},
		{"attention kernel without flash", strings.Replace(good, "global_batch: 1024", "global_batch: 1024, flash_attention: false, attention_kernel: flash2", 1), "training.attention_kernel", "without flash attention"},
		{"ramp batch", strings.Replace(good, "global_batch: 1024", "global_batch: 1024, batch_ramp: [{tokens: 1e9, global_batch: 3}]", 1), "training.batch_ramp[0].global_batch", "multiples of 32"},
		{"ramp order", strings.Replace(good, "global_batch: 1024", "global_batch: 1024, batch_ramp: [{tokens: 1e9, global_batch: 64}, {tokens: 1e8, global_batch: 128}]", 1), "training.batch_ramp[1].tokens", "increasing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			run, err := spec.Parse([]byte(tc.src))
			var r *spec.Resolved
			if err == nil {
				r, err = spec.Resolve(run)
			}
			if err == nil {
				err = r.CheckLayout(r.Layout)
			}
			if err == nil {
				t.Fatal("want an error")
			}
			msg := err.Error()
			if !strings.Contains(msg, tc.field) || !strings.Contains(msg, tc.allowed) {
				t.Errorf("error %q should name %q and allow %q", msg, tc.field, tc.allowed)
			}
		})
	}
}

func TestUnevenLayersAllowed(t *testing.T) {
	src := "model: llama3-405b\ncluster: {chip: h100-sxm, chips: 16384}\ntraining: {seq_len: 8192, global_batch: 2048}\nparallel: {tp: 8, pp: 16}\n"
	run, err := spec.Parse([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	r, err := spec.Resolve(run)
	if err == nil {
		err = r.CheckLayout(r.Layout)
	}
	if err != nil {
		t.Fatalf("126 layers on pp16 must be allowed: %v", err)
	}
}

func TestFieldErrorAs(t *testing.T) {
	run, _ := spec.Parse([]byte(strings.Replace(good, "tp: 8", "tp: 3", 1)))
	r, err := spec.Resolve(run)
	if err == nil {
		err = r.CheckLayout(r.Layout)
	}
	var fe *flopcast.FieldError
	if !errors.As(err, &fe) || fe.Field != "parallel.tp" || fe.Value != 3 {
		t.Fatalf("want *flopcast.FieldError for parallel.tp, got %#v", err)
	}
}

func TestParseJSON(t *testing.T) {
	run, err := spec.ParseJSON([]byte(`{"model":"llama3-8b","cluster":{"chip":"h100-sxm","chips":8},"training":{"seq_len":8192,"global_batch":64}}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := spec.Resolve(run); err != nil {
		t.Fatal(err)
	}
	_, err = spec.ParseJSON([]byte(`{"model":"llama3-8b","clusters":{}}`))
	if err == nil || !strings.Contains(err.Error(), "clusters") {
		t.Fatalf("unknown JSON field: got %v", err)
	}
	run, err = spec.ParseJSON([]byte(`{"model":{"layers":2,"hidden":64,"heads":4,"ffn":256,"vocab":100},"cluster":{"chip":"h100-sxm","chips":8},"training":{"seq_len":128,"global_batch":8}}`))
	if err != nil || run.Model.Inline == nil {
		t.Fatalf("inline JSON model: %v", err)
	}
}

// TestUnknownFieldListsEveryKey: the allowed keys of a "not a known field"
// error come from the types, so fields added later are listed too.
func TestUnknownFieldListsEveryKey(t *testing.T) {
	for _, c := range []struct{ yaml, want string }{
		{"model: llama3-8b\ncluster: {chip: h100-sxm, chips: 8}\ntraining: {seq_len: 8192, global_batch: 8, dispatcher: deepep}\n", "moe_dispatcher"},
		{"model: llama3-8b\ncluster: {chip: h100-sxm, chips: 8}\ntraining: {seq_len: 8192, global_batch: 8}\nreliability: {sites: rsc}\n", "site"},
	} {
		_, err := spec.Parse([]byte(c.yaml))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want it to list %s", c.yaml, err, c.want)
		}
	}
}
