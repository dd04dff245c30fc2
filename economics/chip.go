package economics

import (
	"fmt"

	"github.com/flopcast/flopcast/hardware"
	"github.com/flopcast/flopcast/reliability"
)

// h100TFLOPSPerW is the last-resort power estimate for a chip with no power
// figure anywhere: the H100 SXM's dense BF16 peak per watt of TDP, 989/700
// (NVIDIA H100 datasheet).
const h100TFLOPSPerW = 989.0 / 700

// chipPower is a chip's power draw by state, in watts.
type chipPower struct {
	TDPW, IdleW, HostW float64
	Assumptions        []Assumption
	Warnings           []string
}

// powerOf resolves the chip's TDP, idle and host power: the chip catalog
// first, then estimates (TDP from the BF16 peak, idle and host as fractions
// of TDP).
// hostOverride, if non-nil, is the run's economics.host_power_w.
func powerOf(chip hardware.Chip, hostOverride *float64, d Defaults) chipPower {
	var p chipPower
	if chip.TDPW > 0 {
		p.TDPW = chip.TDPW
		p.Assumptions = append(p.Assumptions, Assumption{Name: "chip_tdp_w", Value: chip.TDPW, Unit: "W", Source: "chip catalog: " + chip.Source})
	} else {
		p.TDPW = chip.BF16TFLOPS / h100TFLOPSPerW
		p.Assumptions = append(p.Assumptions, Assumption{Name: "chip_tdp_w", Value: p.TDPW, Unit: "W",
			Source: "estimated from the BF16 peak at the H100's 989 TFLOP/s per 700 W (NVIDIA H100 datasheet)"})
		p.Warnings = append(p.Warnings, fmt.Sprintf("chip %s has no power figure; assumed %.0f W from its BF16 peak at H100 efficiency: set economics.chip_power_w", chip.Name, p.TDPW))
	}
	if chip.IdleW > 0 {
		p.IdleW = chip.IdleW
	} else {
		p.IdleW = d.IdleFractionOfTDP.Value * p.TDPW
		p.Assumptions = append(p.Assumptions, fromFigure("idle_fraction_of_tdp", d.IdleFractionOfTDP))
	}
	switch {
	case hostOverride != nil:
		p.HostW = *hostOverride
		p.Assumptions = append(p.Assumptions, given("host_power_w", p.HostW, "W"))
	case chip.HostW > 0:
		p.HostW = chip.HostW
	default:
		p.HostW = d.HostFractionOfTDP.Value * p.TDPW
		p.Assumptions = append(p.Assumptions, fromFigure("host_fraction_of_tdp", d.HostFractionOfTDP))
	}
	return p
}

// purchaseOf resolves the chip's purchase price: the override, then the
// chip catalog. ok is false when neither knows it.
func purchaseOf(chip hardware.Chip, override *float64) (usd float64, a Assumption, ok bool) {
	switch {
	case override != nil:
		return *override, given("capex_per_chip", *override, "USD"), true
	case chip.PurchaseUSD.USD > 0:
		pr := chip.PurchaseUSD
		return pr.USD, Assumption{Name: "capex_per_chip", Value: pr.USD, Unit: "USD", Source: "chip catalog: " + pr.Source, Date: pr.Date}, true
	}
	return 0, Assumption{}, false
}

var (
	fromFigure = reliability.FromFigure
	given      = reliability.Given
)
