package economics

import (
	"fmt"
	"sync"

	"github.com/flopcast/flopcast/catalog"
	"github.com/flopcast/flopcast/reliability"
)

// Figure is one catalog default with its provenance.
type Figure = reliability.Figure

// Assumption is one input a result used and where it came from.
type Assumption = reliability.Assumption

// Defaults are the catalog's economic figures (catalog/economics.yaml,
// section economics).
type Defaults struct {
	PUE                  Figure `yaml:"pue"`
	ElectricityUSDPerMWh Figure `yaml:"electricity_usd_per_mwh"`
	GridKgCO2PerKWh      Figure `yaml:"grid_kg_co2_per_kwh"`
	DepreciationYears    Figure `yaml:"depreciation_years"`
	FacilityLifeYears    Figure `yaml:"facility_life_years"`
	// FacilityUSDPerMW is per MW of IT (critical) load, as CBRE quotes it.
	FacilityUSDPerMW Figure `yaml:"facility_usd_per_mw"`
	// ServerNetworkFraction is servers, CPUs, switches and NICs per chip, as
	// a fraction of the chip's purchase price.
	ServerNetworkFraction Figure     `yaml:"server_network_fraction"`
	IdleFractionOfTDP     Figure     `yaml:"idle_fraction_of_tdp"`
	HostFractionOfTDP     Figure     `yaml:"host_fraction_of_tdp"`
	CapexSplit            CapexShare `yaml:"capex_split"`
	FallbackMFU           Figure     `yaml:"fallback_mfu"`
}

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

// ChipFraction is a per-chip server-network fraction, for chips whose
// catalog price already holds part of the server.
type ChipFraction struct {
	Chip     string `yaml:"chip" json:"chip"`
	Fraction Figure `yaml:"fraction" json:"fraction"`
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
	Economics           Defaults       `yaml:"economics"`
	ServerNetworkByChip []ChipFraction `yaml:"server_network_fraction_by_chip"`
	Scenarios           []Scenario     `yaml:"scenarios"`
	Reliability         any            `yaml:"reliability"` // package reliability checks it
}

var loaded = sync.OnceValues(func() (*file, error) {
	var f file
	if err := catalog.Decode("economics.yaml", &f); err != nil {
		return nil, err
	}
	d := &f.Economics
	for _, c := range []struct {
		name string
		f    Figure
	}{
		{"pue", d.PUE}, {"electricity_usd_per_mwh", d.ElectricityUSDPerMWh}, {"grid_kg_co2_per_kwh", d.GridKgCO2PerKWh},
		{"depreciation_years", d.DepreciationYears}, {"facility_life_years", d.FacilityLifeYears},
		{"facility_usd_per_mw", d.FacilityUSDPerMW}, {"server_network_fraction", d.ServerNetworkFraction},
		{"idle_fraction_of_tdp", d.IdleFractionOfTDP}, {"host_fraction_of_tdp", d.HostFractionOfTDP},
		{"fallback_mfu", d.FallbackMFU},
	} {
		if !(c.f.Value > 0) || c.f.Source == "" || c.f.Date == "" {
			return nil, fmt.Errorf("catalog/economics.yaml: economics.%s: needs a positive value, a source and a date", c.name)
		}
	}
	if d.PUE.Value < 1 {
		return nil, fmt.Errorf("catalog/economics.yaml: economics.pue: %v is below 1", d.PUE.Value)
	}
	s := d.CapexSplit
	if sum := s.ComputeHardware + s.PowerCooling + s.LandSite; sum < 0.999 || sum > 1.001 || s.Source == "" {
		return nil, fmt.Errorf("catalog/economics.yaml: economics.capex_split: shares add to %v, want 1, with a source", sum)
	}
	seen := map[string]bool{}
	for _, e := range f.ServerNetworkByChip {
		if seen[e.Chip] {
			return nil, fmt.Errorf("catalog/economics.yaml: server_network_fraction_by_chip: %q listed twice", e.Chip)
		}
		seen[e.Chip] = true
		if fg := e.Fraction; fg.Value < 0 || fg.Source == "" || fg.Date == "" {
			return nil, fmt.Errorf("catalog/economics.yaml: server_network_fraction_by_chip: %s: needs a non-negative value, a source and a date", e.Chip)
		}
	}
	for _, sc := range f.Scenarios {
		if len(sc.Entries) == 0 {
			return nil, fmt.Errorf("catalog/economics.yaml: scenario %s has no entries", sc.Name)
		}
		for _, e := range sc.Entries {
			if !(e.BudgetUSD > 0) || e.Chip == "" || e.Source == "" || e.Date == "" || e.ChipReason == "" {
				return nil, fmt.Errorf("catalog/economics.yaml: scenario %s: %s: needs budget_usd, chip, source, date and chip_reason", sc.Name, e.Company)
			}
		}
	}
	return &f, nil
})

func mustLoad() *file {
	f, err := loaded()
	if err != nil {
		panic(err) // the embedded catalog is part of the program
	}
	return f
}

// CatalogDefaults returns the built-in economic defaults.
func CatalogDefaults() Defaults { return mustLoad().Economics }

// serverNetworkFraction is the server-network cost of chip as a fraction
// of its purchase price: the chip's own figure where the catalog has one,
// else the default.
func (d Defaults) serverNetworkFraction(chip string) Figure {
	for _, e := range mustLoad().ServerNetworkByChip {
		if e.Chip == chip {
			return e.Fraction
		}
	}
	return d.ServerNetworkFraction
}

// Scenarios lists the built-in capex scenarios.
func Scenarios() []Scenario { return mustLoad().Scenarios }

// LookupScenario finds a built-in scenario by name.
func LookupScenario(name string) (Scenario, bool) {
	for _, s := range Scenarios() {
		if s.Name == name {
			return s, true
		}
	}
	return Scenario{}, false
}
