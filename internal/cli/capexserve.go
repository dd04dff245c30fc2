package cli

import (
	"errors"
	"fmt"
	"io"

	"github.com/flopcast/flopcast/capex"
	"github.com/flopcast/flopcast/infer"
)

// capexServing are capex's serving flags: what the fleet serves of a model
// at a latency target.
type capexServing struct {
	model string
	tpot  float64
}

// fleet plans the serving answer for chips chips of chip; nil when
// --serve is not given.
func (s capexServing) fleet(chip string, chips int64) (*infer.Fleet, error) {
	if s.model == "" {
		return nil, nil
	}
	if s.tpot < 0 {
		return nil, &fieldError{Field: "--tpot-ms", Value: s.tpot, Allowed: "a positive number of milliseconds, or 0 for no target"}
	}
	f, err := infer.PlanFleet(s.model, chip, chips, infer.FleetOptions{TPOTMs: s.tpot}, nil)
	var fe *fieldError
	if errors.As(err, &fe) && fe.Field == "model" {
		return nil, asFlag(err, "--serve")
	}
	if err != nil {
		return nil, err
	}
	return f, nil
}

// writeFleet prints the serving answer of a capex plan.
func writeFleet(w io.Writer, f *infer.Fleet) {
	if f == nil {
		return
	}
	target := "no latency target"
	if f.TPOTTargetS > 0 {
		target = fmt.Sprintf("TPOT <= %g ms", f.TPOTTargetS*1e3)
	}
	l := f.Layout
	fmt.Fprintf(w, "\nserving %s on %s × %s (%s weights; requests of %d input and %d output tokens, %.0f%% prefix-cache hits; %s)\n",
		f.Model, group(float64(f.Chips)), f.Chip, f.Precision, f.InputTokens, f.OutputTokens, 100*f.CacheHitRate, target)
	fmt.Fprintf(w, "  %s output tokens a day (%s input) at %.1f tokens/s per user\n", fmtSI(f.OutputTokensPerDay), fmtSI(f.InputTokensPerDay), f.TokensPerSPerUser)
	fmt.Fprintf(w, "  $%.3f per million output tokens at the chip's rent, %.3f kWh per million\n", f.USDPerMOutputTokens, f.KWhPerMOutputTokens)
	fmt.Fprintf(w, "  layout: %s %s at concurrency %d, bound by %s\n", l.Mode, l.Parallel, l.Concurrency, l.Bottleneck)
}

// capexWithFleet is a capex plan with its serving answer (`capex --serve
// --json`): the plan's keys and "serving".
type capexWithFleet struct {
	*capex.Report
	Serving *infer.Fleet `json:"serving"`
}

func withFleets(reps []*capex.Report, fleets []*infer.Fleet) []capexWithFleet {
	out := make([]capexWithFleet, len(reps))
	for i := range reps {
		out[i] = capexWithFleet{reps[i], fleets[i]}
	}
	return out
}
