package economics

import (
	"errors"
	"fmt"
	"github.com/flopcast/flopcast"
	"math"

	"github.com/flopcast/flopcast/catalog"
	"github.com/flopcast/flopcast/estimate"
	"github.com/flopcast/flopcast/reliability"
	"github.com/flopcast/flopcast/spec"
)

// Price sanity bounds per chip-hour: outside them the figure is more likely
// per node-hour, per month or in cents than a real price. The market spans
// about $0.97 (Trainium1 Capacity Blocks) to $12.29 (H100 on-demand, 2024).
const (
	priceWarnLow  = 0.05
	priceWarnHigh = 100.0
)

// Run is the whole-run block ("run") of docs/output.md,
// with the detail behind it. The first eight fields are the contract.
//
// Energy comes in three conventions, as published figures use them:
// EnergyChipsMWh is the accelerators alone at their drawn power (BLOOM's
// 433 MWh, Meta's model cards), EnergyITMWh adds hosts and network, and
// EnergyMWh is the facility, IT times PUE. CO2T is on the facility energy,
// CO2ChipsT on the chips' energy.
type Run struct {
	Steps         int64   `json:"steps"`
	Days          float64 `json:"days"`
	ChipHours     float64 `json:"chip_hours"`
	CostUSD       float64 `json:"cost_usd"`
	EnergyMWh     float64 `json:"energy_mwh"`
	CO2T          float64 `json:"co2_t"`
	Interruptions float64 `json:"interruptions"`
	Goodput       float64 `json:"goodput"`

	EnergyChipsMWh float64 `json:"energy_chips_mwh"`
	EnergyITMWh    float64 `json:"energy_it_mwh"`
	CO2ChipsT      float64 `json:"co2_chips_t"`
	// Range is low and high ends of the headline figures; nil when the
	// ends could not be computed.
	Range *Range `json:"range,omitempty"`

	// CostBasis says which cost is CostUSD: "rent", "own" or "none".
	CostBasis string    `json:"cost_basis"`
	Rent      *RentCost `json:"rent,omitempty"`
	Own       *OwnCost  `json:"own,omitempty"`
	// CO2MarketT is market-based carbon, present when
	// economics.market_kg_co2_per_kwh is given. CO2T is location-based.
	CO2MarketT *float64 `json:"co2_market_t,omitempty"`
	Power      Power    `json:"power"`
	// Time says where the wall time went.
	Time        []TimeShare          `json:"time"`
	Stages      []Stage              `json:"stages"`
	Reliability *reliability.Model   `json:"reliability"`
	Assumptions []catalog.Assumption `json:"assumptions"`
	Warnings    []string             `json:"warnings,omitempty"`
}

// Range holds [low, high] ends of the headline figures. The low end takes
// the step time less the step-time model's error on the run's group and
// the lowest published failure rate; the high end the step time plus the
// error and the highest rate.
type Range struct {
	Days      [2]float64 `json:"days"`
	ChipHours [2]float64 `json:"chip_hours"`
	CostUSD   [2]float64 `json:"cost_usd"`
	EnergyMWh [2]float64 `json:"energy_mwh"`
	// Goodput and Interruptions run the other way: the low end's goodput
	// is the higher.
	Goodput       [2]float64 `json:"goodput"`
	Interruptions [2]float64 `json:"interruptions"`
	// StepTimeErr is the fractional step-time error applied each way, and
	// StepTimeErrFrom where it came from (a validation group).
	StepTimeErr     float64 `json:"step_time_err"`
	StepTimeErrFrom string  `json:"step_time_err_from,omitempty"`
	// Sites are the failure-rate profiles of the low and high ends; empty
	// when the run named its site or gave its own rate.
	Sites []string `json:"sites,omitempty"`
}

// Options add what a whole run cannot know by itself.
type Options struct {
	// StepTimeErr is the fractional error of the step-time model on runs
	// like this one (validate's mean absolute error for the run's group);
	// 0 leaves it out of the range. StepTimeErrFrom names the group.
	StepTimeErr     float64
	StepTimeErrFrom string
}

// RentCost is the run on rented chips.
type RentCost struct {
	PricePerChipHour float64 `json:"price_per_chip_hour"`
	CostUSD          float64 `json:"cost_usd"`
}

