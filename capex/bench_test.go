package capex

import (
	"testing"

	"github.com/flopcast/flopcast/hardware"
)

// BenchmarkPlan plans a $1B fleet of H100s: the fleet MFU and one job
// search per catalog model, the work behind `flopcast capex`.
func BenchmarkPlan(b *testing.B) {
	chip, ok := hardware.LookupChip("h100-sxm")
	if !ok {
		b.Fatal("h100-sxm not in the catalog")
	}
	for b.Loop() {
		if _, err := Plan(1e9, chip, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
