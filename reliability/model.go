package reliability

import (
	"fmt"
	"github.com/flopcast/flopcast"
	"math"

	"github.com/flopcast/flopcast/spec"
)

// Model is the failure model of one job, with every input resolved.
type Model struct {
	Chips               int     `json:"chips"`
	FailuresPerChipHour float64 `json:"failures_per_chip_hour"`
	MTTIHours           float64 `json:"mtti_h"`
	Params              float64 `json:"params"`
	CheckpointBytes     float64 `json:"checkpoint_bytes"`
	// StorageGBps is the aggregate write bandwidth; 0 when the run gave the
	// write time itself.
	StorageGBps         float64 `json:"storage_gbps,omitempty"`
	CheckpointWriteS    float64 `json:"checkpoint_write_s"`
	CheckpointIntervalS float64 `json:"checkpoint_interval_s"`
	// IntervalRule says where the interval came from: "daly" or "given".
	IntervalRule string       `json:"interval_rule"`
	RestartS     float64      `json:"restart_s"`
	Assumptions  []Assumption `json:"assumptions,omitempty"`
}

// New builds the failure model of r from the catalog defaults and the run's
// reliability overrides.
func New(r *spec.Resolved) (*Model, error) { return NewWith(r, CatalogDefaults()) }

// NewWith is New with explicit defaults.
func NewWith(r *spec.Resolved, d Defaults) (*Model, error) {
	if r.Chips <= 0 {
		return nil, &flopcast.FieldError{Field: "cluster.chips", Value: r.Chips, Allowed: "a positive integer"}
	}
	o := r.Reliability
	m := &Model{Chips: r.Chips}
	if err := spec.CheckReliability(&o); err != nil {
		return nil, err
	}

	switch {
	case o.MTTIHours != nil:
		m.MTTIHours = *o.MTTIHours
		m.FailuresPerChipHour = 1 / (m.MTTIHours * float64(r.Chips))
		m.Assumptions = append(m.Assumptions, Given("mtti_h", m.MTTIHours, "h"))
	case o.FailuresPerChipHour != nil:
		m.FailuresPerChipHour = *o.FailuresPerChipHour
		m.MTTIHours = MTTI(m.FailuresPerChipHour, r.Chips)
		m.Assumptions = append(m.Assumptions, Given("failures_per_chip_hour", m.FailuresPerChipHour, "interruptions per chip-hour"))
	default:
		m.FailuresPerChipHour = d.FailuresPerChipHour.Value
		m.MTTIHours = MTTI(m.FailuresPerChipHour, r.Chips)
		m.Assumptions = append(m.Assumptions, FromFigure("failures_per_chip_hour", d.FailuresPerChipHour))
	}

	recipe := r.Training.Recipe
	if recipe == "" {
		recipe = spec.RecipeMegatron
	}
	bpp, ok := d.CheckpointBytesPerParam[string(recipe)]
	if !ok {
		return nil, &flopcast.FieldError{Field: "training.recipe", Value: recipe, Allowed: "megatron, pytorch-amp"}
	}
	mc := r.Model
	m.Params = mc.Params()
	m.CheckpointBytes = m.Params * bpp.Value

	if o.CheckpointWriteS != nil {
		m.CheckpointWriteS = *o.CheckpointWriteS
		m.Assumptions = append(m.Assumptions, Given("checkpoint_write_s", m.CheckpointWriteS, "s"))
	} else {
		m.Assumptions = append(m.Assumptions, FromFigure("checkpoint_bytes_per_param", bpp))
		if o.StorageGBps != nil {
			m.StorageGBps = *o.StorageGBps
			m.Assumptions = append(m.Assumptions, Given("storage_gbps", m.StorageGBps, "GB/s"))
		} else {
			m.StorageGBps = d.StorageGBpsPerChip.Value * float64(r.Chips)
			m.Assumptions = append(m.Assumptions, FromFigure("storage_gbps_per_chip", d.StorageGBpsPerChip))
		}
		m.CheckpointWriteS = m.CheckpointBytes / (m.StorageGBps * 1e9)
	}

	if o.RestartS != nil {
		m.RestartS = *o.RestartS
		m.Assumptions = append(m.Assumptions, Given("restart_s", m.RestartS, "s"))
	} else {
		m.RestartS = d.RestartS.Value
		m.Assumptions = append(m.Assumptions, FromFigure("restart_s", d.RestartS))
	}

	if o.CheckpointIntervalS != nil {
		m.CheckpointIntervalS = *o.CheckpointIntervalS
		m.IntervalRule = "given"
		m.Assumptions = append(m.Assumptions, Given("checkpoint_interval_s", m.CheckpointIntervalS, "s"))
	} else {
		m.CheckpointIntervalS = Daly(m.CheckpointWriteS, m.MTTIHours*3600)
		m.IntervalRule = "daly"
	}
	return m, nil
}

