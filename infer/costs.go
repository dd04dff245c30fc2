package infer

import (
	"github.com/flopcast/flopcast/economics"
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

// costsOf resolves the rent per chip-hour (0 when unknown) and the chip's
// power from package economics: the run's overrides, then the catalogs.
func costsOf(hw *spec.Resolved, e spec.Economics) (price float64, p power) {
	r := *hw
	r.Economics = e
	price, _, _ = economics.PricePerChipHour(&r)
	cp := economics.PowerOf(hw.Chip, e)
	p = power{idleW: cp.IdleW, tdpW: economics.ChipPowerW(&r), hostW: cp.HostW, pue: economics.CatalogDefaults().PUE.Value}
	if e.PUE != nil {
		p.pue = *e.PUE
	}
	return price, p
}
