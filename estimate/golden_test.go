package estimate

import (
	"bytes"
	"encoding/json"
	"flag"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/flopcast/flopcast/spec"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// testdataRun reads, resolves and prepares the run of one testdata file.
func testdataRun(t *testing.T, path string) (*spec.Resolved, *Estimator) {
	t.Helper()
	run, err := spec.ParseFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return prepare(t, run)
}

// goldenOutput is what a golden file holds for one run: the full result of
// its layout, the warnings in words and the pipeline schedule.
type goldenOutput struct {
	Result   Result   `json:"result"`
	Warnings []string `json:"warnings"`
	Schedule Schedule `json:"schedule"`
}

// TestGolden evaluates each testdata/*.yaml run at its own layout and
// compares the result with testdata/NAME.golden, so that any change to the
// model shows here as a diff of numbers. go test -update rewrites them.
func TestGolden(t *testing.T) {
	runs, err := filepath.Glob("testdata/*.yaml")
	if err != nil || len(runs) == 0 {
		t.Fatalf("no runs in testdata: %v", err)
	}
	for _, path := range runs {
		name := strings.TrimSuffix(filepath.Base(path), ".yaml")
		t.Run(name, func(t *testing.T) {
			r, e := testdataRun(t, path)
			res := e.Estimate(r.Layout)
			got := goldenJSON(t, goldenOutput{res, e.Warnings(&res), e.Schedule(r.Layout)})
			got = append(got, '\n')
			file := filepath.Join("testdata", name+".golden")
			if *update {
				if err := os.WriteFile(file, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(file)
			if err != nil {
				t.Fatalf("%v (go test -update creates it)", err)
			}
			if !bytes.Equal(got, want) {
				os.WriteFile(file+".got", got, 0o644)
				t.Errorf("%s differs from the golden file; diff %s %s.got, and go test -update if the change is right", name, file, file)
			}
		})
	}
}

// goldenJSON renders v as indented JSON with numbers rounded to 9
// significant digits: a model change moves them, a reordered sum does not.
func goldenJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var tree any
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(&tree); err != nil {
		t.Fatal(err)
	}
	out, err := json.MarshalIndent(round9(tree), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func round9(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = round9(e)
		}
	case []any:
		for i, e := range x {
			x[i] = round9(e)
		}
	case json.Number:
		f, err := x.Float64()
		if err != nil || f == 0 || math.IsInf(f, 0) {
			return x
		}
		return json.Number(strconv.FormatFloat(f, 'g', 9, 64))
	}
	return v
}
