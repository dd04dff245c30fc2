package calibrate

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/flopcast/flopcast"
	"math"
	"sort"
	"strings"
	"time"
)

// Measurement is one GPU measurement as tools/gpu/measure.py writes it. The
// env, gemm and attention sections are what Fit uses; elementwise and steps
// are kept for validation against whole training steps.
type Measurement struct {
	What        string             `json:"what,omitempty"`
	Measured    string             `json:"measured"` // date, YYYY-MM-DD
	Tool        string             `json:"tool,omitempty"`
	Env         Env                `json:"env"`
	GEMM        []GEMMPoint        `json:"gemm"`
	Attention   []AttentionPoint   `json:"attention"`
	Elementwise []ElementwisePoint `json:"elementwise,omitempty"`
	Steps       []StepPoint        `json:"steps,omitempty"`
	Sustained   []SustainedPoint   `json:"sustained,omitempty"`
	Notes       []string           `json:"notes,omitempty"`

	// Source names where the measurement came from (a file's base name); the
	// caller sets it, and Fit writes it into the profile's origin.
	Source string `json:"-"`
	// Warnings are non-fatal remarks from parsing.
	Warnings []string `json:"-"`
}

// Env describes the measured machine.
type Env struct {
	GPU      string  `json:"gpu"` // device name, e.g. "NVIDIA H100 80GB HBM3"
	SMs      int     `json:"sms,omitempty"`
	MemGiB   float64 `json:"mem_gib,omitempty"`
	Driver   string  `json:"driver,omitempty"`
	Torch    string  `json:"torch,omitempty"`
	CUDA     string  `json:"cuda,omitempty"`
	CopyTBps float64 `json:"copy_tbps"` // device-to-device copy, bytes read plus written
}

// GEMMPoint is one timed matrix product: (m×k)·(k×n).
type GEMMPoint struct {
	M      int     `json:"m"`
	N      int     `json:"n"`
	K      int     `json:"k"`
	Tag    string  `json:"tag,omitempty"` // qkv, proj, fc1, fc2, square...
	DType  string  `json:"dtype"`         // bf16 | fp8
	S      float64 `json:"s"`             // seconds per product
	TFLOPS float64 `json:"tflops,omitempty"`
}

// FLOPs is 2mnk.
func (g GEMMPoint) FLOPs() float64 { return 2 * float64(g.M) * float64(g.N) * float64(g.K) }

// AttentionPoint is one timed fused causal attention (SDPA).
type AttentionPoint struct {
	B            int     `json:"b"`
	Heads        int     `json:"heads"`
	Seq          int     `json:"seq"`
	HeadDim      int     `json:"head_dim"`
	FwdS         float64 `json:"fwd_s"`
	FwdBwdS      float64 `json:"fwdbwd_s"`
	FwdTFLOPS    float64 `json:"fwd_tflops,omitempty"`
	FwdBwdTFLOPS float64 `json:"fwdbwd_tflops,omitempty"`
}

// FwdFLOPs is the causal forward count 4·b·heads·s²·d / 2.
func (a AttentionPoint) FwdFLOPs() float64 {
	s := float64(a.Seq)
	return 4 * float64(a.B) * float64(a.Heads) * s * s * float64(a.HeadDim) / 2
}

// ElementwisePoint is one timed memory-bound operator.
type ElementwisePoint struct {
	Op    string  `json:"op"` // layer_norm, rms_norm, gelu, silu, add...
	DType string  `json:"dtype,omitempty"`
	Shape []int   `json:"shape,omitempty"`
	Bytes float64 `json:"bytes"` // bytes read plus written
	S     float64 `json:"s"`
	GBps  float64 `json:"gbps,omitempty"`
}

