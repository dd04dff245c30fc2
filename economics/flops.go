package economics

// ChinchillaTokensPerParam is the compute-optimal number of training tokens
// per parameter of Hoffmann et al. 2022 (Chinchilla), the default run length
// where none is given.
const ChinchillaTokensPerParam = 20

// HoursPerYear is a Julian year, 365.25 days.
const HoursPerYear = 365.25 * 24 // a float constant: HoursPerYear/24 is 365.25, not 365

// Span is the failure-free length of a run: tokens at a steady throughput
// on a number of chips.
type Span struct {
	Days      float64 `json:"days"`
	ChipHours float64 `json:"chip_hours"`
}

// TrainSpan is how long tokens take at tokensPerS on chips chips, with no
// time lost to failures. It is zero when tokensPerS is not positive.
func TrainSpan(tokens, tokensPerS float64, chips int) Span {
	if !(tokensPerS > 0) {
		return Span{}
	}
	s := tokens / tokensPerS
	return Span{Days: s / 86400, ChipHours: s / 3600 * float64(chips)}
}

// RunsPerYear is how many runs of the span fit in a year back to back.
func (s Span) RunsPerYear() float64 {
	if !(s.Days > 0) {
		return 0
	}
	return HoursPerYear / 24 / s.Days
}
