package search_test

import (
	"context"
	"fmt"

	"github.com/flopcast/flopcast/search"
	"github.com/flopcast/flopcast/spec"
)

// Search the layouts of Llama 3 8B on 64 H100s with tensor parallelism
// fixed at 1 and everything else open.
func Example() {
	tp := 1
	run := &spec.Run{
		Model:    spec.ModelRef{Name: "llama3-8b"},
		Cluster:  spec.Cluster{Chip: "h100-sxm", Chips: 64},
		Training: spec.Training{SeqLen: 4096, GlobalBatch: 256},
		Parallel: spec.Parallel{TP: &tp},
	}
	r, err := spec.Resolve(run)
	if err != nil {
		fmt.Println(err)
		return
	}
	rep, err := search.Run(context.Background(), r, search.Options{Top: 3, Objective: search.ObjectiveTime})
	if err != nil {
		fmt.Println(err)
		return
	}
	best := rep.Results[0].Parallel
	fmt.Println("results:", len(rep.Results))
	fmt.Println("tp kept:", best.TP == 1)
	fmt.Println("uses every chip:", best.TP*best.PP*best.DP*best.CP == 64)
	fmt.Println("fits:", rep.Results[0].Memory.Fits)
	fmt.Println("faster than the runner-up:", rep.Results[0].StepTimeS <= rep.Results[1].StepTimeS)
	// Output:
	// results: 3
	// tp kept: true
	// uses every chip: true
	// fits: true
	// faster than the runner-up: true
}

// Sweep finds the best layout per chip type and count.
func ExampleSweep() {
	base := spec.Run{Model: spec.ModelRef{Name: "llama3-8b"}, Training: spec.Training{SeqLen: 4096, GlobalBatch: 256}}
	rep, err := search.Sweep(context.Background(), base, search.SweepOptions{
		Chips: []string{"h100-sxm"}, Counts: []int{64, 256}, Tokens: 1e12})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, c := range rep.Cells {
		fmt.Println(c.Chip, c.Chips, c.Best != nil)
	}
	fmt.Println("more chips, fewer days:", rep.Cells[1].Days < rep.Cells[0].Days)
	// Output:
	// h100-sxm 64 true
	// h100-sxm 256 true
	// more chips, fewer days: true
}
