// Package validate checks flopcast's predictions against the built-in
// corpus of published training runs (catalog/runs.yaml) and reports the
// error of each row and of the whole.
package validate

import (
	"fmt"
	"github.com/flopcast/flopcast"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/flopcast/flopcast/catalog"
	"github.com/flopcast/flopcast/economics"
	"github.com/flopcast/flopcast/estimate"
	"github.com/flopcast/flopcast/spec"
)

// Confidence marks how well a row of catalog/runs.yaml is known.
const (
	Confirmed = "confirmed" // ✔ read in a primary artifact
	Secondary = "secondary" // ◐ a secondary transcription
	Recalled  = "recalled"  // ✱ recalled and unconfirmed: reported apart
)

// Metrics a row can measure.
const (
	MetricTFLOPsPerChip = "tflops_per_chip"
	MetricMFU           = "mfu"
	MetricHFU           = "hfu"
	MetricStepTime      = "step_time_s"
	MetricTokensPerChip = "tokens_per_s_per_chip"
	MetricSeqsPerS      = "seqs_per_s"
	MetricMinutes       = "minutes"
	MetricLayerMs       = "layer_ms"
	MetricChipHours     = "chip_hours"
	MetricCO2           = "co2_t"
	// The chips' own energy and carbon, the convention of reports that
	// count accelerators only (BLOOM: GPU-hours × TDP).
	MetricEnergyChips = "energy_chips_mwh"
	MetricCO2Chips    = "co2_chips_t"
	MetricPeakMemGiB  = "peak_mem_gib"
)

// FLOP-counting conventions of publications.
const (
	FlopsModel         = "model"           // flopcast's: causal attention counted half
	FlopsModelFullAttn = "model-full-attn" // attention counted whole (Megatron-Core, NeMo)
	FlopsMegatronHFU   = "megatron-hfu"    // Narayanan et al. 2021: 96·B·s·l·h²·(1+s/6h+V/16lh), recompute included
	FlopsMegatronModel = "megatron-model"  // Korthikanti et al. 2022: 72·B·s·l·h²·(1+s/6h+V/12lh)
)

// Report groups (docs/output.md, validate): every row is reported in one of them.
const (
	GroupDenseBF16   = "dense-bf16"   // dense models in BF16 (or FP16) on more than one chip
	GroupDenseFP8    = "dense-fp8"    // dense models in FP8, MXFP8 or NVFP4
	GroupMoE         = "moe"          // mixture-of-experts models
	GroupSingleGPU   = "single-gpu"   // one-chip measured rows
	GroupWholeRun    = "whole-run"    // chip-hours and carbon of a whole run
	GroupSimuMaxB200 = "simumax-b200" // SimuMax v1.2's own 43 B200 validation cases
	GroupServing     = "serving"      // inference serving rows
)

// Groups lists the report groups in report order.
var Groups = []string{GroupDenseBF16, GroupDenseFP8, GroupMoE, GroupSingleGPU, GroupSimuMaxB200, GroupServing, GroupServingAIConfigurator, GroupWholeRun}

// Row is one published measurement with the run that produced it.
type Row struct {
	Name string `yaml:"name" json:"name"`
	// Family is the publication family: rows of one table share it and
	// its fill-in rules (validate/CORPUS.md).
	Family string `yaml:"family" json:"family"`
	// Group is the report group. Left out, it follows from the run
	// (GroupOf); a row states it only to join a set reported on its own,
	// such as another simulator's validation cases.
	Group      string  `yaml:"group,omitempty" json:"group,omitempty"`
	Source     string  `yaml:"source" json:"source"`
	Confidence string  `yaml:"confidence" json:"confidence"`
	Metric     string  `yaml:"metric" json:"metric"`
	Flops      string  `yaml:"flops,omitempty" json:"flops,omitempty"`
	Measured   float64 `yaml:"measured" json:"measured"`
	// Anchor names another simulator whose own validation set holds this
	// row (an entry of the corpus's anchors); AnchorErr is that
	// simulator's signed error on the row, as a fraction, where it
	// published one.
	Anchor    string   `yaml:"anchor,omitempty" json:"anchor,omitempty"`
	AnchorErr *float64 `yaml:"anchor_err,omitempty" json:"anchor_err,omitempty"`
	FillIn    string   `yaml:"fill_in,omitempty" json:"fill_in,omitempty"`
	Notes     string   `yaml:"notes,omitempty" json:"notes,omitempty"`
	Run       spec.Run `yaml:"run" json:"run"`
}

