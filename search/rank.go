package search

import (
	"github.com/flopcast/flopcast/estimate"
	"github.com/flopcast/flopcast/spec"
)

// scored is a result with its objective value.
type scored struct {
	score float64
	res   estimate.Result
}

// compareLayout is a total order on layouts, the last tie-break of every
// ranking, so that results never depend on how work was split.
func compareLayout(a, b *spec.Layout) int {
	for _, d := range [...]int{a.TP - b.TP, a.PP - b.PP, a.DP - b.DP, a.CP - b.CP, a.EP - b.EP, a.ETP - b.ETP,
		a.VPP - b.VPP, a.MicroBatch - b.MicroBatch, a.ZeRO - b.ZeRO, int(a.Recompute) - int(b.Recompute),
		int(a.Offload) - int(b.Offload), int(a.Schedule) - int(b.Schedule)} {
		if d != 0 {
			return d
		}
	}
	switch {
	case a.SequenceParallel == b.SequenceParallel:
		return 0
	case a.SequenceParallel:
		return -1
	}
	return 1
}

func cmpf(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// better orders results for the top-N: objective, then step time, then
// peak memory, then the layout.
func better(a, b *scored) int {
	if c := cmpf(a.score, b.score); c != 0 {
		return c
	}
	if c := cmpf(a.res.StepTimeS, b.res.StepTimeS); c != 0 {
		return c
	}
	if c := cmpf(a.res.Memory.PeakGiB, b.res.Memory.PeakGiB); c != 0 {
		return c
	}
	return compareLayout(&a.res.Parallel, &b.res.Parallel)
}

// dominates reports whether a is at least as good as b in step time and
// peak memory and better in one, or equal in both and first in layout
// order. It is a strict order, so the Pareto front is unique.
func dominates(a, b *estimate.Result) bool {
	if a.StepTimeS > b.StepTimeS || a.Memory.PeakGiB > b.Memory.PeakGiB {
		return false
	}
	if a.StepTimeS < b.StepTimeS || a.Memory.PeakGiB < b.Memory.PeakGiB {
		return true
	}
	return compareLayout(&a.Parallel, &b.Parallel) < 0
}

// dominatesScored is dominates with the objective as a third criterion
// (the group filter: a layout never worse on all three stands in).
func dominatesScored(a, b *scored) bool {
	if a.score > b.score {
		return false
	}
	if a.score < b.score {
		return a.res.StepTimeS <= b.res.StepTimeS && a.res.Memory.PeakGiB <= b.res.Memory.PeakGiB
	}
	return dominates(&a.res, &b.res)
}

// topK keeps the best k results: a max-heap on better, the worst on top.
// It allocates only while it fills.
type topK struct {
	k int
	h []scored
}

func newTopK(k int) topK { return topK{k: k, h: make([]scored, 0, min(k, 256))} }

func (t *topK) push(s *scored) {
	if len(t.h) < t.k {
		t.h = append(t.h, *s)
		t.up(len(t.h) - 1)
		return
	}
	if t.k == 0 || better(s, &t.h[0]) >= 0 {
		return
	}
	t.h[0] = *s
	t.down(0)
}

func (t *topK) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if better(&t.h[i], &t.h[p]) <= 0 {
			return
		}
		t.h[i], t.h[p] = t.h[p], t.h[i]
		i = p
	}
}

func (t *topK) down(i int) {
	n := len(t.h)
	for {
		w := i
		if l := 2*i + 1; l < n && better(&t.h[l], &t.h[w]) > 0 {
			w = l
		}
		if r := 2*i + 2; r < n && better(&t.h[r], &t.h[w]) > 0 {
			w = r
		}
		if w == i {
			return
		}
		t.h[i], t.h[w] = t.h[w], t.h[i]
		i = w
	}
}

// pareto is the front of step time against peak memory, ascending in step
// time (and so descending in memory).
type pareto struct {
	p []estimate.Result
}

func (f *pareto) add(r *estimate.Result) {
	for i := range f.p {
		if dominates(&f.p[i], r) {
			return
		}
	}
	// Drop what r dominates, and insert r in step-time order.
	out := f.p[:0]
	at := -1
	for i := range f.p {
		if dominates(r, &f.p[i]) {
			continue
		}
		if at < 0 && f.p[i].StepTimeS > r.StepTimeS {
			at = len(out)
		}
		out = append(out, f.p[i])
	}
	if at < 0 {
		at = len(out)
	}
	out = append(out, estimate.Result{})
	copy(out[at+1:], out[at:])
	out[at] = *r
	f.p = out
}
