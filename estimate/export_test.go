package estimate

// Prepare is prepare for the package's external tests.
var Prepare = prepare

// SetEagerHost sets the host time per eager kernel, µs: forward, backward
// and recomputed forward.
func SetEagerHost(e *Estimator, fwd, bwd, recompute float64) {
	e.hostFwd, e.hostBwd, e.hostRecompute = fwd*1e-6, bwd*1e-6, recompute*1e-6
}