// SustainedPoint is one matrix product run back to back for a minute or
// more, long enough for the chip to settle at its power limit: the rate
// over the first five seconds and over the last fifth of the run, and what
// nvidia-smi read over that last fifth (0 where it read nothing).
type SustainedPoint struct {
	M       int     `json:"m"`
	N       int     `json:"n"`
	K       int     `json:"k"`
	DType   string  `json:"dtype"`   // bf16 | fp8
	Seconds float64 `json:"seconds"` // how long it ran
	// First5sTFLOPS and LastTFLOPS are the rates over the first five
	// seconds and over the last fifth of the run.
	First5sTFLOPS float64 `json:"first5s_tflops"`
	LastTFLOPS    float64 `json:"last20pct_tflops"`
	LastSMMHz     float64 `json:"last20pct_sm_mhz,omitempty"`
	LastPowerW    float64 `json:"last20pct_power_w,omitempty"`
	LastTempC     float64 `json:"last20pct_temp_c,omitempty"`
}

// SustainedOverBurst is the rate a product held over the last fifth of a
// sustained run over the rate of the same product timed in short bursts
// by the gemm section: how much of its burst speed the chip keeps once it
// sits at its power limit. ok is false when either was not measured.
func (m *Measurement) SustainedOverBurst(dtype string) (ratio float64, ok bool) {
	for _, s := range m.Sustained {
		if s.DType != dtype || s.LastTFLOPS <= 0 {
			continue
		}
		for _, g := range m.GEMM {
			if g.DType == dtype && g.M == s.M && g.N == s.N && g.K == s.K && g.S > 0 {
				return s.LastTFLOPS / (g.FLOPs() / g.S / 1e12), true
			}
		}
	}
	return 0, false
}

// StepPoint is one timed training step of a small model.
type StepPoint struct {
	Name         string    `json:"name"`
	Model        StepModel `json:"model"`
	SeqLen       int       `json:"seq_len"`
	MicroBatch   int       `json:"micro_batch"`
	Recipe       string    `json:"recipe,omitempty"`    // pytorch-amp
	Precision    string    `json:"precision,omitempty"` // bf16
	Recompute    string    `json:"recompute"`           // none | full
	StepS        float64   `json:"step_s"`
	PeakAllocGiB float64   `json:"peak_alloc_gib"`
}

// StepModel is the architecture of a StepPoint, in run.yaml's terms.
type StepModel struct {
	Layers         int    `json:"layers"`
	Hidden         int    `json:"hidden"`
	Heads          int    `json:"heads"`
	KVHeads        int    `json:"kv_heads"`
	HeadDim        int    `json:"head_dim,omitempty"`
	FFN            int    `json:"ffn"`
	FFNKind        string `json:"ffn_kind"` // gelu | swiglu
	Vocab          int    `json:"vocab"`
	TiedEmbeddings bool   `json:"tied_embeddings,omitempty"`
	Position       string `json:"position,omitempty"` // rope (default) | learned | none
	Norm           string `json:"norm,omitempty"`     // rmsnorm (default) | layernorm
	Bias           bool   `json:"bias,omitempty"`     // linear layers with biases
}

const notMeasurementHint = "want a JSON object with env, gemm and attention sections, as tools/gpu/measure.py writes"

