// Package calibrate turns a GPU measurement (the JSON that
// tools/gpu/measure.py writes) into a chip profile: the GEMM, attention and
// memory efficiencies that the estimator uses in place of the catalog's
// datasheet-anchored defaults.
//
// The fitted model is hardware.GEMMModel, with the same formulas the
// estimator evaluates:
//
//	GEMM       t = 2mnk / (peak × MaxEff × q) + OverheadUs
//	           q = tiles / (waves × Units), tiles = ⌈m/TileM⌉·⌈n/TileN⌉, waves = ⌈tiles/Units⌉
//	attention  fwd = F / (peak × AttnMaxEff × s/(s+AttnHalfSeq)),  F = 2·b·heads·s²·d (causal)
//	           bwd = 2.5F / (peak × AttnMaxEff × AttnBwdRatio × s/(s+AttnHalfSeq))
//	memory     MemEff = measured copy bandwidth / datasheet HBM bandwidth
//
// Every fit minimises the squared relative error of the predicted times.
// With the other parameters held, each model is linear in the reciprocal
// efficiency and the overhead, so the fits are small closed-form least
// squares problems with bounds (0 < efficiency ≤ 1, overhead ≥ 0).
package calibrate
