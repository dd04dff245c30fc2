package cli

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// -update rewrites the golden files in testdata.
var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// runCLI runs flopcast in-process with stdin, as main would.
func runCLI(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errw bytes.Buffer
	code = Main(context.Background(), args, &IO{In: strings.NewReader(stdin), Out: &out, Err: &errw})
	return code, out.String(), errw.String()
}

// flopcast runs flopcast in-process with no input.
func flopcast(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	return runCLI(t, "", args...)
}

var (
	maskElapsedText = regexp.MustCompile(`elapsed [0-9.]+ s`)
	maskElapsedJSON = regexp.MustCompile(`"elapsed_s": [0-9.e+-]+`)
)

// maskElapsed hides what changes from run to run: the elapsed time.
func maskElapsed(s string) string {
	s = maskElapsedText.ReplaceAllString(s, "elapsed X s")
	return maskElapsedJSON.ReplaceAllString(s, `"elapsed_s": 0`)
}

// golden compares got with testdata/name.golden; on a mismatch it writes
// testdata/name.got beside it for a diff. With -update it rewrites the
// golden file.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	got = maskElapsed(got)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	gotPath := filepath.Join("testdata", name+".got")
	if string(want) != got {
		os.WriteFile(gotPath, []byte(got), 0o644)
		t.Errorf("output differs from %s; see %s (diff them; go test -update accepts it)", path, gotPath)
		return
	}
	os.Remove(gotPath)
}
