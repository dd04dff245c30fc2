package estimate

import (
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"sort"
	"testing"

	"github.com/flopcast/flopcast/spec"
)

func uniform(n int, v float64) []float64 {
	s := make([]float64, n)
	for i := range s {
		s[i] = v
	}
	return s
}

// checkTimeline checks the invariants of any schedule: every pass runs once,
// passes on a stage never overlap, and data dependencies hold.
func checkTimeline(t *testing.T, tl *Timeline) {
	t.Helper()
	p, v, m := tl.Stages, tl.VPP, tl.MicroBatches
	if got, want := len(tl.Bars), 2*p*v*m; got != want {
		t.Fatalf("%d bars, want %d", got, want)
	}
	type key struct{ mb, vs, kind int }
	end := map[key]float64{}
	start := map[key]float64{}
	byStage := make([][]Bar, p)
	for _, b := range tl.Bars {
		k := key{b.MicroBatch, b.Chunk*p + b.Stage, b.Kind}
		if _, dup := end[k]; dup {
			t.Fatalf("pass %+v runs twice", k)
		}
		if b.End < b.Start {
			t.Fatalf("bar %+v ends before it starts", b)
		}
		end[k], start[k] = b.End, b.Start
		byStage[b.Stage] = append(byStage[b.Stage], b)
	}
	const eps = 1e-12
	for k, s := range start {
		vs := p * v
		var dep key
		switch {
		case k.kind == KindFwd && k.vs > 0:
			dep = key{k.mb, k.vs - 1, KindFwd}
		case k.kind == KindFwd:
			continue
		case k.vs < vs-1:
			dep = key{k.mb, k.vs + 1, KindBwd}
		default:
			dep = key{k.mb, k.vs, KindFwd}
		}
		if s+eps < end[dep] {
			t.Fatalf("pass %+v starts at %g before its input %+v ends at %g", k, s, dep, end[dep])
		}
	}
	for s, bars := range byStage {
		sort.Slice(bars, func(i, j int) bool { return bars[i].Start < bars[j].Start })
		for i := 1; i < len(bars); i++ {
			if bars[i].Start+eps < bars[i-1].End {
				t.Fatalf("stage %d: %+v overlaps %+v", s, bars[i], bars[i-1])
			}
		}
	}
}

func TestPipelineTimelineInvariants(t *testing.T) {
	for _, p := range []int{1, 2, 3, 4, 8} {
		for _, v := range []int{1, 2, 3} {
			if v > 1 && p == 1 {
				continue
			}
			for _, m := range []int{1, 2, 3, 4, 7, 8, 16, 24} {
				if v > 1 && m%p != 0 {
					continue // interleaving needs m to be a multiple of p (spec.BadVPPMicroBatches)
				}
				t.Run(fmt.Sprintf("p%d_v%d_m%d", p, v, m), func(t *testing.T) {
					fwd := make([]float64, p)
					bwd := make([]float64, p)
					for i := range fwd {
						fwd[i] = 1 + 0.1*float64(i%3)
						bwd[i] = 2 * fwd[i]
					}
					tl, err := PipelineTimeline(p, v, m, fwd, bwd)
					if err != nil {
						t.Fatal(err)
					}
					checkTimeline(t, tl)
				})
			}
		}
	}
}

func TestPipelineTimelineNoBubbleWithoutPipeline(t *testing.T) {
	tl, err := PipelineTimeline(1, 1, 8, []float64{1}, []float64{2})
	if err != nil {
		t.Fatal(err)
	}
	if tl.BubbleFraction != 0 {
		t.Errorf("pp=1: bubble fraction %g, want 0", tl.BubbleFraction)
	}
	if tl.MakespanS != 24 {
		t.Errorf("pp=1: makespan %g, want 24", tl.MakespanS)
	}
	// Back to back: every pass starts when the previous one ends.
	for i := 1; i < len(tl.Bars); i++ {
		if tl.Bars[i].Start != tl.Bars[i-1].End {
			t.Fatalf("idle gap before %+v", tl.Bars[i])
		}
	}
}

