package estimate

import (
	"encoding/json"
	"errors"
	"math"
	"strconv"

	"github.com/flopcast/flopcast/spec"
)

// The pipeline timeline: one step of the pipeline schedule simulated pass
// by pass, which stage runs which micro-batch when and where it idles. Its
// bubble is the step's (Breakdown.PipelineBubbleS) computed without the
// closed form.

// Schedule is what a pipeline timeline needs: per-stage forward and
// backward time of one micro-batch chunk (a virtual stage's layers).
type Schedule struct {
	Stages       int       `json:"stages"`
	VPP          int       `json:"vpp"`
	MicroBatches int       `json:"micro_batches"`
	FwdS         []float64 `json:"fwd_s"`
	BwdS         []float64 `json:"bwd_s"`
	// HopS is one point-to-point transfer of a micro-batch's activations
	// (or their gradient) between adjacent stages.
	HopS float64 `json:"hop_s"`
}

// Schedule returns the per-stage chunk times of a layout. It allocates; it
// is not for the search's hot path.
func (e *Estimator) Schedule(l spec.Layout) Schedule {
	var c layerCache
	var res Result
	e.eval(l, &res, &c) // fills the cache for this shape
	sc := Schedule{Stages: l.PP, VPP: l.VPP, MicroBatches: l.MicroBatches(e.r.Training.GlobalBatch), HopS: c.hop}
	v := float64(l.VPP)
	sp := e.stageSplit(&l)
	for r := 0; r < l.PP; r++ {
		rt := e.rankTime(&l, e.rank(&sp, r), &c)
		// Exposed communication goes with each pass by its share of
		// compute.
		comm, fwd, bwd := rt.tp+rt.cp+rt.ep+rt.offload, rt.fwd, rt.bwd
		if fwd+bwd > 0 {
			fwd += comm * rt.fwd / (rt.fwd + rt.bwd)
			bwd += comm * rt.bwd / (rt.fwd + rt.bwd)
		}
		sc.FwdS = append(sc.FwdS, fwd/v)
		sc.BwdS = append(sc.BwdS, bwd/v)
	}
	return sc
}

