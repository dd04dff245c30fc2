package estimate_test

import (
	"fmt"
	"log"

	"github.com/flopcast/flopcast/estimate"
	"github.com/flopcast/flopcast/spec"
)

// Estimate one layout of Llama 3 70B on 1,024 H100s.
func Example() {
	run, err := spec.Parse([]byte(`
model: llama3-70b
cluster: {chip: h100-sxm, chips: 1024}
training: {seq_len: 8192, global_batch: 1024}
parallel: {tp: 8, pp: 4, vpp: 4}
`))
	if err != nil {
		log.Fatal(err)
	}
	r, err := spec.Resolve(run)
	if err != nil {
		log.Fatal(err)
	}
	if err := r.CheckLayout(r.Layout); err != nil {
		log.Fatal(err)
	}
	e, err := estimate.New(r)
	if err != nil {
		log.Fatal(err)
	}
	res := e.Estimate(r.Layout)
	fmt.Printf("layout %v\n", res.Parallel)
	fmt.Printf("MFU %.0f%%, fits: %v\n", 100*res.MFU, res.Memory.Fits)
	// Output:
	// layout tp8 pp4 dp32 cp1 ep1 vpp4 mb1 zero1 none sp
	// MFU 42%, fits: true
}

// Eval fills a Result without allocating: the form the search uses.
func ExampleEstimator_Eval() {
	run := &spec.Run{
		Model:    spec.ModelRef{Name: "gpt3-175b"},
		Cluster:  spec.Cluster{Chip: "a100-sxm-80gb", Chips: 1024},
		Training: spec.Training{SeqLen: 2048, GlobalBatch: 1536},
	}
	r, _ := spec.Resolve(run)
	e, _ := estimate.New(r)
	var res estimate.Result
	for _, tp := range []int{4, 8} {
		l := spec.Layout{TP: tp, PP: 16, DP: 1024 / (16 * tp), CP: 1, EP: 1, ETP: tp, VPP: 1, MicroBatch: 1, ZeRO: 1, SequenceParallel: true}
		if err := r.CheckLayout(l); err != nil {
			fmt.Println(err)
			continue
		}
		e.Eval(l, &res)
		fmt.Printf("tp %d: %.1f s per step\n", tp, res.StepTimeS)
	}
	// Output:
	// tp 4: 19.7 s per step
	// tp 8: 20.5 s per step
}