// ParseMeasurement decodes and checks a measurement file. Every missing or
// invalid field is reported, each as a *flopcast.FieldError naming its JSON path
// (gemm[3].s). Unknown keys are ignored so that newer measurement scripts
// stay readable.
func ParseMeasurement(b []byte) (*Measurement, error) {
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, fmt.Errorf("not a flopcast GPU measurement: empty input (%s)", notMeasurementHint)
	}
	src := quoteNonFinite(b)
	dec := json.NewDecoder(bytes.NewReader(src))
	dec.UseNumber()
	var root any
	if err := dec.Decode(&root); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			line, col := position(src, se.Offset)
			return nil, fmt.Errorf("not a flopcast GPU measurement: invalid JSON at line %d, column %d: %v (%s)", line, col, err, notMeasurementHint)
		}
		return nil, fmt.Errorf("not a flopcast GPU measurement: %v (%s)", err, notMeasurementHint)
	}
	if dec.More() {
		return nil, fmt.Errorf("not a flopcast GPU measurement: more than one JSON value (%s)", notMeasurementHint)
	}
	top, ok := root.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("not a flopcast GPU measurement: the top level is %s, not an object (%s)", kind(root), notMeasurementHint)
	}
	_, hasEnv := top["env"]
	_, hasGEMM := top["gemm"]
	_, hasAttn := top["attention"]
	if !hasEnv && !hasGEMM && !hasAttn {
		return nil, fmt.Errorf("not a flopcast GPU measurement: no env, gemm or attention section (%s)", notMeasurementHint)
	}

	p := &parser{}
	n := node{p: p, m: top}
	m := &Measurement{}
	known := map[string]bool{"what": true, "measured": true, "tool": true, "env": true, "gemm": true,
		"attention": true, "elementwise": true, "steps": true, "sustained": true, "notes": true}
	var unknown []string
	for k := range top {
		if !known[k] {
			unknown = append(unknown, k)
		}
	}
	sort.Strings(unknown)
	for _, k := range unknown {
		p.warns = append(p.warns, fmt.Sprintf("%s: unknown section, ignored", k))
	}

	m.What = n.str("what", false)
	m.Tool = n.str("tool", false)
	m.Measured = n.str("measured", true)
	if m.Measured != "" {
		if len(m.Measured) < 10 || !isDate(m.Measured[:10]) {
			p.fail(&flopcast.FieldError{Field: "measured", Value: fmt.Sprintf("%q", m.Measured), Reason: "is not a date", Allowed: "YYYY-MM-DD"})
		}
	}
	if notes, ok := n.list("notes", false); ok {
		for i, v := range notes {
			s, ok := v.(string)
			if !ok {
				p.fail(&flopcast.FieldError{Field: fmt.Sprintf("notes[%d]", i), Value: kind(v), Allowed: "a string"})
				continue
			}
			m.Notes = append(m.Notes, s)
		}
	}

	if env, ok := n.obj("env", true); ok {
		m.Env = parseEnv(env)
	}
	if items, ok := n.list("gemm", true); ok {
		if len(items) == 0 {
			p.fail(&flopcast.FieldError{Field: "gemm", Value: "[]", Reason: "is empty", Allowed: "at least one timed bf16 GEMM"})
		}
		for i, v := range items {
			if o, ok := n.item("gemm", i, v); ok {
				m.GEMM = append(m.GEMM, parseGEMM(o))
			}
		}
	}
	if items, ok := n.list("attention", true); ok {
		if len(items) == 0 {
			p.fail(&flopcast.FieldError{Field: "attention", Value: "[]", Reason: "is empty", Allowed: "timed causal attention at two or more sequence lengths"})
		}
		for i, v := range items {
			if o, ok := n.item("attention", i, v); ok {
				m.Attention = append(m.Attention, parseAttention(o))
			}
		}
	}
	if items, ok := n.list("elementwise", false); ok {
		for i, v := range items {
			if o, ok := n.item("elementwise", i, v); ok {
				m.Elementwise = append(m.Elementwise, parseElementwise(o))
			}
		}
	}
	if items, ok := n.list("steps", false); ok {
		for i, v := range items {
			if o, ok := n.item("steps", i, v); ok {
				m.Steps = append(m.Steps, parseStep(o))
			}
		}
	}
	if items, ok := n.list("sustained", false); ok {
		for i, v := range items {
			if o, ok := n.item("sustained", i, v); ok {
				m.Sustained = append(m.Sustained, parseSustained(o))
			}
		}
	}
	if len(p.errs) > 0 {
		return nil, errors.Join(p.errs...)
	}
	m.Warnings = p.warns
	return m, nil
}

