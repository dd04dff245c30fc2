package web

import (
	"math"
	"strconv"
)

func appendInt(b []byte, v int) []byte { return strconv.AppendInt(b, int64(v), 10) }

// appendFloat writes a JSON number with 7 significant digits (microseconds
// on a 10 s step), and 0 for values JSON cannot hold.
func appendFloat(b []byte, v float64) []byte {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return append(b, '0')
	}
	return strconv.AppendFloat(b, v, 'g', 7, 64)
}
