package spec_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/flopcast/flopcast"
	"github.com/flopcast/flopcast/spec"
)

// Integer fields take exact numbers in exponent form and refuse fractions
// by name, in YAML and in JSON alike.
func TestWholeNumbers(t *testing.T) {
	const yamlRun = "model: %M\ncluster: {chip: h100-sxm, chips: %C}\ntraining: {seq_len: %S, global_batch: 1024%T}\nparallel: {tp: %P}\n"
	const jsonRun = `{"model": %M, "cluster": {"chip": "h100-sxm", "chips": %C}, "training": {"seq_len": %S, "global_batch": 1024%T}, "parallel": {"tp": %P}}`
	type fill struct{ m, c, s, tr, p string }
	def := fill{"llama3-70b", "1024", "8192", "", "8"}
	inline := "{layers: 4, hidden: %H, heads: 32, ffn: 1024, vocab: 1000}"
	inlineJSON := `{"layers": 4, "hidden": %H, "heads": 32, "ffn": 1024, "vocab": 1000}`
	for _, tc := range []struct {
		name  string
		edit  func(f *fill, json bool)
		field string // "" when valid
		value string
	}{
		{"plain", func(f *fill, _ bool) {}, "", ""},
		{"chips 1.024e3", func(f *fill, _ bool) { f.c = "1.024e3" }, "", ""},
		{"seq_len 8.192e3", func(f *fill, _ bool) { f.s = "8.192e3" }, "", ""},
		{"tp 8.0", func(f *fill, _ bool) { f.p = "8.0" }, "", ""},
		{"chips 8.5", func(f *fill, _ bool) { f.c = "8.5" }, "cluster.chips", "8.5"},
		{"chips 1.0245e3", func(f *fill, _ bool) { f.c = "1.0245e3" }, "cluster.chips", "1.0245e3"},
		{"seq_len 8e-1", func(f *fill, _ bool) { f.s = "8e-1" }, "training.seq_len", "8e-1"},
		{"tp 1.5", func(f *fill, _ bool) { f.p = "1.5" }, "parallel.tp", "1.5"},
		{"chips 1e300", func(f *fill, _ bool) { f.c = "1e300" }, "cluster.chips", "1e300"},
		{"ramp batch 2.5", func(f *fill, j bool) {
			f.tr = ", batch_ramp: [{tokens: 1e9, global_batch: 2.5}]"
			if j {
				f.tr = `, "batch_ramp": [{"tokens": 1e9, "global_batch": 2.5}]`
			}
		}, "training.batch_ramp[0].global_batch", "2.5"},
		{"tokens stay a float", func(f *fill, j bool) {
			f.tr = ", tokens: 1.5e12"
			if j {
				f.tr = `, "tokens": 1.5e12`
			}
		}, "", ""},
		{"inline hidden 4.096e3", func(f *fill, j bool) { f.m = "inline:4.096e3" }, "", ""},
		{"inline hidden 4096.5", func(f *fill, j bool) { f.m = "inline:4096.5" }, "model.hidden", "4096.5"},
		{"inline hidden 4097", func(f *fill, j bool) { f.m = "inline:4097" }, "model.hidden", "4097"},
	} {
		for _, asJSON := range []bool{false, true} {
			name := tc.name + map[bool]string{false: "/yaml", true: "/json"}[asJSON]
			t.Run(name, func(t *testing.T) {
				f := def
				tc.edit(&f, asJSON)
				src, m := yamlRun, f.m
				if asJSON {
					src = jsonRun
				}
				if h, ok := strings.CutPrefix(m, "inline:"); ok {
					m = strings.Replace(inline, "%H", h, 1)
					if asJSON {
						m = strings.Replace(inlineJSON, "%H", h, 1)
					}
					f.p = "1"
				} else if asJSON {
					m = `"` + m + `"`
				}
				src = strings.NewReplacer("%M", m, "%C", f.c, "%S", f.s, "%T", f.tr, "%P", f.p).Replace(src)
				var run *spec.Run
				var err error
				if asJSON {
					run, err = spec.ParseJSON([]byte(src))
				} else {
					run, err = spec.Parse([]byte(src))
				}
				if err == nil {
					_, err = spec.Resolve(run)
				}
				if tc.field == "" {
					if err != nil {
						t.Fatalf("%s: %v", src, err)
					}
					return
				}
				var fe *flopcast.FieldError
				if !errors.As(err, &fe) || fe.Field != tc.field || fe.Value != tc.value && fe.Value != toInt(tc.value) {
					t.Fatalf("%s: error %#v; want field %s value %s", src, err, tc.field, tc.value)
				}
			})
		}
	}
}

func toInt(s string) any {
	n, err := spec.ParseWhole("", s)
	if err != nil {
		return nil
	}
	return n
}

func TestParseWhole(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int
		err  string
	}{
		{"8", 8, ""}, {"1e9", 1000000000, ""}, {"1.5e3", 1500, ""}, {"1_000", 1000, ""}, {"-3", -3, ""},
		{"8.5", 0, "--chips: 8.5 is not a whole number"}, {"1e-3", 0, "not a whole number"}, {"many", 0, "not a whole number"},
		{"1e19", 0, "--chips: 1e19 is too large"},
	} {
		got, err := spec.ParseWhole("--chips", tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: %v, %v; want %q", tc.in, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s: %v, %v; want %d", tc.in, got, err, tc.want)
		}
	}
}