func parseEnv(n node) Env {
	e := Env{
		GPU:    n.str("gpu", true),
		SMs:    n.posInt("sms", false),
		MemGiB: n.posFloat("mem_gib", false),
		Driver: n.str("driver", false),
		Torch:  n.str("torch", false),
		CUDA:   n.str("cuda", false),
	}
	if _, ok := n.m["gpu"]; ok && strings.TrimSpace(e.GPU) == "" {
		n.p.fail(&flopcast.FieldError{Field: n.path + ".gpu", Value: `""`, Reason: "is empty", Allowed: "the device name, e.g. NVIDIA H100 80GB HBM3"})
	}
	e.CopyTBps = n.posFloat("copy_tbps", true)
	return e
}

func parseGEMM(n node) GEMMPoint {
	g := GEMMPoint{
		M:      n.posInt("m", true),
		N:      n.posInt("n", true),
		K:      n.posInt("k", true),
		Tag:    n.str("tag", false),
		DType:  n.oneOf("dtype", true, "bf16", "fp8"),
		S:      n.posFloat("s", true),
		TFLOPS: n.posFloat("tflops", false),
	}
	if g.TFLOPS > 0 && g.S > 0 && g.M > 0 && g.N > 0 && g.K > 0 {
		got := g.FLOPs() / g.S / 1e12
		if math.Abs(got-g.TFLOPS) > 0.01*g.TFLOPS {
			n.p.warns = append(n.p.warns, fmt.Sprintf("%s.tflops: %.4g disagrees with 2mnk/s = %.4g; the fit uses s", n.path, g.TFLOPS, got))
		}
	}
	return g
}

func parseAttention(n node) AttentionPoint {
	a := AttentionPoint{
		B:            n.posInt("b", true),
		Heads:        n.posInt("heads", true),
		Seq:          n.posInt("seq", true),
		HeadDim:      n.posInt("head_dim", true),
		FwdS:         n.posFloat("fwd_s", true),
		FwdBwdS:      n.posFloat("fwdbwd_s", true),
		FwdTFLOPS:    n.posFloat("fwd_tflops", false),
		FwdBwdTFLOPS: n.posFloat("fwdbwd_tflops", false),
	}
	if a.FwdS > 0 && a.FwdBwdS > 0 && a.FwdBwdS <= a.FwdS {
		n.p.fail(&flopcast.FieldError{Field: n.path + ".fwdbwd_s", Value: a.FwdBwdS,
			Reason: fmt.Sprintf("is not more than fwd_s (%v)", a.FwdS), Allowed: "forward plus backward time, longer than the forward alone"})
	}
	return a
}

func parseElementwise(n node) ElementwisePoint {
	e := ElementwisePoint{
		Op:    n.str("op", true),
		DType: n.str("dtype", false),
		Bytes: n.posFloat("bytes", true),
		S:     n.posFloat("s", true),
		GBps:  n.posFloat("gbps", false),
	}
	if shape, ok := n.list("shape", false); ok {
		for i, v := range shape {
			e.Shape = append(e.Shape, n.p.posIntValue(fmt.Sprintf("%s.shape[%d]", n.path, i), v))
		}
	}
	return e
}

func parseSustained(n node) SustainedPoint {
	return SustainedPoint{
		M:             n.posInt("m", true),
		N:             n.posInt("n", true),
		K:             n.posInt("k", true),
		DType:         n.oneOf("dtype", true, "bf16", "fp8"),
		Seconds:       n.posFloat("seconds", true),
		First5sTFLOPS: n.posFloat("first5s_tflops", true),
		LastTFLOPS:    n.posFloat("last20pct_tflops", true),
		LastSMMHz:     n.posFloat("last20pct_sm_mhz", false),
		LastPowerW:    n.posFloat("last20pct_power_w", false),
		LastTempC:     n.posFloat("last20pct_temp_c", false),
	}
}