// OwnCost is the run on owned chips: the share of the hardware and the
// facility that the run's wall time uses up, plus electricity.
type OwnCost struct {
	CapexPerChipUSD   float64 `json:"capex_per_chip_usd"`
	ServerNetworkUSD  float64 `json:"server_network_usd"` // per chip
	DepreciationYears float64 `json:"depreciation_years"`
	HardwareUSD       float64 `json:"hardware_usd"`
	FacilityUSD       float64 `json:"facility_usd"`
	ElectricityUSD    float64 `json:"electricity_usd"`
	CostUSD           float64 `json:"cost_usd"`
}

// Power is the draw the energy figure rests on.
type Power struct {
	// Utilisation u = compute_s / step_time_s sets the chip's draw while
	// training: idle + (TDP − idle)·u.
	Utilisation float64 `json:"utilisation"`
	ChipBusyW   float64 `json:"chip_busy_w"`
	ChipIdleW   float64 `json:"chip_idle_w"`
	ChipTDPW    float64 `json:"chip_tdp_w"`
	HostW       float64 `json:"host_w"` // per chip, constant
	PUE         float64 `json:"pue"`
	// ITMW and FacilityMW are the draw while training (FacilityMW = ITMW·PUE).
	ITMW       float64 `json:"it_mw"`
	FacilityMW float64 `json:"facility_mw"`
}

// TimeShare is one line of the where-the-time-went table.
type TimeShare struct {
	What  string  `json:"what"`
	Hours float64 `json:"hours"`
	Share float64 `json:"share"` // of wall time
}

// Stage is one batch-size stage of the run.
type Stage struct {
	Tokens      float64 `json:"tokens"`
	GlobalBatch int     `json:"global_batch"`
	Steps       int64   `json:"steps"`
	StepTimeS   float64 `json:"step_time_s"`
}

// WholeRun follows one estimated step of r to the whole run, with the
// catalog defaults where r.Economics and r.Reliability leave a figure out.
// When the run names neither its site nor its failure rate, the range
// spans the published failure rates.
func WholeRun(r *spec.Resolved, res *estimate.Result) (*Run, error) {
	return WholeRunOpts(r, res, Options{})
}

// WholeRunOpts is WholeRun with the step-time error for the range.
func WholeRunOpts(r *spec.Resolved, res *estimate.Result, o Options) (*Run, error) {
	d, rd := CatalogDefaults(), reliability.CatalogDefaults()
	out, err := WholeRunWith(r, res, d, rd)
	if err != nil {
		return nil, err
	}
	if !(o.StepTimeErr >= 0 && o.StepTimeErr < 1) {
		return nil, fmt.Errorf("economics: step-time error %v is not a fraction in [0, 1)", o.StepTimeErr)
	}
	// The ends are the same run with the step time moved by the error and
	// the failure rate at either end of the published spread.
	rg := &Range{StepTimeErr: o.StepTimeErr, StepTimeErrFrom: o.StepTimeErrFrom}
	siteLo, siteHi := "", ""
	if out.Reliability.Site != "" && r.Reliability.Site == "" {
		lo, hi := rd.Spread()
		siteLo, siteHi = lo.Name, hi.Name
		rg.Sites = []string{lo.Name, hi.Name}
	}
	for i, c := range []struct {
		scale float64
		site  string
	}{{1 - o.StepTimeErr, siteLo}, {1 + o.StepTimeErr, siteHi}} {
		rr := *r
		if c.site != "" {
			rr.Reliability.Site = c.site
		}
		end, err := WholeRunWith(&rr, scaled(res, c.scale), d, rd)
		if err != nil {
			// The high end can make no progress where the point does:
			// leave the range out rather than print half of it.
			out.Warnings = append(out.Warnings, fmt.Sprintf("no range: %v", err))
			return out, nil
		}
		rg.Days[i], rg.ChipHours[i], rg.CostUSD[i], rg.EnergyMWh[i] = end.Days, end.ChipHours, end.CostUSD, end.EnergyMWh
		rg.Goodput[i], rg.Interruptions[i] = end.Goodput, end.Interruptions
	}
	out.Range = rg
	return out, nil
}

