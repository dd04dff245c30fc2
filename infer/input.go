package infer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/flopcast/flopcast"
	"io"
	"math"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/flopcast/flopcast/spec"
	"go.yaml.in/yaml/v3"
)

// Serve is serve.yaml as a user writes it (docs/serving.md): the model and
// the cluster as in run.yaml, the serving workload and latency targets, and
// an optional partly fixed layout. What Parallel leaves out is searched.
type Serve struct {
	Model    spec.ModelRef `yaml:"model" json:"model"`
	Cluster  spec.Cluster  `yaml:"cluster" json:"cluster"`
	Serving  Serving       `yaml:"serving" json:"serving"`
	Parallel Parallel      `yaml:"parallel,omitempty" json:"parallel,omitempty"`
	// PrefillParallel fixes part of the prefill pool's layout when
	// prefill and decode are disaggregated (its dp is sized by the pool
	// ratio and is ignored).
	PrefillParallel Parallel        `yaml:"prefill_parallel,omitempty" json:"prefill_parallel,omitempty"`
	Economics       *spec.Economics `yaml:"economics,omitempty" json:"economics,omitempty"`
}

// Serving is the workload: request shape, latency targets and number
// formats.
type Serving struct {
	InputTokens  int `yaml:"input_tokens" json:"input_tokens"`
	OutputTokens int `yaml:"output_tokens" json:"output_tokens"`
	// Concurrency is the number of requests in flight per model instance
	// (per decode instance when disaggregated); nil: searched.
	Concurrency *int `yaml:"concurrency,omitempty" json:"concurrency,omitempty"`
	// TTFTMs and TPOTMs are latency targets (time to first token, time per
	// output token after the first), in milliseconds; nil: no target.
	TTFTMs *float64 `yaml:"ttft_ms,omitempty" json:"ttft_ms,omitempty"`
	TPOTMs *float64 `yaml:"tpot_ms,omitempty" json:"tpot_ms,omitempty"`
	// Precision of the weights and GEMMs: bf16 | fp8 | fp4 (default bf16).
	Precision string `yaml:"precision,omitempty" json:"precision,omitempty"`
	// KVPrecision of the KV cache: bf16 | fp8 | fp4 (default bf16).
	KVPrecision string `yaml:"kv_precision,omitempty" json:"kv_precision,omitempty"`
	// CacheHitRate is the share of input tokens found in the prefix cache
	// (their prefill is skipped).
	CacheHitRate float64 `yaml:"cache_hit_rate,omitempty" json:"cache_hit_rate,omitempty"`
	// Disaggregated: "true", "false" or "auto" (default: both searched).
	Disaggregated Disagg `yaml:"disaggregated,omitempty" json:"disaggregated,omitempty"`
}

// Disagg is the serving.disaggregated switch: true, false or auto.
type Disagg string

// Disaggregation choices.
const (
	DisaggAuto Disagg = "auto"
	DisaggOn   Disagg = "true"
	DisaggOff  Disagg = "false"
)

// UnmarshalYAML accepts a boolean or the string auto.
func (d *Disagg) UnmarshalYAML(n *yaml.Node) error { return d.set(n.Value) }

// UnmarshalJSON accepts a boolean or the string "auto".
func (d *Disagg) UnmarshalJSON(b []byte) error { return d.set(strings.Trim(string(b), `"`)) }

func (d *Disagg) set(v string) error {
	switch strings.ToLower(v) {
	case "true":
		*d = DisaggOn
	case "false":
		*d = DisaggOff
	case "auto", "":
		*d = DisaggAuto
	default:
		return &flopcast.FieldError{Field: "serving.disaggregated", Value: v, Allowed: "true, false, auto"}
	}
	return nil
}

// Parallel fixes part of the serving layout; every field is optional.
// tp is the width of one instance's pipeline stage (SGLang's --tp-size);
// attention_dp splits it into attention data-parallel replicas, each with
// its own requests and KV cache; ep spreads the routed experts over ep of
// the tp ranks (ep < tp leaves each expert tensor-parallel over tp/ep);
// dp is the number of instances.
type Parallel struct {
	TP          *int `yaml:"tp,omitempty" json:"tp,omitempty"`
	EP          *int `yaml:"ep,omitempty" json:"ep,omitempty"`
	PP          *int `yaml:"pp,omitempty" json:"pp,omitempty"`
	DP          *int `yaml:"dp,omitempty" json:"dp,omitempty"`
	AttentionDP *int `yaml:"attention_dp,omitempty" json:"attention_dp,omitempty"`
}