func TestPipelineTimelineBubble(t *testing.T) {
	for _, tc := range []struct{ p, v, m int }{
		{2, 1, 8}, {4, 1, 8}, {4, 1, 32}, {8, 1, 64}, {16, 1, 128},
		{4, 2, 8}, {4, 2, 32}, {8, 2, 64}, {8, 4, 64}, {16, 2, 128},
	} {
		t.Run(fmt.Sprintf("p%d_v%d_m%d", tc.p, tc.v, tc.m), func(t *testing.T) {
			// Chunk times shrink with v: the same stage work, split.
			f := 1 / float64(tc.v)
			tl, err := PipelineTimeline(tc.p, tc.v, tc.m, uniform(tc.p, f), uniform(tc.p, 2*f))
			if err != nil {
				t.Fatal(err)
			}
			checkTimeline(t, tl)
			// A stage's work per micro-batch is 3; fill and drain take
			// (p-1)/v of it.
			busy := 3 * float64(tc.m)
			want := float64(tc.p-1) / float64(tc.v) * 3
			if math.Abs(tl.BubbleS-want) > 0.02*want+1e-9 {
				t.Errorf("bubble %.5f, want (p-1)/v·3 = %.5f", tl.BubbleS, want)
			}
			if frac := want / (busy + want); math.Abs(tl.BubbleFraction-frac) > 0.02*frac+1e-9 {
				t.Errorf("bubble fraction %.5f, want %.5f of the makespan", tl.BubbleFraction, frac)
			}
			if math.Abs(tl.BusyS-busy) > 1e-9 {
				t.Errorf("busy %g, want %g", tl.BusyS, busy)
			}
		})
	}
}

func TestPipelineTimelineSlowStageSetsPace(t *testing.T) {
	// One slow stage: the steady state runs at its pace, so the makespan
	// is at least m times its forward and backward.
	fwd := []float64{1, 1, 1.5, 1}
	bwd := []float64{2, 2, 3, 2}
	tl, err := PipelineTimeline(4, 1, 16, fwd, bwd)
	if err != nil {
		t.Fatal(err)
	}
	checkTimeline(t, tl)
	if tl.MakespanS < 16*4.5 {
		t.Errorf("makespan %g below the slow stage's work %g", tl.MakespanS, 16*4.5)
	}
	if want := 16 * (3*3 + 4.5) / 4; math.Abs(tl.BusyS-want) > 1e-9 {
		t.Errorf("busy %g, want the mean stage's %g", tl.BusyS, want)
	}
}

func TestPipelineTimelinePerVirtualStage(t *testing.T) {
	// Times given per virtual stage (chunk·p + stage).
	p, v := 2, 2
	fwd := []float64{1, 1, 1, 2} // the last virtual stage holds the logits
	bwd := []float64{2, 2, 2, 4}
	tl, err := PipelineTimeline(p, v, 4, fwd, bwd)
	if err != nil {
		t.Fatal(err)
	}
	checkTimeline(t, tl)
	for _, b := range tl.Bars {
		want := fwd[b.Chunk*p+b.Stage]
		if b.Kind == KindBwd {
			want = bwd[b.Chunk*p+b.Stage]
		}
		if math.Abs(b.End-b.Start-want) > 1e-12 {
			t.Fatalf("bar %+v lasts %g, want %g", b, b.End-b.Start, want)
		}
	}
}

