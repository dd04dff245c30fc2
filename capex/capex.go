package capex

import (
	"context"
	"fmt"
	"math"

	"github.com/flopcast/flopcast"
	"github.com/flopcast/flopcast/catalog"
	"github.com/flopcast/flopcast/economics"
	"github.com/flopcast/flopcast/hardware"
	"github.com/flopcast/flopcast/model"
	"github.com/flopcast/flopcast/search"
	"github.com/flopcast/flopcast/spec"
)

// SearchFunc runs a layout search: search.Run, or a caller's wrapper that
// bounds its time or concurrency.
type SearchFunc func(ctx context.Context, r *spec.Resolved, o search.Options) (*search.Report, error)

// Options tune a capex plan. Zero fields take the catalog defaults.
type Options struct {
	// Models are the models to plan runs of. When nil, Model is looked up;
	// when Model is empty too, every catalog model is planned.
	Models []model.Config
	Model  string
	// Tokens per run; 0 means Chinchilla-optimal, 20 tokens per parameter.
	Tokens float64
	// SeqLen of the planned runs (default 8192).
	SeqLen int
	// MFU, if positive, is the fleet's MFU for the yearly FLOPs and the
	// MFU of any model whose job the search cannot place. Otherwise the
	// search predicts both.
	MFU float64
	// Search places jobs; nil means search.Run.
	Search  SearchFunc
	Context context.Context
	// StepTimeErr, if set, gives the step-time model's error on runs like
	// r and where it comes from (a validation group), for the ranges.
	StepTimeErr func(r *spec.Resolved) (frac float64, from string)

	ChipUSD          float64 // purchase price per chip
	ServerNetworkUSD float64 // per chip
	FacilityUSDPerMW float64 // per MW of IT load
	PUE              float64
}