// scaled is res with its step time and every part of it times f.
func scaled(res *estimate.Result, f float64) *estimate.Result {
	c := *res
	c.StepTimeS *= f
	b := &c.Breakdown
	b.ComputeS *= f
	b.OptimizerS *= f
	b.ExposedTPCommS *= f
	b.ExposedCPCommS *= f
	b.ExposedEPCommS *= f
	b.ExposedPPCommS *= f
	b.PipelineBubbleS *= f
	b.ExposedDPCommS *= f
	return &c
}

// WholeRunWith is WholeRun with explicit defaults and no range.
func WholeRunWith(r *spec.Resolved, res *estimate.Result, d Defaults, rd reliability.Defaults) (*Run, error) {
	if res == nil {
		return nil, errors.New("economics: no estimate to follow")
	}
	if !(res.StepTimeS > 0) || math.IsInf(res.StepTimeS, 0) {
		return nil, fmt.Errorf("economics: estimate step_time_s is %v; a whole run needs a positive, finite step time", res.StepTimeS)
	}
	e := r.Economics
	if err := checkEconomics(e); err != nil {
		return nil, err
	}
	out := &Run{}

	// Steps and failure-free training time, stage by stage.
	stages, err := splitStages(r.Training, res.StepTimeS)
	if err != nil {
		return nil, err
	}
	out.Stages = stages
	var work float64
	for _, s := range stages {
		out.Steps += s.Steps
		work += float64(s.Steps) * s.StepTimeS
	}
	if len(stages) > 1 {
		out.Assumptions = append(out.Assumptions, catalog.Assumption{Name: "batch_ramp", Value: float64(len(stages) - 1), Unit: "ramp stages",
			Source: "flopcast approximation",
			Note:   "a ramp stage's step time is the estimated step time scaled by its batch over global_batch (throughput per token held fixed); smaller batches usually run a little less efficiently, so ramp stages come out slightly optimistic"})
	}

	// Interruptions, checkpoints and restarts.
	rel, err := reliability.NewWith(r, rd)
	if err != nil {
		return nil, err
	}
	tl, err := rel.Timeline(work)
	if err != nil {
		return nil, err
	}
	// The model's assumptions join the run's list below; keep one copy.
	relOut := *rel
	relOut.Assumptions = nil
	out.Reliability = &relOut
	out.Interruptions = tl.Interruptions
	out.Goodput = tl.Goodput
	out.Days = tl.WallS / 86400
	wallH := tl.WallS / 3600
	chips := float64(r.Chips)
	out.ChipHours = chips * wallH

	// Where the time went.
	b := res.Breakdown
	busy := b.ComputeS + b.OptimizerS
	computeShare := 1.0
	if busy > 0 {
		computeShare = math.Min(1, busy/res.StepTimeS)
	} else {
		out.Warnings = append(out.Warnings, "the estimate has no time breakdown: all step time is counted as compute and the chips as fully busy")
	}
	share := func(s float64) float64 {
		if tl.WallS == 0 {
			return 0
		}
		return s / tl.WallS
	}
	for _, row := range []struct {
		what string
		s    float64
	}{
		{"compute", work * computeShare},
		{"bubble + communication", work * (1 - computeShare)},
		{"checkpoints", tl.CheckpointS},
		{"restarts", tl.RestartS},
		{"lost work", tl.LostS},
	} {
		out.Time = append(out.Time, TimeShare{What: row.what, Hours: row.s / 3600, Share: share(row.s)})
	}

	// Power and energy.
	pw := powerOf(r.Chip, e.HostPowerW, d)
	out.Assumptions = append(out.Assumptions, pw.Assumptions...)
	out.Warnings = append(out.Warnings, pw.Warnings...)
	u := 1.0
	if b.ComputeS > 0 {
		u = math.Min(1, b.ComputeS/res.StepTimeS)
	}
	busyW := pw.IdleW + (pw.TDPW-pw.IdleW)*u
	if e.ChipPowerW != nil {
		busyW = *e.ChipPowerW
		out.Assumptions = append(out.Assumptions, catalog.Given("chip_power_w", busyW, "W"))
	} else {
		out.Assumptions = append(out.Assumptions, catalog.Assumption{Name: "chip_utilisation", Value: u, Unit: "fraction",
			Source: "flopcast model",
			Note:   "chip draw while training = idle + (TDP − idle)·u with u = compute_s / step_time_s: GEMM-bound compute runs near TDP, exposed communication and bubbles near idle"})
	}
	pue := catalog.Pick(e.PUE, d.PUE, "pue", &out.Assumptions)
	out.Power = Power{Utilisation: u, ChipBusyW: busyW, ChipIdleW: pw.IdleW, ChipTDPW: pw.TDPW, HostW: pw.HostW, PUE: pue,
		ITMW: chips * (busyW + pw.HostW) / 1e6}
	out.Power.FacilityMW = out.Power.ITMW * pue
	// Chips draw busy power while they train (and redo lost work) and idle
	// power through checkpoints and restarts; hosts draw theirs throughout.
	// W·s → MWh is 1/3.6e9.
	chipJ := chips * (busyW*(work+tl.LostS) + pw.IdleW*(tl.CheckpointS+tl.RestartS))
	hostJ := chips * pw.HostW * tl.WallS
	out.EnergyChipsMWh = chipJ / 3.6e9
	out.EnergyITMWh = (chipJ + hostJ) / 3.6e9
	out.EnergyMWh = out.EnergyITMWh * pue

	// Carbon: kg/kWh is t/MWh.
	grid := catalog.Pick(e.GridKgCO2PerKWh, d.GridKgCO2PerKWh, "grid_kg_co2_per_kwh", &out.Assumptions)
	out.CO2T = out.EnergyMWh * grid
	out.CO2ChipsT = out.EnergyChipsMWh * grid
	if e.MarketKgCO2PerKWh != nil {
		m := out.EnergyMWh * *e.MarketKgCO2PerKWh
		out.CO2MarketT = &m
		out.Assumptions = append(out.Assumptions, catalog.Given("market_kg_co2_per_kwh", *e.MarketKgCO2PerKWh, "kg CO2/kWh"))
	}

	// Cost, rented and owned.
	if price, a, ok := PricePerChipHour(r); ok {
		out.Assumptions = append(out.Assumptions, a)
		if price < priceWarnLow || price > priceWarnHigh {
			out.Warnings = append(out.Warnings, fmt.Sprintf(
				"economics.price_per_chip_hour: $%g per chip-hour is outside $%g-%g; is it per node-hour, per month or in cents?",
				price, priceWarnLow, priceWarnHigh))
		}
		out.Rent = &RentCost{PricePerChipHour: price, CostUSD: out.ChipHours * price}
	}
	if capex, a, ok := PurchaseOf(r.Chip, e.CapexPerChip); ok {
		out.Assumptions = append(out.Assumptions, a)
		own := &OwnCost{CapexPerChipUSD: capex}
		if e.ServerNetworkShare != nil {
			own.ServerNetworkUSD = *e.ServerNetworkShare
			out.Assumptions = append(out.Assumptions, catalog.Given("server_network_share", own.ServerNetworkUSD, "USD per chip"))
		} else {
			own.ServerNetworkUSD = capex * d.ServerNetworkFor(r.Chip.Name).Value
			out.Assumptions = append(out.Assumptions, d.ServerNetworkFor(r.Chip.Name).Use("server_network_fraction"))
		}
		own.DepreciationYears = catalog.Pick(e.DepreciationYears, d.DepreciationYears, "depreciation_years", &out.Assumptions)
		facility := catalog.Pick(e.FacilityUSDPerMW, d.FacilityUSDPerMW, "facility_usd_per_mw", &out.Assumptions)
		life := d.FacilityLifeYears.Value
		out.Assumptions = append(out.Assumptions, d.FacilityLifeYears.Use("facility_life_years"))
		elec := catalog.Pick(e.ElectricityUSDPerMWh, d.ElectricityUSDPerMWh, "electricity_usd_per_mwh", &out.Assumptions)
		own.HardwareUSD = out.ChipHours * (capex + own.ServerNetworkUSD) / (own.DepreciationYears * HoursPerYear)
		// The facility is sized for the chips' full draw, TDP plus host.
		provisionedMW := (pw.TDPW + pw.HostW) / 1e6
		own.FacilityUSD = out.ChipHours * facility * provisionedMW / (life * HoursPerYear)
		own.ElectricityUSD = out.EnergyMWh * elec
		own.CostUSD = own.HardwareUSD + own.FacilityUSD + own.ElectricityUSD
		out.Own = own
	}
	switch {
	case out.Own != nil && e.CapexPerChip != nil && e.PricePerChipHour == nil:
		out.CostBasis, out.CostUSD = "own", out.Own.CostUSD
	case out.Rent != nil:
		out.CostBasis, out.CostUSD = "rent", out.Rent.CostUSD
	case out.Own != nil:
		out.CostBasis, out.CostUSD = "own", out.Own.CostUSD
	default:
		out.CostBasis = "none"
		out.Warnings = append(out.Warnings, fmt.Sprintf(
			"chip %s has neither a rent nor a purchase price: cost_usd is 0; set economics.price_per_chip_hour or economics.capex_per_chip", r.Chip.Name))
	}
	out.Assumptions = append(out.Assumptions, rel.Assumptions...)
	return out, nil
}

