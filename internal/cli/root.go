// Package cli holds flopcast's cobra commands and their text and JSON
// rendering. Each subcommand lives in its own file and registers itself.
package cli

import (
	"context"
	"io"

	"github.com/spf13/cobra"
)

// IO is the injected input and output of a command run.
type IO struct {
	In     io.Reader
	Out    io.Writer
	Err    io.Writer
	IsTerm bool // stderr is a terminal (progress bars)
}

var commands []func(*IO) *cobra.Command

// register adds a subcommand constructor; call it from an init function in
// the subcommand's file.
func register(f func(*IO) *cobra.Command) { commands = append(commands, f) }

// NewRoot builds the root command with every registered subcommand.
func NewRoot(io *IO) *cobra.Command {
	root := &cobra.Command{
		Use:           "flopcast",
		Short:         "Predict how a large language model trains on a cluster of accelerators",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(io.Out)
	root.SetErr(io.Err)
	root.SetIn(io.In)
	for _, f := range commands {
		root.AddCommand(f(io))
	}
	return root
}

// Main runs flopcast with args and returns the process exit code.
func Main(ctx context.Context, args []string, io *IO) int {
	root := NewRoot(io)
	root.SetArgs(args)
	if err := root.ExecuteContext(ctx); err != nil {
		writeError(io.Err, err)
		return exitCode(err)
	}
	return 0
}
