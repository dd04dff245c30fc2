package calibrate

import (
	"fmt"
	"strings"
)

// FieldError is an invalid or missing field of a measurement file.
type FieldError struct {
	Field   string // JSON path, e.g. gemm[3].s
	Value   any    // the bad value; nil when the field is missing
	Missing bool
	Reason  string // why the value is wrong
	Allowed string // what would be accepted
}

func (e *FieldError) Error() string {
	var b strings.Builder
	b.WriteString(e.Field)
	b.WriteString(": ")
	if e.Missing {
		b.WriteString("missing")
	} else {
		fmt.Fprintf(&b, "%v", e.Value)
	}
	if e.Reason != "" {
		b.WriteString(" ")
		b.WriteString(e.Reason)
	}
	if e.Allowed != "" {
		fmt.Fprintf(&b, " (allowed: %s)", e.Allowed)
	}
	return b.String()
}
