// Command simumax2corpus converts SimuMax v1.2's B200 validation cases
// (MooreThreads/SimuMax docs/b200/b200_release_v1.2_summary.json, commit
// 4dcaae5, with each case's model, layout and switches spelled out: the
// file in testdata/) into flopcast corpus rows, catalog/runs-simumax.yaml:
// one step-time row and one peak-allocated-memory row per case, each with
// SimuMax's own error on it.
//
//	go run ./tools/simumax2corpus > catalog/runs-simumax.yaml
//
// A test in this package checks that the committed file is what the
// converter makes, so the rows are never edited by hand.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Case is one SimuMax validation case, as the cases file has it.
type Case struct {
	Name  string `json:"name"`
	Model struct {
		Name            string `json:"name"`
		ModelType       string `json:"model_type"`
		Attention       string `json:"attention"`
		FullLayers      int    `json:"full_model_layers"`
		Hidden          int    `json:"hidden"`
		Heads           int    `json:"heads"`
		KVHeads         int    `json:"kv_heads"`
		HeadDim         int    `json:"head_dim"`
		FFN             int    `json:"ffn"`
		Vocab           int    `json:"vocab"`
		SwiGLU          bool   `json:"use_swiglu"`
		Experts         int    `json:"experts"`
		TopK            int    `json:"top_k"`
		SharedExperts   int    `json:"shared_experts"`
		SharedDerived   int    `json:"shared_experts_derived"`
		SharedExpertFFN int    `json:"shared_expert_ffn"`
		ExpertFFN       int    `json:"expert_ffn"`
		DenseLayers     int    `json:"dense_layers"`
		MLA             *struct {
			QLoraRank  int `json:"q_lora_rank"`
			KVLoraRank int `json:"kv_lora_rank"`
			QKHeadDim  int `json:"qk_head_dim"`
			QKRopeDim  int `json:"qk_pos_emb_head_dim"`
			VHeadDim   int `json:"v_head_dim"`
		} `json:"mla"`
		Layers         int  `json:"layers_simulated"`
		Embeddings     bool `json:"embeddings_included"`
		OutputHead     bool `json:"output_head_included"`
		TiedEmbeddings bool `json:"tied_embeddings"`
	} `json:"model"`
	Chips        int    `json:"chips"`
	TP           int    `json:"tp"`
	PP           int    `json:"pp"`
	DP           int    `json:"dp"`
	CP           int    `json:"cp"`
	EP           int    `json:"ep"`
	VPP          int    `json:"vpp"`
	MicroBatch   int    `json:"micro_batch"`
	MicroBatches int    `json:"micro_batches"`
	Seq          int    `json:"seq"`
	Precision    string `json:"precision"`
	Recompute    struct {
		Effective string `json:"effective"`
	} `json:"recompute"`
	Switches struct {
		SequenceParallel     bool     `json:"sequence_parallel"`
		DistributedOptimizer bool     `json:"distributed_optimizer"`
		OverlapGradReduce    bool     `json:"overlap_grad_reduce_megatron"`
		TPCommOverlap        bool     `json:"tp_comm_overlap"`
		FlashAttention       bool     `json:"flash_attention"`
		WorldSize            int      `json:"world_size"`
		GlobalBatch          int      `json:"global_batch_size_derived"`
		InferredFields       []string `json:"inferred_fields"`
		CPCommType           string   `json:"cp_comm_type"`
		CELossFusion         bool     `json:"cross_entropy_loss_fusion"`
	} `json:"switches"`
	MeasuredMs  float64 `json:"measured_ms"`
	MeasuredGiB float64 `json:"measured_gib"`
	SimuMaxTime float64 `json:"simumax_time_err"` // percent, (predicted - measured) / measured
	SimuMaxMem  float64 `json:"simumax_mem_err"`  // percent
}

// source is what every row cites.
const source = "MooreThreads/SimuMax docs/b200/b200_release_v1.2_summary.json (commit 4dcaae5)"

// makeVocabDivisibleBy is Megatron-LM's --make-vocab-size-divisible-by as
// SimuMax's case definitions set it (padded_vocab_size=True, 128).
const makeVocabDivisibleBy = 128

// paddedVocab is Megatron-LM's _vocab_size_with_padding: the vocabulary is
// padded to a multiple of make_vocab_size_divisible_by × tp.
func paddedVocab(v, tp int) int {
	m := makeVocabDivisibleBy * tp
	return (v + m - 1) / m * m
}

