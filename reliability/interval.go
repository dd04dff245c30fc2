package reliability

import "math"

// MTTI is a job's mean time to interrupt, in hours, for a failure rate
// lambda per chip-hour on chips chips. Failures of independent chips add, so
// the MTTI falls as 1/chips, as the Llama 3 and Kokolis et al. data show.
func MTTI(lambda float64, chips int) float64 {
	return 1 / (lambda * float64(chips))
}

// Young is Young's (1974) optimal checkpoint interval √(2δM) for a
// checkpoint that takes delta to write and a mean time to interrupt mtti,
// both in the same unit.
func Young(delta, mtti float64) float64 {
	return math.Sqrt(2 * delta * mtti)
}

// Daly is Daly's (2006) higher-order optimum:
// √(2δM)·[1 + ⅓·√(δ/2M) + (1/9)·(δ/2M)] − δ for δ < 2M, and M otherwise.
func Daly(delta, mtti float64) float64 {
	if delta >= 2*mtti {
		return mtti
	}
	x := delta / (2 * mtti)
	return math.Sqrt(2*delta*mtti)*(1+math.Sqrt(x)/3+x/9) - delta
}
