package infer

import (
	"fmt"
	"github.com/flopcast/flopcast"

	"github.com/flopcast/flopcast/spec"
)

// Request shape a fleet is planned for when the caller gives none:
// DeepSeek's production averages (Open Source Week day 6, 2025-02-28:
// 608B input and 168B output tokens a day with a mean KV length of 4,989
// give about 4,400 input and 1,200 output tokens per request; 56.3% of
// input tokens hit the prefix cache).
const (
	FleetInputTokens  = 4400
	FleetOutputTokens = 1200
	FleetCacheHitRate = 0.563
	// fleetBlockChips is the most chips a fleet plan searches: serving
	// replicates instances, so a block of this size holds every layout
	// worth considering (DeepSeek's largest unit is 144 chips) and the
	// fleet is that block repeated.
	fleetBlockChips = 512
)

// FleetOptions shape a fleet plan. Zero fields take the defaults above,
// FP8 where the chip has it, and no latency target.
type FleetOptions struct {
	InputTokens, OutputTokens int
	CacheHitRate              float64
	TPOTMs                    float64 // 0: no target
	Precision                 string
}

// Fleet is what a fleet of chips serves of one model: the best serving
// layout on a block of the fleet, repeated over every chip.
type Fleet struct {
	Model        string  `json:"model"`
	Chip         string  `json:"chip"`
	Chips        int64   `json:"chips"`
	InputTokens  int     `json:"input_tokens"`
	OutputTokens int     `json:"output_tokens"`
	CacheHitRate float64 `json:"cache_hit_rate"`
	TPOTTargetS  float64 `json:"tpot_target_s,omitempty"`
	Precision    string  `json:"precision"`
	// OutputTokensPerDay and InputTokensPerDay are the fleet's, every chip
	// serving around the clock at the layout's throughput.
	OutputTokensPerDay  float64 `json:"output_tokens_per_day"`
	InputTokensPerDay   float64 `json:"input_tokens_per_day"`
	USDPerMOutputTokens float64 `json:"usd_per_m_output_tokens_all_in"`
	KWhPerMOutputTokens float64 `json:"kwh_per_m_output_tokens"`
	TokensPerSPerUser   float64 `json:"tokens_per_s_per_user"`
	Layout              Result  `json:"layout"`
}

// PlanFleet predicts the tokens a day that chips chips of a catalog chip
// serve of a catalog model, and the cost per million output tokens at the
// chip's rent (or economics' price_per_chip_hour).
func PlanFleet(modelName, chipName string, chips int64, o FleetOptions, econ *spec.Economics) (*Fleet, error) {
	if chips <= 0 {
		return nil, &flopcast.FieldError{Field: "chips", Value: chips, Allowed: "a positive number of chips"}
	}
	if o.InputTokens == 0 {
		o.InputTokens = FleetInputTokens
	}
	if o.OutputTokens == 0 {
		o.OutputTokens = FleetOutputTokens
		if o.InputTokens == FleetInputTokens && o.CacheHitRate == 0 {
			o.CacheHitRate = FleetCacheHitRate
		}
	}
	block := int(min(chips, fleetBlockChips))
	s := &Serve{Model: spec.ModelRef{Name: modelName}, Cluster: spec.Cluster{Chip: chipName, Chips: block}, Economics: econ,
		Serving: Serving{InputTokens: o.InputTokens, OutputTokens: o.OutputTokens, CacheHitRate: o.CacheHitRate, Precision: o.Precision}}
	if o.TPOTMs > 0 {
		s.Serving.TPOTMs = &o.TPOTMs
	}
	if s.Serving.Precision == "" {
		s.Serving.Precision = "bf16"
		if hw, err := spec.ResolveHardware(s.Model, s.Cluster); err == nil && hw.Chip.FP8TFLOPS > 0 {
			s.Serving.Precision = "fp8"
		}
	}
	r, err := Resolve(s)
	if err != nil {
		return nil, err
	}
	rep, err := Infer(r, Options{Top: 1})
	if err != nil {
		return nil, fmt.Errorf("serving %s on %s: %w", modelName, chipName, err)
	}
	w := rep.Results[0]
	f := &Fleet{Model: r.HW.Model.Name, Chip: r.HW.Chip.Name, Chips: chips, InputTokens: o.InputTokens, OutputTokens: o.OutputTokens,
		CacheHitRate: o.CacheHitRate, TPOTTargetS: r.TPOT, Precision: r.Serving.Precision, Layout: w,
		USDPerMOutputTokens: w.USDPerMOutputTokensAllIn, KWhPerMOutputTokens: w.KWhPerMOutputTokens, TokensPerSPerUser: w.TokensPerSPerUser}
	// Chips of the block the layout leaves idle stay idle in every block.
	used := float64(w.Chips) / float64(block)
	f.OutputTokensPerDay = w.OutputTokensPerSPerChip * used * float64(chips) * 86400
	f.InputTokensPerDay = w.InputTokensPerSPerChip * used * float64(chips) * 86400
	return f, nil
}
