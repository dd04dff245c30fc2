package estimate

import (
	"fmt"

	"github.com/flopcast/flopcast/spec"
)

// Warnings renders the warnings of a result as sentences.
func (e *Estimator) Warnings(res *Result) []string {
	var w []string
	l := res.Parallel
	f := func(flag Warning, format string, a ...any) {
		if res.Warn&flag != 0 {
			w = append(w, fmt.Sprintf(format, a...))
		}
	}
	tier := e.r.Chip.Fabric[0].Name
	f(WarnTPCrossesScaleUp, "TP=%d crosses the %d-chip %s domain: tensor-parallel traffic goes over the scale-out network", l.TP, e.domain, tier)
	f(WarnEPCrossesScaleUp, "EP×TP=%d crosses the %d-chip %s domain: expert all-to-all goes over the scale-out network", l.EP*l.TP, e.domain, tier)
	f(WarnCPCrossesScaleUp, "CP×TP=%d crosses the %d-chip %s domain", l.CP*l.TP, e.domain, tier)
	f(WarnDoesNotFit, "does not fit: %.1f GiB needed on pipeline stage %d, %.1f GiB usable (over by %.1f GiB); try ZeRO-3, more tp or pp, a smaller micro-batch or recompute", res.Memory.PeakGiB, res.Memory.Stage, res.Memory.CapacityGiB, res.Memory.OverflowGiB)
	f(WarnBubbleLarge, "the pipeline bubble is %.0f%% of the step; more micro-batches or interleaving (vpp) would shrink it", 100*res.Breakdown.PipelineBubbleS/res.StepTimeS)
	f(WarnFewMicroBatches, "only %d micro-batches for %d pipeline stages", l.MicroBatches(e.r.Training.GlobalBatch), l.PP)
	f(WarnUnevenStages, "%d layers do not split evenly over pp×vpp=%d virtual stages; the slowest stage sets the pace", int(e.layers), l.PP*l.VPP)
	f(WarnSPOff, "sequence parallelism is off with TP=%d: norms and dropout are replicated and activations are larger", l.TP)
	f(WarnNoHostLink, "offload (%v) is not applied: the catalog has no host-link bandwidth for %s (chip.host_link_gbps)", l.Offload, e.r.Chip.Name)
	return w
}

// LayerTimes is the forward and backward time of one dense transformer
// layer for one micro-batch, including recompute and exposed TP traffic.
func (e *Estimator) LayerTimes(l spec.Layout) (fwd, bwd float64) {
	s := e.newShape(&l)
	c := e.layer(&s, false)
	exp := exposedTP(&s, &c, e.commShare)
	tot := c.fwd + c.bwd + c.recompute
	return c.fwd + exp*c.fwd/tot, c.bwd + c.recompute + exp*(c.bwd+c.recompute)/tot
}
