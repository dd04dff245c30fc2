// Command flopcast predicts how a large language model trains on a cluster
// of accelerators: step time, memory, MFU, the best parallel layout, and the
// whole run's time, cost, energy and failures.
package main

import (
	"context"
	"os"
	"os/signal"

	"github.com/flopcast/flopcast/internal/cli"
	"golang.org/x/term"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := cli.Main(ctx, os.Args[1:], &cli.IO{
		In: os.Stdin, Out: os.Stdout, Err: os.Stderr,
		IsTerm: term.IsTerminal(int(os.Stderr.Fd())),
	})
	stop()
	os.Exit(code)
}
