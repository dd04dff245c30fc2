package spec

import (
	"fmt"
)

// Recompute is the activation recompute mode.
type Recompute uint8

// Recompute modes.
const (
	RecomputeNone Recompute = iota
	RecomputeSelective
	RecomputeFull
)

var recomputeNames = [...]string{"none", "selective", "full"}

func (r Recompute) String() string {
	if int(r) < len(recomputeNames) {
		return recomputeNames[r]
	}
	return fmt.Sprintf("Recompute(%d)", r)
}

// ParseRecompute maps a name to a mode.
func ParseRecompute(s string) (Recompute, error) {
	for i, n := range recomputeNames {
		if s == n {
			return Recompute(i), nil
		}
	}
	return 0, &FieldError{Field: "parallel.recompute", Value: s, Allowed: "none, selective, full"}
}

// MarshalText implements encoding.TextMarshaler.
func (r Recompute) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (r *Recompute) UnmarshalText(b []byte) error {
	v, err := ParseRecompute(string(b))
	if err != nil {
		return err
	}
	*r = v
	return nil
}

// Layout is one fully specified parallel layout. It is a plain value so the
// estimator and the search can copy it freely.
type Layout struct {
	TP               int       `json:"tp"`
	PP               int       `json:"pp"`
	DP               int       `json:"dp"`
	CP               int       `json:"cp"`
	EP               int       `json:"ep"`
	VPP              int       `json:"vpp"`
	MicroBatch       int       `json:"micro_batch"`
	ZeRO             int       `json:"zero"`
	Recompute        Recompute `json:"recompute"`
	SequenceParallel bool      `json:"sequence_parallel"`
}

// MicroBatches is the number of micro-batches per pipeline per step.
func (l Layout) MicroBatches(globalBatch int) int {
	return globalBatch / (l.DP * l.MicroBatch)
}

func (l Layout) String() string {
	sp := ""
	if l.SequenceParallel {
		sp = " sp"
	}
	return fmt.Sprintf("tp%d pp%d dp%d cp%d ep%d vpp%d mb%d zero%d %s%s",
		l.TP, l.PP, l.DP, l.CP, l.EP, l.VPP, l.MicroBatch, l.ZeRO, l.Recompute, sp)
}
