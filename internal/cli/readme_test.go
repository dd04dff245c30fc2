package cli

import (
	"os"
	"strings"
	"testing"
)

// The README's first command must work as written: it is the first thing a
// new user runs.
func TestReadmeCommands(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var ran int
	for _, line := range strings.Split(string(b), "\n") {
		rest, ok := strings.CutPrefix(strings.TrimSpace(line), "go run ./cmd/flopcast ")
		if !ok {
			continue
		}
		code, out, errs := flopcast(t, strings.Fields(rest)...)
		if code != 0 || out == "" {
			t.Errorf("README: flopcast %s: exit %d, stderr %q", rest, code, errs)
		}
		ran++
	}
	if ran == 0 {
		t.Fatal("the README names no go run ./cmd/flopcast command")
	}
	// The error example in the README is what flopcast prints.
	code, _, errs := flopcast(t, "estimate", "--model", "llama3-70b", "--chip", "h100-sxm", "--chips", "24", "--seq", "8192", "--global-batch", "24", "--tp", "3")
	if code != exitConfig || !strings.Contains(string(b), strings.TrimSpace(errs)) {
		t.Errorf("README's error example is out of date: flopcast now prints %q (exit %d)", errs, code)
	}
	// docs/conventions.md shows the same error.
	conv, err := os.ReadFile("../../docs/conventions.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(conv), strings.TrimSpace(errs)) {
		t.Errorf("docs/conventions.md's error example is out of date: flopcast now prints %q", errs)
	}
}
