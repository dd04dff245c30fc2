package estimate

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/flopcast/flopcast/hardware"
	"github.com/flopcast/flopcast/spec"
)

// resolveRun resolves a run for the memory tests.
func resolveRun(t *testing.T, yaml string) (*spec.Resolved, *Estimator) {
	t.Helper()
	run, err := spec.Parse([]byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	return prepare(t, run)
}

// prepare resolves run and builds its Estimator, failing t on an error.
func prepare(t *testing.T, run *spec.Run) (*spec.Resolved, *Estimator) {
	t.Helper()
	r, err := spec.Resolve(run)
	if err != nil {
		t.Fatal(err)
	}
	e, err := New(r)
	if err != nil {
		t.Fatal(err)
	}
	return r, e
}

// layerSaved is the bytes one dense layer keeps for backward under l.
func layerSaved(e *Estimator, l spec.Layout) layerCost {
	s := e.newShape(&l)
	return e.layer(&s, false)
}

// Korthikanti et al. 2022, Table 2: activation bytes per layer of a GPT
// layer (16-bit tensors, dropout, 4h GELU MLP, unfused attention) are
// s·b·h·(34 + 5·a·s/h) without parallelism, s·b·h·(10 + 24/t + 5·a·s/(h·t))
// with tensor parallelism, s·b·h·(34/t + 5·a·s/(h·t)) with sequence
// parallelism as well, and 2·s·b·h under full recompute.
func TestActivationsKorthikanti(t *testing.T) {
	const s, b, h, a = 2048.0, 1.0, 12288.0, 96.0
	_, e := resolveRun(t, `
model: {layers: 96, hidden: 12288, heads: 96, ffn: 49152, ffn_kind: gelu, vocab: 51200}
cluster: {chip: a100-sxm-80gb, chips: 8}
training: {seq_len: 2048, global_batch: 8, flash_attention: false, dropout: true}
`)
	base := spec.Layout{TP: 1, PP: 1, DP: 8, CP: 1, EP: 1, ETP: 1, VPP: 1, MicroBatch: 1}
	tp8 := base
	tp8.TP, tp8.ETP, tp8.DP = 8, 8, 1
	sp8 := tp8
	sp8.SequenceParallel = true
	full := sp8
	full.Recompute = spec.RecomputeFull
	for _, c := range []struct {
		name string
		l    spec.Layout
		want float64
	}{
		{"no parallelism", base, s * b * h * (34 + 5*a*s/h)},
		{"tensor parallel 8", tp8, s * b * h * (10 + 24.0/8 + 5*a*s/(h*8))},
		{"and sequence parallel", sp8, s * b * h * (34.0/8 + 5*a*s/(h*8))},
		{"full recompute", full, 2 * s * b * h / 8},
	} {
		if got := layerSaved(e, c.l).saved; math.Abs(got-c.want) > 1e-9*c.want {
			t.Errorf("%s: %.6g bytes per layer, want %.6g (%.4f of it)", c.name, got, c.want, got/c.want)
		}
	}
}

// Each recompute module frees what its block keeps and adds its forward
// to backward; with flash attention, core_attn frees next to nothing.
func TestRecomputeModules(t *testing.T) {
	_, e := resolveRun(t, `
model: deepseek-v3
cluster: {chip: h800, chips: 256}
training: {seq_len: 4096, global_batch: 256, precision: fp8}
`)
	l := spec.Layout{TP: 1, PP: 16, DP: 16, CP: 1, EP: 16, ETP: 1, VPP: 1, MicroBatch: 1, ZeRO: 1}
	cost := func(rc spec.Recompute, moe bool) layerCost {
		l := l
		l.Recompute = rc
		s := e.newShape(&l)
		return e.layer(&s, moe)
	}
	none := cost(spec.RecomputeNone, true)
	for _, c := range []struct {
		rc        spec.Recompute
		moe       bool
		minFreed  float64 // share of the layer's saved bytes freed, at least
		maxFreed  float64
		costsTime bool
	}{
		{spec.RecomputeCoreAttn, true, 0, 0.01, true},
		{spec.RecomputeLayerNorm, true, 0.01, 0.2, true},
		{spec.RecomputeMLAUpProj, true, 0.1, 0.5, true},
		{spec.RecomputeMoEAct, true, 0.02, 0.3, true},
		{spec.RecomputeMoE, true, 0.3, 0.95, true},
		{spec.RecomputeSharedExperts, true, 0.005, 0.1, true},
		{spec.RecomputeFull, true, 0.95, 1, true},
	} {
		got := cost(c.rc, c.moe)
		freed := 1 - got.saved/none.saved
		if freed < c.minFreed || freed > c.maxFreed {
			t.Errorf("%v frees %.3f of the layer's activations, want %.3f..%.3f", c.rc, freed, c.minFreed, c.maxFreed)
		}
		if c.costsTime && got.recompute <= 0 {
			t.Errorf("%v adds no recompute time", c.rc)
		}
		if got.working != none.working {
			t.Errorf("%v changes the working set %v → %v", c.rc, none.working, got.working)
		}
	}
	// mla_up_proj frees q, k and v: 128·192 + 128·192 + 128·128 elements
	// per token in bf16 (DeepSeek-V3 config: 128 heads, 192 = 128 + 64
	// rope for q and k, 128 for v), and the normed q and kv latents the
	// up-projections saved, 1536 + 512 elements in FP8.
	if got, want := none.saved-cost(spec.RecomputeMLAUpProj, true).saved, 4096*(2*(128*192*2+128*128.0)+1*(1536+512)); math.Abs(got-want) > 1e-9*want {
		t.Errorf("mla_up_proj frees %v bytes, want %v", got, want)
	}
	if dense := cost(spec.RecomputeMLP, false); dense.saved >= cost(spec.RecomputeNone, false).saved {
		t.Error("mlp recompute frees nothing in a dense layer")
	}
}

// FP8 weights (Transformer Engine, Megatron's fp8_param): bf16 weights
// under FP8 carry a 1-byte copy and, on Hopper, its 1-byte transpose;
// kept in FP8 they are the FP8 copies alone. MXFP8 keeps both
// orientations with an E8M0 scale per 32 elements.
func TestFP8WeightBytes(t *testing.T) {
	h100, _ := hardware.LookupChip("h100-sxm")
	b200, _ := hardware.LookupChip("b200")
	for _, c := range []struct {
		chip      hardware.Chip
		precision spec.Precision
		fp8Params bool
		want      float64
	}{
		{h100, spec.PrecisionBF16, false, 2},
		{h100, spec.PrecisionFP8, false, 2 + 1 + 1},
		{h100, spec.PrecisionFP8, true, 1 + 1},
		{b200, spec.PrecisionFP8, true, 1},
		{b200, spec.PrecisionFP8, false, 2 + 1},
		{b200, spec.PrecisionMXFP8, true, 2 * (1 + 1.0/32)},
		{b200, spec.PrecisionNVFP4, true, 2 * (0.5 + 1.0/16)},
	} {
		e := &Estimator{lowp: newLowPrecision(c.precision, &c.chip), fp8Params: c.fp8Params}
		if got := e.gemmWeightBytes(); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("%s %s fp8_params %v: %v bytes per weight, want %v", c.chip.Name, c.precision, c.fp8Params, got, c.want)
		}
	}
}

