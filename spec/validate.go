package spec

import (
	"fmt"
	"math"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/flopcast/flopcast"
	"github.com/flopcast/flopcast/hardware"
	"github.com/flopcast/flopcast/model"
)

// Bounds that keep every product of sizes inside an int and every
// estimate meaningful.
const (
	MaxChips       = 1 << 30
	MaxSeqLen      = 1 << 24
	MaxGlobalBatch = 1 << 30
)

// Resolve validates a parsed run, looks its names up in the catalog, applies
// overrides and fills the defaults that estimate uses. It checks each given
// knob against the model; whether the whole default layout is valid (the
// product of the sizes, the batch split) is for CheckLayout, since a
// search leaves knobs open and never uses the defaults.
func Resolve(run *Run) (*Resolved, error) {
	if run == nil {
		return nil, &flopcast.FieldError{Field: "run", Value: "(nil)", Reason: "is missing"}
	}
	r := &Resolved{}
	if err := r.resolveModel(run.Model); err != nil {
		return nil, err
	}
	if err := r.resolveCluster(run.Cluster); err != nil {
		return nil, err
	}
	if err := r.resolveTraining(run.Training); err != nil {
		return nil, err
	}
	if err := r.resolveParallel(run.Parallel); err != nil {
		return nil, err
	}
	if run.Economics != nil {
		if err := CheckEconomics(run.Economics); err != nil {
			return nil, err
		}
		r.Economics = *run.Economics
	}
	if run.Reliability != nil {
		if err := CheckReliability(run.Reliability); err != nil {
			return nil, err
		}
		r.Reliability = *run.Reliability
	}
	return r, nil
}

func (r *Resolved) resolveModel(m ModelRef) error {
	switch {
	case m.Inline != nil:
		c := *m.Inline
		if err := c.Validate(); err != nil {
			return err
		}
		c.Normalize()
		if c.Name == "" {
			c.Name = "custom"
		}
		r.Model = c
	case m.Name != "":
		c, ok := model.Lookup(m.Name)
		if !ok {
			return &flopcast.FieldError{Field: "model", Value: strconv.Quote(m.Name), Reason: "is not in the catalog",
				Allowed: strings.Join(model.Names(), ", "), Hint: nearest(m.Name, model.Names())}
		}
		r.Model = c
	default:
		return &flopcast.FieldError{Field: "model", Value: "(missing)", Reason: "is required", Allowed: "a catalog name (" + strings.Join(model.Names(), ", ") + ") or an inline block"}
	}
	return nil
}

func (r *Resolved) resolveCluster(c Cluster) error {
	if c.Chip == "" {
		return &flopcast.FieldError{Field: "cluster.chip", Value: "(missing)", Reason: "is required", Allowed: strings.Join(hardware.ChipNames(), ", ")}
	}
	chip, ok := hardware.LookupChip(c.Chip)
	if !ok {
		return &flopcast.FieldError{Field: "cluster.chip", Value: strconv.Quote(c.Chip), Reason: "is not in the catalog",
			Allowed: strings.Join(hardware.ChipNames(), ", "), Hint: nearest(c.Chip, hardware.ChipNames())}
	}
	if c.Chips <= 0 || c.Chips > MaxChips {
		return &flopcast.FieldError{Field: "cluster.chips", Value: c.Chips, Allowed: fmt.Sprintf("a positive integer up to %d", MaxChips)}
	}
	r.Chips = c.Chips
	// Copy the fabric so overrides do not write into the catalog.
	chip.Fabric = append([]hardware.Tier(nil), chip.Fabric...)
	if len(chip.Fabric) == 0 {
		return fmt.Errorf("catalog: chip %s has no fabric", chip.Name)
	}
	if v := c.ScaleUpDomain; v != nil {
		if *v <= 0 {
			return &flopcast.FieldError{Field: "cluster.scale_up_domain", Value: *v, Allowed: "a positive integer"}
		}
		if len(chip.Fabric) > 1 {
			chip.Fabric[0].Size = *v
			// Keep tier sizes increasing.
			for i := 1; i < len(chip.Fabric)-1; i++ {
				if chip.Fabric[i].Size < *v {
					chip.Fabric[i].Size = *v
				}
			}
		}
	}
	if v := c.ScaleUpGBps; v != nil {
		if !positive(*v) {
			return &flopcast.FieldError{Field: "cluster.scale_up_gbps", Value: *v, Allowed: "a positive number of GB/s per chip, one direction"}
		}
		chip.Fabric[0].GBps = *v
	}
	if v := c.ScaleOutGBps; v != nil {
		if !positive(*v) {
			return &flopcast.FieldError{Field: "cluster.scale_out_gbps", Value: *v, Allowed: "a positive number of GB/s per chip, one direction"}
		}
		chip.Fabric[len(chip.Fabric)-1].GBps = *v
	}
	if v := c.HBMGiB; v != nil {
		if !positive(*v) {
			return &flopcast.FieldError{Field: "cluster.hbm_gib", Value: *v, Allowed: "a positive number of GiB"}
		}
		chip.HBMGB = *v
	}
	r.Chip = chip
	switch {
	case c.Profile != "":
		p, err := loadProfile(c.Profile)
		if err != nil {
			return err
		}
		r.Profile = p
	case chip.Profile != "":
		p, err := hardware.BuiltinProfile(chip.Profile)
		if err != nil {
			return fmt.Errorf("catalog: chip %s: profile %s: %w", chip.Name, chip.Profile, err)
		}
		r.Profile = p
	}
	if r.Profile != nil && r.Profile.Chip != "" && r.Profile.Chip != chip.Name {
		r.Warnings = append(r.Warnings, fmt.Sprintf("cluster.profile was measured on %s (%s), not on %s", r.Profile.Chip, r.Profile.Device, chip.Name))
	}
	return nil
}