// Report is what a budget buys: the capex --json object of docs/output.md.
type Report struct {
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
	// MFU is the fleet's, for AnnualBF16FLOP: the best layout of the
	// representative run (RepresentativeRun), given, or the fallback.
	MFU float64 `json:"mfu"`
	// MFUSource says where MFU came from: "given", "predicted" or "fallback".
	MFUSource string `json:"mfu_source"`
	// ReferenceSplit is the published split to compare CapexSplit with.
	ReferenceSplit CapexShare           `json:"reference_split"`
	Source         string               `json:"source,omitempty"`      // scenario entries: the budget's source
	ChipReason     string               `json:"chip_reason,omitempty"` // scenario entries: why this chip
	Assumptions    []catalog.Assumption `json:"assumptions"`
	Warnings       []string             `json:"warnings,omitempty"`
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

// Representative run for the fleet's MFU: Llama 3 70B, seq 8192, global
// batch 1024, on the largest power of two of chips up to 8192.
const (
	repModel       = "llama3-70b"
	repSeq         = 8192
	repGlobalBatch = 1024
	repMaxChips    = 8192
)

// RepresentativeRun is the run whose predicted MFU stands for a fleet of
// chips chips: llama3-70b, seq 8192, global batch 1024, BF16, megatron, on
// the largest power of two not above min(chips, 8192), resolved by
// spec.Resolve with every parallel knob left open for the search.
func RepresentativeRun(chip hardware.Chip, chips int64) (*spec.Resolved, error) {
	n := 1
	for int64(n*2) <= min(chips, repMaxChips) {
		n *= 2
	}
	return resolve(repModel, nil, chip, n, repSeq, repGlobalBatch, 0)
}

// resolve builds a planned run through spec.Resolve, as a run.yaml would be.
func resolve(name string, inline *model.Config, chip hardware.Chip, chips, seq, batch int, tokens float64) (*spec.Resolved, error) {
	return spec.Resolve(&spec.Run{
		Model:    spec.ModelRef{Name: name, Inline: inline},
		Cluster:  spec.Cluster{Chip: chip.Name, Chips: chips},
		Training: spec.Training{SeqLen: seq, GlobalBatch: batch, Tokens: tokens, Precision: "bf16", Recipe: "megatron"},
	})
}

// Plan works out what budget buys of chip: chips, power, the capex split,
// the yearly BF16 FLOPs, and for each model the job it trains best in, how
// long one run takes and how many the fleet runs a year.
func Plan(budget float64, chip hardware.Chip, opts Options) (*Report, error) {
	return newPlanner(opts).plan(budget, chip, economics.CatalogDefaults(), CatalogDefaults())
}

// planner plans one or more budgets, remembering the job searches they
// share (a scenario spends two budgets on the same chip).
type planner struct {
	opts Options
	jobs map[jobKey]jobSize
	mfu  map[jobKey]float64
}

func newPlanner(opts Options) *planner {
	if opts.Context == nil {
		opts.Context = context.Background()
	}
	if opts.Search == nil {
		opts.Search = search.Run
	}
	return &planner{opts: opts, jobs: map[jobKey]jobSize{}, mfu: map[jobKey]float64{}}
}

func (p *planner) plan(budget float64, chip hardware.Chip, d economics.Defaults, cd Defaults) (*Report, error) {
	opts := p.opts
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
	rep := &Report{BudgetUSD: budget, Chip: chip.Name, ReferenceSplit: cd.CapexSplit}
	opt := func(v float64) *float64 {
		if v > 0 {
			return &v
		}
		return nil
	}

	// All-in cost of one chip.
	chipUSD, a, ok := economics.PurchaseOf(chip, opt(opts.ChipUSD))
	if !ok {
		return nil, &flopcast.FieldError{Field: "chip_usd", Value: chip.Name, Reason: "is unknown: the chip has no purchase price in the catalog",
			Allowed: "a positive number of USD"}
	}
	rep.Assumptions = append(rep.Assumptions, a)
	pw := economics.PowerOf(chip, spec.Economics{})
	rep.Assumptions = append(rep.Assumptions, pw.Assumptions...)
	rep.Warnings = append(rep.Warnings, pw.Warnings...)
	itW := pw.TDPW + pw.HostW
	sn := opts.ServerNetworkUSD
	if sn > 0 {
		rep.Assumptions = append(rep.Assumptions, catalog.Given("server_network_usd", sn, "USD per chip"))
	} else {
		f := d.ServerNetworkFor(chip.Name)
		sn = chipUSD * f.Value
		rep.Assumptions = append(rep.Assumptions, f.Use("server_network_fraction"))
	}
	facility := catalog.Pick(opt(opts.FacilityUSDPerMW), d.FacilityUSDPerMW, "facility_usd_per_mw", &rep.Assumptions)
	pue := catalog.Pick(opt(opts.PUE), d.PUE, "pue", &rep.Assumptions)
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
	ref := cd.CapexSplit
	rep.CapexSplit = CapexSplit{
		Chips:         rep.PerChipUSD.Chip / all,
		ServerNetwork: rep.PerChipUSD.ServerNetwork / all,
		PowerCooling:  fac * ref.PowerCooling / (ref.PowerCooling + ref.LandSite),
		LandSite:      fac * ref.LandSite / (ref.PowerCooling + ref.LandSite),
	}

	// The fleet's MFU: given, predicted for a representative run, or the
	// fallback.
	switch {
	case opts.MFU > 0:
		rep.MFU, rep.MFUSource = opts.MFU, "given"
		rep.Assumptions = append(rep.Assumptions, catalog.Given("mfu", opts.MFU, "fraction of BF16 peak"))
	default:
		mfu, err := p.fleetMFU(chip, rep.Chips)
		if err == nil {
			rep.MFU, rep.MFUSource = mfu, "predicted"
			rep.Assumptions = append(rep.Assumptions, catalog.Assumption{Name: "mfu", Value: mfu, Unit: "fraction of BF16 peak",
				Source: "flopcast search, best layout", Note: "predicted for llama3-70b, seq 8192, global batch 1024, BF16, on min(chips, 8192) chips rounded down to a power of two"})
		} else {
			rep.MFU, rep.MFUSource = cd.FallbackMFU.Value, "fallback"
			rep.Assumptions = append(rep.Assumptions, cd.FallbackMFU.Use("mfu"))
			rep.Warnings = append(rep.Warnings, fmt.Sprintf("no MFU prediction for %s (%v); assumed %.2f", chip.Name, err, cd.FallbackMFU.Value))
		}
	}
	rep.AnnualBF16FLOP = chips * chip.BF16TFLOPS * 1e12 * rep.MFU * economics.HoursPerYear * 3600

	// What it trains, one job per model at the size it trains best at.
	models := opts.Models
	if models == nil {
		if opts.Model != "" {
			m, ok := model.Lookup(opts.Model)
			if !ok {
				return nil, &flopcast.FieldError{Field: "model", Value: opts.Model, Reason: "is not in the catalog", Allowed: "a catalog model (flopcast catalog models)"}
			}
			models = []model.Config{m}
		} else {
			models = model.Catalog()
		}
	}
	for _, m := range models {
		t, err := p.trainable(m, chip, rep, cd)
		if err != nil {
			return nil, err
		}
		rep.Trainable = append(rep.Trainable, t)
	}
	tokensNote := "given"
	if opts.Tokens == 0 {
		tokensNote = fmt.Sprintf("Chinchilla-optimal, %d tokens per parameter (Hoffmann et al. 2022), total parameters for MoE models", economics.ChinchillaTokensPerParam)
	}
	bl := cd.BatchLimit
	rep.Assumptions = append(rep.Assumptions,
		catalog.Assumption{Name: "trainable_tokens", Value: opts.Tokens, Unit: "tokens", Source: "flopcast capex", Note: tokensNote},
		catalog.Assumption{Name: "batch_limit_exponent", Value: bl.Exponent, Unit: bl.Unit, Source: bl.Source, Date: bl.Date,
			Note: fmt.Sprintf("largest useful batch B = %.4g · C^%.4g tokens per step; the global batch is the largest power of two of sequences within it. %s", bl.Coefficient, bl.Exponent, bl.Notes)},
		cd.JobEfficiency.Use("job_efficiency"),
		catalog.Assumption{Name: "trainable_jobs", Value: chips, Unit: "chips", Source: "flopcast capex",
			Note: "each model's job grows in powers of two, within the batch limit and the fleet, while its searched MFU stays within job_efficiency of the best; the fleet runs fleet/job such jobs at once; the budget is all spent up front"})
	return rep, nil
}

// fleetMFU predicts the MFU of the representative run on chip.
func (p *planner) fleetMFU(chip hardware.Chip, chips int64) (float64, error) {
	r, err := RepresentativeRun(chip, chips)
	if err != nil {
		return 0, err
	}
	k := jobKey{chip: chip.Name, chips: r.Chips}
	if mfu, ok := p.mfu[k]; ok {
		return mfu, nil
	}
	res, err := p.opts.Search(p.opts.Context, r, search.Options{Fastest: true})
	if err != nil {
		return 0, err
	}
	if len(res.Results) == 0 {
		return 0, fmt.Errorf("no layout of %s on %d × %s fits", r.Model.Name, r.Chips, r.Chip.Name)
	}
	mfu := res.Results[0].MFU
	if !(mfu > 0 && mfu <= 1) {
		return 0, fmt.Errorf("predicted MFU %v is not in (0, 1]", mfu)
	}
	p.mfu[k] = mfu
	return mfu, nil
}

// RunScenario plans every entry of a scenario with the catalog's chips.
func RunScenario(s Scenario, opts Options) ([]*Report, error) {
	return runScenario(s, opts, hardware.LookupChip)
}

func runScenario(s Scenario, opts Options, lookup func(string) (hardware.Chip, bool)) ([]*Report, error) {
	p := newPlanner(opts)
	d, cd := economics.CatalogDefaults(), CatalogDefaults()
	var out []*Report
	for _, e := range s.Entries {
		chip, ok := lookup(e.Chip)
		if !ok {
			return nil, fmt.Errorf("scenario %s: %s: chip %q is not in the catalog", s.Name, e.Company, e.Chip)
		}
		rep, err := p.plan(e.BudgetUSD, chip, d, cd)
		if err != nil {
			return nil, fmt.Errorf("scenario %s: %s: %w", s.Name, e.Company, err)
		}
		rep.Company, rep.Source, rep.ChipReason = e.Company, e.Source, e.ChipReason
		rep.Assumptions = append(rep.Assumptions, catalog.Assumption{Name: "budget_usd", Value: e.BudgetUSD, Unit: "USD", Source: e.Source, Date: e.Date, Note: e.Notes})
		out = append(out, rep)
	}
	return out, nil
}
