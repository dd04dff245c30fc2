package estimate

import (
	"math"
	"testing"

	"github.com/flopcast/flopcast/spec"
)

// eagerRun resolves a small model of the given architecture fields
// (model YAML keys appended to its dimensions) on one H100.
func eagerRun(t *testing.T, arch, recipe string, zero int) (*spec.Resolved, *Estimator) {
	t.Helper()
	return resolveRun(t, `
model: {layers: 4, hidden: 2048, heads: 16, ffn: 8192, vocab: 32000`+arch+`}
cluster: {chip: h100-sxm, chips: 1}
training: {seq_len: 2048, global_batch: 1, recipe: `+recipe+`}
parallel: {tp: 1, pp: 1, dp: 1, micro_batch: 1, zero: `+itoa(zero)+`}
`)
}

// Under autocast a LayerNorm runs in fp32 and saves an fp32 copy of its
// input with mean and rstd; an RMSNorm saves its input in the residual
// stream's dtype with rstd. With FSDP's bf16 stream the LayerNorm block
// saves 2 B more per element for each of its two norms; with fp32 weights
// both save fp32 inputs and differ by the mean.
func TestEagerNormSaved(t *testing.T) {
	const tokens, hidden = 2048.0, 2048.0
	for _, c := range []struct {
		zero int
		want float64 // LayerNorm block minus RMSNorm block, bytes saved
	}{
		{3, 2 * tokens * (2*hidden + fp32Bytes)},
		{0, 2 * tokens * fp32Bytes},
	} {
		r, ln := eagerRun(t, ", norm: layernorm", "pytorch-amp", c.zero)
		_, rms := eagerRun(t, ", norm: rmsnorm", "pytorch-amp", c.zero)
		got := layerSaved(ln, r.Layout).saved - layerSaved(rms, r.Layout).saved
		if math.Abs(got-c.want) > 1e-6*c.want {
			t.Errorf("zero %d: LayerNorm saves %v B more than RMSNorm, want %v", c.zero, got, c.want)
		}
	}
}

// A GPT-2-style block (LayerNorm, GELU, biases, learned positions) saves
// more than a Llama-style block of the same GELU FFN under FSDP's bf16
// stream, and an unfused SwiGLU of the same width keeps one more
// ffn-wide tensor (silu(a)) than GELU-tanh's single kernel.
func TestEagerBlockSaved(t *testing.T) {
	r, gpt := eagerRun(t, ", ffn_kind: gelu, norm: layernorm, position: learned, bias: true", "pytorch-amp", 3)
	_, llamaGELU := eagerRun(t, ", ffn_kind: gelu", "pytorch-amp", 3)
	_, llama := eagerRun(t, ", ffn_kind: swiglu", "pytorch-amp", 3)
	g, lg, l := layerSaved(gpt, r.Layout).saved, layerSaved(llamaGELU, r.Layout).saved, layerSaved(llama, r.Layout).saved
	if g <= lg {
		t.Errorf("GPT-2-style block saves %v B, not more than the RMSNorm block's %v", g, lg)
	}
	// SwiGLU keeps a, b, silu(a) and the product (FC2's input); GELU its
	// input and output: 4 more bytes per intermediate element.
	if want := 2048.0 * 8192 * 4; math.Abs(l-lg-want) > 1e-6*want {
		t.Errorf("SwiGLU block saves %v B more than GELU, want %v", l-lg, want)
	}
}

// Each architecture field moves the eager kernels it names, and the fused
// recipe's layer not at all (its rotary and norms are fused either way).
func TestEagerKernelsByArchitecture(t *testing.T) {
	for _, c := range []struct {
		name, arch string
		faster     bool // than the rope, rmsnorm, no-bias block
	}{
		{"no rotary", ", position: none", true},
		{"learned positions", ", position: learned", true},
		{"biases", ", bias: true", false},
		{"layernorm on a bf16 stream", ", norm: layernorm", false},
	} {
		for _, recipe := range []string{"pytorch-amp", "megatron"} {
			r, base := eagerRun(t, "", recipe, 3)
			_, v := eagerRun(t, c.arch, recipe, 3)
			b, x := layerSaved(base, r.Layout), layerSaved(v, r.Layout)
			tb, tx := b.fwd+b.bwd, x.fwd+x.bwd
			switch {
			case recipe == "megatron" && tx != tb:
				t.Errorf("%s, megatron: layer time %v, want the fused recipe's %v unchanged", c.name, tx, tb)
			case recipe == "pytorch-amp" && c.faster && tx >= tb:
				t.Errorf("%s, pytorch-amp: layer time %v, want less than %v", c.name, tx, tb)
			case recipe == "pytorch-amp" && !c.faster && tx <= tb:
				t.Errorf("%s, pytorch-amp: layer time %v, want more than %v", c.name, tx, tb)
			}
		}
	}
	// Learned positions add their embedding add on the first stage.
	r, rope := eagerRun(t, "", "pytorch-amp", 3)
	_, learned := eagerRun(t, ", position: learned", "pytorch-amp", 3)
	var cr, cl layerCache
	cr.s, cl.s = rope.newShape(&r.Layout), learned.newShape(&r.Layout)
	rope.ends(&cr.s, &cr.shapeCosts)
	learned.ends(&cl.s, &cl.shapeCosts)
	if cl.embTime <= cr.embTime {
		t.Errorf("learned positions: embedding time %v, want more than %v", cl.embTime, cr.embTime)
	}
}

