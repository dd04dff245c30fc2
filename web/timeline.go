package web

import (
	"encoding/json"
	"errors"
	"math"

	"github.com/flopcast/flopcast/estimate"
)

// Op kinds in a timeline.
const (
	KindFwd = 0
	KindBwd = 1
)

// Bar is one forward or backward pass of one micro-batch through one model
// chunk on one pipeline stage.
type Bar struct {
	Stage      int
	MicroBatch int
	Chunk      int // virtual stage index on this rank, 0..vpp-1
	Kind       int // KindFwd or KindBwd
	Start, End float64
}

// MarshalJSON writes a bar as a compact array
// [stage, micro_batch, chunk, kind, start_s, end_s]: a timeline can hold
// tens of thousands of bars.
func (b Bar) MarshalJSON() ([]byte, error) {
	buf := make([]byte, 0, 64)
	buf = append(buf, '[')
	for i, v := range [4]int{b.Stage, b.MicroBatch, b.Chunk, b.Kind} {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = appendInt(buf, v)
	}
	for _, v := range [2]float64{b.Start, b.End} {
		buf = append(buf, ',')
		buf = appendFloat(buf, v)
	}
	return append(buf, ']'), nil
}

// UnmarshalJSON reads the array MarshalJSON writes.
func (b *Bar) UnmarshalJSON(data []byte) error {
	var a [6]float64
	if err := json.Unmarshal(data, &a); err != nil {
		return err
	}
	*b = Bar{Stage: int(a[0]), MicroBatch: int(a[1]), Chunk: int(a[2]), Kind: int(a[3]), Start: a[4], End: a[5]}
	return nil
}

// Timeline is the pipeline schedule of one optimizer step (one data-parallel
// replica): which stage runs which micro-batch when, and where it idles.
type Timeline struct {
	Stages       int `json:"stages"`
	VPP          int `json:"vpp"`
	MicroBatches int `json:"micro_batches"`
	// MakespanS is the time from the first forward to the last backward.
	MakespanS float64 `json:"makespan_s"`
	// BusyS is the largest per-stage sum of pass times.
	BusyS float64 `json:"busy_s"`
	// BubbleFraction is idle over busy time of the busiest stage: (p−1)/m
	// for 1F1B and (p−1)/(v·m) for interleaved 1F1B with even stages.
	BubbleFraction float64 `json:"bubble_fraction"`
	Schedule       string  `json:"schedule"` // "1f1b" or "interleaved-1f1b"
	Bars           []Bar   `json:"bars"`
	// Truncated is set when the schedule had too many passes to draw; Bars
	// then holds none and the totals are from the closed form.
	Truncated bool `json:"truncated,omitempty"`
}

// maxBars bounds a timeline's size: beyond it a chart is unreadable and the
// JSON too large.
const maxBars = 100_000

type op struct {
	mb, chunk, kind int
}

// stageOrder is the order in which stage s of p runs its passes under
// Megatron's 1F1B (v = 1) or interleaved 1F1B (v > 1) schedule with m
// micro-batches. Micro-batches go in groups of p through each of the v
// chunks in turn (Narayanan et al. 2021, §2.2).
func stageOrder(s, p, v, m int) []op {
	total := m * v
	fwd := make([]op, 0, total)
	bwd := make([]op, 0, total)
	for g := 0; g < m; g += p {
		end := min(g+p, m)
		for c := 0; c < v; c++ {
			for mb := g; mb < end; mb++ {
				fwd = append(fwd, op{mb, c, KindFwd})
				bwd = append(bwd, op{mb, v - 1 - c, KindBwd})
			}
		}
	}
	warm := p - s - 1
	if v > 1 {
		warm = (p-s-1)*2 + (v-1)*p
	}
	warm = min(warm, total)
	order := make([]op, 0, 2*total)
	order = append(order, fwd[:warm]...)
	f, b := warm, 0
	for f < total {
		order = append(order, fwd[f], bwd[b])
		f++
		b++
	}
	return append(order, bwd[b:]...)
}

