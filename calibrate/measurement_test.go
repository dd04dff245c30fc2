package calibrate

import (
	"encoding/json"
	"errors"
	"github.com/flopcast/flopcast"
	"os"
	"strings"
	"testing"
)

const h100File = "testdata/h100-microbench.json"

func readH100(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile(h100File)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseMeasurementShipped(t *testing.T) {
	m, err := ParseMeasurement(readH100(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(m.GEMM) != 34 || len(m.Attention) != 5 {
		t.Errorf("got %d gemm and %d attention points, want 34 and 5", len(m.GEMM), len(m.Attention))
	}
	if m.Env.GPU != "NVIDIA H100 80GB HBM3" || m.Env.SMs != 132 || m.Env.CopyTBps < 2.9 || m.Measured != "2026-11-25" {
		t.Errorf("env = %+v, measured %q", m.Env, m.Measured)
	}
	if g := m.GEMM[33]; g.DType != "fp8" || g.M != 8192 || g.S <= 0 {
		t.Errorf("gemm[33] = %+v", g)
	}
	if len(m.Warnings) != 0 {
		t.Errorf("warnings: %q", m.Warnings)
	}
}

// mutate decodes the shipped file, applies f and re-encodes it.
func mutate(t *testing.T, f func(m map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(readH100(t), &m); err != nil {
		t.Fatal(err)
	}
	f(m)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func item(m map[string]any, section string, i int) map[string]any {
	return m[section].([]any)[i].(map[string]any)
}

func TestParseMeasurementErrors(t *testing.T) {
	tests := []struct {
		name  string
		input func(t *testing.T) []byte
		want  []string // substrings of the error
		field bool     // the error is a *flopcast.FieldError
	}{
		{"empty", raw(""), []string{"not a flopcast GPU measurement", "empty input"}, false},
		{"yaml profile", raw("profile:\n  chip: h100-sxm\n"), []string{"not a flopcast GPU measurement", "invalid JSON at line 1"}, false},
		{"list", raw("[1, 2]"), []string{"top level is a list"}, false},
		{"other json", raw(`{"results": []}`), []string{"no env, gemm or attention section"}, false},
		{"two values", raw(`{"env": {}} {}`), []string{"more than one JSON value"}, false},
		{"missing gemm s", edit(func(m map[string]any) { delete(item(m, "gemm", 3), "s") }),
			[]string{"gemm[3].s: (missing) is required"}, true},
		{"NaN time", rawEdit(`"s": 6.534399837255478e-05`, `"s": NaN`),
			[]string{"gemm[3].s: NaN is not a finite number"}, true},
		{"Infinity time", rawEdit(`"fwd_s": 0.0009451999962329865`, `"fwd_s": -Infinity`),
			[]string{"attention[2].fwd_s: -Infinity is not a finite number"}, true},
		{"zero time", edit(func(m map[string]any) { item(m, "gemm", 0)["s"] = 0 }),
			[]string{"gemm[0].s: 0 is not allowed (allowed: a positive, finite number)"}, true},
		{"negative time", edit(func(m map[string]any) { item(m, "attention", 1)["fwdbwd_s"] = -1e-3 }),
			[]string{"attention[1].fwdbwd_s: -0.001"}, true},
		{"null time", edit(func(m map[string]any) { item(m, "gemm", 5)["s"] = nil }),
			[]string{"gemm[5].s: null"}, true},
		{"string time", edit(func(m map[string]any) { item(m, "gemm", 5)["s"] = "fast" }),
			[]string{`gemm[5].s: "fast" (a string)`}, true},
		{"fractional m", edit(func(m map[string]any) { item(m, "gemm", 1)["m"] = 4096.5 }),
			[]string{"gemm[1].m: 4096.5 is not allowed (allowed: a positive integer)"}, true},
		{"bad dtype", edit(func(m map[string]any) { item(m, "gemm", 2)["dtype"] = "fp16" }),
			[]string{`gemm[2].dtype: "fp16" is not allowed (allowed: bf16, fp8)`}, true},
		{"missing env", edit(func(m map[string]any) { delete(m, "env") }), []string{"env: (missing) is required"}, true},
		{"missing copy", edit(func(m map[string]any) { delete(m["env"].(map[string]any), "copy_tbps") }),
			[]string{"env.copy_tbps: (missing) is required"}, true},
		{"missing gpu", edit(func(m map[string]any) { delete(m["env"].(map[string]any), "gpu") }),
			[]string{"env.gpu: (missing) is required"}, true},
		{"missing attention", edit(func(m map[string]any) { delete(m, "attention") }), []string{"attention: (missing) is required"}, true},
		{"empty gemm", edit(func(m map[string]any) { m["gemm"] = []any{} }), []string{"gemm: [] is empty"}, true},
		{"gemm not a list", edit(func(m map[string]any) { m["gemm"] = map[string]any{} }),
			[]string{"gemm: an object is not allowed (allowed: a list)"}, true},
		{"bwd not longer", edit(func(m map[string]any) { item(m, "attention", 0)["fwdbwd_s"] = 1e-4 }),
			[]string{"attention[0].fwdbwd_s: 0.0001 is not more than fwd_s"}, true},
		{"bad date", edit(func(m map[string]any) { m["measured"] = "yesterday" }),
			[]string{`measured: "yesterday" is not a date`}, true},
		{"bad step", edit(func(m map[string]any) {
			m["steps"] = []any{map[string]any{"name": "gpt", "seq_len": 1024, "micro_batch": 8, "recompute": "some",
				"step_s": 0.1, "peak_alloc_gib": 3, "model": map[string]any{"layers": 12, "hidden": 768, "heads": 12,
					"ffn": 3072, "ffn_kind": "gelu"}}}
		}), []string{`steps[0].recompute: "some"`, "steps[0].model.vocab: (missing) is required"}, true},
		{"every error named", edit(func(m map[string]any) {
			delete(item(m, "gemm", 3), "s")
			delete(item(m, "attention", 4), "seq")
		}), []string{"gemm[3].s: (missing) is required", "attention[4].seq: (missing) is required"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := ParseMeasurement(tt.input(t))
			if err == nil {
				t.Fatalf("no error; parsed %d gemm points", len(m.GEMM))
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\ndoes not contain %q", err, w)
				}
			}
			var fe *flopcast.FieldError
			if errors.As(err, &fe) != tt.field {
				t.Errorf("errors.As(*flopcast.FieldError) = %v, want %v (error %q)", !tt.field, tt.field, err)
			}
		})
	}
}

func TestParseMeasurementOptionalSections(t *testing.T) {
	b := mutate(t, func(m map[string]any) {
		m["elementwise"] = []any{map[string]any{"op": "gelu", "dtype": "bf16", "shape": []any{16384, 4096},
			"bytes": 2.68e8, "s": 1.0e-4, "gbps": 2684}}
		m["steps"] = []any{map[string]any{"name": "llama-160m", "recipe": "pytorch-amp", "seq_len": 2048, "micro_batch": 4,
			"recompute": "full", "step_s": 0.25, "peak_alloc_gib": 11.5, "model": map[string]any{"layers": 12,
				"hidden": 768, "heads": 12, "kv_heads": 4, "ffn": 2048, "ffn_kind": "swiglu", "vocab": 32000}}}
		m["future"] = 1
		m["env"].(map[string]any)["driver"] = "580.65.06"
	})
	m, err := ParseMeasurement(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Elementwise) != 1 || m.Elementwise[0].Shape[1] != 4096 {
		t.Errorf("elementwise = %+v", m.Elementwise)
	}
	if len(m.Steps) != 1 || m.Steps[0].Model.KVHeads != 4 || m.Steps[0].Recompute != "full" {
		t.Errorf("steps = %+v", m.Steps)
	}
	if m.Env.Driver != "580.65.06" {
		t.Errorf("driver = %q", m.Env.Driver)
	}
	if len(m.Warnings) != 1 || !strings.Contains(m.Warnings[0], "future: unknown section") {
		t.Errorf("warnings = %q", m.Warnings)
	}
}

func TestQuoteNonFinite(t *testing.T) {
	in := `{"a": NaN, "b": [Infinity, -Infinity], "c": "NaN \" Infinity", "d": -1}`
	want := `{"a": "NaN", "b": ["Infinity", "-Infinity"], "c": "NaN \" Infinity", "d": -1}`
	if got := string(quoteNonFinite([]byte(in))); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func raw(s string) func(*testing.T) []byte { return func(*testing.T) []byte { return []byte(s) } }

func edit(f func(map[string]any)) func(*testing.T) []byte {
	return func(t *testing.T) []byte { return mutate(t, f) }
}

// rawEdit replaces text in the shipped file, for values JSON cannot encode.
func rawEdit(old, new string) func(*testing.T) []byte {
	return func(t *testing.T) []byte {
		s := string(readH100(t))
		if !strings.Contains(s, old) {
			t.Fatalf("%q not in %s", old, h100File)
		}
		return []byte(strings.Replace(s, old, new, 1))
	}
}