func parseStep(n node) StepPoint {
	s := StepPoint{
		Name:         n.str("name", true),
		SeqLen:       n.posInt("seq_len", true),
		MicroBatch:   n.posInt("micro_batch", true),
		Recipe:       n.str("recipe", false),
		Precision:    n.str("precision", false),
		Recompute:    n.oneOf("recompute", true, "none", "selective", "full"),
		StepS:        n.posFloat("step_s", true),
		PeakAllocGiB: n.posFloat("peak_alloc_gib", true),
	}
	if mo, ok := n.obj("model", true); ok {
		s.Model = StepModel{
			Layers:         mo.posInt("layers", true),
			Hidden:         mo.posInt("hidden", true),
			Heads:          mo.posInt("heads", true),
			KVHeads:        mo.posInt("kv_heads", false),
			HeadDim:        mo.posInt("head_dim", false),
			FFN:            mo.posInt("ffn", true),
			FFNKind:        mo.oneOf("ffn_kind", true, "gelu", "swiglu"),
			Vocab:          mo.posInt("vocab", true),
			TiedEmbeddings: mo.boolean("tied_embeddings"),
			Position:       mo.oneOf("position", false, "rope", "learned", "none"),
			Norm:           mo.oneOf("norm", false, "rmsnorm", "layernorm"),
			Bias:           mo.boolean("bias"),
		}
		if s.Model.KVHeads == 0 {
			s.Model.KVHeads = s.Model.Heads
		}
	}
	return s
}

// parser collects every field error and warning of one file.
type parser struct {
	errs  []error
	warns []string
}

func (p *parser) fail(e *flopcast.FieldError) { p.errs = append(p.errs, e) }

// node is one JSON object and its path from the root.
type node struct {
	p    *parser
	path string
	m    map[string]any
}

func (n node) at(key string) string {
	if n.path == "" {
		return key
	}
	return n.path + "." + key
}

func (n node) get(key string, required bool) (any, bool) {
	v, ok := n.m[key]
	if !ok {
		if required {
			n.p.fail(&flopcast.FieldError{Field: n.at(key), Value: flopcast.Missing, Reason: "is required"})
		}
		return nil, false
	}
	return v, true
}

func (n node) str(key string, required bool) string {
	v, ok := n.get(key, required)
	if !ok {
		return ""
	}
	s, ok := v.(string)
	if !ok {
		n.p.fail(&flopcast.FieldError{Field: n.at(key), Value: kind(v), Allowed: "a string"})
	}
	return s
}

func (n node) oneOf(key string, required bool, allowed ...string) string {
	s := n.str(key, required)
	if _, present := n.m[key]; !present {
		return s
	}
	for _, a := range allowed {
		if s == a {
			return s
		}
	}
	if _, isStr := n.m[key].(string); isStr {
		n.p.fail(&flopcast.FieldError{Field: n.at(key), Value: fmt.Sprintf("%q", s), Allowed: strings.Join(allowed, ", ")})
	}
	return ""
}

func (n node) boolean(key string) bool {
	v, ok := n.get(key, false)
	if !ok {
		return false
	}
	b, ok := v.(bool)
	if !ok {
		n.p.fail(&flopcast.FieldError{Field: n.at(key), Value: kind(v), Allowed: "true or false"})
	}
	return b
}

// number returns a finite JSON number, or reports what is there instead.
func (p *parser) number(field string, v any, allowed string) (float64, bool) {
	switch x := v.(type) {
	case json.Number:
		f, err := x.Float64()
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			p.fail(&flopcast.FieldError{Field: field, Value: x.String(), Reason: "is out of range", Allowed: allowed})
			return 0, false
		}
		return f, true
	case string:
		if nonFinite[x] {
			p.fail(&flopcast.FieldError{Field: field, Value: x, Reason: "is not a finite number", Allowed: allowed})
			return 0, false
		}
	}
	p.fail(&flopcast.FieldError{Field: field, Value: kind(v), Allowed: allowed})
	return 0, false
}