// Anchor is another simulator's published accuracy on its own validation
// set, so that flopcast's error on the same rows can be set beside it.
type Anchor struct {
	Name   string `yaml:"name" json:"name"`
	Title  string `yaml:"title" json:"title"`
	Source string `yaml:"source" json:"source"`
	// The simulator's own mean and worst |error| as it published them
	// (fractions); 0 where it published none for that kind of row.
	TimeMeanAbsErr  float64 `yaml:"time_mean_abs_err" json:"time_mean_abs_err"`
	TimeWorstAbsErr float64 `yaml:"time_worst_abs_err" json:"time_worst_abs_err"`
	MemMeanAbsErr   float64 `yaml:"mem_mean_abs_err,omitempty" json:"mem_mean_abs_err,omitempty"`
	MemWorstAbsErr  float64 `yaml:"mem_worst_abs_err,omitempty" json:"mem_worst_abs_err,omitempty"`
}

type corpusFile struct {
	Anchors []Anchor `yaml:"anchors,omitempty"`
	Runs    []Row    `yaml:"runs"`
}

// corpusFiles are the catalog files that hold training rows.
var corpusFiles = []string{"runs.yaml", "runs-simumax.yaml"}

// Corpus returns the built-in validation rows.
func Corpus() ([]Row, error) {
	rows, _, err := corpus()
	return rows, err
}

// Anchors returns the other simulators whose validation sets the corpus
// holds.
func Anchors() ([]Anchor, error) {
	_, a, err := corpus()
	return a, err
}

func corpus() ([]Row, []Anchor, error) {
	var rows []Row
	var anchors []Anchor
	names := map[string]bool{}
	add := func(file string, rs []Row) error {
		for _, r := range rs {
			if names[r.Name] {
				return fmt.Errorf("catalog/%s: row %q listed twice", file, r.Name)
			}
			names[r.Name] = true
		}
		rows = append(rows, rs...)
		return nil
	}
	for _, file := range corpusFiles {
		var f corpusFile
		if err := catalog.Decode(file, &f); err != nil {
			return nil, nil, err
		}
		if err := add(file, f.Runs); err != nil {
			return nil, nil, err
		}
		anchors = append(anchors, f.Anchors...)
	}
	for _, file := range catalog.MeasuredFiles() {
		measured, err := measuredCorpus(file)
		if err != nil {
			return nil, nil, err
		}
		if err := add(file, measured); err != nil {
			return nil, nil, err
		}
	}
	known := map[string]bool{}
	for _, a := range anchors {
		known[a.Name] = true
	}
	for _, r := range rows {
		if r.Anchor != "" && !known[r.Anchor] {
			return nil, nil, fmt.Errorf("catalog: row %s: anchor: %q is not listed under anchors", r.Name, r.Anchor)
		}
	}
	return rows, anchors, nil
}

// Result is one row's outcome. Its JSON is described in docs/output.md.
type Result struct {
	Name       string  `json:"name"`
	Group      string  `json:"group"`
	Family     string  `json:"family"`
	Source     string  `json:"source"`
	Confidence string  `json:"confidence"`
	Metric     string  `json:"metric"`
	Measured   float64 `json:"measured"`
	Predicted  float64 `json:"predicted"`
	// Err is (predicted - measured) / measured; AbsErr its magnitude.
	Err       float64  `json:"err"`
	AbsErr    float64  `json:"abs_err"`
	Anchor    string   `json:"anchor,omitempty"`
	AnchorErr *float64 `json:"anchor_err,omitempty"`
	FillIn    string   `json:"fill_in,omitempty"`
	Layout    string   `json:"layout"`
}