// Allocated is the live tensors; the peak adds the allocator's slack. With
// one micro-batch, eager PyTorch has no .grad at the activations' peak;
// with accumulation it has; Megatron's main_grad always exists.
func TestAllocatedAndGradientLifetime(t *testing.T) {
	for _, c := range []struct {
		recipe      string
		batch       int
		gradsAtPeak bool
	}{
		{"pytorch-amp", 1, false},
		{"pytorch-amp", 2, true},
		{"megatron", 1, true},
	} {
		r, e := resolveRun(t, `
model: llama3-8b
cluster: {chip: h100-sxm, chips: 1}
training: {seq_len: 2048, global_batch: `+itoa(c.batch)+`, recipe: `+c.recipe+`}
parallel: {tp: 1, pp: 1, dp: 1, micro_batch: 1, zero: 0}
`)
		res := e.Estimate(r.Layout)
		m := res.Memory
		if d := m.PeakGiB - m.AllocatedGiB - m.FragmentationGiB; math.Abs(d) > 1e-9 {
			t.Errorf("%s: peak %v ≠ allocated %v + fragmentation %v", c.recipe, m.PeakGiB, m.AllocatedGiB, m.FragmentationGiB)
		}
		sum := m.WeightsGiB + m.GradsGiB + m.OptimizerGiB + m.ActivationsGiB + m.OtherGiB - m.FragmentationGiB
		if got := math.Abs(sum-m.AllocatedGiB) < 1e-9; got != c.gradsAtPeak {
			t.Errorf("%s, %d micro-batches: gradients at the peak %v, want %v (allocated %v, states+activations %v)", c.recipe, c.batch, got, c.gradsAtPeak, m.AllocatedGiB, sum)
		}
	}
}