// Number formats and their bytes per element. FP4 is NVFP4: 4-bit values
// with one FP8 scale per 16 (NVIDIA Blackwell NVFP4; Transformer Engine
// nvfp4 recipe), so 0.5 + 1/16 bytes.
var formatBytes = map[string]float64{"bf16": 2, "fp8": 1, "fp4": 0.5 + 1.0/16}

// Bounds that keep the model meaningful.
const (
	maxTokens      = 1 << 24
	maxConcurrency = 1 << 20
)

// Resolved is a validated serving run.
type Resolved struct {
	HW      *spec.Resolved // model, chip, profile, chip count
	Serving Serving        // with defaults applied
	// TTFT, TPOT: targets in seconds, 0 for none.
	TTFT, TPOT      float64
	Parallel        Parallel
	PrefillParallel Parallel
	Economics       spec.Economics
	Warnings        []string
}

// Resolve validates s and looks its names up in the catalog.
func Resolve(s *Serve) (*Resolved, error) {
	if s == nil {
		return nil, &flopcast.FieldError{Field: "serve", Value: "(nil)", Reason: "is missing"}
	}
	hw, err := spec.ResolveHardware(s.Model, s.Cluster)
	if err != nil {
		return nil, err
	}
	if w := hw.Model.SlidingWindow; w > 0 {
		// Serving prices every layer's KV cache and attention over the
		// whole context; a windowed layer keeps and reads only its window.
		return nil, &flopcast.FieldError{Field: "model.sliding_window", Value: w,
			Reason:  "is priced in training (flopcast estimate) but not yet in serving, which would read every layer's KV cache over the whole context",
			Allowed: "0 (no sliding window) for flopcast infer"}
	}
	r := &Resolved{HW: hw, Serving: s.Serving, Parallel: s.Parallel, PrefillParallel: s.PrefillParallel, Warnings: hw.Warnings}
	v := &r.Serving
	if v.InputTokens <= 0 || v.InputTokens > maxTokens {
		return nil, &flopcast.FieldError{Field: "serving.input_tokens", Value: v.InputTokens, Allowed: fmt.Sprintf("a positive integer up to %d", maxTokens)}
	}
	if v.OutputTokens <= 0 || v.OutputTokens > maxTokens {
		return nil, &flopcast.FieldError{Field: "serving.output_tokens", Value: v.OutputTokens, Reason: "is not a positive number of tokens",
			Allowed: fmt.Sprintf("1 to %d (a request generates at least one token)", maxTokens)}
	}
	if c := v.Concurrency; c != nil && (*c <= 0 || *c > maxConcurrency) {
		return nil, &flopcast.FieldError{Field: "serving.concurrency", Value: *c, Allowed: fmt.Sprintf("a positive integer up to %d (requests in flight per instance)", maxConcurrency)}
	}
	for _, t := range []struct {
		f   string
		v   *float64
		dst *float64
	}{{"serving.ttft_ms", v.TTFTMs, &r.TTFT}, {"serving.tpot_ms", v.TPOTMs, &r.TPOT}} {
		if t.v == nil {
			continue
		}
		if !(*t.v > 0) || math.IsInf(*t.v, 0) {
			return nil, &flopcast.FieldError{Field: t.f, Value: *t.v, Allowed: "a positive number of milliseconds"}
		}
		*t.dst = *t.v / 1e3
	}
	if !(v.CacheHitRate >= 0 && v.CacheHitRate < 1) {
		return nil, &flopcast.FieldError{Field: "serving.cache_hit_rate", Value: v.CacheHitRate, Allowed: "0 <= cache_hit_rate < 1 (the share of input tokens found in the prefix cache)"}
	}
	chip := &hw.Chip
	for _, p := range []struct {
		f   string
		dst *string
	}{{"serving.precision", &v.Precision}, {"serving.kv_precision", &v.KVPrecision}} {
		if *p.dst == "" {
			*p.dst = "bf16"
		}
		switch *p.dst {
		case "bf16":
		case "fp8":
			if chip.FP8TFLOPS <= 0 {
				return nil, &flopcast.FieldError{Field: p.f, Value: "fp8", Reason: "is not supported by " + chip.Name, Allowed: "bf16"}
			}
		case "fp4":
			if chip.FP4TFLOPS <= 0 {
				allowed := "bf16"
				if chip.FP8TFLOPS > 0 {
					allowed += ", fp8"
				}
				return nil, &flopcast.FieldError{Field: p.f, Value: "fp4", Reason: "is not supported by " + chip.Name, Allowed: allowed}
			}
		default:
			return nil, &flopcast.FieldError{Field: p.f, Value: strconv.Quote(*p.dst), Allowed: "bf16, fp8, fp4"}
		}
	}
	if v.Disaggregated == "" {
		v.Disaggregated = DisaggAuto
	}
	if err := checkParallel("parallel", s.Parallel, hw); err != nil {
		return nil, err
	}
	if err := checkParallel("prefill_parallel", s.PrefillParallel, hw); err != nil {
		return nil, err
	}
	if s.Economics != nil {
		if err := spec.CheckEconomics(s.Economics); err != nil {
			return nil, err
		}
		r.Economics = *s.Economics
	}
	return r, nil
}

