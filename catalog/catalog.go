// Package catalog holds flopcast's built-in data as embedded YAML: chips,
// models, published runs, economic defaults, measured chip profiles and
// the GPU measurements behind them.
// Every entry carries its source. The package only stores and strictly
// decodes the files; the packages that own the types interpret them.
package catalog

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"

	"go.yaml.in/yaml/v3"
)

//go:embed *.yaml profiles/*.yaml measured/*.json
var files embed.FS

// MeasuredFiles lists the embedded GPU measurements (measured/*.json, as
// tools/gpu/measure.py writes them), whose whole training steps join the
// validation corpus.
func MeasuredFiles() []string {
	names, err := fs.Glob(files, "measured/*.json")
	if err != nil { // only a malformed pattern fails
		panic(err)
	}
	return names
}

// FS returns the embedded catalog files.
func FS() fs.FS { return files }

// Read returns one embedded file.
func Read(name string) ([]byte, error) { return files.ReadFile(name) }

// Decode strictly decodes one embedded YAML file into v: unknown fields are
// errors.
func Decode(name string, v any) error {
	b, err := files.ReadFile(name)
	if err != nil {
		return err
	}
	if err := DecodeStrict(b, v); err != nil {
		return fmt.Errorf("catalog/%s: %w", name, err)
	}
	return nil
}

// Must returns v, and panics on err: for the packages that decode the
// embedded catalog, which is part of the program.
func Must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// DecodeStrict decodes YAML with unknown fields rejected. Empty input is an
// error.
func DecodeStrict(b []byte, v any) error {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return errors.New("empty document")
		}
		return err
	}
	return nil
}
