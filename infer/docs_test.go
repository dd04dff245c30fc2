package infer

import (
	"os"
	"strings"
	"testing"
)

// TestDocsExample keeps docs/serving.md's serve.yaml true: it parses,
// resolves and serves, and the examples do too.
func TestDocsExample(t *testing.T) {
	b, err := os.ReadFile("../docs/serving.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	i := strings.Index(doc, "```yaml\n")
	j := strings.Index(doc[i+8:], "```")
	if i < 0 || j < 0 {
		t.Fatal("docs/serving.md has no yaml block")
	}
	files := map[string]string{"docs/serving.md": doc[i+8 : i+8+j]}
	for _, f := range []string{"deepseek-v3-serving-h800.yaml", "deepseek-v3-serving-gb200.yaml", "deepseek-v3-serving-trainium2.yaml"} {
		b, err := os.ReadFile("../examples/" + f)
		if err != nil {
			t.Fatal(err)
		}
		files[f] = string(b)
	}
	for name, y := range files {
		s, err := Parse([]byte(y))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		r, err := Resolve(s)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if _, err := Infer(r, Options{Top: 1}); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}