// DefaultProfile is the cluster.profile value that disables the chip's
// built-in measured profile and uses the catalog's default curve.
const DefaultProfile = "default"

func loadProfile(name string) (*hardware.Profile, error) {
	if name == DefaultProfile {
		return nil, nil
	}
	if b, err := os.ReadFile(name); err == nil {
		p, err := hardware.ParseProfile(b)
		if err != nil {
			return nil, &flopcast.FieldError{Field: "cluster.profile", Value: name, Reason: "is not a valid profile: " + err.Error(), Hint: "flopcast calibrate --from measured.json --out " + name}
		}
		return p, nil
	}
	p, err := hardware.BuiltinProfile(name)
	if err != nil {
		return nil, &flopcast.FieldError{Field: "cluster.profile", Value: name, Reason: "is neither a readable file nor a built-in profile",
			Allowed: "a path written by flopcast calibrate, a built-in profile name, or \"default\""}
	}
	return p, nil
}

func (r *Resolved) resolveTraining(t Training) error {
	if t.SeqLen <= 0 || t.SeqLen > MaxSeqLen {
		return &flopcast.FieldError{Field: "training.seq_len", Value: t.SeqLen, Allowed: fmt.Sprintf("a positive integer up to %d", MaxSeqLen)}
	}
	if t.GlobalBatch <= 0 || t.GlobalBatch > MaxGlobalBatch {
		return &flopcast.FieldError{Field: "training.global_batch", Value: t.GlobalBatch, Allowed: fmt.Sprintf("a positive integer up to %d (sequences per optimizer step)", MaxGlobalBatch)}
	}
	if !nonNegative(t.Tokens) {
		return &flopcast.FieldError{Field: "training.tokens", Value: t.Tokens, Allowed: "0 (not given) or a positive number"}
	}
	if step := float64(t.GlobalBatch) * float64(t.SeqLen); t.Tokens > 0 && t.Tokens < step {
		return &flopcast.FieldError{Field: "training.tokens", Value: t.Tokens, Reason: fmt.Sprintf("is less than one step (global_batch×seq_len = %.0f tokens)", step), Allowed: fmt.Sprintf(">= %.0f", step)}
	}
	for i, rp := range t.BatchRamp {
		f := fmt.Sprintf("training.batch_ramp[%d]", i)
		if !positive(rp.Tokens) {
			return &flopcast.FieldError{Field: f + ".tokens", Value: rp.Tokens, Allowed: "a positive number"}
		}
		if i > 0 && rp.Tokens <= t.BatchRamp[i-1].Tokens {
			return &flopcast.FieldError{Field: f + ".tokens", Value: rp.Tokens, Reason: "is not after the previous stage's", Allowed: "increasing cumulative token counts"}
		}
		if t.Tokens > 0 && rp.Tokens >= t.Tokens {
			return &flopcast.FieldError{Field: f + ".tokens", Value: rp.Tokens, Reason: "is not inside the run", Allowed: fmt.Sprintf("< training.tokens = %g", t.Tokens)}
		}
		if rp.GlobalBatch <= 0 || rp.GlobalBatch > MaxGlobalBatch {
			return &flopcast.FieldError{Field: f + ".global_batch", Value: rp.GlobalBatch, Allowed: fmt.Sprintf("1..%d", MaxGlobalBatch)}
		}
	}
	rt := ResolvedTraining{SeqLen: t.SeqLen, GlobalBatch: t.GlobalBatch, Tokens: t.Tokens, BatchRamp: t.BatchRamp,
		Precision: t.Precision, FlashAttention: true, TPCommOverlap: t.TPCommOverlap,
		EPCommOverlap: t.EPCommOverlap, FusedLoss: t.FusedLoss, Dropout: t.Dropout}
	var err error
	if rt.MoEDispatcher, err = choose("training.moe_dispatcher", t.MoEDispatcher, DispatcherAllToAll, DispatcherDeepEP, DispatcherHybridEP); err != nil {
		return err
	}
	if rt.CPCommType, err = choose("training.cp_comm_type", t.CPCommType, CPCommP2P, CPCommA2A); err != nil {
		return err
	}
	if rt.Precision == "" {
		rt.Precision = PrecisionBF16
	}
	if indexOf(precisionNames(), string(rt.Precision)) < 0 {
		return &flopcast.FieldError{Field: "training.precision", Value: strconv.Quote(string(rt.Precision)), Allowed: strings.Join(precisionNames(), ", ")}
	}
	if !r.Chip.Supports(string(rt.Precision)) {
		return &flopcast.FieldError{Field: "training.precision", Value: strconv.Quote(string(rt.Precision)), Reason: "is not supported by " + r.Chip.Name,
			Allowed: strings.Join(r.Chip.Precisions(), ", ")}
	}
	if rt.Recipe, err = choose("training.recipe", t.Recipe, RecipeMegatron, RecipePyTorchAMP); err != nil {
		return err
	}
	if err := rt.resolveLowPrecision(t); err != nil {
		return err
	}
	if rt.OptimizerMoments, err = choose("training.optimizer_moments", t.OptimizerMoments, MomentsFP32, MomentsBF16); err != nil {
		return err
	}
	if rt.Optimizer, err = choose("training.optimizer", t.Optimizer, "adamw", "adam"); err != nil {
		return err
	}
	rt.DPCommOverlap = true
	if t.DPCommOverlap != nil {
		rt.DPCommOverlap = *t.DPCommOverlap
	}
	if t.FlashAttention != nil {
		rt.FlashAttention = *t.FlashAttention
	}
	if rt.AttentionKernel, err = choose("training.attention_kernel", t.AttentionKernel, AttentionFused, AttentionFlash2); err != nil {
		return err
	}
	if t.AttentionKernel != "" && !rt.FlashAttention {
		return &flopcast.FieldError{Field: "training.attention_kernel", Value: strconv.Quote(t.AttentionKernel), Reason: "names a fused kernel, but training.flash_attention is false",
			Allowed: "leave it out without flash attention"}
	}
	r.Training = rt
	return nil
}