func (n node) posFloat(key string, required bool) float64 {
	v, ok := n.get(key, required)
	if !ok {
		return 0
	}
	const allowed = "a positive, finite number"
	f, ok := n.p.number(n.at(key), v, allowed)
	if ok && f <= 0 {
		n.p.fail(&flopcast.FieldError{Field: n.at(key), Value: f, Allowed: allowed})
		return 0
	}
	return f
}

func (n node) posInt(key string, required bool) int {
	v, ok := n.get(key, required)
	if !ok {
		return 0
	}
	return n.p.posIntValue(n.at(key), v)
}

func (p *parser) posIntValue(field string, v any) int {
	const allowed = "a positive integer"
	f, ok := p.number(field, v, allowed)
	if !ok {
		return 0
	}
	if f < 1 || f != math.Trunc(f) || f > 1<<40 {
		p.fail(&flopcast.FieldError{Field: field, Value: f, Allowed: allowed})
		return 0
	}
	return int(f)
}

func (n node) obj(key string, required bool) (node, bool) {
	v, ok := n.get(key, required)
	if !ok {
		return node{}, false
	}
	o, ok := v.(map[string]any)
	if !ok {
		n.p.fail(&flopcast.FieldError{Field: n.at(key), Value: kind(v), Allowed: "an object"})
		return node{}, false
	}
	return node{p: n.p, path: n.at(key), m: o}, true
}

func (n node) list(key string, required bool) ([]any, bool) {
	v, ok := n.get(key, required)
	if !ok {
		return nil, false
	}
	l, ok := v.([]any)
	if !ok {
		n.p.fail(&flopcast.FieldError{Field: n.at(key), Value: kind(v), Allowed: "a list"})
		return nil, false
	}
	return l, true
}

func (n node) item(key string, i int, v any) (node, bool) {
	path := fmt.Sprintf("%s[%d]", n.at(key), i)
	o, ok := v.(map[string]any)
	if !ok {
		n.p.fail(&flopcast.FieldError{Field: path, Value: kind(v), Allowed: "an object"})
		return node{}, false
	}
	return node{p: n.p, path: path, m: o}, true
}

// kind describes a decoded JSON value for an error message.
func kind(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		return fmt.Sprintf("%v (a boolean)", x)
	case json.Number:
		return x.String()
	case string:
		if nonFinite[x] {
			return x
		}
		return fmt.Sprintf("%q (a string)", x)
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

var nonFinite = map[string]bool{"NaN": true, "Infinity": true, "-Infinity": true}

// quoteNonFinite turns the bare NaN, Infinity and -Infinity that Python's
// json module writes into strings, so that they reach the field checks and
// are reported with their field's name instead of as a syntax error.
func quoteNonFinite(b []byte) []byte {
	var out []byte
	inStr, esc := false, false
	last := 0
	for i := 0; i < len(b); i++ {
		c := b[i]
		if inStr {
			switch {
			case esc:
				esc = false
			case c == '\\':
				esc = true
			case c == '"':
				inStr = false
			}
			continue
		}
		if c == '"' {
			inStr = true
			continue
		}
		for _, tok := range []string{"NaN", "Infinity", "-Infinity"} {
			if bytes.HasPrefix(b[i:], []byte(tok)) {
				out = append(out, b[last:i]...)
				out = append(out, '"')
				out = append(out, tok...)
				out = append(out, '"')
				i += len(tok) - 1
				last = i + 1
				break
			}
		}
	}
	if out == nil {
		return b
	}
	return append(out, b[last:]...)
}

func position(b []byte, off int64) (line, col int) {
	if off > int64(len(b)) {
		off = int64(len(b))
	}
	line, col = 1, 1
	for _, c := range b[:off] {
		if c == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	return line, col
}

func isDate(s string) bool {
	_, err := time.Parse(time.DateOnly, s)
	return err == nil
}