// Parse strictly decodes a serve.yaml document: unknown fields are errors.
func Parse(b []byte) (*Serve, error) {
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, &flopcast.FieldError{Field: "serve.yaml", Value: "(empty)", Reason: "is empty", Allowed: "a mapping with model, cluster, serving"}
	}
	var s Serve
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&s); err != nil && !errors.Is(err, io.EOF) {
		return nil, yamlError(err)
	}
	return &s, nil
}

// ParseFile reads and parses a serve.yaml file.
func ParseFile(path string) (*Serve, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("serve file: %w", err)
	}
	s, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// ParseJSON strictly decodes the serve.yaml structure given as JSON (the
// HTTP API).
func ParseJSON(b []byte) (*Serve, error) {
	if t := bytes.TrimSpace(b); len(t) > 0 && t[0] != '{' {
		return nil, &flopcast.FieldError{Field: "body", Value: "a JSON " + spec.JSONKind(t[0]),
			Reason: "is not a serving run", Allowed: "a JSON object with keys " + sections["infer.Serve"]}
	}
	var s Serve
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &flopcast.FieldError{Field: "body", Value: "(empty)", Reason: "is empty", Allowed: "a JSON object with model, cluster, serving"}
		}
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return nil, &flopcast.FieldError{Field: te.Field, Value: "a JSON " + te.Value, Reason: "has the wrong type", Allowed: spec.JSONTypeWords(te.Type)}
		}
		var fe *flopcast.FieldError
		if errors.As(err, &fe) {
			return nil, fe
		}
		if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			return nil, &flopcast.FieldError{Field: strings.Trim(f, `"`), Value: "(unknown)", Reason: "is not a known field of serve", Allowed: sections["infer.Serve"]}
		}
		return nil, fmt.Errorf("serve: %w", err)
	}
	return &s, nil
}

var (
	reUnknown = regexp.MustCompile(`field (\S+) not found in type ([\w.]+)`)
	reType    = regexp.MustCompile(`cannot unmarshal !!(\w+) (?:` + "`" + `([^` + "`" + `]*)` + "` " + `)?into (\S+)`)
)

// sections names, per Go type, the serve.yaml section and its keys. The
// model block is spec.ModelRef's: it decodes strictly and names its own
// unknown fields.
var sections = map[string]string{
	"infer.Serve":    "model, cluster, serving, parallel, prefill_parallel, economics",
	"infer.Serving":  "input_tokens, output_tokens, concurrency, ttft_ms, tpot_ms, precision, kv_precision, cache_hit_rate, disaggregated",
	"infer.Parallel": "tp, ep, pp, dp, attention_dp",
	"spec.Cluster":   "chip, chips, scale_up_domain, scale_up_gbps, scale_out_gbps, hbm_gib, profile",
	"spec.Economics": "price_per_chip_hour, capex_per_chip, depreciation_years, server_network_share, facility_usd_per_mw, pue, electricity_usd_per_mwh, grid_kg_co2_per_kwh, market_kg_co2_per_kwh, chip_power_w, host_power_w",
}

