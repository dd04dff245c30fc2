package spec_test

import (
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/flopcast/flopcast/model"
	"github.com/flopcast/flopcast/spec"
)

// docs/run-yaml.md is the input contract users read: every field run.yaml
// accepts is described there, in the section of its block.
func TestRunYAMLDocumented(t *testing.T) {
	b, err := os.ReadFile("../docs/run-yaml.md")
	if err != nil {
		t.Fatal(err)
	}
	sections := map[string]string{}
	for _, part := range strings.Split(string(b), "\n## ")[1:] {
		title, body, _ := strings.Cut(part, "\n")
		sections[strings.TrimSpace(title)] = body
	}
	// Catalog metadata of a model entry is not input.
	skip := map[string]bool{"name": true, "source": true, "confidence": true, "notes": true}
	for _, blk := range []struct {
		section string
		types   []any
	}{
		{"model", []any{model.Config{}, model.MoE{}, model.MLA{}}},
		{"cluster", []any{spec.Cluster{}}},
		{"training", []any{spec.Training{}, spec.Ramp{}}},
		{"parallel", []any{spec.Parallel{}}},
		{"economics", []any{spec.Economics{}}},
		{"reliability", []any{spec.Reliability{}}},
	} {
		body, ok := sections[blk.section]
		if !ok {
			t.Errorf("docs/run-yaml.md has no section ## %s", blk.section)
			continue
		}
		for _, v := range blk.types {
			typ := reflect.TypeOf(v)
			for i := range typ.NumField() {
				name, _, _ := strings.Cut(typ.Field(i).Tag.Get("yaml"), ",")
				if name == "" || name == "-" || skip[name] {
					continue
				}
				if !strings.Contains(body, "`"+name+"`") {
					t.Errorf("%s.%s (%s.%s) is not described in section ## %s of docs/run-yaml.md", blk.section, name, typ, typ.Field(i).Name, blk.section)
				}
			}
		}
	}
	// The top-level blocks are the sections.
	typ := reflect.TypeOf(spec.Run{})
	for i := range typ.NumField() {
		name, _, _ := strings.Cut(typ.Field(i).Tag.Get("yaml"), ",")
		if _, ok := sections[name]; !ok {
			t.Errorf("run.yaml block %s has no section in docs/run-yaml.md", name)
		}
	}
}
