package hardware

import (
	"fmt"
	"sort"
	"sync"

	"github.com/flopcast/flopcast/catalog"
)

type chipFile struct {
	Chips []Chip `yaml:"chips"`
}

var chips = sync.OnceValues(func() ([]Chip, error) {
	var f chipFile
	if err := catalog.Decode("chips.yaml", &f); err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for i := range f.Chips {
		c := &f.Chips[i]
		if seen[c.Name] {
			return nil, fmt.Errorf("catalog/chips.yaml: chip %q listed twice", c.Name)
		}
		seen[c.Name] = true
		if err := c.GEMM.Check("catalog/chips.yaml: " + c.Name + ".gemm"); err != nil {
			return nil, err
		}
		for _, check := range [...]func() error{c.checkResidualDerate, c.checkCommShare, c.checkMulticast, c.checkBlockScaled} {
			if err := check(); err != nil {
				return nil, fmt.Errorf("catalog/chips.yaml: %s: %w", c.Name, err)
			}
		}
	}
	return f.Chips, nil
})

// Chips returns the built-in chip catalog, in catalog order.
func Chips() []Chip {
	c, err := chips()
	if err != nil {
		panic(err) // the embedded catalog is part of the program
	}
	return c
}

// ChipNames lists the catalog's chip names, sorted.
func ChipNames() []string {
	var n []string
	for _, c := range Chips() {
		n = append(n, c.Name)
	}
	sort.Strings(n)
	return n
}

// LookupChip finds a chip by catalog name.
func LookupChip(name string) (Chip, bool) {
	for _, c := range Chips() {
		if c.Name == name {
			return c, true
		}
	}
	return Chip{}, false
}

type profileFile struct {
	Profile Profile `yaml:"profile"`
}

// BuiltinProfile loads a measured profile shipped in the catalog
// (catalog/profiles/NAME.yaml).
func BuiltinProfile(name string) (*Profile, error) {
	var f profileFile
	if err := catalog.Decode("profiles/"+name+".yaml", &f); err != nil {
		return nil, err
	}
	return &f.Profile, nil
}

// ParseProfile strictly decodes a profile file written by flopcast calibrate.
func ParseProfile(b []byte) (*Profile, error) {
	var f profileFile
	if err := catalog.DecodeStrict(b, &f); err != nil {
		return nil, err
	}
	if err := f.Profile.GEMM.Check("profile.gemm"); err != nil {
		return nil, err
	}
	return &f.Profile, nil
}
