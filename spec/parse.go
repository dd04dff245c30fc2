package spec

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"strings"

	"github.com/flopcast/flopcast"
	"github.com/flopcast/flopcast/model"
	"go.yaml.in/yaml/v3"
)

// UnmarshalYAML accepts a catalog name (a string) or an inline architecture
// (a mapping).
func (m *ModelRef) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		m.Name = n.Value
		return nil
	case yaml.MappingNode:
		var c model.Config
		// Strict decoding of the inline block: re-encode and decode with
		// KnownFields, since Node.Decode does not check unknown fields.
		b, err := yaml.Marshal(n)
		if err != nil {
			return err
		}
		dec := yaml.NewDecoder(bytes.NewReader(b))
		dec.KnownFields(true)
		if err := dec.Decode(&c); err != nil {
			return prefixYAMLError("model", err)
		}
		m.Inline = &c
		return nil
	}
	return &flopcast.FieldError{Field: "model", Value: n.Tag, Allowed: "a catalog model name or an inline mapping (layers, hidden, heads, ffn, vocab, ...)"}
}

// MarshalYAML writes the name or the inline block.
func (m ModelRef) MarshalYAML() (any, error) {
	if m.Inline != nil {
		return m.Inline, nil
	}
	return m.Name, nil
}

// UnmarshalJSON mirrors UnmarshalYAML for the HTTP API.
func (m *ModelRef) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		return json.Unmarshal(b, &m.Name)
	}
	var c model.Config
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return prefixJSONError("model", err)
	}
	m.Inline = &c
	return nil
}

// MarshalJSON writes the name or the inline block.
func (m ModelRef) MarshalJSON() ([]byte, error) {
	if m.Inline != nil {
		return json.Marshal(m.Inline)
	}
	return json.Marshal(m.Name)
}

var (
	reUnknownYAML = regexp.MustCompile(`line (\d+): field (\S+) not found in type ([\w.]+)`)
	reTypeYAML    = regexp.MustCompile(`line (\d+): cannot unmarshal !!(\w+) (?:` + "`" + `([^` + "`" + `]*)` + "` " + `)?into (\S+)`)
)

// yamlSection maps Go types to their place in run.yaml, for error messages.
var yamlSection = map[string]string{
	"spec.Run": "", "spec.Cluster": "cluster.", "spec.Training": "training.", "spec.Parallel": "parallel.",
	"spec.Economics": "economics.", "spec.Reliability": "reliability.", "model.Config": "model.",
	"model.MoE": "model.moe.", "model.MLA": "model.mla.", "spec.Ramp": "training.batch_ramp[].",
}

// yamlAllowed lists the keys of each run.yaml section for "not a known
// field" messages, read from the types' yaml tags so that a new field is
// never missing from them.
var yamlAllowed = func() map[string]string {
	m := map[string]string{}
	for _, v := range []any{Run{}, Cluster{}, Training{}, Parallel{}, Economics{}, Reliability{}, Ramp{}, model.Config{}, model.MoE{}, model.MLA{}} {
		t := reflect.TypeOf(v)
		var keys []string
		for i := 0; i < t.NumField(); i++ {
			if name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ","); name != "" && name != "-" {
				keys = append(keys, name)
			}
		}
		m[t.String()] = strings.Join(keys, ", ")
	}
	return m
}()

// prefixYAMLError turns yaml.v3's errors into FieldErrors where it can.
func prefixYAMLError(prefix string, err error) error {
	var fe *flopcast.FieldError
	if errors.As(err, &fe) {
		return fe
	}
	msg := err.Error()
	if m := reUnknownYAML.FindStringSubmatch(msg); m != nil {
		sec := yamlSection[m[3]]
		if prefix == "model" && m[3] == "model.Config" {
			sec = "model."
		}
		return &flopcast.FieldError{Field: sec + m[2], Value: "(line " + m[1] + ")", Reason: "is not a known field", Allowed: yamlAllowed[m[3]]}
	}
	if m := reTypeYAML.FindStringSubmatch(msg); m != nil {
		v := m[3]
		if v == "" {
			v = "a " + map[string]string{"seq": "list", "map": "mapping"}[m[2]]
		}
		return &flopcast.FieldError{Field: "line " + m[1], Value: v, Reason: "has the wrong type", Allowed: typeWords(strings.TrimPrefix(m[4], "*"))}
	}
	return fmt.Errorf("run.yaml: %s", strings.TrimPrefix(msg, "yaml: "))
}

func prefixJSONError(prefix string, err error) error {
	var fe *flopcast.FieldError
	if errors.As(err, &fe) {
		return fe
	}
	msg := err.Error()
	if f, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		return &flopcast.FieldError{Field: strings.Trim(f, `"`), Value: "(unknown)", Reason: "is not a known field in " + prefix}
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		field := te.Field
		if field == "" {
			field = prefix
		}
		// Say what is expected in the document's words, not Go's.
		return &flopcast.FieldError{Field: field, Value: "a JSON " + te.Value, Reason: "has the wrong type", Allowed: JSONTypeWords(te.Type)}
	}
	return fmt.Errorf("%s: %w", prefix, err)
}

