package web

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"testing"
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
			want := float64(tc.p-1) / float64(tc.v*tc.m)
			if math.Abs(tl.BubbleFraction-want) > 0.02*want+1e-9 {
				t.Errorf("bubble fraction %.5f, want (p-1)/(v·m) = %.5f", tl.BubbleFraction, want)
			}
			if busy := 3 * float64(tc.m); math.Abs(tl.BusyS-busy) > 1e-9 {
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
	if tl.BusyS != 16*4.5 {
		t.Errorf("busy %g, want %g", tl.BusyS, 16*4.5)
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
	if want := 63.0 / (4 * 512); math.Abs(tl.BubbleFraction-want) > 1e-12 {
		t.Errorf("bubble fraction %g, want %g", tl.BubbleFraction, want)
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