// resolveLowPrecision sets the low-precision knobs of rt (fp8_params,
// fp8_activations, fp8_scaling) from t, once rt's precision and recipe
// are resolved.
func (rt *ResolvedTraining) resolveLowPrecision(t Training) error {
	rt.FP8Params = rt.Recipe == RecipeMegatron && rt.Precision.LowPrecision()
	if t.FP8Params != nil {
		if *t.FP8Params && !rt.Precision.LowPrecision() {
			return &flopcast.FieldError{Field: "training.fp8_params", Value: true, Reason: "needs a low-precision training.precision (the weights are kept in that format), not " + string(rt.Precision),
				Allowed: "false, or training.precision fp8, mxfp8 or nvfp4"}
		}
		if *t.FP8Params && rt.Recipe != RecipeMegatron {
			return &flopcast.FieldError{Field: "training.fp8_params", Value: true, Reason: "needs the megatron recipe (Transformer Engine keeps the primary weights in FP8)", Allowed: "false with " + string(rt.Recipe)}
		}
		rt.FP8Params = *t.FP8Params
	}
	if t.FP8Activations && (!rt.Precision.LowPrecision() || rt.Recipe != RecipeMegatron) {
		return &flopcast.FieldError{Field: "training.fp8_activations", Value: true, Reason: "needs a low-precision training.precision and the megatron recipe, not " + string(rt.Precision) + " with " + string(rt.Recipe),
			Allowed: "false, or training.precision fp8, mxfp8 or nvfp4 with recipe megatron"}
	}
	rt.FP8Activations = t.FP8Activations
	var err error
	if rt.FP8Scaling, err = choose("training.fp8_scaling", t.FP8Scaling, ScalingTensorwise, ScalingRowwise); err != nil {
		return err
	}
	if rt.FP8Scaling == ScalingRowwise && rt.Precision != PrecisionFP8 {
		return &flopcast.FieldError{Field: "training.fp8_scaling", Value: strconv.Quote(t.FP8Scaling), Reason: "scales fp8 operands, but training.precision is " + string(rt.Precision) + " (mxfp8 and nvfp4 carry their own block scales)",
			Allowed: "leave it out, or training.precision fp8"}
	}
	return nil
}

// choose resolves a field that takes one of a few names: the first of
// allowed, its default, when v is empty; v when it is one of them; else
// a FieldError listing them.
func choose[T ~string](field string, v T, allowed ...T) (T, error) {
	if v == "" {
		return allowed[0], nil
	}
	if slices.Contains(allowed, v) {
		return v, nil
	}
	names := make([]string, len(allowed))
	for i, a := range allowed {
		names[i] = string(a)
	}
	return "", &flopcast.FieldError{Field: field, Value: strconv.Quote(string(v)), Allowed: strings.Join(names, ", ")}
}

func precisionNames() []string {
	out := make([]string, len(Precisions))
	for i, p := range Precisions {
		out[i] = string(p)
	}
	return out
}