// checkEconomics rejects impossible economics overrides, naming the field.
func checkEconomics(e spec.Economics) error { return spec.CheckEconomics(&e) }

// splitStages turns the batch ramp and the main phase into stages. Ramp
// entries are cumulative: the first Tokens tokens of the run use that
// stage's batch.
func splitStages(t spec.ResolvedTraining, stepS float64) ([]Stage, error) {
	if t.SeqLen <= 0 {
		return nil, &flopcast.FieldError{Field: "training.seq_len", Value: t.SeqLen, Allowed: "a positive integer"}
	}
	if t.GlobalBatch <= 0 {
		return nil, &flopcast.FieldError{Field: "training.global_batch", Value: t.GlobalBatch, Allowed: "a positive integer"}
	}
	if t.Tokens == 0 {
		return nil, &flopcast.FieldError{Field: "training.tokens", Value: t.Tokens,
			Reason: "is needed for whole-run totals", Hint: "training.tokens: 15.6e12"}
	}
	if !(t.Tokens > 0) || math.IsInf(t.Tokens, 0) {
		return nil, &flopcast.FieldError{Field: "training.tokens", Value: t.Tokens, Allowed: "a positive number of tokens"}
	}
	firstBatch := t.GlobalBatch
	if len(t.BatchRamp) > 0 {
		firstBatch = t.BatchRamp[0].GlobalBatch
	}
	if oneStep := float64(firstBatch) * float64(t.SeqLen); t.Tokens < oneStep {
		return nil, &flopcast.FieldError{Field: "training.tokens", Value: t.Tokens,
			Reason:  fmt.Sprintf("is less than one optimizer step (%d sequences × %d tokens = %.0f)", firstBatch, t.SeqLen, oneStep),
			Allowed: fmt.Sprintf(">= %.0f", oneStep)}
	}
	var out []Stage
	done := 0.0
	for i, rp := range t.BatchRamp {
		field := fmt.Sprintf("training.batch_ramp[%d]", i)
		if rp.GlobalBatch <= 0 {
			return nil, &flopcast.FieldError{Field: field + ".global_batch", Value: rp.GlobalBatch, Allowed: "a positive integer"}
		}
		if !(rp.Tokens > done) || rp.Tokens > t.Tokens {
			return nil, &flopcast.FieldError{Field: field + ".tokens", Value: rp.Tokens,
				Allowed: fmt.Sprintf("more than the stage before (%.4g) and at most training.tokens (%.4g): ramp tokens are cumulative", done, t.Tokens)}
		}
		out = append(out, stage(rp.Tokens-done, rp.GlobalBatch, t, stepS))
		done = rp.Tokens
	}
	if rest := t.Tokens - done; rest > 0 {
		out = append(out, stage(rest, t.GlobalBatch, t, stepS))
	}
	return out, nil
}

func stage(tokens float64, batch int, t spec.ResolvedTraining, stepS float64) Stage {
	return Stage{
		Tokens:      tokens,
		GlobalBatch: batch,
		// The tolerance keeps float noise from adding a step.
		Steps:     int64(math.Ceil(tokens/(float64(batch)*float64(t.SeqLen)) - 1e-9)),
		StepTimeS: stepS * float64(batch) / float64(t.GlobalBatch),
	}
}