// check refuses a case this converter cannot express faithfully.
func (c *Case) check() error {
	bad := func(what string, v any) error {
		return fmt.Errorf("case %s: %s = %v is not expressible", c.Name, what, v)
	}
	switch {
	case c.Precision != "BF16":
		return bad("precision", c.Precision)
	case c.Recompute.Effective != "none":
		return bad("recompute", c.Recompute.Effective)
	case c.TP*c.PP*c.DP*c.CP != c.Chips || c.Chips != c.Switches.WorldSize:
		return bad("tp*pp*dp*cp", c.TP*c.PP*c.DP*c.CP)
	case c.MicroBatch*c.MicroBatches*c.DP != c.Switches.GlobalBatch:
		return bad("micro_batch*micro_batches*dp", c.MicroBatch*c.MicroBatches*c.DP)
	case !c.Model.SwiGLU:
		return bad("use_swiglu", false)
	case !c.Model.Embeddings || !c.Model.OutputHead:
		return bad("embeddings/output head included", false)
	case c.VPP != 1:
		return bad("vpp", c.VPP)
	case c.MeasuredMs <= 0 || c.MeasuredGiB <= 0:
		return bad("measured", c.MeasuredMs)
	case c.Switches.CPCommType != "" && c.Switches.CPCommType != "p2p" && c.Switches.CPCommType != "a2a":
		return bad("cp_comm_type", c.Switches.CPCommType)
	case c.Switches.TPCommOverlap, c.Switches.OverlapGradReduce, !c.Switches.DistributedOptimizer, !c.Switches.FlashAttention:
		return bad("switches", "tp_comm_overlap/overlap_grad_reduce/distributed_optimizer/flash_attention")
	}
	if c.Model.ModelType == "moe" && (c.Model.Experts == 0 || c.Model.TopK == 0 || c.Model.ExpertFFN == 0) {
		return bad("moe", "experts/top_k/expert_ffn missing")
	}
	return nil
}

// rowName is the corpus name of a case.
func rowName(c *Case) string { return "simumax-b200-" + strings.ReplaceAll(c.Name, "_", "-") }

// modelYAML is the inline model block of a case, cut to the simulated
// layers.
func modelYAML(c *Case) string {
	m := &c.Model
	var b strings.Builder
	fmt.Fprintf(&b, "{layers: %d, hidden: %d, heads: %d", m.Layers, m.Hidden, m.Heads)
	if m.KVHeads != 0 && m.KVHeads != m.Heads {
		fmt.Fprintf(&b, ", kv_heads: %d", m.KVHeads)
	}
	if m.HeadDim != 0 && m.HeadDim*m.Heads != m.Hidden || m.MLA != nil {
		fmt.Fprintf(&b, ", head_dim: %d", m.HeadDim)
	}
	fmt.Fprintf(&b, ", ffn: %d, ffn_kind: swiglu, vocab: %d, tied_embeddings: %t", m.FFN, paddedVocab(m.Vocab, c.TP), m.TiedEmbeddings)
	if m.MLA != nil {
		fmt.Fprintf(&b, ", attention: mla, mla: {q_lora_rank: %d, kv_lora_rank: %d, qk_rope_dim: %d, qk_nope_dim: %d, v_head_dim: %d}",
			m.MLA.QLoraRank, m.MLA.KVLoraRank, m.MLA.QKRopeDim, m.MLA.QKHeadDim, m.MLA.VHeadDim)
	}
	if m.ModelType == "moe" {
		shared := m.SharedExperts
		if shared == 0 {
			shared = m.SharedDerived
		}
		fmt.Fprintf(&b, ", moe: {experts: %d, top_k: %d, shared_experts: %d, expert_ffn: %d, dense_layers: %d}",
			m.Experts, m.TopK, shared, m.ExpertFFN, m.DenseLayers)
	}
	b.WriteString("}")
	return b.String()
}

// trainingExtras is the training fields a case sets beyond every case's:
// fused_loss for a case run with cross-entropy loss fusion, cp_comm_type
// for a context-parallel case (Megatron-LM's --cp-comm-type, p2p when the
// case leaves it out).
func trainingExtras(c *Case) string {
	var s string
	if c.Switches.CELossFusion {
		s += ", fused_loss: true"
	}
	if c.CP > 1 && c.Switches.CPCommType != "" {
		s += ", cp_comm_type: " + c.Switches.CPCommType
	}
	return s
}

