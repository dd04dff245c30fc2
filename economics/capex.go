package economics

import (
	"context"
	"fmt"
	"github.com/flopcast/flopcast"
	"github.com/flopcast/flopcast/internal/format"
	"math"

	"github.com/flopcast/flopcast/hardware"
	"github.com/flopcast/flopcast/model"
	"github.com/flopcast/flopcast/reliability"
	"github.com/flopcast/flopcast/spec"
)

// CapexOptions tune a capex plan. Zero fields take the catalog defaults.
type CapexOptions struct {
	// Models are the models to plan runs of. When nil, Model is looked up;
	// when Model is empty too, every catalog model is planned.
	Models []model.Config
	Model  string
	// Tokens per run; 0 means Chinchilla-optimal, 20 tokens per parameter.
	Tokens float64
	// SeqLen of the planned runs, for the attention FLOPs (default 8192).
	SeqLen int
	// MFU, if positive, is used as is. Otherwise PredictMFU is asked for the
	// representative run (RepresentativeRun), and failing that the catalog's
	// fallback MFU is used with a warning.
	MFU        float64
	PredictMFU func(ctx context.Context, r *spec.Resolved) (float64, error)
	Context    context.Context

	ChipUSD          float64 // purchase price per chip
	ServerNetworkUSD float64 // per chip
	FacilityUSDPerMW float64 // per MW of IT load
	PUE              float64
}

// CapexReport is what a budget buys. Its JSON is docs/output.md's (capex --json)
// plus detail.
type CapexReport struct {
	// Company is set for scenario entries.
	Company   string  `json:"company,omitempty"`
	BudgetUSD float64 `json:"budget_usd"`
	Chip      string  `json:"chip"`
	Chips     int64   `json:"chips"`
	// PowerMW is the site's draw at full load, PUE included; ITPowerMW
	// leaves PUE out.
	PowerMW        float64     `json:"power_mw"`
	ITPowerMW      float64     `json:"it_power_mw"`
	CapexSplit     CapexSplit  `json:"capex_split"`
	AnnualBF16FLOP float64     `json:"annual_bf16_flop"`
	Trainable      []Trainable `json:"trainable"`

	PerChipUSD PerChipUSD `json:"per_chip_usd"`
	MFU        float64    `json:"mfu"`
	// MFUSource says where MFU came from: "given", "predicted" or "fallback".
	MFUSource string `json:"mfu_source"`
	// ReferenceSplit is the published split to compare CapexSplit with.
	ReferenceSplit CapexShare   `json:"reference_split"`
	Source         string       `json:"source,omitempty"`      // scenario entries: the budget's source
	ChipReason     string       `json:"chip_reason,omitempty"` // scenario entries: why this chip
	Assumptions    []Assumption `json:"assumptions"`
	Warnings       []string     `json:"warnings,omitempty"`
}

// CapexSplit divides the budget, as fractions. The facility part is split
// between power-cooling and land-site in the reference's proportion.
type CapexSplit struct {
	Chips         float64 `json:"chips"`
	ServerNetwork float64 `json:"server_network"`
	PowerCooling  float64 `json:"power_cooling"`
	LandSite      float64 `json:"land_site"`
}

// PerChipUSD is the all-in cost of one installed chip.
type PerChipUSD struct {
	Chip          float64 `json:"chip"`
	ServerNetwork float64 `json:"server_network"`
	Facility      float64 `json:"facility"`
	AllIn         float64 `json:"all_in"`
}

// Trainable is one model the fleet could train, with the whole fleet as one
// job at the plan's MFU; failures and restarts are not counted.
type Trainable struct {
	Model       string  `json:"model"`
	Params      float64 `json:"params"`
	Tokens      float64 `json:"tokens"`
	FLOP        float64 `json:"flop"`
	Days        float64 `json:"days"`
	RunsPerYear float64 `json:"runs_per_year"`
}

