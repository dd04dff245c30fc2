// Package flopcast holds what every flopcast package shares: the error a
// user reads when an input is wrong.
package flopcast

import (
	"encoding/json"
	"fmt"
	"strings"
)

// FieldError is an invalid input: which field, the bad value, why it is
// wrong, what is allowed, and optionally a hint of what to try. Libraries
// name fields as they appear in run.yaml or in the JSON they read
// ("parallel.tp", "gemm[3].s"); the CLI adds flag spellings and the HTTP
// API renders the error as JSON.
type FieldError struct {
	Field   string `json:"field"`
	Value   any    `json:"value"`
	Reason  string `json:"reason,omitempty"`
	Allowed string `json:"allowed,omitempty"`
	Hint    string `json:"hint,omitempty"`
}

// Missing is the Value of a FieldError whose field was not given.
const Missing = "(missing)"

func (e *FieldError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %v", e.Field, e.Value)
	if e.Reason != "" {
		b.WriteString(" ")
		b.WriteString(e.Reason)
	} else if e.Allowed != "" {
		b.WriteString(" is not allowed")
	}
	if e.Allowed != "" {
		fmt.Fprintf(&b, " (allowed: %s)", e.Allowed)
	}
	if e.Hint != "" {
		fmt.Fprintf(&b, "; try: %s", e.Hint)
	}
	return b.String()
}

// MarshalJSON renders the error with its message, for the HTTP API:
// {"error": "...", "field": ..., "value": ..., ...}.
func (e *FieldError) MarshalJSON() ([]byte, error) {
	type plain FieldError
	return json.Marshal(struct {
		Error string `json:"error"`
		*plain
	}{e.Error(), (*plain)(e)})
}
