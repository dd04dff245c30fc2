package infer_test

import (
	"fmt"

	"github.com/flopcast/flopcast/infer"
)

// Example serves Llama 3 70B in FP8 on two H100s and prints the best
// layout's mode and whether it fits.
func Example() {
	s, err := infer.Parse([]byte(`
model: llama3-70b
cluster: {chip: h100-sxm, chips: 2}
serving: {input_tokens: 1000, output_tokens: 1000, precision: fp8, tpot_ms: 50}
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	r, err := infer.Resolve(s)
	if err != nil {
		fmt.Println(err)
		return
	}
	rep, err := infer.Infer(r, infer.Options{Top: 3})
	if err != nil {
		fmt.Println(err)
		return
	}
	w := rep.Results[0]
	fmt.Println(w.Mode, w.Parallel.TP, w.Memory.Fits, w.TPOTS <= 0.050)
	// Output: aggregated 2 true true
}

// ExamplePlanFleet asks what 10,000 Trainium2 chips serve of Llama 3 70B at
// 50 ms per output token.
func ExamplePlanFleet() {
	f, err := infer.PlanFleet("llama3-70b", "trainium2", 10000, infer.FleetOptions{TPOTMs: 50}, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(f.OutputTokensPerDay > 1e9, f.USDPerMOutputTokens > 0, f.TokensPerSPerUser >= 20)
	// Output: true true true
}
