package economics

import (
	"fmt"
	"sync"

	"github.com/flopcast/flopcast/catalog"
)

// Defaults are the catalog's economic figures (catalog/economics.yaml,
// sections economics and server_network_fraction_by_chip).
type Defaults struct {
	PUE                  catalog.Figure `yaml:"pue"`
	ElectricityUSDPerMWh catalog.Figure `yaml:"electricity_usd_per_mwh"`
	GridKgCO2PerKWh      catalog.Figure `yaml:"grid_kg_co2_per_kwh"`
	DepreciationYears    catalog.Figure `yaml:"depreciation_years"`
	FacilityLifeYears    catalog.Figure `yaml:"facility_life_years"`
	// FacilityUSDPerMW is per MW of IT (critical) load, as CBRE quotes it.
	FacilityUSDPerMW catalog.Figure `yaml:"facility_usd_per_mw"`
	// ServerNetworkFraction is servers, CPUs, switches and NICs per chip, as
	// a fraction of the chip's purchase price.
	ServerNetworkFraction catalog.Figure `yaml:"server_network_fraction"`
	IdleFractionOfTDP     catalog.Figure `yaml:"idle_fraction_of_tdp"`
	HostFractionOfTDP     catalog.Figure `yaml:"host_fraction_of_tdp"`
}

// ChipFraction is a per-chip server-network fraction, for chips whose
// catalog price already holds part of the server.
type ChipFraction struct {
	Chip     string         `yaml:"chip" json:"chip"`
	Fraction catalog.Figure `yaml:"fraction" json:"fraction"`
}

type file struct {
	Economics           Defaults       `yaml:"economics"`
	ServerNetworkByChip []ChipFraction `yaml:"server_network_fraction_by_chip"`
}

var loaded = sync.OnceValues(func() (*file, error) {
	var f file
	if err := catalog.Decode("economics.yaml", &f); err != nil {
		return nil, err
	}
	d := &f.Economics
	for _, c := range []struct {
		name string
		f    catalog.Figure
	}{
		{"pue", d.PUE}, {"electricity_usd_per_mwh", d.ElectricityUSDPerMWh}, {"grid_kg_co2_per_kwh", d.GridKgCO2PerKWh},
		{"depreciation_years", d.DepreciationYears}, {"facility_life_years", d.FacilityLifeYears},
		{"facility_usd_per_mw", d.FacilityUSDPerMW}, {"server_network_fraction", d.ServerNetworkFraction},
		{"idle_fraction_of_tdp", d.IdleFractionOfTDP}, {"host_fraction_of_tdp", d.HostFractionOfTDP},
	} {
		if !(c.f.Value > 0) || c.f.Source == "" || c.f.Date == "" {
			return nil, fmt.Errorf("catalog/economics.yaml: economics.%s: needs a positive value, a source and a date", c.name)
		}
	}
	if d.PUE.Value < 1 {
		return nil, fmt.Errorf("catalog/economics.yaml: economics.pue: %v is below 1", d.PUE.Value)
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
	return &f, nil
})

// CatalogDefaults returns the built-in economic defaults.
func CatalogDefaults() Defaults { return catalog.Must(loaded()).Economics }

// ServerNetworkFor is the server-network cost of chip as a fraction
// of its purchase price: the chip's own figure where the catalog has one,
// else the default.
func (d Defaults) ServerNetworkFor(chip string) catalog.Figure {
	for _, e := range catalog.Must(loaded()).ServerNetworkByChip {
		if e.Chip == chip {
			return e.Fraction
		}
	}
	return d.ServerNetworkFraction
}
