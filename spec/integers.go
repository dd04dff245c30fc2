package spec

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"

	"github.com/flopcast/flopcast"
	"github.com/flopcast/flopcast/model"
	"go.yaml.in/yaml/v3"
)

// Integer fields (chips, seq_len, tp, ...) accept a number written in
// exponent form when it is an exact integer (chips: 1e9, global_batch:
// 1.5e3) and refuse a fraction (chips: 8.5) by name, where YAML would
// truncate it and JSON would call it the wrong type.

var (
	modelRefType = reflect.TypeFor[ModelRef]()
	configType   = reflect.TypeFor[model.Config]()
)

// maxWhole bounds the integers written in exponent form: every product
// of sizes is checked against much smaller limits later.
const maxWhole = 1 << 62

// ParseWhole reads an integer that may be written in exponent form (1e9,
// 1.5e3) when it is exact; a fraction is a FieldError for field.
func ParseWhole(field, s string) (int, error) { return wholeNumber(field, strings.TrimSpace(s)) }

// wholeNumber parses a number and returns it as an int when it is an exact
// integer below maxWhole; otherwise it returns the error for field path.
func wholeNumber(path, s string) (int, error) {
	if v, err := strconv.ParseInt(strings.ReplaceAll(s, "_", ""), 0, 64); err == nil && v == int64(int(v)) {
		return int(v), nil
	}
	f, err := strconv.ParseFloat(s, 64)
	switch {
	case err == nil && f == math.Trunc(f) && math.Abs(f) < maxWhole:
		return int(f), nil
	case err == nil && f == math.Trunc(f):
		return 0, &flopcast.FieldError{Field: path, Value: s, Reason: "is too large", Allowed: "an integer below 2^62"}
	}
	return 0, &flopcast.FieldError{Field: path, Value: s, Reason: "is not a whole number",
		Allowed: "an integer (exponent form is fine when exact: 1e9, 1.5e3)"}
}

// fieldsOf maps the yaml (or json) names of a struct's fields to their
// types.
func fieldsOf(t reflect.Type, tag string) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get(tag), ",")
		if name != "" && name != "-" {
			out[name] = f.Type
		}
	}
	return out
}

// deref strips pointers.
func deref(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

func isInt(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Int, reflect.Int64, reflect.Int32:
		return true
	}
	return false
}

// checkYAMLIntegers walks a YAML node against the Go type it decodes into
// and refuses fractional numbers for integer fields. yaml.v3 itself
// accepts an exact float (1e9) for an int.
func checkYAMLIntegers(n *yaml.Node, t reflect.Type, path string) error {
	t = deref(t)
	if t == modelRefType {
		if n.Kind != yaml.MappingNode {
			return nil
		}
		t = configType
	}
	join := func(k string) string {
		if path == "" {
			return k
		}
		return path + "." + k
	}
	switch {
	case n.Kind == yaml.ScalarNode && isInt(t):
		if n.Tag == "!!float" {
			if _, err := wholeNumber(path, n.Value); err != nil {
				return err
			}
		}
	case n.Kind == yaml.MappingNode && t.Kind() == reflect.Struct:
		fields := fieldsOf(t, "yaml")
		for i := 0; i+1 < len(n.Content); i += 2 {
			if ft, ok := fields[n.Content[i].Value]; ok {
				if err := checkYAMLIntegers(n.Content[i+1], ft, join(n.Content[i].Value)); err != nil {
					return err
				}
			}
		}
	case n.Kind == yaml.SequenceNode && t.Kind() == reflect.Slice:
		for i, c := range n.Content {
			if err := checkYAMLIntegers(c, t.Elem(), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	}
	return nil
}

// wholeJSON rewrites the numbers of a decoded JSON value (decoded with
// UseNumber) that go into integer fields: exact ones in exponent form
// become plain integers, fractional ones are refused.
func wholeJSON(v any, t reflect.Type, path string) (any, error) {
	t = deref(t)
	if t == modelRefType {
		if _, ok := v.(map[string]any); !ok {
			return v, nil
		}
		t = configType
	}
	join := func(k string) string {
		if path == "" {
			return k
		}
		return path + "." + k
	}
	switch x := v.(type) {
	case json.Number:
		if isInt(t) {
			n, err := wholeNumber(path, x.String())
			if err != nil {
				return nil, err
			}
			return json.Number(strconv.Itoa(n)), nil
		}
	case map[string]any:
		if t.Kind() != reflect.Struct {
			return v, nil
		}
		fields := fieldsOf(t, "json")
		for k, e := range x {
			if ft, ok := fields[k]; ok {
				w, err := wholeJSON(e, ft, join(k))
				if err != nil {
					return nil, err
				}
				x[k] = w
			}
		}
	case []any:
		if t.Kind() != reflect.Slice {
			return v, nil
		}
		for i, e := range x {
			w, err := wholeJSON(e, t.Elem(), fmt.Sprintf("%s[%d]", path, i))
			if err != nil {
				return nil, err
			}
			x[i] = w
		}
	}
	return v, nil
}