// Stats summarises the |error| of a set of rows.
type Stats struct {
	Rows        int     `json:"rows"`
	MeanAbsErr  float64 `json:"mean_abs_err"`
	WorstAbsErr float64 `json:"worst_abs_err"`
	// The same over the confirmed and secondary rows alone.
	TrustedRows        int     `json:"trusted_rows"`
	TrustedMeanAbsErr  float64 `json:"trusted_mean_abs_err"`
	TrustedWorstAbsErr float64 `json:"trusted_worst_abs_err"`
}

func (s *Stats) add(r *Result) {
	s.MeanAbsErr = (s.MeanAbsErr*float64(s.Rows) + r.AbsErr) / float64(s.Rows+1)
	s.Rows++
	s.WorstAbsErr = math.Max(s.WorstAbsErr, r.AbsErr)
	if r.Confidence != Recalled {
		s.TrustedMeanAbsErr = (s.TrustedMeanAbsErr*float64(s.TrustedRows) + r.AbsErr) / float64(s.TrustedRows+1)
		s.TrustedRows++
		s.TrustedWorstAbsErr = math.Max(s.TrustedWorstAbsErr, r.AbsErr)
	}
}

// Memory summarises the memory rows (peak allocated or peak reserved
// memory), over all of them and per group.
type Memory struct {
	Stats
	Groups map[string]*Stats `json:"groups"`
}

// AnchorResult sets flopcast's error on another simulator's validation
// rows beside that simulator's own.
type AnchorResult struct {
	Anchor
	Time   Stats `json:"time"`
	Memory Stats `json:"memory"`
	// The simulator's own error recomputed from its per-row errors, where
	// every row carries one (zero rows otherwise).
	TheirTime   Stats `json:"their_time"`
	TheirMemory Stats `json:"their_memory"`
}

// Report is the corpus outcome. Means and worst cover every step-level
// time row (memory rows are summarised in Memory); the Trusted figures
// leave out the recalled (✱) rows. Whole-run rows (chip-hours, carbon),
// which also carry goodput and an unpublished layout, are summarised
// apart. Groups holds the time rows per report group (docs/output.md).
type Report struct {
	Rows            []Result `json:"rows"`
	MeanAbsErr      float64  `json:"mean_abs_err"`
	WorstAbsErr     float64  `json:"worst_abs_err"`
	TrustedMeanAbs  float64  `json:"trusted_mean_abs_err"`
	TrustedWorstAbs float64  `json:"trusted_worst_abs_err"`
	RecalledMeanAbs float64  `json:"recalled_mean_abs_err"`
	WholeRunMeanAbs float64  `json:"whole_run_mean_abs_err"`
	// Row counts of each part.
	Trusted  int `json:"trusted_rows"`
	Recalled int `json:"recalled_rows"`
	WholeRun int `json:"whole_run_rows"`

	Groups  map[string]*Stats `json:"groups"`
	Memory  Memory            `json:"memory"`
	Anchors []AnchorResult    `json:"anchors,omitempty"`
}

// IsWholeRun reports whether a metric describes a whole run rather than a
// training step.
func IsWholeRun(metric string) bool {
	switch metric {
	case MetricChipHours, MetricCO2, MetricEnergyChips, MetricCO2Chips:
		return true
	}
	return false
}

// IsMemory reports whether a metric is a memory figure.
func IsMemory(metric string) bool { return metric == MetricPeakMemGiB || metric == MetricAllocGiB }

// GroupOf is the report group of a row whose run resolved to r, when the
// row does not state one: whole-run metrics, then one chip, then MoE
// models, then the precision.
func GroupOf(metric string, r *spec.Resolved) string {
	switch {
	case IsWholeRun(metric):
		return GroupWholeRun
	case r.Chips == 1:
		return GroupSingleGPU
	case r.Model.MoE != nil:
		return GroupMoE
	case r.Training.Precision != "" && r.Training.Precision != spec.PrecisionBF16:
		return GroupDenseFP8
	}
	return GroupDenseBF16
}

// Run evaluates every row of the built-in corpus.
func Run() (*Report, error) {
	rows, anchors, err := corpus()
	if err != nil {
		return nil, err
	}
	rep, err := Evaluate(rows)
	if err != nil {
		return nil, err
	}
	rep.compareAnchors(anchors)
	if err := rep.addServing(); err != nil {
		return nil, err
	}
	return rep, nil
}

