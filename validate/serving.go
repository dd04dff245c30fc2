package validate

import (
	"fmt"

	"github.com/flopcast/flopcast/catalog"
	"github.com/flopcast/flopcast/infer"
)

// Serving metrics (catalog/serving.yaml).
const (
	MetricOutputPerChip       = "output_tokens_per_s_per_chip"
	MetricDecodeOutputPerChip = "decode_output_tokens_per_s_per_chip"
	MetricPrefillInputPerChip = "prefill_input_tokens_per_s_per_chip"
	MetricTokensPerUser       = "tokens_per_s_per_user"
	MetricUSDPerMOutputAllIn  = "usd_per_m_output_tokens_all_in"
	MetricUSDPerMOutputDecode = "usd_per_m_output_tokens"
	// GroupServingAIConfigurator holds another tool's published
	// estimates (NVIDIA AIConfigurator), set beside flopcast's.
	GroupServingAIConfigurator = "serving-vs-aiconfigurator"
)

// ServingRow is one published serving figure with the serve.yaml that
// reproduces it and the convention it is stated in.
type ServingRow struct {
	Name       string      `yaml:"name" json:"name"`
	Group      string      `yaml:"group" json:"group"`
	Source     string      `yaml:"source" json:"source"`
	Confidence string      `yaml:"confidence" json:"confidence"`
	Convention string      `yaml:"convention" json:"convention"`
	Metric     string      `yaml:"metric" json:"metric"`
	Measured   float64     `yaml:"measured" json:"measured"`
	FillIn     string      `yaml:"fill_in,omitempty" json:"fill_in,omitempty"`
	Serve      infer.Serve `yaml:"serve" json:"serve"`
}

// ServingCorpus returns the built-in serving rows.
func ServingCorpus() ([]ServingRow, error) {
	var f struct {
		Rows []ServingRow `yaml:"rows"`
	}
	if err := catalog.Decode("serving.yaml", &f); err != nil {
		return nil, err
	}
	return f.Rows, nil
}

// RunServing predicts every built-in serving row.
func RunServing() ([]Result, error) {
	rows, err := ServingCorpus()
	if err != nil {
		return nil, err
	}
	out := make([]Result, 0, len(rows))
	for i := range rows {
		res, err := PredictServing(&rows[i])
		if err != nil {
			return nil, fmt.Errorf("validate: serving row %s: %w", rows[i].Name, err)
		}
		out = append(out, res)
	}
	return out, nil
}

// PredictServing runs the serving search on one row and reads its best
// layout's figure in the row's metric.
func PredictServing(row *ServingRow) (Result, error) {
	out := Result{Name: row.Name, Group: row.Group, Source: row.Source + "; " + row.Convention, Confidence: row.Confidence,
		Metric: row.Metric, Measured: row.Measured, FillIn: row.FillIn}
	switch row.Confidence {
	case Confirmed, Secondary, Recalled:
	default:
		return out, fmt.Errorf("confidence: %q (allowed: confirmed, secondary, recalled)", row.Confidence)
	}
	if !(row.Measured > 0) {
		return out, fmt.Errorf("measured: %v (allowed: a positive number)", row.Measured)
	}
	r, err := infer.Resolve(&row.Serve)
	if err != nil {
		return out, err
	}
	// Pool capacities are read where the search maximises them.
	obj := infer.ObjectiveOutput
	switch row.Metric {
	case MetricDecodeOutputPerChip, MetricUSDPerMOutputDecode:
		obj = infer.ObjectiveDecode
	case MetricPrefillInputPerChip:
		obj = infer.ObjectivePrefill
	}
	rep, err := infer.Infer(r, infer.Options{Top: 1, Objective: obj})
	if err != nil {
		return out, err
	}
	b := &rep.Results[0]
	out.Layout = fmt.Sprintf("%s %s conc %d", b.Mode, b.Parallel, b.Concurrency)
	if p := b.PrefillParallel; p != nil {
		out.Layout += fmt.Sprintf("; prefill %s", p)
	}
	switch row.Metric {
	case MetricOutputPerChip:
		out.Predicted = b.OutputTokensPerSPerChip
	case MetricDecodeOutputPerChip:
		out.Predicted = b.DecodeOutputTokensPerSPerChip
	case MetricPrefillInputPerChip:
		out.Predicted = b.PrefillInputTokensPerSPerChip
	case MetricTokensPerUser:
		out.Predicted = b.TokensPerSPerUser
	case MetricUSDPerMOutputAllIn:
		out.Predicted = b.USDPerMOutputTokensAllIn
	case MetricUSDPerMOutputDecode:
		out.Predicted = b.USDPerMOutputTokens
	default:
		return out, fmt.Errorf("metric: %q (allowed: %s, %s, %s, %s, %s, %s)", row.Metric, MetricOutputPerChip, MetricDecodeOutputPerChip,
			MetricPrefillInputPerChip, MetricTokensPerUser, MetricUSDPerMOutputAllIn, MetricUSDPerMOutputDecode)
	}
	out.setErr()
	return out, nil
}

// IsServing reports whether a report group holds serving rows.
func IsServing(group string) bool {
	return group == GroupServing || group == GroupServingAIConfigurator
}

// addServing predicts the serving corpus and reports it by group, apart
// from the training rows' overall means.
func (r *Report) addServing() error {
	res, err := RunServing()
	if err != nil {
		return err
	}
	for i := range res {
		r.Rows = append(r.Rows, res[i])
		group(r.Groups, res[i].Group).add(&res[i])
	}
	return nil
}