func (r *Resolved) resolveParallel(p Parallel) error {
	l := Layout{TP: 1, PP: 1, CP: 1, EP: 1, VPP: 1, MicroBatch: 1, ZeRO: 1}
	set := func(f string, v *int, dst *int, g Given) error {
		if v == nil {
			return nil
		}
		limit := r.Chips // no knob splits more ways than there are chips
		switch f {
		case "micro_batch":
			limit = r.Training.GlobalBatch
		case "vpp":
			limit = r.Model.Layers
		}
		if *v <= 0 || *v > limit {
			return &flopcast.FieldError{Field: "parallel." + f, Value: *v, Allowed: fmt.Sprintf("1..%d", limit)}
		}
		*dst = *v
		r.Given |= g
		return nil
	}
	for _, k := range []struct {
		f   string
		v   *int
		dst *int
		g   Given
	}{{"tp", p.TP, &l.TP, GivenTP}, {"pp", p.PP, &l.PP, GivenPP}, {"dp", p.DP, &l.DP, GivenDP}, {"cp", p.CP, &l.CP, GivenCP},
		{"ep", p.EP, &l.EP, GivenEP}, {"etp", p.ETP, &l.ETP, GivenETP}, {"vpp", p.VPP, &l.VPP, GivenVPP}, {"micro_batch", p.MicroBatch, &l.MicroBatch, GivenMicroBatch}} {
		if err := set(k.f, k.v, k.dst, k.g); err != nil {
			return err
		}
	}
	if p.ZeRO != nil {
		if *p.ZeRO < 0 || *p.ZeRO > 3 {
			return &flopcast.FieldError{Field: "parallel.zero", Value: *p.ZeRO, Allowed: "0, 1, 2, 3"}
		}
		l.ZeRO = *p.ZeRO
		r.Given |= GivenZeRO
	}
	if l.ETP == 0 {
		l.ETP = l.TP // Megatron-Core's default expert_tensor_parallel_size
	}
	if p.Recompute != nil {
		l.Recompute = *p.Recompute
		r.Given |= GivenRecompute
	}
	if p.Offload != nil {
		l.Offload = *p.Offload
		r.Given |= GivenOffload
	}
	l.Schedule = DefaultSchedule(l.VPP)
	if p.PPSchedule != nil {
		l.Schedule = *p.PPSchedule
		r.Given |= GivenSchedule
	}
	if p.SequenceParallel != nil {
		l.SequenceParallel = *p.SequenceParallel
		r.Given |= GivenSP
	} else {
		l.SequenceParallel = l.TP > 1
	}
	// Rules about single knobs come first: they name the knob at fault
	// rather than the product.
	if v := r.knobViolation(l); v != OK {
		return r.explain(v, l)
	}
	if l.DP == 0 {
		// dp is derived; 0 stays when tp×pp×cp does not divide the chips,
		// and CheckLayout explains it.
		if div := l.TP * l.PP * l.CP; r.Chips%div == 0 {
			l.DP = r.Chips / div
		}
	}
	r.Layout = l
	return nil
}

// Violation is an allocation-free code for why a layout is invalid.
type Violation uint8

// Layout violations, in the order CheckLayout tests them.
const (
	OK Violation = iota
	BadProduct
	BadTPHeads
	BadTPKVHeads
	BadTPFFN
	BadEPNoMoE
	BadEPExperts
	BadFold
	BadBatch
	BadCPSeq
	BadPPLayers
	BadVPP
	BadVPPMicroBatches
	BadZeRO
	BadKnob
	BadCPFlash
	BadRampBatch
	BadETPNoMoE
	BadETPFFN
	BadRecomputeModule
	BadSchedule
	BadCPHeads
)

// Violation reports the first rule l breaks, without allocating. The rules
// are the single source of truth for estimate and search.
func (r *Resolved) Violation(l Layout) Violation {
	if v := r.knobViolation(l); v != OK {
		return v
	}
	// Knobs are bounded by Resolve, but a search may pass anything: take
	// the product step by step so it cannot overflow.
	prod := 1
	for _, k := range [...]int{l.TP, l.PP, l.DP, l.CP} {
		if k <= 0 || k > r.Chips/prod {
			return BadProduct
		}
		prod *= k
	}
	switch {
	case prod != r.Chips:
		return BadProduct
	case l.MicroBatch <= 0 || l.MicroBatch > r.Training.GlobalBatch:
		return BadBatch
	case (l.TP*l.CP*l.DP)%(l.EP*l.ETP) != 0:
		return BadFold
	case r.Training.GlobalBatch%(l.DP*l.MicroBatch) != 0:
		return BadBatch
	case l.VPP > 1 && (r.Training.GlobalBatch/(l.DP*l.MicroBatch))%l.PP != 0:
		return BadVPPMicroBatches
	case r.scheduleViolation(l):
		return BadSchedule
	}
	for _, rp := range r.Training.BatchRamp {
		if rp.GlobalBatch%(l.DP*l.MicroBatch) != 0 {
			return BadRampBatch
		}
	}
	return OK
}

// kvHeadsPerTP is the key-value heads a TP rank holds: kv_heads/tp, or
// one replicated head when tp exceeds kv_heads; MLA keeps one per query
// head.
func (r *Resolved) kvHeadsPerTP(tp int) int {
	m := &r.Model
	if m.Attention == model.AttentionMLA {
		return m.Heads / tp
	}
	return max(m.KVHeads/tp, 1)
}

// a2aHeads reports whether all-to-all context parallelism can share out
// a TP rank's heads: Transformer Engine's AttnFuncWithCPAndQKVOA2A
// (transformer_engine/pytorch/attention/dot_product_attention/
// context_parallel.py) asserts that cp divides the query and the key-value
// heads.
func (r *Resolved) a2aHeads(l Layout) bool {
	return (r.Model.Heads/l.TP)%l.CP == 0 && r.kvHeadsPerTP(l.TP)%l.CP == 0
}