var prefixes = map[string]string{"infer.Serve": "", "infer.Serving": "serving.", "infer.Parallel": "parallel.",
	"spec.Cluster": "cluster.", "spec.Economics": "economics."}

// yamlError turns yaml.v3's first error into a FieldError naming the field.
func yamlError(err error) error {
	var fe *flopcast.FieldError
	if errors.As(err, &fe) {
		return fe
	}
	msg := err.Error()
	if m := reUnknown.FindStringSubmatch(msg); m != nil {
		return &flopcast.FieldError{Field: prefixes[m[2]] + m[1], Value: "(unknown)", Reason: "is not a known field", Allowed: sections[m[2]]}
	}
	if m := reType.FindStringSubmatch(msg); m != nil {
		return &flopcast.FieldError{Field: "serve.yaml", Value: m[2], Reason: "has the wrong type (" + m[1] + ")", Allowed: "a value of type " + m[3]}
	}
	return fmt.Errorf("serve.yaml: %s", strings.TrimPrefix(msg, "yaml: "))
}

// checkParallel checks a fixed layout block against the model and the
// cluster; section names it in errors.
func checkParallel(section string, pp Parallel, hw *spec.Resolved) error {
	m := &hw.Model
	n := hw.Chips
	check := func(f string, p *int, allowed string, ok func(int) bool) error {
		if p == nil {
			return nil
		}
		if *p <= 0 || *p > n || !ok(*p) {
			return &flopcast.FieldError{Field: section + "." + f, Value: *p, Allowed: allowed}
		}
		return nil
	}
	if err := check("tp", pp.TP, fmt.Sprintf("1..%d (cluster.chips)", n), func(int) bool { return true }); err != nil {
		return err
	}
	if err := check("pp", pp.PP, fmt.Sprintf("1..%d (model.layers), at most cluster.chips=%d", m.Layers, n), func(x int) bool { return x <= m.Layers }); err != nil {
		return err
	}
	if err := check("dp", pp.DP, fmt.Sprintf("1..%d (cluster.chips)", n), func(int) bool { return true }); err != nil {
		return err
	}
	experts := 1
	if m.MoE != nil {
		experts = m.MoE.Experts
	}
	if err := check("ep", pp.EP, fmt.Sprintf("1..%d (moe.experts; 1 for a dense model)", experts), func(x int) bool { return x <= experts }); err != nil {
		return err
	}
	if err := check("attention_dp", pp.AttentionDP, "a divisor of tp", func(int) bool { return true }); err != nil {
		return err
	}
	tp := 0
	if pp.TP != nil {
		tp = *pp.TP
		for _, k := range []struct {
			f string
			p *int
		}{{"ep", pp.EP}, {"attention_dp", pp.AttentionDP}} {
			if k.p != nil && tp%*k.p != 0 {
				return &flopcast.FieldError{Field: section + "." + k.f, Value: *k.p, Reason: fmt.Sprintf("does not divide %s.tp=%d", section, tp),
					Allowed: "a divisor of tp (ep and attention_dp split one instance's tp ranks)"}
			}
		}
		if a := pp.AttentionDP; a != nil && m.Heads%(tp / *a) != 0 {
			return &flopcast.FieldError{Field: section + ".attention_dp", Value: *a, Reason: fmt.Sprintf("leaves attention tensor parallelism tp/attention_dp=%d, which does not divide model.heads=%d", tp / *a, m.Heads),
				Allowed: "attention_dp with (tp/attention_dp) dividing heads"}
		}
	}
	if pp.TP != nil && pp.PP != nil && tp**pp.PP > n {
		return &flopcast.FieldError{Field: section + ".tp", Value: tp, Reason: fmt.Sprintf("× pp=%d needs %d chips, more than cluster.chips=%d", *pp.PP, tp**pp.PP, n),
			Allowed: fmt.Sprintf("tp·pp <= %d", n)}
	}
	return nil
}
