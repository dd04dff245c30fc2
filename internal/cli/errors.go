package cli

import (
	"errors"
	"fmt"
	"io"
)

// Exit codes.
const (
	exitError  = 1 // any failure
	exitConfig = 2 // the input is invalid
)

func writeError(w io.Writer, err error) {
	fmt.Fprintf(w, "flopcast: %v\n", err)
}

func exitCode(err error) int {
	var fe *fieldError
	if errors.As(err, &fe) {
		return exitConfig
	}
	return exitError
}
