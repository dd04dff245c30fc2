package capex

import (
	"errors"
	"fmt"

	"github.com/flopcast/flopcast"
	"github.com/flopcast/flopcast/economics"
	"github.com/flopcast/flopcast/estimate"
	"github.com/flopcast/flopcast/hardware"
	"github.com/flopcast/flopcast/internal/format"
	"github.com/flopcast/flopcast/model"
	"github.com/flopcast/flopcast/search"
	"github.com/flopcast/flopcast/spec"
)

// Trainable is one model the fleet trains: the job it trains best in, one
// run's time at that size, and how many the fleet runs at once and a year.
type Trainable struct {
	Model  string  `json:"model"`
	Params float64 `json:"params"`
	Tokens float64 `json:"tokens"`
	FLOP   float64 `json:"flop"`
	// Days is one run on JobChips chips, failures and restarts included.
	Days float64 `json:"days"`
	// RunsPerYear is the whole fleet's: ConcurrentJobs jobs back to back.
	RunsPerYear float64 `json:"runs_per_year"`

	// JobChips is the job's size and JobReason why it is not larger.
	JobChips  int    `json:"job_chips"`
	JobReason string `json:"job_reason"`
	// ConcurrentJobs is how many such jobs the fleet holds at once.
	ConcurrentJobs int64 `json:"concurrent_jobs"`
	// BatchLimitTokens is the largest useful batch for this model and token
	// count; GlobalBatch the sequences per step used, within it.
	BatchLimitTokens float64 `json:"batch_limit_tokens"`
	GlobalBatch      int     `json:"global_batch"`
	// MFU is the searched MFU of the job's best layout; MFUSource
	// "predicted", or "given"/"fallback" when no layout was found.
	MFU       float64 `json:"mfu"`
	MFUSource string  `json:"mfu_source"`
	Layout    string  `json:"layout,omitempty"`
	// Run is the whole run of one job: chip-hours, cost, energy, carbon,
	// reliability and ranges. Nil when no layout was found.
	Run *economics.Run `json:"run,omitempty"`
	// Sizes are the job sizes tried, with their MFU.
	Sizes []JobSize `json:"sizes,omitempty"`
}

// JobSize is one job size the search tried: its best layout's MFU, the
// goodput failures leave at the catalog's default site, and their product,
// the share of the peak that goes into training.
type JobSize struct {
	Chips        int     `json:"chips"`
	MFU          float64 `json:"mfu"`
	Goodput      float64 `json:"goodput"`
	EffectiveMFU float64 `json:"effective_mfu"`
	Days         float64 `json:"days"` // failure-free
}

type jobKey struct {
	chip, model string
	chips       int
	seq, batch  int
	tokens      float64
}

type jobSize struct {
	chips   int
	r       *spec.Resolved
	res     estimate.Result
	goodput float64 // 0 when failures outrun recovery
}

// effective is the share of the peak a job turns into training.
func (s jobSize) effective() float64 { return s.res.MFU * s.goodput }

// minJob is the smallest job tried, and the sizes grow by doubling.
const minJob = 8

// maxRunS bounds the sizes tried from below: a job whose run would take
// more than a year at the full BF16 peak is too small to plan.
const maxRunS = 365.25 * 86400

