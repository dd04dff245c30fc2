// Package format holds the small number formatting shared by flopcast's
// reports.
package format

import (
	"math"
	"strconv"
	"strings"
)

// Thousands writes n with comma thousands separators: 1234567 → 1,234,567.
func Thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// ThousandsF rounds v to an integer and writes it with separators.
func ThousandsF(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) || math.Abs(v) > 9e18 {
		return strconv.FormatFloat(v, 'g', 4, 64)
	}
	return Thousands(int64(math.Round(v)))
}