// knobViolation checks the rules that involve one knob and the model or
// sequence, not the cluster size.
func (r *Resolved) knobViolation(l Layout) Violation {
	m := &r.Model
	switch {
	case l.TP <= 0 || l.PP <= 0 || l.CP <= 0 || l.EP <= 0 || l.ETP <= 0 || l.VPP <= 0 || l.MicroBatch <= 0:
		return BadKnob
	case l.CP > 1 && !r.Training.FlashAttention:
		return BadCPFlash
	case m.Heads%l.TP != 0:
		return BadTPHeads
	case m.Attention != model.AttentionMLA && m.KVHeads%l.TP != 0 && l.TP%m.KVHeads != 0:
		return BadTPKVHeads
	case r.tpFFN(l.TP) != 0:
		return BadTPFFN
	case l.EP > 1 && m.MoE == nil:
		return BadEPNoMoE
	case l.ETP != l.TP && m.MoE == nil:
		return BadETPNoMoE
	case m.MoE != nil && m.MoE.Experts%l.EP != 0:
		return BadEPExperts
	case m.MoE != nil && m.MoE.ExpertFFN%l.ETP != 0:
		return BadETPFFN
	case r.recomputeViolation(l.Recompute):
		return BadRecomputeModule
	case l.CP > 1 && r.Training.SeqLen%(2*l.CP) != 0:
		return BadCPSeq
	case l.CP > 1 && r.Training.CPCommType == CPCommA2A && !r.a2aHeads(l):
		return BadCPHeads
	case l.PP > m.Layers:
		return BadPPLayers
	case l.VPP > 1 && (l.PP == 1 || l.PP*l.VPP > m.Layers):
		return BadVPP
	case l.ZeRO < 0 || l.ZeRO > 3:
		return BadZeRO
	}
	return OK
}

// tpFFN returns the first FFN width that tp does not divide: the dense
// FFN where the model has dense layers, and the shared experts (which run
// with the dense layers' tensor parallelism), or 0.
func (r *Resolved) tpFFN(tp int) int {
	m := &r.Model
	if (m.MoE == nil || m.MoE.DenseLayers > 0) && m.FFN%tp != 0 {
		return m.FFN
	}
	if m.MoE != nil && m.MoE.SharedExperts > 0 && (m.MoE.SharedExperts*m.MoE.ExpertFFN)%tp != 0 {
		return m.MoE.SharedExperts * m.MoE.ExpertFFN
	}
	return 0
}

// recomputeModulesNeed are the modules that need a model feature.
const recomputeMoEModules = RecomputeMoE | RecomputeMoEAct | RecomputeSharedExperts

// UsableRecompute reports whether the model can use recompute set rc
// (the parallel.recompute rules of CheckLayout).
func (r *Resolved) UsableRecompute(rc Recompute) bool { return !r.recomputeViolation(rc) }

// recomputeViolation reports a recompute set the model cannot use: full
// combined with modules, unknown bits, mla_up_proj without MLA, MoE modules
// without experts, shared_experts without shared experts.
func (r *Resolved) recomputeViolation(rc Recompute) bool {
	return r.recomputeFault(rc) != 0
}

// recomputeFault returns the offending modules of rc, or 0.
func (r *Resolved) recomputeFault(rc Recompute) Recompute {
	m := &r.Model
	switch {
	case rc >= RecomputeOp<<1:
		return rc &^ (RecomputeOp<<1 - 1)
	case rc&RecomputeFull != 0 && rc != RecomputeFull:
		return rc &^ RecomputeFull
	case rc&RecomputeOp != 0 && rc != RecomputeOp:
		return rc &^ RecomputeOp
	case rc == RecomputeOp && (m.MoE != nil || m.Attention == model.AttentionMLA):
		return RecomputeOp
	case rc&RecomputeMLAUpProj != 0 && m.Attention != model.AttentionMLA:
		return RecomputeMLAUpProj
	case rc&recomputeMoEModules != 0 && m.MoE == nil:
		return rc & recomputeMoEModules
	case rc&RecomputeSharedExperts != 0 && m.MoE.SharedExperts == 0:
		return RecomputeSharedExperts
	}
	return 0
}

// scheduleViolation reports a pipeline schedule that does not fit the
// layout: 1f1b needs vpp 1, interleaved needs vpp > 1, dualpipe needs an
// even pp, an even micro-batch count and vpp 1 (DeepSeek-V3 report
// §3.2.1; deepseek-ai/DualPipe README).
func (r *Resolved) scheduleViolation(l Layout) bool {
	switch l.Schedule {
	case Schedule1F1B:
		return l.VPP != 1
	case ScheduleInterleaved:
		return l.VPP <= 1
	case ScheduleDualPipe:
		return l.VPP != 1 || l.PP%2 != 0 || l.MicroBatches(r.Training.GlobalBatch)%2 != 0
	}
	return true
}

// CheckLayout validates a layout and explains the first broken rule.
func (r *Resolved) CheckLayout(l Layout) error {
	return r.explain(r.Violation(l), l)
}

