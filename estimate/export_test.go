package estimate

// Prepare is prepare for the package's external tests.
var Prepare = prepare

// SetEagerHost sets the host time per eager kernel, µs: forward (and
// recomputed forward) and backward.
func SetEagerHost(e *Estimator, fwd, bwd float64) {
	e.hostFwd, e.hostBwd = fwd*1e-6, bwd*1e-6
}
