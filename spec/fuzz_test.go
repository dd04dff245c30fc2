package spec_test

import (
	"context"
	"errors"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/flopcast/flopcast"
	"github.com/flopcast/flopcast/estimate"
	"github.com/flopcast/flopcast/search"
	"github.com/flopcast/flopcast/spec"
)

// FuzzParse: no input may panic the parser, the resolver, the estimator or
// a (time-bounded) search, every refusal is a non-empty message, and every
// estimate is finite.
func FuzzParse(f *testing.F) {
	f.Add([]byte(good))
	f.Add([]byte("model: {layers: 2, hidden: 64, heads: 4, ffn: 256, vocab: 100, moe: {experts: 4, top_k: 1, expert_ffn: 64}}\ncluster: {chip: h100-sxm, chips: 8}\ntraining: {seq_len: 128, global_batch: 8}\nparallel: {ep: 2, cp: 2}\n"))
	f.Add([]byte("model: deepseek-v3\ncluster: {chip: h800, chips: 2048}\ntraining: {seq_len: 4096, global_batch: 15360, precision: fp8}\nparallel: {pp: 16, ep: 64}\n"))
	f.Add([]byte("model: deepseek-v3\ncluster: {chip: h800, chips: 2048}\ntraining: {seq_len: 4096, global_batch: 15360}\nparallel: {pp: 16, ep: 64, etp: 1, recompute: [layernorm, mla_up_proj], pp_schedule: dualpipe, offload: activations}\n"))
	f.Add([]byte("model: qwen3-235b-a22b\ncluster: {chip: gb200, chips: 2.56e2}\ntraining: {seq_len: 4096, global_batch: 1024, precision: mxfp8, fp8_params: false}\nparallel: {tp: 2, ep: 32, pp: 8, etp: 1, vpp: 2}\n"))
	f.Add([]byte("model: {layers: 2, hidden: 4097, heads: 32, ffn: 256, vocab: 100, position: learned, norm: layernorm, bias: true}\ncluster: {chip: b200, chips: 8.5}\ntraining: {seq_len: 128, global_batch: 8, precision: nvfp4}\n"))
	f.Add([]byte("model: {layers: 2, hidden: 64, heads: 4, ffn: 256, vocab: 100, mtp_depth: 1, moe: {experts: 8, top_k: 2, expert_ffn: 64, max_groups_per_token: 2, routing: dropless}}\ncluster: {chip: h100-sxm, chips: 16}\ntraining: {seq_len: 256, global_batch: 16}\n"))
	f.Add([]byte("model: {layers: 4, hidden: 64, heads: 4, ffn: 256, vocab: 100, sliding_window: 32, full_attention_every: 2, moe: {experts: 8, top_k: 2, expert_ffn: 64, routing: random}}\ncluster: {chip: a100-sxm-80gb, chips: 16}\ntraining: {seq_len: 256, global_batch: 16, cp_comm_type: a2a}\nparallel: {tp: 2, cp: 2, ep: 2}\n"))
	f.Add([]byte("model: {layers: 2, hidden: 64, heads: 4, ffn: 256, vocab: 100}\ncluster: {chip: h100-sxm, chips: 8}\ntraining: {seq_len: 128, global_batch: 8, precision: fp8, fp8_scaling: rowwise, tp_comm_overlap: true}\nparallel: {tp: 2}\n"))
	f.Add([]byte("- 1\n"))
	f.Add([]byte("model: [1, 2]\n"))
	f.Add([]byte("{"))
	f.Fuzz(fuzzOne)
}

func fuzzOne(t *testing.T, b []byte) {
	{
		run, err := spec.Parse(b)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		r, err := spec.Resolve(run)
		if err != nil {
			var fe *flopcast.FieldError
			if err.Error() == "" || errors.As(err, &fe) && fe.Field == "" {
				t.Fatalf("unnamed error %#v", err)
			}
			return
		}
		e, err := estimate.New(r)
		if err != nil {
			return
		}
		if r.CheckLayout(r.Layout) == nil {
			res := e.Estimate(r.Layout)
			checkFinite(t, "estimate", reflect.ValueOf(res))
		}
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		rep, err := search.Run(ctx, r, search.Options{Top: 3, Workers: 1})
		if err != nil {
			return
		}
		for _, res := range rep.Results {
			if v := r.Violation(res.Parallel); v != spec.OK {
				t.Fatalf("search returned %v, which breaks a rule: %v", res.Parallel, r.CheckLayout(res.Parallel))
			}
			checkFinite(t, "search", reflect.ValueOf(res))
		}
	}
}

// checkFinite fails on a NaN, infinite or negative float anywhere in v.
func checkFinite(t *testing.T, path string, v reflect.Value) {
	t.Helper()
	switch v.Kind() {
	case reflect.Float64:
		if x := v.Float(); math.IsNaN(x) || math.IsInf(x, 0) || x < 0 {
			t.Fatalf("%s = %v", path, x)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				checkFinite(t, path+"."+v.Type().Field(i).Name, v.Field(i))
			}
		}
	}
}
