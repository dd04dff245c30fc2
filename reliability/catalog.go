package reliability

import (
	"fmt"
	"strings"
	"sync"

	"github.com/flopcast/flopcast/catalog"
)

// Site is a failure-rate profile: the interruption rate one published
// source measured on its clusters.
type Site struct {
	Name                string         `yaml:"name" json:"name"`
	Description         string         `yaml:"description" json:"description"`
	FailuresPerChipHour catalog.Figure `yaml:"failures_per_chip_hour" json:"failures_per_chip_hour"`
}

// Defaults are the catalog's reliability figures (catalog/reliability.yaml).
type Defaults struct {
	// Site names the profile a run gets when it names none.
	Site string `yaml:"site"`
	// Sites are the published failure rates; they span about 6x.
	Sites []Site `yaml:"sites"`
	// InterruptionsPerChipHour counts planned ones too (informational).
	InterruptionsPerChipHour catalog.Figure `yaml:"interruptions_per_chip_hour"`
	RestartS                 catalog.Figure `yaml:"restart_s"`
	// StorageGBpsPerChip is the checkpoint write bandwidth per chip of the
	// cluster; the aggregate grows with the cluster.
	StorageGBpsPerChip catalog.Figure `yaml:"storage_gbps_per_chip"`
	// CheckpointBytesPerParam is keyed by training recipe.
	CheckpointBytesPerParam map[string]catalog.Figure `yaml:"checkpoint_bytes_per_param"`
}

// LookupSite finds a site profile by name.
func (d Defaults) LookupSite(name string) (Site, bool) {
	for _, s := range d.Sites {
		if s.Name == name {
			return s, true
		}
	}
	return Site{}, false
}

// SiteNames lists the site profiles, comma-separated.
func (d Defaults) SiteNames() string {
	var n []string
	for _, s := range d.Sites {
		n = append(n, s.Name)
	}
	return strings.Join(n, ", ")
}

// Spread is the lowest- and the highest-rate site: the ends of the range
// whole-run figures carry.
func (d Defaults) Spread() (lo, hi Site) {
	for i, s := range d.Sites {
		if i == 0 || s.FailuresPerChipHour.Value < lo.FailuresPerChipHour.Value {
			lo = s
		}
		if i == 0 || s.FailuresPerChipHour.Value > hi.FailuresPerChipHour.Value {
			hi = s
		}
	}
	return lo, hi
}

type file struct {
	Reliability Defaults `yaml:"reliability"`
}

var defaults = sync.OnceValues(func() (Defaults, error) {
	var f file
	if err := catalog.Decode("reliability.yaml", &f); err != nil {
		return Defaults{}, err
	}
	d := f.Reliability
	if len(d.Sites) == 0 {
		return d, fmt.Errorf("catalog/reliability.yaml: reliability.sites: empty")
	}
	for _, s := range d.Sites {
		if v := s.FailuresPerChipHour; v.Value <= 0 || v.Source == "" || s.Name == "" {
			return d, fmt.Errorf("catalog/reliability.yaml: reliability.sites: %q needs a name and a positive failures_per_chip_hour with a source", s.Name)
		}
	}
	if _, ok := d.LookupSite(d.Site); !ok {
		return d, fmt.Errorf("catalog/reliability.yaml: reliability.site: %q is not one of the sites (%s)", d.Site, d.SiteNames())
	}
	if v := d.StorageGBpsPerChip; v.Value <= 0 || v.Source == "" {
		return d, fmt.Errorf("catalog/reliability.yaml: reliability.storage_gbps_per_chip: needs a positive value and a source")
	}
	if d.RestartS.Value < 0 || d.RestartS.Source == "" {
		return d, fmt.Errorf("catalog/reliability.yaml: reliability.restart_s: needs a non-negative value and a source")
	}
	if len(d.CheckpointBytesPerParam) == 0 {
		return d, fmt.Errorf("catalog/reliability.yaml: reliability.checkpoint_bytes_per_param: empty")
	}
	return d, nil
})

// CatalogDefaults returns the built-in reliability defaults.
func CatalogDefaults() Defaults { return catalog.Must(defaults()) }
