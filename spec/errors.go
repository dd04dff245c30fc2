package spec

import "github.com/flopcast/flopcast"

// FieldError is the module's one input error type.
//
// Deprecated: use flopcast.FieldError; this alias names the same type.
type FieldError = flopcast.FieldError