// Representative run for the MFU of a capex plan: Llama 3 70B, seq 8192,
// global batch 1024, on the largest power of two of chips up to 8192.
const (
	repModel       = "llama3-70b"
	repSeq         = 8192
	repGlobalBatch = 1024
	repMaxChips    = 8192
	chinchilla     = 20 // tokens per parameter (Hoffmann et al. 2022)
)

// RepresentativeRun is the run whose predicted MFU stands for a fleet of
// chips chips: llama3-70b, seq 8192, global batch 1024, BF16, megatron, on
// the largest power of two not above min(chips, 8192), with spec.Resolve's
// training defaults (flash attention, DP overlap, automatic TP overlap).
// Every parallel knob is left open for the search; Layout holds a
// placeholder that the search replaces.
func RepresentativeRun(chip hardware.Chip, chips int64) (*spec.Resolved, error) {
	m, ok := model.Lookup(repModel)
	if !ok {
		return nil, fmt.Errorf("economics: the representative model %s is not in the catalog", repModel)
	}
	n := 1
	for int64(n*2) <= min(chips, repMaxChips) {
		n *= 2
	}
	return &spec.Resolved{
		Model: m, Chip: chip, Chips: n,
		Training: spec.ResolvedTraining{SeqLen: repSeq, GlobalBatch: repGlobalBatch, Tokens: 0,
			Precision: spec.PrecisionBF16, Recipe: spec.RecipeMegatron, Optimizer: "adamw", FlashAttention: true, DPCommOverlap: true},
		Layout: spec.Layout{TP: 1, PP: 1, DP: n, CP: 1, EP: 1, ETP: 1, VPP: 1, MicroBatch: 1, ZeRO: 1},
	}, nil
}

// Capex plans what budget buys of chip: chips, power, the capex split, the
// yearly BF16 FLOPs and how long runs of the chosen models take.
func Capex(budget float64, chip hardware.Chip, opts CapexOptions) (*CapexReport, error) {
	return CapexWith(budget, chip, opts, CatalogDefaults())
}

