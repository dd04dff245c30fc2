package capex_test

import (
	"fmt"

	"github.com/flopcast/flopcast/capex"
	"github.com/flopcast/flopcast/hardware"
	"github.com/flopcast/flopcast/model"
)

// What $10B buys of a chip at $30k, drawing 700 W plus 300 W of host, at
// 40% MFU.
func ExamplePlan() {
	chip := hardware.Chip{Name: "h100-sxm", BF16TFLOPS: 989, TDPW: 700, HostW: 300}
	rep, err := capex.Plan(10e9, chip, capex.Options{ChipUSD: 30000, MFU: 0.4, Models: []model.Config{}})
	if err != nil {
		panic(err)
	}
	fmt.Printf("%d chips at $%.0f all-in, %.0f MW\n", rep.Chips, rep.PerChipUSD.AllIn, rep.PowerMW)
	s := rep.CapexSplit
	fmt.Printf("split: chips %.0f%%, server+network %.0f%%, power+cooling %.0f%%, land+site %.0f%%\n",
		100*s.Chips, 100*s.ServerNetwork, 100*s.PowerCooling, 100*s.LandSite)
	fmt.Printf("%.2g BF16 FLOP a year\n", rep.AnnualBF16FLOP)
	// Output:
	// 153846 chips at $65000 all-in, 185 MW
	// split: chips 46%, server+network 23%, power+cooling 19%, land+site 12%
	// 1.9e+27 BF16 FLOP a year
}