// Evaluate predicts each row and summarises the errors.
func Evaluate(rows []Row) (*Report, error) {
	rep := &Report{Groups: map[string]*Stats{}, Memory: Memory{Groups: map[string]*Stats{}}}
	var all, trusted, recalled, whole Stats
	for i := range rows {
		res, err := Predict(&rows[i])
		if err != nil {
			return nil, fmt.Errorf("validate: row %s: %w", rows[i].Name, err)
		}
		rep.Rows = append(rep.Rows, res)
		r := &rep.Rows[len(rep.Rows)-1]
		if IsMemory(r.Metric) {
			rep.Memory.add(r)
			group(rep.Memory.Groups, r.Group).add(r)
			continue
		}
		group(rep.Groups, r.Group).add(r)
		switch {
		case IsWholeRun(r.Metric):
			whole.add(r)
			continue
		case r.Confidence == Recalled:
			recalled.add(r)
		default:
			trusted.add(r)
		}
		all.add(r)
	}
	rep.MeanAbsErr, rep.WorstAbsErr = all.MeanAbsErr, all.WorstAbsErr
	rep.TrustedMeanAbs, rep.TrustedWorstAbs, rep.Trusted = trusted.MeanAbsErr, trusted.WorstAbsErr, trusted.Rows
	rep.RecalledMeanAbs, rep.Recalled = recalled.MeanAbsErr, recalled.Rows
	rep.WholeRunMeanAbs, rep.WholeRun = whole.MeanAbsErr, whole.Rows
	return rep, nil
}

func group(m map[string]*Stats, name string) *Stats {
	s := m[name]
	if s == nil {
		s = &Stats{}
		m[name] = s
	}
	return s
}

// compareAnchors summarises flopcast's error on each anchor's rows beside
// the anchor's own.
func (r *Report) compareAnchors(anchors []Anchor) {
	for _, a := range anchors {
		ar := AnchorResult{Anchor: a}
		everyTime, everyMem := true, true
		for i := range r.Rows {
			x := &r.Rows[i]
			if x.Anchor != a.Name {
				continue
			}
			mine, theirs, every := &ar.Time, &ar.TheirTime, &everyTime
			if IsMemory(x.Metric) {
				mine, theirs, every = &ar.Memory, &ar.TheirMemory, &everyMem
			}
			mine.add(x)
			if x.AnchorErr == nil {
				*every = false
				continue
			}
			t := *x
			t.AbsErr = math.Abs(*x.AnchorErr)
			theirs.add(&t)
		}
		if !everyTime {
			ar.TheirTime = Stats{}
		}
		if !everyMem {
			ar.TheirMemory = Stats{}
		}
		r.Anchors = append(r.Anchors, ar)
	}
}

// Worst returns the n step-level time rows with the largest error.
func (r *Report) Worst(n int) []Result {
	var w []Result
	for _, x := range r.Rows {
		if !IsWholeRun(x.Metric) && !IsMemory(x.Metric) && !IsServing(x.Group) {
			w = append(w, x)
		}
	}
	sort.SliceStable(w, func(i, j int) bool { return w[i].AbsErr > w[j].AbsErr })
	return w[:min(n, len(w))]
}

