package cli

import (
	"encoding/json"
	"os"
	"sort"
	"strings"
	"testing"
)

// docs/output.md is the output contract users read: every key that
// estimate, search, validate and capex print at the levels scripts read
// (the top level and the parallel, memory, breakdown and run blocks) is
// described there.
func TestOutputDocumented(t *testing.T) {
	b, err := os.ReadFile("../../docs/output.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	for _, c := range []struct {
		name   string
		args   []string
		blocks []string // objects whose keys are listed too
	}{
		{"estimate", []string{"estimate", "-f", "../../examples/llama3-405b-h100.yaml", "--json"}, []string{"parallel", "memory", "breakdown", "run"}},
		{"search", []string{"search", "--model", "llama3-8b", "--chip", "h100-sxm", "--chips", "64", "--seq", "4096", "--global-batch", "128", "--top", "2", "--json"}, nil},
		{"validate", []string{"validate", "--json"}, nil},
		{"capex", []string{"capex", "--budget", "1e9", "--chip", "h100-sxm", "--model", "llama3-8b", "--json"}, nil},
	} {
		code, out, errs := flopcast(t, c.args...)
		if code != 0 {
			t.Errorf("%s: exit %d: %s", c.name, code, errs)
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(out), &m); err != nil {
			t.Errorf("%s --json: %v", c.name, err)
			continue
		}
		keys := keysOf(m, "")
		for _, blk := range c.blocks {
			sub, ok := m[blk].(map[string]any)
			if !ok {
				t.Errorf("%s --json has no %s object", c.name, blk)
				continue
			}
			keys = append(keys, keysOf(sub, blk+".")...)
		}
		sort.Strings(keys)
		for _, k := range keys {
			leaf := k[strings.LastIndex(k, ".")+1:]
			if !strings.Contains(doc, "`"+leaf+"`") && !strings.Contains(doc, `"`+leaf+`"`) {
				t.Errorf("%s --json key %s is not described in docs/output.md", c.name, k)
			}
		}
	}
}

func keysOf(m map[string]any, prefix string) []string {
	var out []string
	for k := range m {
		out = append(out, prefix+k)
	}
	return out
}