// CapexWith is Capex with explicit defaults.
func CapexWith(budget float64, chip hardware.Chip, opts CapexOptions, d Defaults) (*CapexReport, error) {
	if !(budget > 0) || math.IsInf(budget, 0) {
		return nil, &flopcast.FieldError{Field: "budget", Value: budget, Allowed: "a positive number of USD"}
	}
	if !(chip.BF16TFLOPS > 0) {
		return nil, &flopcast.FieldError{Field: "chip", Value: chip.Name, Reason: "has no BF16 peak in the catalog"}
	}
	for _, c := range []struct {
		field string
		v     float64
	}{{"chip_usd", opts.ChipUSD}, {"server_network_usd", opts.ServerNetworkUSD}, {"facility_usd_per_mw", opts.FacilityUSDPerMW}, {"mfu", opts.MFU}, {"tokens", opts.Tokens}} {
		if c.v < 0 || math.IsNaN(c.v) || math.IsInf(c.v, 0) {
			return nil, &flopcast.FieldError{Field: c.field, Value: c.v, Allowed: "a positive number, or 0 for the default"}
		}
	}
	if opts.MFU > 1 {
		return nil, &flopcast.FieldError{Field: "mfu", Value: opts.MFU, Allowed: "a fraction of the BF16 peak, 0 < mfu <= 1"}
	}
	if opts.PUE != 0 && !(opts.PUE >= 1) {
		return nil, &flopcast.FieldError{Field: "pue", Value: opts.PUE, Allowed: "1 or more"}
	}
	if opts.SeqLen < 0 {
		return nil, &flopcast.FieldError{Field: "seq", Value: opts.SeqLen, Allowed: "a positive integer"}
	}
	rep := &CapexReport{BudgetUSD: budget, Chip: chip.Name, ReferenceSplit: d.CapexSplit}
	opt := func(v float64) *float64 {
		if v > 0 {
			return &v
		}
		return nil
	}

	// All-in cost of one chip.
	chipUSD, a, ok := purchaseOf(chip, opt(opts.ChipUSD))
	if !ok {
		return nil, &flopcast.FieldError{Field: "chip", Value: chip.Name, Reason: "has no purchase price in the catalog",
			Hint: "give chip_usd, the all-in price of one chip"}
	}
	rep.Assumptions = append(rep.Assumptions, a)
	pw := powerOf(chip, nil, d)
	rep.Assumptions = append(rep.Assumptions, pw.Assumptions...)
	rep.Warnings = append(rep.Warnings, pw.Warnings...)
	itW := pw.TDPW + pw.HostW
	sn := opts.ServerNetworkUSD
	if sn > 0 {
		rep.Assumptions = append(rep.Assumptions, given("server_network_usd", sn, "USD per chip"))
	} else {
		sn = chipUSD * d.serverNetworkFraction(chip.Name).Value
		rep.Assumptions = append(rep.Assumptions, fromFigure("server_network_fraction", d.serverNetworkFraction(chip.Name)))
	}
	facility := pick(opt(opts.FacilityUSDPerMW), d.FacilityUSDPerMW, "facility_usd_per_mw", &rep.Assumptions)
	pue := pick(opt(opts.PUE), d.PUE, "pue", &rep.Assumptions)
	rep.PerChipUSD = PerChipUSD{Chip: chipUSD, ServerNetwork: sn, Facility: facility * itW / 1e6}
	rep.PerChipUSD.AllIn = rep.PerChipUSD.Chip + rep.PerChipUSD.ServerNetwork + rep.PerChipUSD.Facility

	rep.Chips = int64(budget / rep.PerChipUSD.AllIn)
	if rep.Chips < 1 {
		return nil, &flopcast.FieldError{Field: "budget", Value: budget,
			Reason: fmt.Sprintf("buys no %s: one installed chip costs $%.0f all-in", chip.Name, rep.PerChipUSD.AllIn)}
	}
	chips := float64(rep.Chips)
	rep.ITPowerMW = chips * itW / 1e6
	rep.PowerMW = rep.ITPowerMW * pue
	all := rep.PerChipUSD.AllIn
	fac := rep.PerChipUSD.Facility / all
	ref := d.CapexSplit
	rep.CapexSplit = CapexSplit{
		Chips:         rep.PerChipUSD.Chip / all,
		ServerNetwork: rep.PerChipUSD.ServerNetwork / all,
		PowerCooling:  fac * ref.PowerCooling / (ref.PowerCooling + ref.LandSite),
		LandSite:      fac * ref.LandSite / (ref.PowerCooling + ref.LandSite),
	}

	// MFU: given, predicted for a representative run, or the fallback.
	ctx := opts.Context
	if ctx == nil {
		ctx = context.Background()
	}
	switch {
	case opts.MFU > 0:
		rep.MFU, rep.MFUSource = opts.MFU, "given"
		rep.Assumptions = append(rep.Assumptions, given("mfu", opts.MFU, "fraction of BF16 peak"))
	default:
		mfu, err := predictMFU(ctx, chip, rep.Chips, opts.PredictMFU)
		if err == nil {
			rep.MFU, rep.MFUSource = mfu, "predicted"
			rep.Assumptions = append(rep.Assumptions, Assumption{Name: "mfu", Value: mfu, Unit: "fraction of BF16 peak",
				Source: "flopcast search, best layout", Note: "predicted for llama3-70b, seq 8192, global batch 1024, BF16, on min(chips, 8192) chips rounded down to a power of two"})
		} else {
			rep.MFU, rep.MFUSource = d.FallbackMFU.Value, "fallback"
			rep.Assumptions = append(rep.Assumptions, fromFigure("mfu", d.FallbackMFU))
			rep.Warnings = append(rep.Warnings, fmt.Sprintf("no MFU prediction for %s (%v); assumed %.2f", chip.Name, err, d.FallbackMFU.Value))
		}
	}
	flops := chips * chip.BF16TFLOPS * 1e12 * rep.MFU // per second, achieved
	rep.AnnualBF16FLOP = flops * HoursPerYear * 3600

	// What it trains.
	models := opts.Models
	if models == nil {
		if opts.Model != "" {
			m, ok := model.Lookup(opts.Model)
			if !ok {
				return nil, &flopcast.FieldError{Field: "model", Value: opts.Model, Reason: "is not in the catalog", Hint: "flopcast catalog models"}
			}
			models = []model.Config{m}
		} else {
			models = model.Catalog()
		}
	}
	seq := opts.SeqLen
	if seq == 0 {
		seq = repSeq
	}
	for _, m := range models {
		params := m.Params()
		tokens := opts.Tokens
		if tokens == 0 {
			tokens = chinchilla * params
		}
		f := trainFLOPsPerToken(m, seq) * tokens
		days := f / flops / 86400
		rep.Trainable = append(rep.Trainable, Trainable{Model: m.Name, Params: params, Tokens: tokens, FLOP: f,
			Days: days, RunsPerYear: HoursPerYear / 24.0 / days})
	}
	// One job on the whole fleet meets failures far more often than any run
	// so far; say so where the Llama 3 rate puts the MTTI under an hour.
	if rd := reliability.CatalogDefaults(); reliability.MTTI(rd.FailuresPerChipHour.Value, int(rep.Chips)) < 1 {
		rep.Warnings = append(rep.Warnings, fmt.Sprintf(
			"as one job, %s chips would be interrupted every %.1f minutes at the Llama 3 failure rate (%.3g per chip-hour): "+
				"the days per run assume no failures, so read them as a bound; real runs use a slice of such a fleet",
			format.Thousands(rep.Chips), 60*reliability.MTTI(rd.FailuresPerChipHour.Value, int(rep.Chips)), rd.FailuresPerChipHour.Value))
	}
	tokensNote := "given"
	if opts.Tokens == 0 {
		tokensNote = "Chinchilla-optimal, 20 tokens per parameter (Hoffmann et al. 2022), total parameters for MoE models"
	}
	rep.Assumptions = append(rep.Assumptions,
		Assumption{Name: "trainable_tokens", Value: opts.Tokens, Unit: "tokens", Source: "flopcast capex", Note: tokensNote},
		Assumption{Name: "trainable_fleet", Value: chips, Unit: "chips", Source: "flopcast capex",
			Note: "each run uses the whole fleet as one job at the plan's MFU, with no time lost to failures or restarts; the budget is all spent up front"})
	return rep, nil
}

