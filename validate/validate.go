// Package validate checks flopcast's predictions against the built-in
// corpus of published training runs (catalog/runs.yaml) and reports the
// error of each row and of the whole.
package validate

import (
	"fmt"
	"math"
	"sort"

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
	MetricPeakMemGiB    = "peak_mem_gib"
)

// FLOP-counting conventions of publications.
const (
	FlopsModel         = "model"           // flopcast's: causal attention counted half
	FlopsModelFullAttn = "model-full-attn" // attention counted whole (Megatron-Core, NeMo)
	FlopsMegatronHFU   = "megatron-hfu"    // Narayanan et al. 2021: 96·B·s·l·h²·(1+s/6h+V/16lh), recompute included
	FlopsMegatronModel = "megatron-model"  // Korthikanti et al. 2022: 72·B·s·l·h²·(1+s/6h+V/12lh)
)

// Row is one published measurement with the run that produced it.
type Row struct {
	Name       string   `yaml:"name" json:"name"`
	Group      string   `yaml:"group" json:"group"`
	Source     string   `yaml:"source" json:"source"`
	Confidence string   `yaml:"confidence" json:"confidence"`
	Metric     string   `yaml:"metric" json:"metric"`
	Flops      string   `yaml:"flops,omitempty" json:"flops,omitempty"`
	Measured   float64  `yaml:"measured" json:"measured"`
	FillIn     string   `yaml:"fill_in,omitempty" json:"fill_in,omitempty"`
	Notes      string   `yaml:"notes,omitempty" json:"notes,omitempty"`
	Run        spec.Run `yaml:"run" json:"run"`
}

type corpusFile struct {
	Runs []Row `yaml:"runs"`
}

// Corpus returns the built-in validation rows.
func Corpus() ([]Row, error) {
	var f corpusFile
	if err := catalog.Decode("runs.yaml", &f); err != nil {
		return nil, err
	}
	return f.Runs, nil
}

// Result is one row's outcome. Its JSON is described in docs/output.md.
type Result struct {
	Name       string  `json:"name"`
	Group      string  `json:"group"`
	Source     string  `json:"source"`
	Confidence string  `json:"confidence"`
	Metric     string  `json:"metric"`
	Measured   float64 `json:"measured"`
	Predicted  float64 `json:"predicted"`
	// Err is (predicted - measured) / measured; AbsErr its magnitude.
	Err    float64 `json:"err"`
	AbsErr float64 `json:"abs_err"`
	FillIn string  `json:"fill_in,omitempty"`
	Layout string  `json:"layout"`
}

// Report is the corpus outcome. Means and worst cover every step-level
// row; the Trusted figures leave out the recalled (✱) rows. Whole-run rows
// (chip-hours, carbon), which also carry goodput and an unpublished layout,
// are summarised apart.
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
}

// IsWholeRun reports whether a metric describes a whole run rather than a
// training step.
func IsWholeRun(metric string) bool { return metric == MetricChipHours || metric == MetricCO2 }

// Run evaluates every row of the built-in corpus.
func Run() (*Report, error) {
	rows, err := Corpus()
	if err != nil {
		return nil, err
	}
	return Evaluate(rows)
}

// Evaluate predicts each row and summarises the errors.
func Evaluate(rows []Row) (*Report, error) {
	rep := &Report{}
	var sumAll, sumT, sumR, sumW float64
	for i := range rows {
		res, err := Predict(&rows[i])
		if err != nil {
			return nil, fmt.Errorf("validate: row %s: %w", rows[i].Name, err)
		}
		rep.Rows = append(rep.Rows, res)
		if IsWholeRun(res.Metric) {
			sumW += res.AbsErr
			rep.WholeRun++
			continue
		}
		sumAll += res.AbsErr
		rep.WorstAbsErr = math.Max(rep.WorstAbsErr, res.AbsErr)
		if res.Confidence == Recalled {
			sumR += res.AbsErr
			rep.Recalled++
		} else {
			sumT += res.AbsErr
			rep.Trusted++
			rep.TrustedWorstAbs = math.Max(rep.TrustedWorstAbs, res.AbsErr)
		}
	}
	if n := rep.Trusted + rep.Recalled; n > 0 {
		rep.MeanAbsErr = sumAll / float64(n)
	}
	if rep.WholeRun > 0 {
		rep.WholeRunMeanAbs = sumW / float64(rep.WholeRun)
	}
	if rep.Trusted > 0 {
		rep.TrustedMeanAbs = sumT / float64(rep.Trusted)
	}
	if rep.Recalled > 0 {
		rep.RecalledMeanAbs = sumR / float64(rep.Recalled)
	}
	return rep, nil
}

// Worst returns the n step-level rows with the largest error.
func (r *Report) Worst(n int) []Result {
	var w []Result
	for _, x := range r.Rows {
		if !IsWholeRun(x.Metric) {
			w = append(w, x)
		}
	}
	sort.SliceStable(w, func(i, j int) bool { return w[i].AbsErr > w[j].AbsErr })
	return w[:min(n, len(w))]
}

// Predict runs the estimator on one row and expresses the prediction in the
// row's metric and FLOP convention.
func Predict(row *Row) (Result, error) {
	out := Result{Name: row.Name, Group: row.Group, Source: row.Source, Confidence: row.Confidence,
		Metric: row.Metric, Measured: row.Measured, FillIn: row.FillIn}
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
	e, err := estimate.New(r)
	if err != nil {
		return out, err
	}
	res := e.Estimate(r.Layout)
	out.Layout = r.Layout.String()
	chips := float64(r.Chips)
	tokens := float64(r.Training.GlobalBatch) * float64(r.Training.SeqLen)
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
	case MetricChipHours, MetricCO2:
		if r.Training.Tokens <= 0 {
			return out, fmt.Errorf("metric %s needs run.training.tokens", row.Metric)
		}
		w, err := economics.WholeRun(r, &res)
		if err != nil {
			return out, err
		}
		if row.Metric == MetricChipHours {
			out.Predicted = w.ChipHours
		} else {
			out.Predicted = w.CO2T
		}
	default:
		return out, fmt.Errorf("metric: %q (allowed: tflops_per_chip, mfu, hfu, step_time_s, tokens_per_s_per_chip, seqs_per_s, minutes, layer_ms, peak_mem_gib, peak_alloc_gib, chip_hours, co2_t)", row.Metric)
	}
	out.Err = (out.Predicted - out.Measured) / out.Measured
	out.AbsErr = math.Abs(out.Err)
	return out, nil
}