// explain turns a violation into the error a user reads.
func (r *Resolved) explain(v Violation, l Layout) error {
	m := &r.Model
	switch v {
	case OK:
		return nil
	case BadProduct:
		if l.DP == 0 {
			div := l.TP * l.PP * l.CP
			return &flopcast.FieldError{Field: "parallel", Value: fmt.Sprintf("tp×pp×cp = %d×%d×%d = %d", l.TP, l.PP, l.CP, div),
				Reason: fmt.Sprintf("does not divide cluster.chips=%d", r.Chips), Allowed: "tp×pp×cp dividing " + strconv.Itoa(r.Chips),
				Hint: fmt.Sprintf("cluster.chips: %d", (r.Chips/div+1)*div)}
		}
		return &flopcast.FieldError{Field: "parallel", Value: fmt.Sprintf("tp×pp×dp×cp = %d×%d×%d×%d = %d", l.TP, l.PP, l.DP, l.CP, l.TP*l.PP*l.DP*l.CP),
			Reason: fmt.Sprintf("does not equal cluster.chips=%d", r.Chips), Allowed: "tp×pp×dp×cp = " + strconv.Itoa(r.Chips),
			Hint: "leave dp out and it is derived"}
	case BadTPHeads:
		return &flopcast.FieldError{Field: "parallel.tp", Value: l.TP, Reason: fmt.Sprintf("does not divide model.heads=%d", m.Heads), Allowed: divisors(m.Heads)}
	case BadTPKVHeads:
		return &flopcast.FieldError{Field: "parallel.tp", Value: l.TP, Reason: fmt.Sprintf("neither divides nor is a multiple of model.kv_heads=%d", m.KVHeads), Allowed: divisors(m.KVHeads) + " or multiples of " + strconv.Itoa(m.KVHeads)}
	case BadTPFFN:
		f := r.tpFFN(l.TP)
		return &flopcast.FieldError{Field: "parallel.tp", Value: l.TP, Reason: fmt.Sprintf("does not divide the FFN width %d", f), Allowed: divisors(f)}
	case BadETPNoMoE:
		return &flopcast.FieldError{Field: "parallel.etp", Value: l.ETP, Reason: "needs a mixture-of-experts model (expert tensor parallelism splits the experts)", Allowed: fmt.Sprintf("%d (tp), or leave etp out", l.TP)}
	case BadETPFFN:
		return &flopcast.FieldError{Field: "parallel.etp", Value: l.ETP, Reason: fmt.Sprintf("does not divide model.moe.expert_ffn=%d", m.MoE.ExpertFFN), Allowed: divisors(m.MoE.ExpertFFN),
			Hint: etpHint(l)}
	case BadRecomputeModule:
		bad := r.recomputeFault(l.Recompute)
		reason := "cannot be used with this model"
		switch {
		case l.Recompute&RecomputeFull != 0:
			reason = "combines full with modules (full already recomputes whole layers)"
		case l.Recompute&RecomputeOp != 0 && l.Recompute != RecomputeOp:
			reason = "combines op with modules (op is a policy for whole layers)"
		case bad == RecomputeOp:
			reason = "is torchtitan's per-op policy, modelled for dense layers of multi-head or grouped-query attention and an FFN, not mixture-of-experts or MLA layers"
		case bad == RecomputeMLAUpProj:
			reason = "names mla_up_proj, which needs multi-head latent attention (model.attention: mla)"
		case bad == RecomputeSharedExperts && m.MoE != nil:
			reason = "names shared_experts, but model.moe.shared_experts is 0"
		case bad&recomputeMoEModules != 0:
			reason = "names " + strings.Join(bad.Modules(), ", ") + ", which need a mixture-of-experts model"
		}
		return &flopcast.FieldError{Field: "parallel.recompute", Value: strconv.Quote(l.Recompute.String()), Reason: reason, Allowed: r.recomputeAllowed()}
	case BadSchedule:
		return r.explainSchedule(l)
	case BadEPNoMoE:
		return &flopcast.FieldError{Field: "parallel.ep", Value: l.EP, Reason: "needs a mixture-of-experts model", Allowed: "1"}
	case BadEPExperts:
		return &flopcast.FieldError{Field: "parallel.ep", Value: l.EP, Reason: fmt.Sprintf("does not divide model.moe.experts=%d", m.MoE.Experts), Allowed: divisors(m.MoE.Experts)}
	case BadFold:
		ranks := l.TP * l.CP * l.DP
		fe := &flopcast.FieldError{Field: "parallel.ep", Value: l.EP,
			Reason: fmt.Sprintf("× etp %d = %d does not divide tp×cp×dp = %d×%d×%d = %d (MoE parallel folding: the experts' ep×etp grid folds over one pipeline stage's ranks)",
				l.ETP, l.EP*l.ETP, l.TP, l.CP, l.DP, ranks),
			Allowed: "ep×etp dividing " + strconv.Itoa(ranks)}
		if l.ETP > 1 && ranks%l.EP == 0 {
			fe.Hint = fmt.Sprintf("parallel.etp: %d", gcd(ranks/l.EP, l.ETP))
		}
		return fe
	case BadBatch:
		return &flopcast.FieldError{Field: "training.global_batch", Value: r.Training.GlobalBatch,
			Reason: fmt.Sprintf("is not divisible by dp×micro_batch = %d×%d", l.DP, l.MicroBatch), Allowed: "multiples of " + strconv.Itoa(l.DP*l.MicroBatch),
			Hint: fmt.Sprintf("training.global_batch: %d", roundUp(r.Training.GlobalBatch, l.DP*l.MicroBatch))}
	case BadCPSeq:
		return &flopcast.FieldError{Field: "parallel.cp", Value: l.CP, Reason: fmt.Sprintf("needs training.seq_len=%d divisible by 2×cp (the load-balanced split of the sequence into 2×cp chunks)", r.Training.SeqLen), Allowed: "cp with seq_len % (2·cp) = 0"}
	case BadCPHeads:
		return &flopcast.FieldError{Field: "parallel.cp", Value: l.CP,
			Reason:  fmt.Sprintf("does not divide the attention heads per tp rank (%d query, %d key-value heads over tp=%d), which training.cp_comm_type a2a shares out", m.Heads/l.TP, r.kvHeadsPerTP(l.TP), l.TP),
			Allowed: "cp dividing both, or training.cp_comm_type p2p"}
	case BadPPLayers:
		return &flopcast.FieldError{Field: "parallel.pp", Value: l.PP, Reason: fmt.Sprintf("is more than model.layers=%d", m.Layers), Allowed: "1.." + strconv.Itoa(m.Layers)}
	case BadVPP:
		return &flopcast.FieldError{Field: "parallel.vpp", Value: l.VPP, Reason: fmt.Sprintf("needs pp > 1 and pp×vpp <= layers=%d", m.Layers), Allowed: "1, or 2..layers/pp with pp > 1"}
	case BadVPPMicroBatches:
		return &flopcast.FieldError{Field: "parallel.vpp", Value: l.VPP, Reason: fmt.Sprintf("needs the micro-batch count %d to be a multiple of pp=%d (interleaved 1F1B)", l.MicroBatches(r.Training.GlobalBatch), l.PP), Allowed: "1, or a global batch giving a multiple of pp micro-batches"}
	case BadZeRO:
		return &flopcast.FieldError{Field: "parallel.zero", Value: l.ZeRO, Allowed: "0, 1, 2, 3"}
	case BadKnob:
		return &flopcast.FieldError{Field: "parallel", Value: l.String(), Reason: "has a size below 1", Allowed: "positive tp, pp, dp, cp, ep, etp, vpp, micro_batch"}
	case BadCPFlash:
		return &flopcast.FieldError{Field: "parallel.cp", Value: l.CP, Reason: "needs training.flash_attention (context-parallel attention is built on the fused kernel)", Allowed: "1 without flash attention"}
	case BadRampBatch:
		for i, rp := range r.Training.BatchRamp {
			if rp.GlobalBatch%(l.DP*l.MicroBatch) != 0 {
				return &flopcast.FieldError{Field: fmt.Sprintf("training.batch_ramp[%d].global_batch", i), Value: rp.GlobalBatch,
					Reason: fmt.Sprintf("is not divisible by dp×micro_batch = %d×%d", l.DP, l.MicroBatch), Allowed: "multiples of " + strconv.Itoa(l.DP*l.MicroBatch)}
			}
		}
	}
	return fmt.Errorf("parallel: invalid layout %v", l)
}