// Pass kinds in a timeline.
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
// tens of thousands of bars. Times have 7 significant digits
// (microseconds on a 10 s step).
func (b Bar) MarshalJSON() ([]byte, error) {
	buf := make([]byte, 0, 64)
	buf = append(buf, '[')
	for i, v := range [4]int{b.Stage, b.MicroBatch, b.Chunk, b.Kind} {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = strconv.AppendInt(buf, int64(v), 10)
	}
	for _, v := range [2]float64{b.Start, b.End} {
		buf = append(buf, ',')
		if math.IsNaN(v) || math.IsInf(v, 0) {
			buf = append(buf, '0')
		} else {
			buf = strconv.AppendFloat(buf, v, 'g', 7, 64)
		}
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
	// BusyS is the mean over stages of their pass times.
	BusyS float64 `json:"busy_s"`
	// BubbleS is the time the average stage idles within the makespan
	// for want of work, the transfers between stages aside (the makespan
	// they would leave less BusyS): (p−1)/v of a stage's time per
	// micro-batch for even stages. It is the step's pipeline_bubble_s,
	// simulated.
	BubbleS float64 `json:"bubble_s"`
	// PPCommS is what the transfers between stages add to the makespan:
	// the bars wait for their input to arrive.
	PPCommS float64 `json:"pp_comm_s"`
	// StepS is the step the bubble is a share of: the whole step time
	// when the estimator built the timeline, else the makespan.
	StepS float64 `json:"step_s"`
	// BubbleFraction is BubbleS / StepS, the figure the step breakdown
	// gives as pipeline_bubble_s / step_time_s.
	BubbleFraction float64 `json:"bubble_fraction"`
	Schedule       string  `json:"schedule"` // "1f1b" or "interleaved-1f1b"
	Bars           []Bar   `json:"bars"`
	// Truncated is set when the schedule had too many passes to draw; Bars
	// then holds none and the totals are from the closed form.
	Truncated bool `json:"truncated,omitempty"`
	// OneFOneBOrder is set for a DualPipe layout: the bars show the passes
	// in 1F1B order, while the bubble figures are the step's (DualPipe's
	// bidirectional schedule is priced in closed form, not simulated).
	OneFOneBOrder bool `json:"one_f_one_b_order,omitempty"`
}

// Timeline simulates one step of layout l's pipeline schedule with the
// estimator's per-stage pass times; its bubble is given as a share of the
// estimated step. It allocates; it is not for the search's hot path.
func (e *Estimator) Timeline(l spec.Layout) (*Timeline, error) {
	s := e.Schedule(l)
	t, err := PipelineTimelineHops(s.Stages, max(s.VPP, 1), s.MicroBatches, s.FwdS, s.BwdS, s.HopS)
	if err != nil {
		return nil, err
	}
	res := e.Estimate(l)
	t.StepS = res.StepTimeS
	if l.Schedule == spec.ScheduleDualPipe {
		t.Schedule, t.OneFOneBOrder = "dualpipe", true
		t.BubbleS = res.Breakdown.PipelineBubbleS
	}
	if t.StepS > 0 {
		t.BubbleFraction = t.BubbleS / t.StepS
	}
	return t, nil
}

// maxBars bounds a timeline's size: beyond it a chart is unreadable and the
// JSON too large.
const maxBars = 100_000

type pass struct {
	mb, chunk, kind int
}

// stageOrder is the order in which stage s of p runs its passes under
// Megatron's 1F1B (v = 1) or interleaved 1F1B (v > 1) schedule with m
// micro-batches: warm-up forwards, then one forward and one backward in
// turn, then the remaining backwards. Micro-batches go in groups of p
// through each of the v chunks in turn (Narayanan et al. 2021, §2.2).
func stageOrder(s, p, v, m int) []pass {
	total := m * v
	fwd := make([]pass, 0, total)
	bwd := make([]pass, 0, total)
	for g := 0; g < m; g += p {
		end := min(g+p, m)
		for c := 0; c < v; c++ {
			for mb := g; mb < end; mb++ {
				fwd = append(fwd, pass{mb, c, KindFwd})
				bwd = append(bwd, pass{mb, v - 1 - c, KindBwd})
			}
		}
	}
	warm := warmup(p, v, s, total)
	order := make([]pass, 0, 2*total)
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
// own forward). StepS is the makespan. Transfers between stages take no
// time; PipelineTimelineHops gives them one.
func PipelineTimeline(p, v, m int, fwd, bwd []float64) (*Timeline, error) {
	return PipelineTimelineHops(p, v, m, fwd, bwd, 0)
}

// PipelineTimelineHops is PipelineTimeline with each pass's output taking
// hop seconds to reach the next virtual stage (the next pipeline rank).
// Under 1F1B the stage waits for its send to finish before its next pass
// (Megatron sends and receives in one blocking batch); interleaved, the
// send runs beside the next pass (Megatron-Core's overlap_p2p_comm) and
// only the receiver waits for it.
func PipelineTimelineHops(p, v, m int, fwd, bwd []float64, hop float64) (*Timeline, error) {
	if p < 1 || v < 1 || m < 1 {
		return nil, errors.New("timeline: stages, vpp and micro-batches must be positive")
	}
	if hop < 0 || math.IsNaN(hop) || math.IsInf(hop, 0) {
		return nil, errors.New("timeline: the transfer time must be finite and not negative")
	}
	if p == 1 {
		hop = 0
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
	var slowest float64 // the busiest stage's time per micro-batch
	for s := 0; s < p; s++ {
		var perMB float64
		for c := 0; c < v; c++ {
			perMB += passTime(s, c, KindFwd) + passTime(s, c, KindBwd)
		}
		t.BusyS += float64(m) * perMB / float64(p)
		slowest = max(slowest, perMB)
	}
	if 2*p*v*m > maxBars {
		// The closed form the step uses.
		t.Truncated = true
		t.MakespanS, t.BubbleS = pipelineTime(float64(p), float64(v), float64(m), slowest, t.BusyS/float64(m))
		if hop > 0 {
			// exposedHops without the fixed part and the SM share: the
			// fill and drain, and under 1F1B each micro-batch's round
			// trip (interleaved, the steady state's transfers hide
			// behind the chunks).
			t.PPCommS = fillHops(p, v) * hop
			if v == 1 {
				t.PPCommS += 2 * hop * float64(m)
			}
			t.MakespanS += t.PPCommS
		}
	} else {
		bars := make([]Bar, 0, 2*p*v*m)
		makespan, err := simulate(p, v, m, passTime, hop, &bars)
		if err != nil {
			return nil, err
		}
		free := makespan // the makespan without the transfers
		if hop > 0 {
			if free, err = simulate(p, v, m, passTime, 0, nil); err != nil {
				return nil, err
			}
		}
		t.Bars = bars
		t.MakespanS = makespan
		t.BubbleS = free - t.BusyS
		t.PPCommS = makespan - free
	}
	t.StepS = t.MakespanS
	if t.StepS > 0 {
		t.BubbleFraction = t.BubbleS / t.StepS
	}
	return t, nil
}

// simulate runs every stage's passes in stageOrder, each as soon as its
// stage is free and its input has arrived (hop after the pass that makes
// it, on another stage), and returns the makespan. Under 1F1B (v = 1) a
// stage sends before it moves on. bars, when not nil, receives the passes.
func simulate(p, v, m int, passTime func(s, c, kind int) float64, hop float64, bars *[]Bar) (float64, error) {
	vs := p * v
	orders := make([][]pass, p)
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
	next := make([]int, p)     // next pass index per stage
	free := make([]float64, p) // when each stage is free
	var makespan float64
	for remaining := 2 * p * v * m; remaining > 0; {
		progress := false
		for s := 0; s < p; s++ {
			for next[s] < len(orders[s]) {
				o := orders[s][next[s]]
				vstage := o.chunk*p + s
				var ready float64
				if o.kind == KindFwd {
					if vstage > 0 {
						ready = done[KindFwd][o.mb*vs+vstage-1] + hop
					}
				} else if vstage < vs-1 {
					ready = done[KindBwd][o.mb*vs+vstage+1] + hop
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
				sends := (o.kind == KindFwd && vstage < vs-1) || (o.kind == KindBwd && vstage > 0)
				if v == 1 && sends {
					free[s] += hop // a blocking send
				}
				makespan = max(makespan, end)
				if bars != nil {
					*bars = append(*bars, Bar{Stage: s, MicroBatch: o.mb, Chunk: o.chunk, Kind: o.kind, Start: start, End: end})
				}
				next[s]++
				remaining--
				progress = true
			}
		}
		if !progress {
			return 0, errors.New("timeline: schedule deadlocked") // a bug in stageOrder
		}
	}
	return makespan, nil
}
