package reliability

import (
	"fmt"
	"sync"

	"github.com/flopcast/flopcast/catalog"
)

// Figure is one catalog default with its provenance.
type Figure struct {
	Value      float64 `yaml:"value" json:"value"`
	Unit       string  `yaml:"unit" json:"unit"`
	Source     string  `yaml:"source" json:"source"`
	Date       string  `yaml:"date" json:"date"`
	Confidence string  `yaml:"confidence,omitempty" json:"confidence,omitempty"`
	Notes      string  `yaml:"notes,omitempty" json:"notes,omitempty"`
}

// Assumption is one input the model used, where it came from, and whether
// the run overrode the catalog's value.
type Assumption struct {
	Name       string  `json:"name"`
	Value      float64 `json:"value"`
	Unit       string  `json:"unit"`
	Source     string  `json:"source"`
	Date       string  `json:"date,omitempty"`
	Overridden bool    `json:"overridden,omitempty"`
	// Note explains a modelling choice that has no single number.
	Note string `json:"note,omitempty"`
}

// FromFigure records a catalog figure as used under name.
func FromFigure(name string, f Figure) Assumption {
	return Assumption{Name: name, Value: f.Value, Unit: f.Unit, Source: f.Source, Date: f.Date}
}

// Given records a value the run set itself.
func Given(name string, v float64, unit string) Assumption {
	return Assumption{Name: name, Value: v, Unit: unit, Source: "run.yaml", Overridden: true}
}

// Defaults are the catalog's reliability figures (catalog/economics.yaml,
// section reliability).
type Defaults struct {
	// FailuresPerChipHour is the rate of unexpected interruptions, the one
	// the model uses.
	FailuresPerChipHour Figure `yaml:"failures_per_chip_hour"`
	// InterruptionsPerChipHour counts planned ones too (informational).
	InterruptionsPerChipHour Figure `yaml:"interruptions_per_chip_hour"`
	RestartS                 Figure `yaml:"restart_s"`
	// StorageGBpsPerChip is the checkpoint write bandwidth per chip of the
	// cluster; the aggregate grows with the cluster.
	StorageGBpsPerChip Figure `yaml:"storage_gbps_per_chip"`
	// CheckpointBytesPerParam is keyed by training recipe.
	CheckpointBytesPerParam map[string]Figure `yaml:"checkpoint_bytes_per_param"`
}

type file struct {
	Reliability Defaults `yaml:"reliability"`
	// The other sections belong to package economics, which checks them.
	Economics           any `yaml:"economics"`
	ServerNetworkByChip any `yaml:"server_network_fraction_by_chip"`
	Scenarios           any `yaml:"scenarios"`
}

var defaults = sync.OnceValues(func() (Defaults, error) {
	var f file
	if err := catalog.Decode("economics.yaml", &f); err != nil {
		return Defaults{}, err
	}
	d := f.Reliability
	for name, v := range map[string]Figure{
		"failures_per_chip_hour": d.FailuresPerChipHour,
		"storage_gbps_per_chip":  d.StorageGBpsPerChip,
	} {
		if v.Value <= 0 || v.Source == "" {
			return d, fmt.Errorf("catalog/economics.yaml: reliability.%s: needs a positive value and a source", name)
		}
	}
	if d.RestartS.Value < 0 || d.RestartS.Source == "" {
		return d, fmt.Errorf("catalog/economics.yaml: reliability.restart_s: needs a non-negative value and a source")
	}
	if len(d.CheckpointBytesPerParam) == 0 {
		return d, fmt.Errorf("catalog/economics.yaml: reliability.checkpoint_bytes_per_param: empty")
	}
	return d, nil
})

// CatalogDefaults returns the built-in reliability defaults.
func CatalogDefaults() Defaults {
	d, err := defaults()
	if err != nil {
		panic(err) // the embedded catalog is part of the program
	}
	return d
}