func roundUp(a, b int) int { return (a + b - 1) / b * b }

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

func etpHint(l Layout) string {
	if l.ETP != 1 {
		return "parallel.etp: 1 (recommended for fine-grained experts)"
	}
	return ""
}

// recomputeAllowed lists the recompute values the model can use.
func (r *Resolved) recomputeAllowed() string {
	m := &r.Model
	mods := []string{"core_attn", "layernorm"}
	if m.Attention == model.AttentionMLA {
		mods = append(mods, "mla_up_proj")
	}
	mods = append(mods, "mlp")
	if m.MoE != nil {
		mods = append(mods, "moe_act", "moe")
		if m.MoE.SharedExperts > 0 {
			mods = append(mods, "shared_experts")
		}
	}
	first := "none, selective, full, "
	if m.MoE == nil && m.Attention != model.AttentionMLA {
		first += "op, "
	}
	return first + "or a list of " + strings.Join(mods, ", ")
}

func (r *Resolved) explainSchedule(l Layout) error {
	fe := &flopcast.FieldError{Field: "parallel.pp_schedule", Value: l.Schedule.String()}
	switch l.Schedule {
	case Schedule1F1B:
		fe.Reason = fmt.Sprintf("runs one stage per rank, but vpp is %d", l.VPP)
		fe.Allowed = "1f1b with vpp 1, interleaved with vpp > 1"
		fe.Hint = "parallel.pp_schedule: interleaved"
	case ScheduleInterleaved:
		fe.Reason = "needs virtual stages (vpp > 1)"
		fe.Allowed = "interleaved with vpp 2..layers/pp, or 1f1b"
		fe.Hint = "parallel.vpp: 2"
	case ScheduleDualPipe:
		fe.Reason = fmt.Sprintf("needs vpp 1, an even pp and an even micro-batch count (vpp %d, pp %d, %d micro-batches)",
			l.VPP, l.PP, l.MicroBatches(r.Training.GlobalBatch))
		fe.Allowed = "dualpipe with vpp 1, pp and global_batch/(dp×micro_batch) divisible by 2"
	default:
		fe.Allowed = strings.Join(scheduleNames[:], ", ")
	}
	return fe
}

