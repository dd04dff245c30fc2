package model

import (
	"fmt"
	"sort"
	"sync"

	"github.com/flopcast/flopcast/catalog"
)

type modelFile struct {
	Models []Config `yaml:"models"`
}

var models = sync.OnceValues(func() ([]Config, error) {
	var f modelFile
	if err := catalog.Decode("models.yaml", &f); err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for i := range f.Models {
		m := &f.Models[i]
		if seen[m.Name] {
			return nil, fmt.Errorf("catalog/models.yaml: model %q listed twice", m.Name)
		}
		seen[m.Name] = true
		if err := m.Validate(); err != nil {
			return nil, fmt.Errorf("catalog/models.yaml: %s: %w", m.Name, err)
		}
		m.Normalize()
	}
	return f.Models, nil
})

// Catalog returns the built-in models, in catalog order.
func Catalog() []Config {
	m, err := models()
	if err != nil {
		panic(err) // the embedded catalog is part of the program
	}
	return m
}

// Names lists the catalog's model names, sorted.
func Names() []string {
	var n []string
	for _, m := range Catalog() {
		n = append(n, m.Name)
	}
	sort.Strings(n)
	return n
}

// Lookup finds a catalog model by name.
func Lookup(name string) (Config, bool) {
	for _, m := range Catalog() {
		if m.Name == name {
			c := m
			if c.MoE != nil {
				moe := *c.MoE
				c.MoE = &moe
			}
			if c.MLA != nil {
				mla := *c.MLA
				c.MLA = &mla
			}
			return c, true
		}
	}
	return Config{}, false
}