// trainable finds m's job on chip and follows one run of it.
func (p *planner) trainable(m model.Config, chip hardware.Chip, rep *Report, cd Defaults) (Trainable, error) {
	seq := p.opts.SeqLen
	if seq == 0 {
		seq = repSeq
	}
	params := m.Params()
	tokens := p.opts.Tokens
	if tokens == 0 {
		tokens = economics.ChinchillaTokensPerParam * params
	}
	t := Trainable{Model: m.Name, Params: params, Tokens: tokens, FLOP: m.TrainFLOPsPerToken(seq) * tokens}
	t.BatchLimitTokens = cd.BatchLimit.Tokens(t.FLOP)
	t.GlobalBatch = 1
	for float64(t.GlobalBatch*2*seq) <= t.BatchLimitTokens {
		t.GlobalBatch *= 2
	}

	// Sizes start where one run takes at most a year even at the full
	// BF16 peak: a smaller job is not one anybody would plan.
	start := minJob
	for float64(start)*chip.BF16TFLOPS*1e12*maxRunS < t.FLOP && int64(start) < rep.Chips {
		start *= 2
	}
	sizes, err := p.jobSizes(m, chip, seq, t.GlobalBatch, tokens, start, rep.Chips, cd.JobEfficiency.Value)
	if err != nil {
		return t, err
	}
	best := 0.0
	for _, s := range sizes {
		best = max(best, s.effective())
		t.Sizes = append(t.Sizes, JobSize{Chips: s.chips, MFU: s.res.MFU, Goodput: s.goodput, EffectiveMFU: s.effective(),
			Days: economics.TrainSpan(tokens, s.res.TokensPerS, s.chips).Days})
	}
	// The job: the largest size whose MFU × goodput stays within
	// job_efficiency of the best.
	pick := -1
	for i, s := range sizes {
		if best > 0 && s.effective() >= cd.JobEfficiency.Value*best {
			pick = i
		}
	}
	if pick < 0 {
		// No layout at any size up to the fleet: the whole fleet at the
		// given or fallback MFU, as a bound.
		mfu, src := cd.FallbackMFU.Value, "fallback"
		if p.opts.MFU > 0 {
			mfu, src = p.opts.MFU, "given"
		}
		t.MFU, t.MFUSource, t.JobChips, t.ConcurrentJobs = mfu, src, int(min(rep.Chips, 1<<30)), 1
		t.Days = t.FLOP / (float64(rep.Chips) * chip.BF16TFLOPS * 1e12 * mfu) / 86400
		t.JobReason = fmt.Sprintf("no layout of %s with a batch of %d × %d tokens fits on %d to %d chips: the whole fleet at %s MFU %.0f%%, failures not counted",
			m.Name, t.GlobalBatch, seq, start, rep.Chips, src, 100*mfu)
		t.RunsPerYear = economics.Span{Days: t.Days}.RunsPerYear()
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("%s: %s", m.Name, t.JobReason))
		return t, nil
	}
	job := sizes[pick]
	t.JobChips, t.MFU, t.MFUSource = job.chips, job.res.MFU, "predicted"
	t.Layout = job.res.Parallel.String()
	t.ConcurrentJobs = rep.Chips / int64(job.chips)
	t.JobReason = p.jobReason(sizes, pick, best, t, rep.Chips, cd)

	o := economics.Options{}
	if p.opts.StepTimeErr != nil {
		o.StepTimeErr, o.StepTimeErrFrom = p.opts.StepTimeErr(job.r)
	}
	run, err := economics.WholeRunOpts(job.r, &job.res, o)
	if err != nil {
		// A job interrupted faster than it recovers never finishes: say
		// so, and give the failure-free time as a bound.
		t.Days = economics.TrainSpan(tokens, job.res.TokensPerS, job.chips).Days
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("%s: %v; its days leave failures out", m.Name, err))
	} else {
		t.Run = run
		t.Days = run.Days
	}
	if t.Days > 0 {
		t.RunsPerYear = float64(t.ConcurrentJobs) * economics.Span{Days: t.Days}.RunsPerYear()
	}
	return t, nil
}

