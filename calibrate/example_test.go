package calibrate_test

import (
	"fmt"
	"os"

	"github.com/flopcast/flopcast/calibrate"
	"github.com/flopcast/flopcast/hardware"
)

func ExampleFitChip() {
	b, err := os.ReadFile("testdata/h100-microbench.json")
	if err != nil {
		panic(err)
	}
	m, err := calibrate.ParseMeasurement(b)
	if err != nil {
		panic(err)
	}
	m.Source = "h100-microbench.json"
	h100 := hardware.Chip{Name: "h100-sxm", BF16TFLOPS: 989, FP8TFLOPS: 1979, HBMTBps: 3.35,
		GEMM: hardware.GEMMModel{Units: 132, TileM: 128, TileN: 256}}
	p, warnings, err := calibrate.FitChip(m, h100)
	if err != nil {
		panic(err)
	}
	g := p.GEMM
	fmt.Printf("%s on %s, %d points, %d warnings\n", p.Chip, p.Device, p.Points, len(warnings))
	fmt.Printf("gemm: max_eff %.3f, fp8_max_eff %.3f, overhead %.1f us; error mean %.1f%%, worst %.1f%%\n",
		g.MaxEff, g.FP8MaxEff, g.OverheadUs, 100*p.GEMMFitMeanErr, 100*p.GEMMFitWorstErr)
	fmt.Printf("attention: max_eff %.3f, half_seq %.0f, bwd_ratio %.3f; error mean %.1f%%\n",
		g.AttnMaxEff, g.AttnHalfSeq, g.AttnBwdRatio, 100*p.AttnFitMeanErr)
	fmt.Printf("memory: mem_eff %.3f\n", g.MemEff)
	t := calibrate.GEMMTime(g, h100, 8192, 8192, 8192, "bf16")
	fmt.Printf("8192^3 bf16: %.2f ms\n", 1e3*t)
	// Output:
	// h100-sxm on NVIDIA H100 80GB HBM3, 39 points, 0 warnings
	// gemm: max_eff 0.732, fp8_max_eff 0.737, overhead 21.2 us; error mean 4.8%, worst 19.9%
	// attention: max_eff 0.743, half_seq 1060, bwd_ratio 0.678; error mean 5.1%
	// memory: mem_eff 0.884
	// 8192^3 bf16: 1.59 ms
}