func predictMFU(ctx context.Context, chip hardware.Chip, chips int64, f func(context.Context, *spec.Resolved) (float64, error)) (float64, error) {
	if f == nil {
		return 0, fmt.Errorf("no predictor")
	}
	r, err := RepresentativeRun(chip, chips)
	if err != nil {
		return 0, err
	}
	mfu, err := f(ctx, r)
	if err != nil {
		return 0, err
	}
	if !(mfu > 0 && mfu <= 1) {
		return 0, fmt.Errorf("predicted MFU %v is not in (0, 1]", mfu)
	}
	return mfu, nil
}

// RunScenario plans every entry of a scenario with the catalog's chips.
func RunScenario(s Scenario, opts CapexOptions) ([]*CapexReport, error) {
	return runScenario(s, opts, hardware.LookupChip)
}

func runScenario(s Scenario, opts CapexOptions, lookup func(string) (hardware.Chip, bool)) ([]*CapexReport, error) {
	var out []*CapexReport
	for _, e := range s.Entries {
		chip, ok := lookup(e.Chip)
		if !ok {
			return nil, fmt.Errorf("scenario %s: %s: chip %q is not in the catalog", s.Name, e.Company, e.Chip)
		}
		rep, err := Capex(e.BudgetUSD, chip, opts)
		if err != nil {
			return nil, fmt.Errorf("scenario %s: %s: %w", s.Name, e.Company, err)
		}
		rep.Company, rep.Source, rep.ChipReason = e.Company, e.Source, e.ChipReason
		rep.Assumptions = append(rep.Assumptions, Assumption{Name: "budget_usd", Value: e.BudgetUSD, Unit: "USD", Source: e.Source, Date: e.Date, Note: e.Notes})
		out = append(out, rep)
	}
	return out, nil
}