// fillIn names what the case leaves implicit and how it was filled.
func fillIn(c *Case) string {
	m := &c.Model
	var parts []string
	parts = append(parts, fmt.Sprintf("%s cut to %d of its %d layers with embedding and output head, as the case runs it", m.Name, m.Layers, m.FullLayers))
	if v := paddedVocab(m.Vocab, c.TP); v != m.Vocab {
		parts = append(parts, fmt.Sprintf("vocab %d padded to %d (Megatron-LM pads to a multiple of make_vocab_size_divisible_by 128 x tp %d)", m.Vocab, v, c.TP))
	}
	parts = append(parts, fmt.Sprintf("global_batch %d = micro_batch %d x %d micro-batches x dp %d", c.Switches.GlobalBatch, c.MicroBatch, c.MicroBatches, c.DP))
	parts = append(parts, "switches as the case states them: bf16, megatron recipe (Transformer Engine, fused norms, fp32 gradient accumulation), flash attention, no recompute, sequence parallel (no-op at tp 1), distributed optimizer -> zero 1, TP communication overlap off, no overlapped gradient reduce or parameter gather -> dp_comm_overlap false, no dropout")
	if c.Switches.CELossFusion {
		parts = append(parts, "cross-entropy loss fusion ('cef': --cross-entropy-loss-fusion --cross-entropy-fusion-impl te): Transformer Engine's parallel cross-entropy kernel writes the gradient in place over the bf16 logits -> fused_loss true")
	}
	if m.ModelType == "moe" {
		parts = append(parts, "MoE: all-to-all dispatcher with grouped GEMMs, capacity factor 1 with padding to capacity -> balanced routing (every expert gets exactly its share); shared experts from shared_expert_ffn / expert_ffn")
	}
	if c.CP > 1 {
		parts = append(parts, fmt.Sprintf("context parallel %d with Transformer Engine's context-parallel attention, cp_comm_type %s as the case states", c.CP, c.Switches.CPCommType))
	}
	for _, f := range c.Switches.InferredFields {
		parts = append(parts, "inferred by the cases file: "+f)
	}
	parts = append(parts, "measured step: fastest of iterations 2-3 on the last rank, optimizer step included; memory: peak allocated (torch.cuda.max_memory_allocated)")
	return strings.Join(parts, ". ") + "."
}

// Convert writes the corpus file for cases.
func Convert(w io.Writer, cases []Case) error {
	fmt.Fprintf(w, `# SimuMax v1.2's own validation set: 43 cases on 8 B200 (one NVLink node), measured with Megatron-LM.
# Generated by tools/simumax2corpus from tools/simumax2corpus/testdata/simumax_b200_v1.2_cases.json; do not edit:
#   go run ./tools/simumax2corpus > catalog/runs-simumax.yaml
# Each case is two rows, step time and peak allocated memory; anchor_err is SimuMax's own error on the row.
anchors:
  - name: simumax
    title: "SimuMax v1.2, 43 B200 cases"
    source: "%s"
    time_mean_abs_err: 0.056
    time_worst_abs_err: 0.135
    mem_mean_abs_err: 0.005
    mem_worst_abs_err: 0.014
runs:
`, source)
	names := map[string]bool{}
	for i := range cases {
		c := &cases[i]
		if err := c.check(); err != nil {
			return err
		}
		name := rowName(c)
		if names[name] {
			return fmt.Errorf("case %s listed twice", c.Name)
		}
		names[name] = true
		run := fmt.Sprintf(`    run:
      model: %s
      cluster: {chip: b200, chips: %d}
      training: {seq_len: %d, global_batch: %d, precision: bf16, recipe: megatron, flash_attention: true, tp_comm_overlap: false, dp_comm_overlap: false%s}
      parallel: {tp: %d, pp: %d, dp: %d, cp: %d, ep: %d, vpp: 1, micro_batch: %d, zero: 1, recompute: none, sequence_parallel: %t}
`, modelYAML(c), c.Chips, c.Seq, c.Switches.GlobalBatch, trainingExtras(c), c.TP, c.PP, c.DP, c.CP, max(c.EP, 1), c.MicroBatch, c.Switches.SequenceParallel && c.TP > 1)
		row := func(suffix, metric string, measured, anchorErr float64) {
			fmt.Fprintf(w, "  - name: %s-%s\n    family: simumax-b200-v1.2\n    group: simumax-b200\n", name, suffix)
			fmt.Fprintf(w, "    source: %q\n    confidence: confirmed\n    metric: %s\n    measured: %.7g\n", source+", case "+c.Name, metric, measured)
			fmt.Fprintf(w, "    anchor: simumax\n    anchor_err: %.6g\n    fill_in: %q\n%s", anchorErr/100, fillIn(c), run)
		}
		row("time", "step_time_s", c.MeasuredMs/1e3, c.SimuMaxTime)
		row("mem", "peak_alloc_gib", c.MeasuredGiB, c.SimuMaxMem)
	}
	return nil
}

func run(in string, w io.Writer) error {
	b, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	var cases []Case
	if err := json.Unmarshal(b, &cases); err != nil {
		return fmt.Errorf("%s: %w", in, err)
	}
	return Convert(w, cases)
}

func main() {
	in := filepath.Join("tools", "simumax2corpus", "testdata", "simumax_b200_v1.2_cases.json")
	if len(os.Args) > 1 {
		in = os.Args[1]
	}
	if err := run(in, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "simumax2corpus:", err)
		os.Exit(1)
	}
}
