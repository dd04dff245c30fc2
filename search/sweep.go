package search

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/flopcast/flopcast"
	"github.com/flopcast/flopcast/economics"
	"github.com/flopcast/flopcast/estimate"
	"github.com/flopcast/flopcast/hardware"
	"github.com/flopcast/flopcast/spec"
)

// SweepOptions say which chips and counts a sweep tries.
type SweepOptions struct {
	Chips  []string // catalog chip names
	Counts []int    // chip counts
	// Tokens is the length of the run for time-to-train and cost per run;
	// 0 takes economics.ChinchillaTokensPerParam × the model's parameters.
	Tokens float64
	// Weak scales the global batch with the chip count, from the run's
	// global batch at the smallest count (weak scaling). The default keeps
	// it fixed (strong scaling).
	Weak      bool
	Objective Objective // ranks the layouts of each cell (default time)
	Workers   int       // per search; 0: GOMAXPROCS
	// Progress, if set, is called after each cell with done and total.
	Progress func(done, total int)
}

// SweepCell is the best layout of one chip type at one count.
type SweepCell struct {
	Chip        string           `json:"chip"`
	Chips       int              `json:"chips"`
	GlobalBatch int              `json:"global_batch"`
	Best        *estimate.Result `json:"best,omitempty"`
	MFU         float64          `json:"mfu"`
	TokensPerS  float64          `json:"tokens_per_s"`
	StepTimeS   float64          `json:"step_time_s"`
	// Days to train Tokens at the best layout's speed, without failures or
	// restarts.
	Days             float64 `json:"days"`
	PricePerChipHour float64 `json:"price_per_chip_hour"`
	USDPerMTokens    float64 `json:"usd_per_m_tokens"` // rent per million trained tokens
	RunUSD           float64 `json:"run_usd"`          // rent for the whole run
	Evaluated        int64   `json:"evaluated"`
	Feasible         int64   `json:"feasible"`
	// Error says why the cell has no layout (it does not fit, or no layout
	// is valid at this count).
	Error string `json:"error,omitempty"`
}

// SweepReport is the outcome of a sweep, one cell per chip × count, chips
// in the order given and counts ascending.
type SweepReport struct {
	Model  string  `json:"model"`
	Tokens float64 `json:"tokens"`
	// TokensNote says where Tokens came from.
	TokensNote string      `json:"tokens_note"`
	Weak       bool        `json:"weak"`
	Cells      []SweepCell `json:"cells"`
	ElapsedS   float64     `json:"elapsed_s"`
}

// Sweep searches base on every chip type and count of opt: for each cell
// the best layout, its MFU, throughput, time to train and rent. Knobs that
// base gives are kept, except dp, which follows the count. A cell without
// a feasible layout carries its reason; an unknown chip name is an error.
func Sweep(ctx context.Context, base spec.Run, opt SweepOptions) (*SweepReport, error) {
	start := time.Now()
	if len(opt.Chips) == 0 {
		return nil, &flopcast.FieldError{Field: "chips", Value: "(none)", Allowed: "one or more catalog chip names"}
	}
	if len(opt.Counts) == 0 {
		return nil, &flopcast.FieldError{Field: "counts", Value: "(none)", Allowed: "one or more positive chip counts"}
	}
	for _, c := range opt.Chips {
		if _, ok := hardware.LookupChip(c); !ok {
			return nil, &flopcast.FieldError{Field: "cluster.chip", Value: c, Reason: "is not in the catalog", Allowed: strings.Join(hardware.ChipNames(), ", ")}
		}
	}
	counts := slices.Clone(opt.Counts)
	slices.Sort(counts)
	counts = slices.Compact(counts)
	for _, n := range counts {
		if n <= 0 {
			return nil, &flopcast.FieldError{Field: "counts", Value: n, Allowed: "positive chip counts"}
		}
	}
	obj, err := ParseObjective(string(opt.Objective))
	if err != nil {
		return nil, err
	}
	opt.Objective = obj
	baseGB := base.Training.GlobalBatch
	if baseGB <= 0 {
		return nil, &flopcast.FieldError{Field: "training.global_batch", Value: baseGB, Allowed: "a positive integer (sequences per optimizer step)"}
	}
	base.Parallel.DP = nil

	rep := &SweepReport{Weak: opt.Weak, Tokens: opt.Tokens, Cells: []SweepCell{}}
	total, done := len(opt.Chips)*len(counts), 0
	for _, chip := range opt.Chips {
		for _, n := range counts {
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("sweep: %w", err)
			}
			run := base
			run.Cluster.Chip = chip
			run.Cluster.Chips = n
			run.Training.GlobalBatch = baseGB
			if opt.Weak {
				run.Training.GlobalBatch = max(1, int(math.Round(float64(baseGB)*float64(n)/float64(counts[0]))))
			}
			cell := SweepCell{Chip: chip, Chips: n, GlobalBatch: run.Training.GlobalBatch}
			r, err := spec.Resolve(&run)
			if err == nil && rep.Model == "" {
				rep.Model = r.Model.Name
				if rep.Tokens <= 0 {
					rep.Tokens = economics.ChinchillaTokensPerParam * r.Model.Params()
					rep.TokensNote = fmt.Sprintf("Chinchilla default, %d tokens per parameter × %.3gB parameters, Hoffmann et al. 2022", economics.ChinchillaTokensPerParam, r.Model.Params()/1e9)
				} else {
					rep.TokensNote = "given"
				}
			}
			if err == nil {
				err = sweepCell(ctx, r, &cell, opt)
			}
			if err != nil {
				if ctx.Err() != nil {
					return nil, fmt.Errorf("sweep: %w", ctx.Err())
				}
				var nl *NoLayoutError
				var fe *flopcast.FieldError
				if !errors.As(err, &nl) && !errors.As(err, &fe) {
					return nil, err
				}
				cell.Error = err.Error()
			}
			rep.Cells = append(rep.Cells, cell)
			done++
			if opt.Progress != nil {
				opt.Progress(done, total)
			}
		}
	}
	// Fill the run-length figures once Tokens is known.
	for i := range rep.Cells {
		c := &rep.Cells[i]
		if c.Best == nil || c.TokensPerS <= 0 {
			continue
		}
		span := economics.TrainSpan(rep.Tokens, c.TokensPerS, c.Chips)
		c.Days = span.Days
		c.RunUSD = span.ChipHours * c.PricePerChipHour
		c.USDPerMTokens = economics.TrainSpan(1e6, c.TokensPerS, c.Chips).ChipHours * c.PricePerChipHour
	}
	rep.ElapsedS = time.Since(start).Seconds()
	return rep, nil
}

func sweepCell(ctx context.Context, r *spec.Resolved, c *SweepCell, opt SweepOptions) error {
	sr, err := Run(ctx, r, Options{Top: 1, Objective: opt.Objective, Workers: opt.Workers})
	if err != nil {
		var nl *NoLayoutError
		if errors.As(err, &nl) {
			c.Evaluated = nl.Evaluated
		}
		return err
	}
	best := sr.Results[0]
	c.Best = &best
	c.MFU, c.TokensPerS, c.StepTimeS = best.MFU, best.TokensPerS, best.StepTimeS
	c.Evaluated, c.Feasible = sr.Evaluated, sr.Feasible
	c.PricePerChipHour, _, _ = economics.PricePerChipHour(r)
	return nil
}
