package capex

import (
	"fmt"
	"math"
	"sync"

	"github.com/flopcast/flopcast/catalog"
)

// Defaults are capex planning's catalog figures (catalog/capex.yaml,
// section capex).
type Defaults struct {
	// CapexSplit is the published split to compare a plan's split with.
	CapexSplit CapexShare `yaml:"capex_split"`
	// FallbackMFU is used for a model the layout search finds no job for.
	FallbackMFU catalog.Figure `yaml:"fallback_mfu"`
	// BatchLimit bounds a job's global batch, and so its size.
	BatchLimit BatchLaw `yaml:"batch_limit"`
	// JobEfficiency is the share of the best MFU a job keeps as it grows.
	JobEfficiency catalog.Figure `yaml:"job_efficiency"`
}

// BatchLaw is a power law for the largest useful batch, in tokens per
// optimizer step, of a run of C FLOPs: Coefficient · C^Exponent.
type BatchLaw struct {
	Coefficient float64 `yaml:"coefficient" json:"coefficient"`
	Exponent    float64 `yaml:"exponent" json:"exponent"`
	Unit        string  `yaml:"unit" json:"unit"`
	Source      string  `yaml:"source" json:"source"`
	Date        string  `yaml:"date" json:"date"`
	Confidence  string  `yaml:"confidence,omitempty" json:"confidence,omitempty"`
	Notes       string  `yaml:"notes,omitempty" json:"notes,omitempty"`
}

// Tokens is the batch limit, in tokens per step, for a run of flop FLOPs.
func (b BatchLaw) Tokens(flop float64) float64 { return b.Coefficient * math.Pow(flop, b.Exponent) }

// CapexShare is a published split of AI data-center capex.
type CapexShare struct {
	ComputeHardware float64 `yaml:"compute_hardware" json:"compute_hardware"`
	PowerCooling    float64 `yaml:"power_cooling" json:"power_cooling"`
	LandSite        float64 `yaml:"land_site" json:"land_site"`
	Source          string  `yaml:"source" json:"source"`
	Date            string  `yaml:"date" json:"date"`
	Confidence      string  `yaml:"confidence,omitempty" json:"confidence,omitempty"`
	Notes           string  `yaml:"notes,omitempty" json:"notes,omitempty"`
}

// Scenario is a named set of budgets to plan side by side.
type Scenario struct {
	Name        string          `yaml:"name" json:"name"`
	Description string          `yaml:"description" json:"description"`
	Entries     []ScenarioEntry `yaml:"entries" json:"entries"`
}

// ScenarioEntry is one company's budget and the chip it spends it on.
type ScenarioEntry struct {
	Company    string  `yaml:"company" json:"company"`
	BudgetUSD  float64 `yaml:"budget_usd" json:"budget_usd"`
	Chip       string  `yaml:"chip" json:"chip"`
	Source     string  `yaml:"source" json:"source"`
	Date       string  `yaml:"date" json:"date"`
	Notes      string  `yaml:"notes,omitempty" json:"notes,omitempty"`
	ChipReason string  `yaml:"chip_reason" json:"chip_reason"`
}

type file struct {
	Capex     Defaults   `yaml:"capex"`
	Scenarios []Scenario `yaml:"scenarios"`
}

var loaded = sync.OnceValues(func() (*file, error) {
	var f file
	if err := catalog.Decode("capex.yaml", &f); err != nil {
		return nil, err
	}
	d := f.Capex
	s := d.CapexSplit
	if sum := s.ComputeHardware + s.PowerCooling + s.LandSite; sum < 0.999 || sum > 1.001 || s.Source == "" {
		return nil, fmt.Errorf("catalog/capex.yaml: capex.capex_split: shares add to %v, want 1, with a source", sum)
	}
	for name, fg := range map[string]catalog.Figure{"fallback_mfu": d.FallbackMFU, "job_efficiency": d.JobEfficiency} {
		if !(fg.Value > 0 && fg.Value <= 1) || fg.Source == "" || fg.Date == "" {
			return nil, fmt.Errorf("catalog/capex.yaml: capex.%s: needs a value in (0, 1], a source and a date", name)
		}
	}
	if b := d.BatchLimit; !(b.Coefficient > 0) || !(b.Exponent > 0 && b.Exponent < 1) || b.Source == "" {
		return nil, fmt.Errorf("catalog/capex.yaml: capex.batch_limit: needs a positive coefficient, an exponent in (0, 1) and a source")
	}
	for _, sc := range f.Scenarios {
		if len(sc.Entries) == 0 {
			return nil, fmt.Errorf("catalog/capex.yaml: scenario %s has no entries", sc.Name)
		}
		for _, e := range sc.Entries {
			if !(e.BudgetUSD > 0) || e.Chip == "" || e.Source == "" || e.Date == "" || e.ChipReason == "" {
				return nil, fmt.Errorf("catalog/capex.yaml: scenario %s: %s: needs budget_usd, chip, source, date and chip_reason", sc.Name, e.Company)
			}
		}
	}
	return &f, nil
})

// CatalogDefaults returns the built-in capex figures.
func CatalogDefaults() Defaults { return catalog.Must(loaded()).Capex }

// Scenarios lists the built-in capex scenarios.
func Scenarios() []Scenario { return catalog.Must(loaded()).Scenarios }

// LookupScenario finds a built-in scenario by name.
func LookupScenario(name string) (Scenario, bool) {
	for _, s := range Scenarios() {
		if s.Name == name {
			return s, true
		}
	}
	return Scenario{}, false
}