// PipelineTimeline simulates one step of the pipeline schedule. fwd and bwd
// hold the time of one pass of one micro-batch through one chunk, either
// per stage (len p) or per virtual stage (len p·v, index chunk·p + stage).
// Each pass starts when its stage is free and its input has arrived: a
// forward needs the same micro-batch's forward on the previous virtual
// stage, a backward the next virtual stage's backward (or, on the last, its
// own forward).
func PipelineTimeline(p, v, m int, fwd, bwd []float64) (*Timeline, error) {
	if p < 1 || v < 1 || m < 1 {
		return nil, errors.New("timeline: stages, vpp and micro-batches must be positive")
	}
	vs := p * v
	if (len(fwd) != p && len(fwd) != vs) || len(bwd) != len(fwd) {
		return nil, errors.New("timeline: need one forward and one backward time per stage or per virtual stage")
	}
	t := &Timeline{Stages: p, VPP: v, MicroBatches: m, Schedule: "1f1b"}
	if v > 1 {
		t.Schedule = "interleaved-1f1b"
	}
	passTime := func(s, c, kind int) float64 {
		i := s
		if len(fwd) == vs {
			i = c*p + s
		}
		if kind == KindFwd {
			return fwd[i]
		}
		return bwd[i]
	}
	for s := 0; s < p; s++ {
		var busy float64
		for c := 0; c < v; c++ {
			busy += float64(m) * (passTime(s, c, KindFwd) + passTime(s, c, KindBwd))
		}
		t.BusyS = max(t.BusyS, busy)
	}
	if 2*p*v*m > maxBars {
		// Closed form for the bubble of an even pipeline.
		t.Truncated = true
		t.BubbleFraction = float64(p-1) / float64(v*m)
		t.MakespanS = t.BusyS * (1 + t.BubbleFraction)
		return t, nil
	}

	orders := make([][]op, p)
	for s := range orders {
		orders[s] = stageOrder(s, p, v, m)
	}
	// done[kind][mb*vs + virtual stage] is the end time of a pass, NaN
	// until it has run.
	var done [2][]float64
	for k := range done {
		done[k] = make([]float64, m*vs)
		for i := range done[k] {
			done[k][i] = math.NaN()
		}
	}
	next := make([]int, p)     // next op index per stage
	free := make([]float64, p) // when each stage is free
	t.Bars = make([]Bar, 0, 2*p*v*m)
	for remaining := 2 * p * v * m; remaining > 0; {
		progress := false
		for s := 0; s < p; s++ {
			for next[s] < len(orders[s]) {
				o := orders[s][next[s]]
				vstage := o.chunk*p + s
				var ready float64
				if o.kind == KindFwd {
					if vstage > 0 {
						ready = done[KindFwd][o.mb*vs+vstage-1]
					}
				} else if vstage < vs-1 {
					ready = done[KindBwd][o.mb*vs+vstage+1]
				} else {
					ready = done[KindFwd][o.mb*vs+vstage]
				}
				if math.IsNaN(ready) {
					break
				}
				start := max(free[s], ready)
				end := start + passTime(s, o.chunk, o.kind)
				done[o.kind][o.mb*vs+vstage] = end
				free[s] = end
				t.Bars = append(t.Bars, Bar{Stage: s, MicroBatch: o.mb, Chunk: o.chunk, Kind: o.kind, Start: start, End: end})
				next[s]++
				remaining--
				progress = true
			}
		}
		if !progress {
			return nil, errors.New("timeline: schedule deadlocked") // a bug in stageOrder
		}
	}
	for _, f := range free {
		t.MakespanS = max(t.MakespanS, f)
	}
	if t.BusyS > 0 {
		t.BubbleFraction = (t.MakespanS - t.BusyS) / t.BusyS
	}
	return t, nil
}

// timelineFor builds the timeline of the estimator's schedule for a layout.
func timelineFor(s estimate.Schedule) (*Timeline, error) {
	return PipelineTimeline(s.Stages, max(s.VPP, 1), s.MicroBatches, s.FwdS, s.BwdS)
}
