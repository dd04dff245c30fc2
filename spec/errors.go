package spec

import (
	"encoding/json"
	"fmt"
	"strings"
)

// FieldError is a configuration error: which field, the bad value, what is
// allowed, and optionally a hint of what to try.
type FieldError struct {
	Field   string `json:"field"`
	Value   any    `json:"value"`
	Allowed string `json:"allowed,omitempty"`
	Reason  string `json:"reason,omitempty"`
	Hint    string `json:"hint,omitempty"`
}

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

// MarshalJSON renders the error with its message, for the HTTP API.
func (e *FieldError) MarshalJSON() ([]byte, error) {
	type plain FieldError
	return json.Marshal(struct {
		Error string `json:"error"`
		*plain
	}{e.Error(), (*plain)(e)})
}
