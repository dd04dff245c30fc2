package validate

import (
	"fmt"

	"github.com/flopcast/flopcast/calibrate"
	"github.com/flopcast/flopcast/catalog"
	"github.com/flopcast/flopcast/model"
	"github.com/flopcast/flopcast/spec"
)

// MetricAllocGiB is the peak memory the PyTorch allocator handed out
// (torch.cuda.max_memory_allocated): the predicted peak less
// fragmentation.
const MetricAllocGiB = "peak_alloc_gib"

// MeasuredRows turns the whole-step points of a GPU measurement
// (tools/gpu/measure.py) into corpus rows, two per point: step time and
// peak allocated memory. profile is the cluster.profile each row uses:
// "default" for the catalog curve, or a profile file.
func MeasuredRows(m *calibrate.Measurement, chip, profile string) ([]Row, error) {
	var rows []Row
	for i, p := range m.Steps {
		if p.StepS <= 0 || p.PeakAllocGiB <= 0 || p.MicroBatch <= 0 || p.SeqLen <= 0 {
			return nil, fmt.Errorf("steps[%d] (%s): step_s, peak_alloc_gib, micro_batch and seq_len must be positive", i, p.Name)
		}
		mc := model.Config{Name: p.Name, Layers: p.Model.Layers, Hidden: p.Model.Hidden, Heads: p.Model.Heads,
			KVHeads: p.Model.KVHeads, HeadDim: p.Model.HeadDim, FFN: p.Model.FFN, FFNKind: p.Model.FFNKind,
			Vocab: p.Model.Vocab, TiedEmbeddings: p.Model.TiedEmbeddings,
			Position: p.Model.Position, Norm: p.Model.Norm, Bias: p.Model.Bias}
		recipe, precision := spec.Recipe(p.Recipe), spec.Precision(p.Precision)
		if recipe == "" {
			recipe = spec.RecipePyTorchAMP
		}
		if precision == "" {
			precision = spec.PrecisionBF16
		}
		one, zero := 1, 0
		rcName := p.Recompute
		if rcName == "" {
			rcName = "none"
		}
		rc, err := spec.ParseRecompute(rcName)
		if err != nil {
			return nil, fmt.Errorf("steps[%d] (%s): %w", i, p.Name, err)
		}
		run := spec.Run{
			Model:    spec.ModelRef{Inline: &mc},
			Cluster:  spec.Cluster{Chip: chip, Chips: 1, Profile: profile},
			Training: spec.Training{SeqLen: p.SeqLen, GlobalBatch: p.MicroBatch, Precision: precision, Recipe: recipe},
			Parallel: spec.Parallel{TP: &one, PP: &one, DP: &one, MicroBatch: &p.MicroBatch, ZeRO: &zero, Recompute: &rc},
		}
		src := fmt.Sprintf("measured, PyTorch eager: %s (%s, %s)", m.Source, m.Env.GPU, m.Measured)
		base := Row{Family: "measured-" + chip, Source: src, Confidence: Confirmed, Run: run,
			FillIn: "one GPU, one micro-batch per optimizer step, as measure.py runs it"}
		t, mem := base, base
		t.Name, t.Metric, t.Measured = p.Name+"-"+rcName+"-step", MetricStepTime, p.StepS
		mem.Name, mem.Metric, mem.Measured = p.Name+"-"+rcName+"-mem", MetricAllocGiB, p.PeakAllocGiB
		rows = append(rows, t, mem)
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("the measurement has no whole-step points (steps)")
	}
	return rows, nil
}

// measuredCorpus is the rows of one embedded measurement (catalog
// measured/*.json) on the chip its device name maps to, with the chip's
// own efficiency model.
func measuredCorpus(file string) ([]Row, error) {
	b, err := catalog.Read(file)
	if err != nil {
		return nil, err
	}
	m, err := calibrate.ParseMeasurement(b)
	if err != nil {
		return nil, fmt.Errorf("catalog/%s: %w", file, err)
	}
	m.Source = "catalog/" + file
	chip, ok := calibrate.InferChip(m.Env.GPU)
	if !ok {
		return nil, fmt.Errorf("catalog/%s: no catalog chip for the device %q", file, m.Env.GPU)
	}
	rows, err := MeasuredRows(m, chip, "")
	if err != nil {
		return nil, fmt.Errorf("catalog/%s: %w", file, err)
	}
	return rows, nil
}

// MeasuredResult compares one measured row with its prediction from the
// catalog's default curve and from the profile fitted to the same file.
type MeasuredResult struct {
	Name       string  `json:"name"`
	Metric     string  `json:"metric"`
	Measured   float64 `json:"measured"`
	Default    float64 `json:"predicted_default"`
	DefaultErr float64 `json:"err_default"`
	Profile    float64 `json:"predicted_profile"`
	ProfileErr float64 `json:"err_profile"`
}

// MeasuredReport is the outcome of CompareMeasured.
type MeasuredReport struct {
	Chip string           `json:"chip"`
	GPU  string           `json:"gpu"`
	Rows []MeasuredResult `json:"rows"`
	// Mean |error| per metric and curve.
	StepDefault, StepProfile, MemDefault, MemProfile float64
}

// CompareMeasured predicts every whole-step point of a measurement twice:
// with the chip's default curve and with profilePath (the profile fitted
// from the same measurement).
func CompareMeasured(m *calibrate.Measurement, chip, profilePath string) (*MeasuredReport, error) {
	def, err := MeasuredRows(m, chip, spec.DefaultProfile)
	if err != nil {
		return nil, err
	}
	fit, err := MeasuredRows(m, chip, profilePath)
	if err != nil {
		return nil, err
	}
	rep := &MeasuredReport{Chip: chip, GPU: m.Env.GPU}
	var n [2]float64
	for i := range def {
		a, err := Predict(&def[i])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", def[i].Name, err)
		}
		b, err := Predict(&fit[i])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", fit[i].Name, err)
		}
		rep.Rows = append(rep.Rows, MeasuredResult{Name: a.Name, Metric: a.Metric, Measured: a.Measured,
			Default: a.Predicted, DefaultErr: a.Err, Profile: b.Predicted, ProfileErr: b.Err})
		if a.Metric == MetricStepTime {
			rep.StepDefault += a.AbsErr
			rep.StepProfile += b.AbsErr
			n[0]++
		} else {
			rep.MemDefault += a.AbsErr
			rep.MemProfile += b.AbsErr
			n[1]++
		}
	}
	if n[0] > 0 {
		rep.StepDefault /= n[0]
		rep.StepProfile /= n[0]
	}
	if n[1] > 0 {
		rep.MemDefault /= n[1]
		rep.MemProfile /= n[1]
	}
	return rep, nil
}