// jobReason says why the job is not larger.
func (p *planner) jobReason(sizes []jobSize, pick int, best float64, t Trainable, fleet int64, cd Defaults) string {
	n := sizes[pick].chips
	seq := sizes[pick].r.Training.SeqLen
	batch := fmt.Sprintf("%d sequences of %d, %.3g tokens, within the DeepSeek LLM batch limit of %.3g", t.GlobalBatch, seq,
		float64(t.GlobalBatch*seq), t.BatchLimitTokens)
	switch {
	case pick+1 < len(sizes):
		nx := sizes[pick+1]
		cur := sizes[pick]
		why := "the batch leaves too little work per chip"
		if nx.goodput/cur.goodput < nx.res.MFU/cur.res.MFU {
			why = "interruptions grow with the job"
		}
		return fmt.Sprintf("at %s chips MFU × goodput falls to %.1f%% (MFU %.1f%%, goodput %.1f%%), under %.0f%% of the best, %.1f%%: %s (batch %s)",
			format.Thousands(int64(nx.chips)), 100*nx.effective(), 100*nx.res.MFU, 100*nx.goodput, 100*cd.JobEfficiency.Value, 100*best, why, batch)
	case int64(2*n) > fleet:
		return fmt.Sprintf("the fleet has %s chips, fewer than the next size, %s (batch %s)", format.Thousands(fleet), format.Thousands(int64(2*n)), batch)
	}
	return fmt.Sprintf("no layout of %s chips fits the batch of %s", format.Thousands(int64(2*n)), batch)
}

// jobSizes searches m's best layout on start, 2·start, 4·start, … chips
// until one fits, then on sizes four times apart up to the fleet, stopping
// once a size has no layout or MFU × goodput has fallen below
// job_efficiency of the best; the size between the last good one and the
// next is then searched too. Sizes come back in increasing order.
func (p *planner) jobSizes(m model.Config, chip hardware.Chip, seq, batch int, tokens float64, start int, fleet int64, eff float64) ([]jobSize, error) {
	var out []jobSize
	best := 0.0
	at := func(n int) (jobSize, bool, error) {
		if err := p.opts.Context.Err(); err != nil {
			return jobSize{}, false, err
		}
		return p.jobAt(jobKey{chip: chip.Name, model: m.Name, chips: n, seq: seq, batch: batch, tokens: tokens}, m, chip)
	}
	for n := start; int64(n) <= fleet && n <= 1<<24; {
		s, ok, err := at(n)
		if err != nil {
			return nil, err
		}
		if !ok {
			if len(out) > 0 {
				break
			}
			n *= 2
			continue
		}
		out = append(out, s)
		best = max(best, s.effective())
		if s.effective() < eff*best {
			break
		}
		n *= 4
	}
	// Refine: the size twice the largest good one.
	last := -1
	for i, s := range out {
		if s.effective() >= eff*best {
			last = i
		}
	}
	if last >= 0 {
		n := 2 * out[last].chips
		if int64(n) <= fleet && (last+1 == len(out) || out[last+1].chips != n) {
			s, ok, err := at(n)
			if err != nil {
				return nil, err
			}
			if ok {
				out = append(out[:last+1], append([]jobSize{s}, out[last+1:]...)...)
			}
		}
	}
	return out, nil
}

// jobAt is the best layout of one job size, remembered per planner.
func (p *planner) jobAt(k jobKey, m model.Config, chip hardware.Chip) (jobSize, bool, error) {
	if s, ok := p.jobs[k]; ok {
		return s, s.r != nil, nil
	}
	s := jobSize{chips: k.chips}
	var inline *model.Config
	name := m.Name
	if _, ok := model.Lookup(m.Name); !ok {
		inline, name = &m, ""
	}
	r, err := resolve(name, inline, chip, k.chips, k.seq, k.batch, k.tokens)
	if err == nil {
		var rep *search.Report
		rep, err = p.opts.Search(p.opts.Context, r, search.Options{Fastest: true})
		if err == nil && len(rep.Results) > 0 {
			s.r, s.res = r, rep.Results[0]
			// Goodput at the default site; a job that never finishes has
			// none.
			if run, rerr := economics.WholeRun(r, &s.res); rerr == nil {
				s.goodput = run.Goodput
			}
		}
	}
	if err != nil {
		if p.opts.Context.Err() != nil {
			return s, false, p.opts.Context.Err()
		}
		var nl *search.NoLayoutError
		var fe *flopcast.FieldError
		if !errors.As(err, &nl) && !errors.As(err, &fe) {
			return s, false, err
		}
	}
	p.jobs[k] = s
	return s, s.r != nil, nil
}