// Parse strictly decodes a run.yaml document. It checks syntax and field
// names only; Resolve validates values.
func Parse(b []byte) (*Run, error) {
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, &flopcast.FieldError{Field: "run.yaml", Value: "(empty)", Reason: "is empty", Allowed: "a mapping with model, cluster, training"}
	}
	var probe yaml.Node
	if err := yaml.Unmarshal(b, &probe); err != nil {
		return nil, fmt.Errorf("run.yaml: %s", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if len(probe.Content) == 0 || probe.Content[0].Kind != yaml.MappingNode {
		return nil, &flopcast.FieldError{Field: "run.yaml", Value: "(not a mapping)", Reason: "must be a mapping", Allowed: "keys model, cluster, training, parallel, economics, reliability"}
	}
	if err := checkYAMLIntegers(probe.Content[0], reflect.TypeFor[Run](), ""); err != nil {
		return nil, err
	}
	var r Run
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&r); err != nil && !errors.Is(err, io.EOF) {
		err = prefixYAMLError("", err)
		var fe *flopcast.FieldError
		if errors.As(err, &fe) && strings.HasPrefix(fe.Field, "line ") {
			// Name the field rather than the line.
			var line int
			fmt.Sscanf(fe.Field, "line %d", &line)
			val := fmt.Sprint(fe.Value)
			if strings.HasPrefix(val, "a ") {
				val = "" // a list or mapping: match by line alone
			}
			if path := fieldAtLine(probe.Content[0], "", line, val); path != "" {
				fe.Field = path
			}
		}
		return nil, err
	}
	return &r, nil
}

// ParseFile reads and parses a run.yaml file.
func ParseFile(path string) (*Run, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("run file: %w", err)
	}
	r, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return r, nil
}

// ParseJSON strictly decodes the run.yaml structure given as JSON (the
// HTTP API).
func ParseJSON(b []byte) (*Run, error) {
	if t := bytes.TrimSpace(b); len(t) > 0 && t[0] != '{' {
		return nil, &flopcast.FieldError{Field: "body", Value: "a JSON " + JSONKind(t[0]), Reason: "is not a run", Allowed: "a JSON object with keys " + yamlAllowed["spec.Run"]}
	}
	// Integer fields given in exponent form (1e9) become plain integers;
	// fractions are refused by name. Malformed JSON is left to the strict
	// decoder below, which explains it.
	dec0 := json.NewDecoder(bytes.NewReader(b))
	dec0.UseNumber()
	var raw any
	if err := dec0.Decode(&raw); err == nil {
		v, err := wholeJSON(raw, reflect.TypeFor[Run](), "")
		if err != nil {
			return nil, err
		}
		if nb, err := json.Marshal(v); err == nil {
			b = nb
		}
	}
	var r Run
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &flopcast.FieldError{Field: "body", Value: "(empty)", Reason: "is empty", Allowed: "a JSON object with model, cluster, training"}
		}
		return nil, prefixJSONError("run", err)
	}
	return &r, nil
}

// JSONKind names the JSON value that starts with c: array, string,
// boolean, null or number.
func JSONKind(c byte) string {
	switch c {
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	}
	return "number"
}

// fieldAtLine finds the dotted path of the key whose value sits on line and
// reads value (a value yaml.v3 reported by line only).
func fieldAtLine(n *yaml.Node, prefix string, line int, value string) string {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			path := k.Value
			if prefix != "" {
				path = prefix + "." + k.Value
			}
			if v.Line == line && (v.Kind != yaml.ScalarNode || v.Value == value || value == "") {
				if v.Kind == yaml.ScalarNode || v.Kind == yaml.SequenceNode && v.Line != k.Line {
					return path
				}
				if p := fieldAtLine(v, path, line, value); p != "" {
					return p
				}
				return path
			}
			if p := fieldAtLine(v, path, line, value); p != "" {
				return p
			}
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			if p := fieldAtLine(c, fmt.Sprintf("%s[%d]", prefix, i), line, value); p != "" {
				return p
			}
		}
	}
	return ""
}

// typeWords says in words what a Go type accepts, never naming the Go
// type: a message is read by someone writing YAML or JSON.
func typeWords(t string) string {
	t = strings.TrimPrefix(t, "*")
	switch t {
	case "int", "int64", "int32", "uint", "uint64", "uint32":
		return "an integer"
	case "float64", "float32":
		return "a number"
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	}
	if elem, ok := strings.CutPrefix(t, "[]"); ok {
		w := typeWords(elem)
		w = strings.TrimPrefix(strings.TrimPrefix(w, "an "), "a ")
		if k, rest, ok := strings.Cut(w, " with "); ok {
			return "a list of " + k + "s with " + rest
		}
		return "a list of " + w + "s"
	}
	if keys, ok := yamlAllowed[t]; ok {
		return "a mapping with keys " + keys
	}
	return "a mapping"
}

// JSONTypeWords says in words what JSON a Go type accepts, for the HTTP
// API's error messages.
func JSONTypeWords(t reflect.Type) string {
	return strings.ReplaceAll(strings.ReplaceAll(typeWords(t.String()), "a mapping", "an object"), "mapping", "object")
}
