package reliability

import (
	"fmt"
	"github.com/flopcast/flopcast"
	"math"

	"github.com/flopcast/flopcast/catalog"
	"github.com/flopcast/flopcast/spec"
)

// Model is the failure model of one job, with every input resolved.
type Model struct {
	Chips               int     `json:"chips"`
	FailuresPerChipHour float64 `json:"failures_per_chip_hour"`
	MTTIHours           float64 `json:"mtti_h"`
	// Site is the catalog site profile the failure rate came from; empty
	// when the run gave the rate itself.
	Site            string  `json:"site,omitempty"`
	Params          float64 `json:"params"`
	CheckpointBytes float64 `json:"checkpoint_bytes"`
	// StorageGBps is the aggregate write bandwidth; 0 when the run gave the
	// write time itself.
	StorageGBps         float64 `json:"storage_gbps,omitempty"`
	CheckpointWriteS    float64 `json:"checkpoint_write_s"`
	CheckpointIntervalS float64 `json:"checkpoint_interval_s"`
	// IntervalRule says where the interval came from: "daly" or "given".
	IntervalRule string               `json:"interval_rule"`
	RestartS     float64              `json:"restart_s"`
	Assumptions  []catalog.Assumption `json:"assumptions,omitempty"`
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
	if o.Site != "" && (o.MTTIHours != nil || o.FailuresPerChipHour != nil) {
		return nil, &flopcast.FieldError{Field: "reliability.site", Value: o.Site,
			Reason: "is given together with a failure rate (reliability.mtti_hours or failures_per_chip_hour)", Hint: "give one of them"}
	}

	switch {
	case o.MTTIHours != nil:
		m.MTTIHours = *o.MTTIHours
		m.FailuresPerChipHour = 1 / (m.MTTIHours * float64(r.Chips))
		m.Assumptions = append(m.Assumptions, catalog.Given("mtti_h", m.MTTIHours, "h"))
	case o.FailuresPerChipHour != nil:
		m.FailuresPerChipHour = *o.FailuresPerChipHour
		m.MTTIHours = MTTI(m.FailuresPerChipHour, r.Chips)
		m.Assumptions = append(m.Assumptions, catalog.Given("failures_per_chip_hour", m.FailuresPerChipHour, "interruptions per chip-hour"))
	default:
		site, err := d.site(o.Site)
		if err != nil {
			return nil, err
		}
		m.Site = site.Name
		m.FailuresPerChipHour = site.FailuresPerChipHour.Value
		m.MTTIHours = MTTI(m.FailuresPerChipHour, r.Chips)
		m.Assumptions = append(m.Assumptions, site.FailuresPerChipHour.Use("failures_per_chip_hour"))
	}

	// spec.Resolve sets the recipe; an empty one is a hand-built value.
	recipe := r.Training.Recipe
	bpp, ok := d.CheckpointBytesPerParam[string(recipe)]
	if !ok {
		return nil, &flopcast.FieldError{Field: "training.recipe", Value: recipe, Allowed: "megatron, pytorch-amp"}
	}
	mc := r.Model
	m.Params = mc.Params()
	m.CheckpointBytes = m.Params * bpp.Value

	if o.CheckpointWriteS != nil {
		m.CheckpointWriteS = *o.CheckpointWriteS
		m.Assumptions = append(m.Assumptions, catalog.Given("checkpoint_write_s", m.CheckpointWriteS, "s"))
	} else {
		m.Assumptions = append(m.Assumptions, bpp.Use("checkpoint_bytes_per_param"))
		if o.StorageGBps != nil {
			m.StorageGBps = *o.StorageGBps
			m.Assumptions = append(m.Assumptions, catalog.Given("storage_gbps", m.StorageGBps, "GB/s"))
		} else {
			m.StorageGBps = d.StorageGBpsPerChip.Value * float64(r.Chips)
			m.Assumptions = append(m.Assumptions, d.StorageGBpsPerChip.Use("storage_gbps_per_chip"))
		}
		m.CheckpointWriteS = m.CheckpointBytes / (m.StorageGBps * 1e9)
	}

	if o.RestartS != nil {
		m.RestartS = *o.RestartS
		m.Assumptions = append(m.Assumptions, catalog.Given("restart_s", m.RestartS, "s"))
	} else {
		m.RestartS = d.RestartS.Value
		m.Assumptions = append(m.Assumptions, d.RestartS.Use("restart_s"))
	}

	if o.CheckpointIntervalS != nil {
		m.CheckpointIntervalS = *o.CheckpointIntervalS
		m.IntervalRule = "given"
		m.Assumptions = append(m.Assumptions, catalog.Given("checkpoint_interval_s", m.CheckpointIntervalS, "s"))
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

// site resolves a run's reliability.site: the named profile, or the
// catalog's default when name is empty.
func (d Defaults) site(name string) (Site, error) {
	if name == "" {
		name = d.Site
	}
	s, ok := d.LookupSite(name)
	if !ok {
		return Site{}, &flopcast.FieldError{Field: "reliability.site", Value: name, Reason: "is not a site profile", Allowed: d.SiteNames()}
	}
	return s, nil
}