// A tied model holds one embedding: its weights, gradients and Adam
// states are one vocab × hidden table fewer than the untied model's (fp32
// weights, gradients and two moments under pytorch-amp: 16 B each).
func TestEagerTiedEmbeddingOnce(t *testing.T) {
	r, tied := eagerRun(t, ", tied_embeddings: true", "pytorch-amp", 0)
	_, untied := eagerRun(t, "", "pytorch-amp", 0)
	mt, mu := tied.Estimate(r.Layout).Memory, untied.Estimate(r.Layout).Memory
	states := func(m Memory) float64 { return (m.WeightsGiB + m.GradsGiB + m.OptimizerGiB) * gib }
	if got, want := states(mu)-states(mt), 32000.0*2048*16; math.Abs(got-want) > 1e-6*want {
		t.Errorf("untied minus tied model states %v B, want one embedding's %v", got, want)
	}
	// Autocast casts the output weight once either way: activations equal.
	if mt.ActivationsGiB != mu.ActivationsGiB {
		t.Errorf("tied activations %v GiB, untied %v: want equal (one bf16 copy of the output weight)", mt.ActivationsGiB, mu.ActivationsGiB)
	}
}

// The eager kernels of a layer besides its GEMMs follow the block: a
// Llama-style block (RMSNorm, rotary, SwiGLU, grouped-query attention)
// launches 25 forward and 33 backward, a GPT-2-style one (LayerNorm,
// learned positions, GELU, biases) 16 and 22 (eagerKernels lists them).
func TestEagerKernelCounts(t *testing.T) {
	for _, c := range []struct {
		name, arch string
		fwd, bwd   float64
	}{
		{"llama", ", kv_heads: 4", 25, 33},
		{"gpt", ", ffn_kind: gelu, norm: layernorm, position: learned, bias: true", 16, 22},
	} {
		r, e := eagerRun(t, c.arch, "pytorch-amp", 0)
		s := e.newShape(&r.Layout)
		if f, b := e.eagerKernels(&s); f != c.fwd || b != c.bwd {
			t.Errorf("%s: %v forward and %v backward kernels, want %v and %v", c.name, f, b, c.fwd, c.bwd)
		}
	}
}

// A pass the host launches slower than the GPU runs it is host-bound on
// its own; the GPU's lead in one pass does not carry a later host-bound
// pass, and the host's lead in a GPU-bound forward is spent in backward.
func TestEagerHostPaths(t *testing.T) {
	_, e := eagerRun(t, "", "pytorch-amp", 0)
	SetEagerHost(e, 1e6, 1e6) // 1 s per kernel
	for _, c := range []struct {
		name           string
		gf, gb, kf, kb float64
		recomputed     bool
		fwd, bwd       float64
	}{
		{"GPU-bound", 10, 20, 1, 2, false, 10, 20},
		{"host-bound forward", 1, 20, 4, 2, false, 4, 20},
		{"host-bound throughout", 1, 2, 4, 6, false, 4, 6},
		{"host ahead in forward", 10, 2, 4, 12, false, 10, 6},
		{"recompute", 1, 2, 4, 6, true, 4, 10},
	} {
		rt := rankTiming{fwd: c.gf, bwd: c.gb}
		e.eagerHost(&rt, c.kf, c.kb, c.recomputed)
		if rt.fwd != c.fwd || rt.bwd != c.bwd {
			t.Errorf("%s: fwd %v bwd %v, want %v and %v", c.name, rt.fwd, rt.bwd, c.fwd, c.bwd)
		}
	}
}