// Predict runs the estimator on one row and expresses the prediction in the
// row's metric and FLOP convention.
func Predict(row *Row) (Result, error) {
	out := Result{Name: row.Name, Family: row.Family, Source: row.Source, Confidence: row.Confidence,
		Metric: row.Metric, Measured: row.Measured, Anchor: row.Anchor, AnchorErr: row.AnchorErr, FillIn: row.FillIn}
	switch row.Confidence {
	case Confirmed, Secondary, Recalled:
	default:
		return out, fmt.Errorf("confidence: %q (allowed: confirmed, secondary, recalled)", row.Confidence)
	}
	if row.Measured <= 0 {
		return out, fmt.Errorf("measured: %v (allowed: a positive number)", row.Measured)
	}
	r, err := spec.Resolve(&row.Run)
	if err != nil {
		return out, err
	}
	if err := r.CheckLayout(r.Layout); err != nil {
		return out, err
	}
	out.Group = row.Group
	if out.Group == "" {
		out.Group = GroupOf(row.Metric, r)
	} else if !slices.Contains(Groups, out.Group) {
		return out, &flopcast.FieldError{Field: "group", Value: out.Group, Reason: "is not a report group", Allowed: strings.Join(Groups, ", ")}
	}
	e, err := estimate.New(r)
	if err != nil {
		return out, err
	}
	res := e.Estimate(r.Layout)
	out.Layout = r.Layout.String()
	chips := float64(r.Chips)
	tokens := r.TokensPerStep()
	flops := func() (float64, error) {
		m := &r.Model
		B, s, l, h, V := float64(r.Training.GlobalBatch), float64(r.Training.SeqLen), float64(m.Layers), float64(m.Hidden), float64(m.Vocab)
		switch row.Flops {
		case FlopsModel:
			return e.ModelFLOPsPerToken() * tokens, nil
		case FlopsModelFullAttn:
			return (e.ModelFLOPsPerToken() + e.CausalAttentionFLOPsPerToken()) * tokens, nil
		case FlopsMegatronHFU:
			return 96 * B * s * l * h * h * (1 + s/(6*h) + V/(16*l*h)), nil
		case FlopsMegatronModel:
			return 72 * B * s * l * h * h * (1 + s/(6*h) + V/(12*l*h)), nil
		}
		return 0, fmt.Errorf("flops: %q (allowed: model, model-full-attn, megatron-hfu, megatron-model)", row.Flops)
	}
	peak := r.Chip.BF16TFLOPS * 1e12
	switch row.Metric {
	case MetricTFLOPsPerChip, MetricMFU, MetricHFU:
		f, err := flops()
		if err != nil {
			return out, err
		}
		out.Predicted = f / res.StepTimeS / chips / 1e12
		if row.Metric != MetricTFLOPsPerChip {
			out.Predicted *= 1e12 / peak
		}
	case MetricStepTime:
		out.Predicted = res.StepTimeS
	case MetricTokensPerChip:
		out.Predicted = tokens / res.StepTimeS / chips
	case MetricSeqsPerS:
		out.Predicted = float64(r.Training.GlobalBatch) / res.StepTimeS
	case MetricMinutes:
		if r.Training.Tokens <= 0 {
			return out, fmt.Errorf("metric minutes needs run.training.tokens")
		}
		out.Predicted = r.Training.Tokens / tokens * res.StepTimeS / 60
	case MetricLayerMs:
		f, b := e.LayerTimes(r.Layout)
		out.Predicted = (f + b) * 1e3
	case MetricPeakMemGiB:
		out.Predicted = res.Memory.PeakGiB
	case MetricAllocGiB:
		out.Predicted = res.Memory.PeakGiB - res.Memory.FragmentationGiB
	case MetricChipHours, MetricCO2, MetricEnergyChips, MetricCO2Chips:
		if r.Training.Tokens <= 0 {
			return out, fmt.Errorf("metric %s needs run.training.tokens", row.Metric)
		}
		w, err := economics.WholeRun(r, &res)
		if err != nil {
			return out, err
		}
		out.Predicted = map[string]float64{MetricChipHours: w.ChipHours, MetricCO2: w.CO2T,
			MetricEnergyChips: w.EnergyChipsMWh, MetricCO2Chips: w.CO2ChipsT}[row.Metric]
	default:
		return out, fmt.Errorf("metric: %q (allowed: tflops_per_chip, mfu, hfu, step_time_s, tokens_per_s_per_chip, seqs_per_s, minutes, layer_ms, peak_mem_gib, peak_alloc_gib, chip_hours, co2_t, energy_chips_mwh, co2_chips_t)", row.Metric)
	}
	out.setErr()
	return out, nil
}

// setErr sets Err and AbsErr from Predicted and Measured.
func (r *Result) setErr() {
	r.Err = (r.Predicted - r.Measured) / r.Measured
	r.AbsErr = math.Abs(r.Err)
}
