package economics

import (
	"fmt"

	"github.com/flopcast/flopcast/catalog"
	"github.com/flopcast/flopcast/hardware"
	"github.com/flopcast/flopcast/spec"
)

// h100TFLOPSPerW is the last-resort power estimate for a chip with no power
// figure anywhere: the H100 SXM's dense BF16 peak per watt of TDP, 989/700
// (NVIDIA H100 datasheet).
const h100TFLOPSPerW = 989.0 / 700

// ChipPower is a chip's power draw by state, in watts, with where each
// figure came from.
type ChipPower struct {
	TDPW, IdleW, HostW float64
	Assumptions        []catalog.Assumption
	Warnings           []string
}

// PowerOf resolves the chip's TDP, idle and host power: the chip catalog
// first, then estimates (TDP from the BF16 peak, idle and host as fractions
// of TDP). e's host_power_w overrides the host figure.
func PowerOf(chip hardware.Chip, e spec.Economics) ChipPower {
	return powerOf(chip, e.HostPowerW, CatalogDefaults())
}

func powerOf(chip hardware.Chip, hostOverride *float64, d Defaults) ChipPower {
	var p ChipPower
	if chip.TDPW > 0 {
		p.TDPW = chip.TDPW
		p.Assumptions = append(p.Assumptions, catalog.Assumption{Name: "chip_tdp_w", Value: chip.TDPW, Unit: "W", Source: "chip catalog: " + chip.Source})
	} else {
		p.TDPW = chip.BF16TFLOPS / h100TFLOPSPerW
		p.Assumptions = append(p.Assumptions, catalog.Assumption{Name: "chip_tdp_w", Value: p.TDPW, Unit: "W",
			Source: "estimated from the BF16 peak at the H100's 989 TFLOP/s per 700 W (NVIDIA H100 datasheet)"})
		p.Warnings = append(p.Warnings, fmt.Sprintf("chip %s has no power figure; assumed %.0f W from its BF16 peak at H100 efficiency: set economics.chip_power_w", chip.Name, p.TDPW))
	}
	if chip.IdleW > 0 {
		p.IdleW = chip.IdleW
	} else {
		p.IdleW = d.IdleFractionOfTDP.Value * p.TDPW
		p.Assumptions = append(p.Assumptions, d.IdleFractionOfTDP.Use("idle_fraction_of_tdp"))
	}
	switch {
	case hostOverride != nil:
		p.HostW = *hostOverride
		p.Assumptions = append(p.Assumptions, catalog.Given("host_power_w", p.HostW, "W"))
	case chip.HostW > 0:
		p.HostW = chip.HostW
	default:
		p.HostW = d.HostFractionOfTDP.Value * p.TDPW
		p.Assumptions = append(p.Assumptions, d.HostFractionOfTDP.Use("host_fraction_of_tdp"))
	}
	return p
}

// ChipPowerW is one chip's power at full load for a run: economics
// .chip_power_w when the run gives it, else the TDP as PowerOf resolves it.
// The layout search ranks by it; it leaves out hosts, network and PUE.
func ChipPowerW(r *spec.Resolved) float64 {
	if p := r.Economics.ChipPowerW; p != nil {
		return *p
	}
	return powerOf(r.Chip, nil, CatalogDefaults()).TDPW
}

// PricePerChipHour is the rent of one chip-hour for a run: economics
// .price_per_chip_hour, else the chip catalog's rent. ok is false when
// neither gives one.
func PricePerChipHour(r *spec.Resolved) (usd float64, a catalog.Assumption, ok bool) {
	if p := r.Economics.PricePerChipHour; p != nil {
		return *p, catalog.Given("price_per_chip_hour", *p, "USD per chip-hour"), true
	}
	if p := r.Chip.RentUSDPerHour; p.USD > 0 {
		return p.USD, catalog.Assumption{Name: "price_per_chip_hour", Value: p.USD, Unit: "USD per chip-hour",
			Source: "chip catalog: " + p.Source, Date: p.Date}, true
	}
	return 0, catalog.Assumption{}, false
}

// PurchaseOf resolves the chip's purchase price: the override, then the
// chip catalog. ok is false when neither knows it.
func PurchaseOf(chip hardware.Chip, override *float64) (usd float64, a catalog.Assumption, ok bool) {
	switch {
	case override != nil:
		return *override, catalog.Given("capex_per_chip", *override, "USD"), true
	case chip.PurchaseUSD.USD > 0:
		pr := chip.PurchaseUSD
		return pr.USD, catalog.Assumption{Name: "capex_per_chip", Value: pr.USD, Unit: "USD", Source: "chip catalog: " + pr.Source, Date: pr.Date}, true
	}
	return 0, catalog.Assumption{}, false
}
