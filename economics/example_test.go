package economics_test

import (
	"fmt"

	"github.com/flopcast/flopcast/economics"
	"github.com/flopcast/flopcast/estimate"
	"github.com/flopcast/flopcast/hardware"
	"github.com/flopcast/flopcast/model"
	"github.com/flopcast/flopcast/spec"
)

func f(v float64) *float64 { return &v }

// A Llama 3 8B run of 1T tokens on 1,024 rented chips, from one estimated
// step of 2 s (1.6 s of it compute).
func ExampleWholeRun() {
	r := &spec.Resolved{
		Model: model.Config{Name: "llama3-8b", Layers: 32, Hidden: 4096, Heads: 32, KVHeads: 8, FFN: 14336, Vocab: 128256},
		Chip: hardware.Chip{Name: "h100-sxm", BF16TFLOPS: 989, TDPW: 700, IdleW: 70, HostW: 575,
			RentUSDPerHour: hardware.Price{USD: 2, Date: "2025", Source: "market index"}},
		Chips:       1024,
		Training:    spec.ResolvedTraining{SeqLen: 8192, GlobalBatch: 1024, Tokens: 1e12, Recipe: "megatron"},
		Economics:   spec.Economics{PUE: f(1.2), GridKgCO2PerKWh: f(0.367)},
		Reliability: spec.Reliability{FailuresPerChipHour: f(2e-5), CheckpointWriteS: f(30), RestartS: f(600)},
	}
	res := &estimate.Result{StepTimeS: 2, Breakdown: estimate.Breakdown{ComputeS: 1.6, ExposedDPCommS: 0.4}}
	run, err := economics.WholeRun(r, res)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%d steps, %.2f days, %.0f chip-hours, $%.0f\n", run.Steps, run.Days, run.ChipHours, run.CostUSD)
	fmt.Printf("%.1f MWh, %.1f t CO2, %.1f interruptions, goodput %.3f\n", run.EnergyMWh, run.CO2T, run.Interruptions, run.Goodput)
	for _, t := range run.Time {
		fmt.Printf("%-24s %6.1f h %5.1f%%\n", t.What, t.Hours, 100*t.Share)
	}
	// Output:
	// 119210 steps, 2.82 days, 69321 chip-hours, $138641
	// 95.1 MWh, 34.9 t CO2, 1.4 interruptions, goodput 0.978
	// compute                    53.0 h  78.3%
	// bubble + communication     13.2 h  19.6%
	// checkpoints                 0.6 h   0.9%
	// restarts                    0.2 h   0.3%
	// lost work                   0.6 h   0.9%
}