func divisors(n int) string {
	var d []string
	for i := 1; i <= n; i++ {
		if n%i == 0 {
			d = append(d, strconv.Itoa(i))
		}
		if len(d) > 24 {
			d = append(d, "...")
			break
		}
	}
	return strings.Join(d, ", ")
}

// nearest suggests up to three names close to s.
func nearest(s string, names []string) string {
	type cand struct {
		n string
		d int
	}
	var c []cand
	ls := strings.ToLower(s)
	for _, n := range names {
		d := levenshtein(ls, n)
		if strings.Contains(n, ls) || strings.Contains(ls, n) {
			d = min(d, 1)
		}
		c = append(c, cand{n, d})
	}
	sort.SliceStable(c, func(i, j int) bool { return c[i].d < c[j].d })
	var out []string
	for i := 0; i < len(c) && i < 3; i++ {
		if c[i].d <= max(3, len(s)/2) {
			out = append(out, c[i].n)
		}
	}
	if len(out) == 0 {
		return ""
	}
	return strings.Join(out, " or ")
}

func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// finite reports whether v is neither NaN nor infinite.
func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

func positive(v float64) bool    { return v > 0 && finite(v) }
func nonNegative(v float64) bool { return v >= 0 && finite(v) }

type floatRule struct {
	field   string
	v       *float64
	ok      func(float64) bool
	allowed string
}

func checkRules(rules []floatRule) error {
	for _, c := range rules {
		if c.v != nil && !c.ok(*c.v) {
			return &flopcast.FieldError{Field: c.field, Value: *c.v, Allowed: c.allowed}
		}
	}
	return nil
}

// CheckEconomics validates the economics block: the one rule table that
// Resolve and the economics package share.
func CheckEconomics(e *Economics) error {
	if e == nil {
		return nil
	}
	if e.PUE != nil && *e.PUE < 1 {
		return &flopcast.FieldError{Field: "economics.pue", Value: *e.PUE, Reason: "is below 1 (facility power cannot be less than IT power)", Allowed: ">= 1, typically 1.1-1.6"}
	}
	return checkRules([]floatRule{
		{"economics.price_per_chip_hour", e.PricePerChipHour, positive, "a positive price in USD per chip-hour"},
		{"economics.capex_per_chip", e.CapexPerChip, positive, "a positive price in USD per chip"},
		{"economics.depreciation_years", e.DepreciationYears, positive, "a positive number of years"},
		{"economics.server_network_share", e.ServerNetworkShare, nonNegative, "0 or more USD per chip"},
		{"economics.facility_usd_per_mw", e.FacilityUSDPerMW, nonNegative, "0 or more USD per MW of IT load"},
		{"economics.pue", e.PUE, func(x float64) bool { return x >= 1 && finite(x) }, "1 or more (power drawn by the site over power drawn by IT)"},
		{"economics.electricity_usd_per_mwh", e.ElectricityUSDPerMWh, nonNegative, "0 or more USD per MWh"},
		{"economics.grid_kg_co2_per_kwh", e.GridKgCO2PerKWh, nonNegative, "0 or more kg CO2 per kWh"},
		{"economics.market_kg_co2_per_kwh", e.MarketKgCO2PerKWh, nonNegative, "0 or more kg CO2 per kWh"},
		{"economics.chip_power_w", e.ChipPowerW, positive, "a positive number of watts"},
		{"economics.host_power_w", e.HostPowerW, nonNegative, "0 or more watts per chip"},
	})
}

// CheckReliability validates the reliability block: the one rule table
// that Resolve and the reliability package share.
func CheckReliability(x *Reliability) error {
	if x == nil {
		return nil
	}
	if err := checkRules([]floatRule{
		{"reliability.failures_per_chip_hour", x.FailuresPerChipHour, positive, "a positive number of interruptions per chip-hour"},
		{"reliability.mtti_hours", x.MTTIHours, positive, "a positive number of hours"},
		{"reliability.checkpoint_write_s", x.CheckpointWriteS, nonNegative, "0 or more seconds"},
		{"reliability.checkpoint_interval_s", x.CheckpointIntervalS, positive, "a positive number of seconds"},
		{"reliability.storage_gbps", x.StorageGBps, positive, "a positive number of GB/s per chip"},
		{"reliability.restart_s", x.RestartS, nonNegative, "0 or more seconds"},
	}); err != nil {
		return err
	}
	if x.FailuresPerChipHour != nil && x.MTTIHours != nil {
		return &flopcast.FieldError{Field: "reliability.mtti_hours", Value: *x.MTTIHours,
			Reason: "is given together with reliability.failures_per_chip_hour", Hint: "give one of the two"}
	}
	return nil
}