func TestPipelineTimelineErrors(t *testing.T) {
	for _, tc := range []struct {
		name     string
		p, v, m  int
		fwd, bwd []float64
	}{
		{"zero stages", 0, 1, 1, nil, nil},
		{"zero micro-batches", 2, 1, 0, []float64{1, 1}, []float64{1, 1}},
		{"short times", 4, 1, 4, []float64{1}, []float64{1}},
		{"mismatched", 2, 1, 4, []float64{1, 1}, []float64{1}},
	} {
		if _, err := PipelineTimeline(tc.p, tc.v, tc.m, tc.fwd, tc.bwd); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
}

func TestPipelineTimelineTruncated(t *testing.T) {
	tl, err := PipelineTimeline(64, 4, 512, uniform(64, 0.25), uniform(64, 0.5))
	if err != nil {
		t.Fatal(err)
	}
	if !tl.Truncated || len(tl.Bars) != 0 {
		t.Fatalf("truncated %v with %d bars, want truncated with none", tl.Truncated, len(tl.Bars))
	}
	bubble := 63.0 / 4 * 3 // (p-1)/v of a stage's 4·(0.25+0.5) per micro-batch
	if math.Abs(tl.BubbleS-bubble) > 1e-9 || math.Abs(tl.BubbleFraction-bubble/(512*3+bubble)) > 1e-12 {
		t.Errorf("bubble %g (%g of the makespan), want %g", tl.BubbleS, tl.BubbleFraction, bubble)
	}
}

func TestBarJSON(t *testing.T) {
	b, err := json.Marshal([]Bar{{Stage: 1, MicroBatch: 2, Chunk: 0, Kind: KindBwd, Start: 0.5, End: 1.25}})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), `[[1,2,0,1,0.5,1.25]]`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

// The timeline's bubble, simulated pass by pass, is the step's bubble
// (Breakdown.PipelineBubbleS), and its fraction the step breakdown's:
// within 2% of the step: the step's closed form lets the slowest stage
// (the embedding's or the logits') pace every micro-batch; with equal
// stages both are exact (TestPipelineTimelineBubble).
func TestTimelineBubbleIsTheSteps(t *testing.T) {
	runs, _ := filepath.Glob("testdata/*.yaml")
	if len(runs) == 0 {
		t.Fatal("no runs in testdata")
	}
	for _, path := range runs {
		r, e := testdataRun(t, path)
		for _, l := range []spec.Layout{r.Layout, withPP(r.Layout, 1), withPP(r.Layout, 2)} {
			if r.CheckLayout(l) != nil {
				continue
			}
			l.Schedule = spec.DefaultSchedule(l.VPP)
			if r.CheckLayout(l) != nil {
				continue
			}
			res := e.Estimate(l)
			tl, err := e.Timeline(l)
			if err != nil {
				t.Fatal(err)
			}
			step := res.StepTimeS
			if d := math.Abs(tl.BubbleS - res.Breakdown.PipelineBubbleS); d > 0.02*step {
				t.Errorf("%s %v: timeline bubble %.4g s, step's %.4g s (of a %.4g s step)", path, l, tl.BubbleS, res.Breakdown.PipelineBubbleS, step)
			}
			if got, want := tl.BubbleFraction, res.Breakdown.PipelineBubbleS/step; math.Abs(got-want) > 0.02 {
				t.Errorf("%s %v: timeline bubble %.3f of the step, breakdown %.3f", path, l, got, want)
			}
			if tl.StepS != step {
				t.Errorf("%s: timeline step %g, estimate %g", path, tl.StepS, step)
			}
		}
	}
}

// A DualPipe layout's timeline gives the step's bubble and says its bars
// are in 1F1B order.
func TestTimelineDualPipe(t *testing.T) {
	r, e := testdataRun(t, "testdata/deepseek-v3-h800.yaml")
	if r.Layout.Schedule != spec.ScheduleDualPipe {
		t.Skip("the DeepSeek-V3 example does not use DualPipe")
	}
	tl, err := e.Timeline(r.Layout)
	if err != nil {
		t.Fatal(err)
	}
	res := e.Estimate(r.Layout)
	if !tl.OneFOneBOrder || tl.Schedule != "dualpipe" || tl.BubbleS != res.Breakdown.PipelineBubbleS {
		t.Errorf("dualpipe timeline: schedule %q, 1F1B order %v, bubble %v vs the step's %v", tl.Schedule, tl.OneFOneBOrder, tl.BubbleS, res.Breakdown.PipelineBubbleS)
	}
}

// withPP moves a layout's data parallelism into pp stages (no
// interleaving).
func withPP(l spec.Layout, pp int) spec.Layout {
	n := l.PP * l.DP
	if n%pp != 0 {
		return spec.Layout{}
	}
	l.PP, l.DP, l.VPP = pp, n/pp, 1
	return l
}

// Interleaved, the transfers between stages lengthen the step by the fill
// and drain's transfers in series, 2(p·v−1) of them (the exposedHops
// term), however many micro-batches follow: in the steady state each
// transfer runs beside the next chunk. Under 1F1B the sends block, and
// every micro-batch pays for them.
func TestPipelineTimelineHops(t *testing.T) {
	const hop = 0.05 // shorter than any chunk below
	for _, p := range []int{2, 4, 8} {
		for _, v := range []int{2, 3, 4, 12} {
			for _, m := range []int{p, 2 * p, 6 * p} {
				fwd, bwd := uniform(p, 1), uniform(p, 2)
				tl, err := PipelineTimelineHops(p, v, m, fwd, bwd, hop)
				if err != nil {
					t.Fatal(err)
				}
				checkTimeline(t, tl)
				if want := fillHops(p, v) * hop; math.Abs(tl.PPCommS-want) > 1e-9 {
					t.Errorf("p%d v%d m%d: transfers add %.4g s, want 2(pv-1) hops = %.4g s", p, v, m, tl.PPCommS, want)
				}
				free, _ := PipelineTimeline(p, v, m, fwd, bwd)
				if math.Abs(tl.BubbleS-free.BubbleS) > 1e-9 || math.Abs(tl.MakespanS-free.MakespanS-tl.PPCommS) > 1e-9 {
					t.Errorf("p%d v%d m%d: bubble %g (without transfers %g), makespan %g (%g)", p, v, m, tl.BubbleS, free.BubbleS, tl.MakespanS, free.MakespanS)
				}
			}
		}
	}
	for _, p := range []int{4, 8} {
		short, _ := PipelineTimelineHops(p, 1, 2*p, uniform(p, 1), uniform(p, 2), hop)
		long, _ := PipelineTimelineHops(p, 1, 8*p, uniform(p, 1), uniform(p, 2), hop)
		// Each micro-batch adds a round trip to the next stage.
		if d := long.PPCommS - short.PPCommS; math.Abs(d-2*hop*float64(6*p)) > 1e-9 {
			t.Errorf("1f1b p%d: %d more micro-batches add %.4g s of transfers, want a round trip each (%.4g s)", p, 6*p, d, 2*hop*float64(6*p))
		}
	}
	if _, err := PipelineTimelineHops(2, 1, 2, uniform(2, 1), uniform(2, 2), -1); err == nil {
		t.Error("a negative transfer time is accepted")
	}
}

// exposedHops: one layer per virtual stage is not free. At the same
// bubble-free compute, each doubling of v doubles the fill's transfers and
// the per-chunk fixed costs.
func TestExposedHopsGrowWithVPP(t *testing.T) {
	const hop, fixed, m, mean = 1e-3, 20e-6, 12, 1.2
	prev := 0.0
	for _, v := range []int{2, 4, 8, 24} {
		l := spec.Layout{PP: 4, VPP: v}
		got := exposedHops(&l, hop, fixed, m, mean, 1.0/3, 0.15)
		if got <= prev {
			t.Errorf("vpp %d: %.4g s of exposed transfers, not more than at half the chunks (%.4g s)", v, got, prev)
		}
		if low := fillHops(4, v)*hop + 2*m*float64(v)*fixed; got < low {
			t.Errorf("vpp %d: %.4g s, less than the fill and the fixed costs alone (%.4g s)", v, got, low)
		}
		prev = got
	}
}

// A tied embedding split over pipeline stages costs one all-reduce of its
// fp32 gradient between the first and the last stage, on the critical path;
// an untied model or a single stage pays nothing.
func TestEmbeddingSyncTied(t *testing.T) {
	run := func(tied string, pp int) (*spec.Resolved, *Estimator, Result) {
		r, e := resolveRun(t, `
model: {layers: 8, hidden: 4096, heads: 32, ffn: 16384, vocab: 50000`+tied+`}
cluster: {chip: a100-sxm-80gb, chips: 64}
training: {seq_len: 2048, global_batch: 64}
parallel: {tp: 8, pp: `+itoa(pp)+`, micro_batch: 1}
`)
		return r, e, e.Estimate(r.Layout)
	}
	for _, pp := range []int{1, 4} {
		r, e, tied := run(", tied_embeddings: true", pp)
		_, _, untied := run("", pp)
		got := tied.Breakdown.ExposedPPCommS - untied.Breakdown.ExposedPPCommS
		want := 0.0
		if pp > 1 {
			// The fp32 gradient of the tp-sharded table, between two
			// chips a pipeline apart (over InfiniBand here).
			l := r.Layout
			want = e.fab.AllReduce(4*50000*4096/8, 2, float64((l.PP-1)*l.TP*l.DP))
			if want < 4*50000*4096/8/25e9 {
				t.Fatalf("pp %d: the sync takes %.3g s, less than the gradient over InfiniBand", pp, want)
			}
		}
		if math.Abs(got-want) > 1e-9 {
			t.Errorf("pp %d: tied embedding adds %.4g s of PP communication, want %.4g s", pp, got, want)
		}
	}
}
