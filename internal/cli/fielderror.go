package cli

import root "github.com/flopcast/flopcast"

// fieldError is the module's input error; the CLI gives it flag spellings.
type fieldError = root.FieldError
