package infer

import (
	"github.com/flopcast/flopcast/economics"
	"github.com/flopcast/flopcast/hardware"
	"github.com/flopcast/flopcast/spec"
)

// power is a chip's draw by state and the facility overhead.
type power struct {
	idleW, tdpW, hostW, pue float64
}

// drawW is the facility power of one chip busy a share u of the time:
// idle + (TDP − idle)·u for the chip, plus its host share, times PUE.
func (p power) drawW(u float64) float64 {
	return (p.idleW + (p.tdpW-p.idleW)*u + p.hostW) * p.pue
}

// priceOf is the rent per chip-hour: the run's override, then the chip
// catalog's dated rent. 0 when neither knows it.
func priceOf(chip hardware.Chip, e spec.Economics) (float64, string) {
	if e.PricePerChipHour != nil {
		return *e.PricePerChipHour, "economics.price_per_chip_hour"
	}
	return chip.RentUSDPerHour.USD, "chip catalog: " + chip.RentUSDPerHour.Source
}

// powerOf resolves the chip's draw: overrides, then the chip catalog, then
// the economics catalog's fractions of TDP.
func powerOf(chip hardware.Chip, e spec.Economics) power {
	d := economics.CatalogDefaults()
	p := power{tdpW: chip.TDPW, idleW: chip.IdleW, hostW: chip.HostW, pue: d.PUE.Value}
	if e.ChipPowerW != nil {
		p.tdpW = *e.ChipPowerW
	}
	if p.tdpW <= 0 {
		p.tdpW = chip.BF16TFLOPS * 700 / 989 // H100 SXM's TFLOP/s per watt (NVIDIA H100 datasheet)
	}
	if p.idleW <= 0 {
		p.idleW = d.IdleFractionOfTDP.Value * p.tdpW
	}
	if e.HostPowerW != nil {
		p.hostW = *e.HostPowerW
	} else if p.hostW <= 0 {
		p.hostW = d.HostFractionOfTDP.Value * p.tdpW
	}
	if e.PUE != nil {
		p.pue = *e.PUE
	}
	return p
}