// DeepSeek-V3's MTP module weighs as a layer on the last stage: it adds
// time and memory there and nowhere else.
func TestMTPOnTheLastStage(t *testing.T) {
	r, e := resolveRun(t, `
model: deepseek-v3
cluster: {chip: h800, chips: 2048}
training: {seq_len: 4096, global_batch: 15360, precision: fp8}
parallel: {tp: 1, pp: 16, dp: 128, ep: 64, micro_batch: 1, zero: 1}
`)
	if e.mtpDepth != 1 {
		t.Fatalf("deepseek-v3 mtp_depth %v, want 1 (catalog)", e.mtpDepth)
	}
	without := *e
	without.mtpDepth = 0
	sc, sc0 := e.Schedule(r.Layout), without.Schedule(r.Layout)
	last := len(sc.FwdS) - 1
	if sc.FwdS[last] <= sc0.FwdS[last] {
		t.Errorf("the MTP module adds no time to the last stage: %v vs %v", sc.FwdS[last], sc0.FwdS[last])
	}
	// The module weighs as a layer in the split: the 61 layers and the
	// module fill the 16 stages.
	l := r.Layout
	sp := e.stageSplit(&l)
	var layers float64
	for rank := 0; rank < 16; rank++ {
		rl := e.rank(&sp, rank)
		layers += rl.dense + rl.moe
		if (rl.mtp > 0) != (rank == 15) {
			t.Errorf("rank %d holds %v MTP modules", rank, rl.mtp)
		}
	}
	if layers != 61 {
		t.Errorf("%v layers on the ranks, want 61", layers)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// Offload: activations to the host keep two layers on the device and cost
// what the host link cannot hide; optimizer states leave the device and
// the step runs over the link. A chip without a host-link figure refuses
// with a warning instead of pretending.
func TestOffload(t *testing.T) {
	const run = `
model: llama3-70b
cluster: {chip: %s, chips: 64}
training: {seq_len: 8192, global_batch: 64}
parallel: {tp: 8, pp: 1, dp: 8, micro_batch: 1, zero: 1, offload: %s}
`
	eval := func(chip, offload string) Result {
		r, e := resolveRun(t, fmt.Sprintf(run, chip, offload))
		return e.Estimate(r.Layout)
	}
	base := eval("h100-sxm", "none")
	act := eval("h100-sxm", "activations")
	if act.Memory.ActivationsGiB >= base.Memory.ActivationsGiB/10 {
		t.Errorf("activation offload keeps %.1f of %.1f GiB", act.Memory.ActivationsGiB, base.Memory.ActivationsGiB)
	}
	if act.StepTimeS < base.StepTimeS || act.Breakdown.OffloadS < 0 {
		t.Errorf("activation offload is free: %v vs %v s", act.StepTimeS, base.StepTimeS)
	}
	opt := eval("h100-sxm", "optimizer")
	if opt.Memory.OptimizerGiB != 0 || opt.Breakdown.OptimizerS <= base.Breakdown.OptimizerS {
		t.Errorf("optimizer offload: %v GiB on the device, step %v s vs %v s", opt.Memory.OptimizerGiB, opt.Breakdown.OptimizerS, base.Breakdown.OptimizerS)
	}
	// 70B/8 parameters' fp32 gradients over PCIe Gen5 at 55 GB/s, sharded
	// over dp 8.
	if want := 4 * 70.6e9 / 8 / 8 / 55e9; math.Abs(opt.Breakdown.OptimizerS-want) > 0.05*want {
		t.Errorf("optimizer offload step %v s, want about %v s", opt.Breakdown.OptimizerS, want)
	}
	// Grace's C2C link is eight times PCIe's: cheaper.
	if gb := eval("gb200", "optimizer"); gb.Breakdown.OptimizerS >= opt.Breakdown.OptimizerS/5 {
		t.Errorf("gb200 optimizer offload %v s, h100 %v s", gb.Breakdown.OptimizerS, opt.Breakdown.OptimizerS)
	}
	if tpu := eval("tpu-v5p", "activations"); tpu.Warn&WarnNoHostLink == 0 || tpu.Breakdown.OffloadS != 0 {
		t.Errorf("tpu-v5p without a host link: warn %v offload %v", tpu.Warn, tpu.Breakdown.OffloadS)
	}
}

// DeepSeek-V3's memory mechanisms (report §3.2.3, §3.3.3): bf16 Adam
// moments take the megatron optimizer from 12 to 8 bytes per parameter
// and shorten its step; FP8/E5M6 activation storage shrinks an MoE
// layer's saved bytes by the SwiGLU input's and the attention output's
// difference; under DualPipe rank r holds stage r and stage p-1-r, so the
// first rank holds the embedding, the output head and the MTP module, and
// the MTP module shares the embedding instead of copying it.
func TestDeepSeekMemoryMechanisms(t *testing.T) {
	const run = `
model: deepseek-v3
cluster: {chip: h800, chips: 2048}
training: {seq_len: 4096, global_batch: 15360, precision: fp8%s}
parallel: {tp: 1, pp: 16, dp: 128, ep: 64, micro_batch: 1, zero: 1, pp_schedule: %s}
`
	eval := func(extra, schedule string) (Result, *Estimator, spec.Layout) {
		r, e := resolveRun(t, fmt.Sprintf(run, extra, schedule))
		return e.Estimate(r.Layout), e, r.Layout
	}
	base, e, l := eval("", "1f1b")
	mom, _, _ := eval(", optimizer_moments: bf16", "1f1b")
	ropt := func(r Result) float64 { return r.Breakdown.OptimizerS }
	if got := mom.Memory.OptimizerGiB / base.Memory.OptimizerGiB; math.Abs(got-8.0/12) > 1e-9 {
		t.Errorf("bf16 moments: optimizer %v of fp32's, want 8/12", got)
	}
	// The optimizer step streams 38 bytes a parameter, 30 with bf16
	// moments (at bf16, without the FP8 weights' once-a-step
	// quantisation, which comes on top).
	bf16 := func(extra string) Result {
		src := strings.Replace(fmt.Sprintf(run, extra, "1f1b"), "precision: fp8", "precision: bf16", 1)
		r, e := resolveRun(t, src)
		return e.Estimate(r.Layout)
	}
	b16, m16 := bf16(""), bf16(", optimizer_moments: bf16")
	if got := ropt(m16) / ropt(b16); math.Abs(got-30.0/38) > 1e-3 {
		t.Errorf("bf16 moments: optimizer step %v of fp32's, want 30/38", got)
	}
	if q, qm := ropt(base)-ropt(b16), ropt(mom)-ropt(m16); q <= 0 || qm <= 0 {
		t.Errorf("fp8 weights' quantisation: %v s, and %v s with bf16 moments; want above 0", q, qm)
	}

	_, ea, _ := eval(", fp8_activations: true", "1f1b")
	s, sa := e.newShape(&l), ea.newShape(&l)
	moe, moeA := e.layer(&s, true), ea.layer(&sa, true)
	routed := s.tokens * e.topK * e.busiestLoad(&s, s.tokens*s.ep*e.topK/e.experts) // dropless: the busiest rank's share
	want := routed*e.expertFFN*2*(bf16Bytes-fp8CachedBytes) + s.tokens*float64(e.heads)*e.vHeadDim*(bf16Bytes-e5m6CachedBytes)
	if got := moe.saved - moeA.saved; math.Abs(got-want) > 1e-6*want {
		t.Errorf("fp8_activations saves %v bytes of an MoE layer, want %v", got, want)
	}

	// DualPipe: rank 0 holds stage 0 and stage 15.
	_, ed, ld := eval("", "dualpipe")
	sp := ed.stageSplit(&ld)
	rl := dualPipeLoad(ed.rank(&sp, 0), ed.rank(&sp, 15))
	if !rl.first || !rl.last || rl.mtp != 1 || rl.dense+rl.moe != float64(sp.layers(0)+sp.layers(15))-1 {
		t.Errorf("dualpipe rank 0 load %+v", rl)
	}
	c := &layerCache{}
	ed.fill(&ld, c)
	pd, _, emb := ed.rankParams(rl, c)
	if want := 2 * ed.embParams; emb != want { // embedding and head, no MTP copy
		t.Errorf("dualpipe rank 0 embedding parameters %v, want %v (input and output, shared with the MTP module)", emb, want)
	}
	_, _, emb1 := ed.rankParams(ed.rank(&sp, 15), c)
	if want := 2 * ed.embParams; emb1 != want { // 1F1B's last rank: the head and the MTP module's copy
		t.Errorf("1f1b last rank embedding parameters %v, want %v", emb1, want)
	}
	if pd <= emb {
		t.Errorf("dualpipe rank 0 holds no layers: %v", pd)
	}
}

// TestDualPipeMirrorPairs: under DualPipe a rank runs half the
// micro-batches through its stage and half through the mirror stage, so
// rank r and rank p−1−r carry the same load, and DeepSeek-V3's heavy last
// stage (two output heads and the MTP module) no longer sets the pace alone
// as it does under 1F1B.
func TestDualPipeMirrorPairs(t *testing.T) {
	const run = `
model: deepseek-v3
cluster: {chip: h800, chips: 2048}
training: {seq_len: 4096, global_batch: 15360, precision: fp8}
parallel: {tp: 1, pp: 16, dp: 128, ep: 64, micro_batch: 1, zero: 1, pp_schedule: %s}
`
	r, e := resolveRun(t, fmt.Sprintf(run, "dualpipe"))
	l := r.Layout
	var c layerCache
	var res Result
	e.eval(l, &res, &c)
	sp := e.stageSplit(&l)
	for rank := 0; rank < l.PP/2; rank++ {
		own, mirror := e.rank(&sp, rank), e.rank(&sp, l.PP-1-rank)
		a, b := e.dualPipeRankTime(&l, own, mirror, &c), e.dualPipeRankTime(&l, mirror, own, &c)
		if math.Abs(a.total()-b.total()) > 1e-12*a.total() {
			t.Errorf("rank %d carries %v s per micro-batch, its mirror %v", rank, a.total(), b.total())
		}
	}
	last := e.rankTime(&l, e.rank(&sp, l.PP-1), &c)
	paired := e.dualPipeRankTime(&l, e.rank(&sp, l.PP-1), e.rank(&sp, 0), &c)
	if paired.total() >= last.total() {
		t.Errorf("the last stage paired with the first: %v s, want less than the last stage alone, %v s", paired.total(), last.total())
	}
	if m := float64(l.MicroBatches(r.Training.GlobalBatch)); res.StepTimeS >= m*last.total() {
		t.Errorf("DualPipe step %v s, want less than %v micro-batches at the last stage's own pace (%v s)", res.StepTimeS, m, m*last.total())
	}
	r1, e1 := resolveRun(t, fmt.Sprintf(run, "1f1b"))
	if one := e1.Estimate(r1.Layout); res.StepTimeS >= one.StepTimeS {
		t.Errorf("DualPipe step %v s, want less than 1F1B's %v s for the same layout", res.StepTimeS, one.StepTimeS)
	}
}

// ZeRO-3 under pipeline parallelism keeps each stage's weights gathered
// and its gradients unsharded for the whole step, as ZeRO-1 does, and
// exchanges them once per step; without pipeline parallelism it shards
// them and exchanges them per micro-batch. ZeRO-2 shards gradients either
// way.
func TestShardedStatesUnderPipeline(t *testing.T) {
	r, e := resolveRun(t, `
model: llama3-70b
cluster: {chip: h100-sxm, chips: 64}
training: {seq_len: 4096, global_batch: 64}
parallel: {tp: 8, pp: 4, dp: 2, micro_batch: 1, zero: 3, recompute: full}
`)
	est := func(pp, zero int) Result {
		l := r.Layout
		l.PP, l.DP, l.ZeRO = pp, 8/pp, zero
		return e.Estimate(l)
	}
	for _, c := range []struct{ pp, zero int }{{1, 2}, {1, 3}, {4, 2}, {4, 3}} {
		pp := c.pp
		z1, z3 := est(pp, 1), est(pp, c.zero)
		same := z1.Memory.WeightsGiB == z3.Memory.WeightsGiB && z1.Memory.GradsGiB == z3.Memory.GradsGiB &&
			z1.Breakdown.ExposedDPCommS == z3.Breakdown.ExposedDPCommS
		if want := pp > 1 && c.zero == 3; same != want {
			t.Errorf("pp %d: ZeRO-%d weights %.2f, grads %.2f GiB, exposed DP %.4f s; ZeRO-1 %.2f, %.2f GiB, %.4f s: same %v, want %v",
				pp, c.zero, z3.Memory.WeightsGiB, z3.Memory.GradsGiB, z3.Breakdown.ExposedDPCommS,
				z1.Memory.WeightsGiB, z1.Memory.GradsGiB, z1.Breakdown.ExposedDPCommS, same, want)
		}
		if z1.Memory.OptimizerGiB != z3.Memory.OptimizerGiB {
			t.Errorf("pp %d: optimizer states %.2f GiB under ZeRO-%d, %.2f under ZeRO-1; both shard them", pp, z3.Memory.OptimizerGiB, c.zero, z1.Memory.OptimizerGiB)
		}
	}
}

// torchtitan's per-op checkpointing keeps the layer input, q and v, the
// attention output and its log-sum-exp, and the FFN's gate and down
// projection outputs, and recomputes the rest of the forward but the
// attention kernel and those four matmuls: it saves less than keeping
// everything and more than full recompute, and costs time between.
func TestOpRecompute(t *testing.T) {
	_, e := resolveRun(t, `
model: llama3-8b
cluster: {chip: h100-sxm, chips: 8}
training: {seq_len: 8192, global_batch: 16}
`)
	cost := func(rc spec.Recompute) layerCost {
		l := spec.Layout{TP: 1, PP: 1, DP: 8, CP: 1, EP: 1, ETP: 1, VPP: 1, MicroBatch: 2, ZeRO: 3, Recompute: rc}
		s := e.newShape(&l)
		return e.layer(&s, false)
	}
	none, op, full := cost(spec.RecomputeNone), cost(spec.RecomputeOp), cost(spec.RecomputeFull)
	const T, h, q, kv, ffn, heads = 2 * 8192, 4096, 4096, 1024, 14336, 32
	want := float64(T * (2*h + 2*(q+kv) + 2*q + 4*heads + 2*(ffn+h)))
	if math.Abs(op.saved-want) > 1e-9*want {
		t.Errorf("op saves %v bytes, want %v", op.saved, want)
	}
	if !(full.saved < op.saved && op.saved < none.saved) {
		t.Errorf("saved bytes: full %v, op %v, none %v; want increasing", full.saved, op.saved, none.saved)
	}
	if !(0 < op.recompute && op.recompute < full.recompute) {
		t.Errorf("recompute time: op %v, full %v; want 0 < op < full", op.recompute, full.recompute)
	}
	// What op does not recompute is the attention kernel and the q, v,
	// gate and down projections: more than half of the forward.
	if kept := op.fwd - op.recompute; kept < op.fwd/2 {
		t.Errorf("op keeps %v of a %v forward", kept, op.fwd)
	}
}

// A fused loss (llm.c's fused_classifier) streams 6 bytes per logit
// instead of Megatron's 44 and holds the bf16 logits alone: less head time
// and less memory on the last stage, the same everywhere else.
func TestFusedLoss(t *testing.T) {
	run := func(fused string) Result {
		r, e := resolveRun(t, `
model: llama3-8b
cluster: {chip: h100-sxm, chips: 8}
training: {seq_len: 4096, global_batch: 8, fused_loss: `+fused+`}
parallel: {tp: 1, pp: 1, dp: 8, micro_batch: 1, zero: 1}
`)
		return e.Estimate(r.Layout)
	}
	plain, fused := run("false"), run("true")
	const logits = 4096 * 128256.0
	if got, want := (plain.Memory.ActivationsGiB-fused.Memory.ActivationsGiB)*gib, logits*(logitsHeldBytes-fusedLogitsHeldBytes); math.Abs(got-want) > 1e-6*want {
		t.Errorf("fused loss holds %v fewer bytes, want %v", got, want)
	}
	if fused.Breakdown.ComputeS >= plain.Breakdown.ComputeS {
		t.Errorf("fused loss compute %v s, unfused %v s", fused.Breakdown.ComputeS, plain.Breakdown.ComputeS)
	}
}

// All-to-all context parallelism (training.cp_comm_type a2a) keeps the
// attention output twice, the kernel's copy before the all-to-all back and
// the output projection's input, one more T·heads·v_head_dim bf16 tensor
// per layer than ring attention, which core_attn recompute frees again; its
// all-to-alls sit on the critical path, where the ring's exchanges hide
// behind the attention.
func TestCPAllToAll(t *testing.T) {
	const yaml = `
model: llama3-70b
cluster: {chip: b200, chips: 8}
training: {seq_len: 32768, global_batch: 4, cp_comm_type: %s}
parallel: {tp: 2, pp: 1, dp: 1, cp: 4, micro_batch: 1, zero: 1, recompute: %s, sequence_parallel: true}
`
	layer := func(comm, rc string) layerCost {
		r, e := resolveRun(t, fmt.Sprintf(yaml, comm, rc))
		s := e.newShape(&r.Layout)
		return e.layer(&s, false)
	}
	p2p, a2a := layer("p2p", "none"), layer("a2a", "none")
	// 32768/4 tokens per rank, 64/2 heads of 128.
	if got, want := a2a.saved-p2p.saved, 8192*32*128*2.0; math.Abs(got-want) > 1e-9*want {
		t.Errorf("a2a keeps %v bytes more than p2p, want %v", got, want)
	}
	if a2a.cpExposed <= p2p.cpExposed {
		t.Errorf("exposed CP time: a2a %v, p2p %v; want a2a's all-to-alls exposed", a2a.cpExposed, p2p.cpExposed)
	}
	if got, want := layer("a2a", "core_attn").saved, layer("p2p", "core_attn").saved; got != want {
		t.Errorf("under core_attn recompute a2a keeps %v bytes, p2p %v; want the same", got, want)
	}
}

// The last stage holds, besides the logits, the final norm's input and its
// output (the output layer's input) for each micro-batch at the loss:
// 2·tokens·hidden bf16 under the megatron recipe.
func TestHeadInputsHeld(t *testing.T) {
	r, e := resolveRun(t, `
model: llama3-8b
cluster: {chip: h100-sxm, chips: 8}
training: {seq_len: 4096, global_batch: 16, fused_loss: true}
parallel: {tp: 1, pp: 2, dp: 4, micro_batch: 1, zero: 1}
`)
	l := r.Layout
	var c layerCache
	e.fill(&l, &c)
	sp := e.stageSplit(&l)
	last := e.rank(&sp, 1)
	inner := last
	inner.last = false
	got := e.rankActivations(&l, &c, 1, last, 4) - e.rankActivations(&l, &c, 1, inner, 4)
	want := 4096*128256*fusedLogitsHeldBytes + 2*4096*4096*2.0
	if math.Abs(got-want) > 1e-9*want {
		t.Errorf("the last stage holds %v bytes at the loss, want %v (bf16 logits, final norm input and output)", got, want)
	}
}