// LossPerInterruptionS is the expected wall time one interruption costs:
// half an interval of work redone, plus the restart.
func (m *Model) LossPerInterruptionS() float64 {
	return m.CheckpointIntervalS/2 + m.RestartS
}

// Timeline is where a job's wall time goes, in seconds.
type Timeline struct {
	// WorkS is the failure-free training time (steps × step time).
	WorkS float64 `json:"work_s"`
	// CheckpointS is time spent writing checkpoints (synchronously).
	CheckpointS float64 `json:"checkpoint_s"`
	// RestartS is time spent restarting after interruptions.
	RestartS float64 `json:"restart_s"`
	// LostS is work done since the last checkpoint and redone.
	LostS         float64 `json:"lost_s"`
	WallS         float64 `json:"wall_s"`
	Checkpoints   float64 `json:"checkpoints"`
	Interruptions float64 `json:"interruptions"`
	// Goodput is WorkS / WallS.
	Goodput float64 `json:"goodput"`
}

// NoProgressError says that interruptions come faster than the job can
// recover from them.
type NoProgressError struct {
	Chips     int
	MTTIS     float64
	LossS     float64 // expected loss per interruption
	IntervalS float64
	RestartS  float64
}

func (e *NoProgressError) Error() string {
	return fmt.Sprintf("reliability: at %d chips the mean time to interrupt (%.0f s) is not longer than what each interruption costs "+
		"(half the %.0f s checkpoint interval plus the %.0f s restart = %.0f s), so the run never finishes; "+
		"try: a shorter reliability.restart_s, faster checkpoints (reliability.checkpoint_write_s), or fewer chips",
		e.Chips, e.MTTIS, e.IntervalS, e.RestartS, e.LossS)
}

// Timeline spreads workS seconds of failure-free training over wall time:
// checkpoints every interval, and at each interruption half an interval lost
// plus a restart. Interruptions arrive at rate 1/MTTI over the whole wall
// time, so W = (U + C) / (1 − L/M).
func (m *Model) Timeline(workS float64) (Timeline, error) {
	if !(workS >= 0) || math.IsInf(workS, 0) {
		return Timeline{}, fmt.Errorf("reliability: training time %v s is not a finite non-negative number", workS)
	}
	t := Timeline{WorkS: workS}
	mtti := m.MTTIHours * 3600
	if m.CheckpointIntervalS > 0 && m.CheckpointWriteS > 0 {
		t.Checkpoints = workS / m.CheckpointIntervalS
		t.CheckpointS = t.Checkpoints * m.CheckpointWriteS
	}
	loss := m.LossPerInterruptionS()
	if loss >= mtti {
		return Timeline{}, &NoProgressError{Chips: m.Chips, MTTIS: mtti, LossS: loss,
			IntervalS: m.CheckpointIntervalS, RestartS: m.RestartS}
	}
	t.WallS = (workS + t.CheckpointS) / (1 - loss/mtti)
	t.Interruptions = t.WallS / mtti
	t.RestartS = t.Interruptions * m.RestartS
	t.LostS = t.Interruptions * m.CheckpointIntervalS / 2
	if t.WallS > 0 {
		t.Goodput = workS / t.WallS
	} else {
		t.Goodput = 1
	}
	return t, nil
}
