package hardware

import "math"

// chipSpeedSigma is the relative standard deviation of the speed of
// nominally identical accelerators running the same work. Sinha et al.,
// "Not All GPUs Are Created Equal: Characterizing Variability in
// Large-Scale, Accelerator-Rich Systems" (SC'22, arXiv 2208.11035) measured
// more than 90% of the GPUs of five clusters (Summit, Vortex, Frontera,
// Longhorn, Corona; NVIDIA and AMD; air and water cooled) and report an 8%
// average performance variation between the fastest and slowest GPU of a
// cluster, from power management and manufacturing variability. Read as the
// range of about a thousand normal draws (2 × 3.24σ), that is σ ≈ 1.2%. The
// same σ is taken for every chip family (an assumption: TPU and Trainium
// were not measured).
const chipSpeedSigma = 0.08 / (2 * 3.24)

// SlowestOf is the fraction by which the slowest of n chips is slower than
// the average one: σ times the expected maximum of n standard normal draws
// (Blom's approximation, Φ⁻¹((n − 0.375)/(n + 0.25))). A synchronous
// training step runs at the pace of its slowest chip; one chip pays nothing.
func SlowestOf(n int) float64 {
	return chipSpeedSigma * MaxOfNormals(float64(n))
}

// MaxOfNormals is the expected maximum of n independent standard normal
// draws, by Blom's approximation Φ⁻¹((n − 0.375)/(n + 0.25)) (Blom 1958,
// Statistical Estimates and Transformed Beta-Variables); 0 for n ≤ 1.
func MaxOfNormals(n float64) float64 {
	if n <= 1 {
		return 0
	}
	p := (n - 0.375) / (n + 0.25)
	return math.Sqrt2 * math.Erfinv(2*p-1)
}
