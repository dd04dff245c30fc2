package catalog

// Figure is one sourced number of the catalog: a default with its unit,
// where it comes from, when, and how sure the source is.
type Figure struct {
	Value      float64 `yaml:"value" json:"value"`
	Unit       string  `yaml:"unit" json:"unit"`
	Source     string  `yaml:"source" json:"source"`
	Date       string  `yaml:"date" json:"date"`
	Confidence string  `yaml:"confidence,omitempty" json:"confidence,omitempty"`
	Notes      string  `yaml:"notes,omitempty" json:"notes,omitempty"`
}

// Assumption is one input a result used, where it came from, and whether
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

// Use records the catalog figure f as used under name.
func (f Figure) Use(name string) Assumption {
	return Assumption{Name: name, Value: f.Value, Unit: f.Unit, Source: f.Source, Date: f.Date}
}

// Pick returns the override, or else the catalog default def, and records
// which it used under name in as.
func Pick(override *float64, def Figure, name string, as *[]Assumption) float64 {
	if override != nil {
		*as = append(*as, Given(name, *override, def.Unit))
		return *override
	}
	*as = append(*as, def.Use(name))
	return def.Value
}

// Given records a value the run set itself (run.yaml).
func Given(name string, v float64, unit string) Assumption {
	return Assumption{Name: name, Value: v, Unit: unit, Source: "run.yaml", Overridden: true}
}
