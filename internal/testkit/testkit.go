// Package testkit holds the helpers that several packages' tests share: a
// relative-tolerance check and a small synthetic chip. It is imported by
// tests only.
package testkit

import (
	"math"
	"testing"

	"github.com/flopcast/flopcast/hardware"
)

// Near reports an error on t when got differs from want by more than rel of
// want.
func Near(t testing.TB, what string, got, want, rel float64) {
	t.Helper()
	if math.Abs(got-want) > rel*math.Abs(want) {
		t.Errorf("%s = %.6g, want %.6g (±%g)", what, got, want, rel)
	}
}

// Chip is a round-numbered chip for economics tests: 1,000 TFLOP/s bf16,
// 700 W TDP, 70 W idle, 300 W of host share, $2 an hour to rent and
// $30,000 to buy.
func Chip() hardware.Chip {
	return hardware.Chip{Name: "testchip", BF16TFLOPS: 1000, TDPW: 700, IdleW: 70, HostW: 300,
		RentUSDPerHour: hardware.Price{USD: 2, Date: "2025", Source: "test"},
		PurchaseUSD:    hardware.Price{USD: 30000, Date: "2025", Source: "test"}}
}
