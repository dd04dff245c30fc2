package search

import "github.com/flopcast/flopcast/spec"

// Resolve resolves a run for searching. A search needs the given knobs to
// be sound, not the default layout (dp = chips may not divide the global
// batch while other layouts are fine); spec.Resolve checks exactly that,
// so Resolve is spec.Resolve, kept as the search's entry point.
func Resolve(run *spec.Run) (*spec.Resolved, error) { return spec.Resolve(run) }
