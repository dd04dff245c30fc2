// Package model describes transformer architectures: their shapes, parameter
// counts and FLOPs. It knows nothing about hardware or parallelism.
package model

import (
	"fmt"
	"strconv"

	"github.com/flopcast/flopcast"
)

// Attention kinds.
const (
	AttentionMHA = "mha" // multi-head; with KVHeads < Heads it is GQA
	AttentionMLA = "mla" // DeepSeek multi-head latent attention
)

// FFN kinds.
const (
	FFNSwiGLU = "swiglu"
	FFNGELU   = "gelu"
)

// Config is one transformer architecture. Zero optional fields take the
// defaults applied by Normalize.
type Config struct {
	Name           string `yaml:"name,omitempty" json:"name,omitempty"`
	Layers         int    `yaml:"layers" json:"layers"`
	Hidden         int    `yaml:"hidden" json:"hidden"`
	Heads          int    `yaml:"heads" json:"heads"`
	KVHeads        int    `yaml:"kv_heads,omitempty" json:"kv_heads,omitempty"`
	HeadDim        int    `yaml:"head_dim,omitempty" json:"head_dim,omitempty"`
	FFN            int    `yaml:"ffn" json:"ffn"`
	FFNKind        string `yaml:"ffn_kind,omitempty" json:"ffn_kind,omitempty"`
	Vocab          int    `yaml:"vocab" json:"vocab"`
	TiedEmbeddings bool   `yaml:"tied_embeddings,omitempty" json:"tied_embeddings,omitempty"`
	MoE            *MoE   `yaml:"moe,omitempty" json:"moe,omitempty"`
	Attention      string `yaml:"attention,omitempty" json:"attention,omitempty"`
	MLA            *MLA   `yaml:"mla,omitempty" json:"mla,omitempty"`
	// Position is the position encoding: rope (default), learned or none.
	Position string `yaml:"position,omitempty" json:"position,omitempty"`
	// Norm is the normalisation layer: rmsnorm (default) or layernorm.
	Norm string `yaml:"norm,omitempty" json:"norm,omitempty"`
	// Bias: the linear layers carry biases (GPT-2/3). Default false.
	Bias bool `yaml:"bias,omitempty" json:"bias,omitempty"`
	// MTPDepth is the number of multi-token-prediction modules, each an
	// extra transformer layer and output head on the last stage
	// (DeepSeek-V3: 1).
	MTPDepth int `yaml:"mtp_depth,omitempty" json:"mtp_depth,omitempty"`
	// SlidingWindow is the keys a query attends to on sliding-window
	// layers: its own position and the SlidingWindow-1 before it
	// (gpt-oss: 128; Mistral 7B: 4096). 0: every layer attends to the
	// whole causal context.
	SlidingWindow int `yaml:"sliding_window,omitempty" json:"sliding_window,omitempty"`
	// FullAttentionEvery: with a sliding window, every Nth layer attends
	// to the whole causal context and the others to the window (gpt-oss:
	// 2, alternating; Gemma 3: 6; Megatron-Core's window_attn_skip_freq).
	// 0: every layer is windowed.
	FullAttentionEvery int `yaml:"full_attention_every,omitempty" json:"full_attention_every,omitempty"`

	// Catalog metadata.
	Source     string `yaml:"source,omitempty" json:"source,omitempty"`
	Confidence string `yaml:"confidence,omitempty" json:"confidence,omitempty"`
	Notes      string `yaml:"notes,omitempty" json:"notes,omitempty"`
}

// MoE describes mixture-of-experts feed-forward layers.
type MoE struct {
	Experts       int `yaml:"experts" json:"experts"`
	TopK          int `yaml:"top_k" json:"top_k"`
	SharedExperts int `yaml:"shared_experts,omitempty" json:"shared_experts,omitempty"`
	ExpertFFN     int `yaml:"expert_ffn" json:"expert_ffn"`
	DenseLayers   int `yaml:"dense_layers,omitempty" json:"dense_layers,omitempty"` // the first N layers are dense
	// MaxGroupsPerToken limits how many expert groups (nodes) one token's
	// experts may span (DeepSeek-V3's node-limited routing: 4). 0: no limit.
	MaxGroupsPerToken int `yaml:"max_groups_per_token,omitempty" json:"max_groups_per_token,omitempty"`
	// Routing is balanced (default: every expert gets exactly its share),
	// random (each token's experts drawn at random, as benchmarks force
	// balance; loads vary by counting noise alone) or dropless (no
	// capacity factor; loads vary with the router's skew).
	Routing string `yaml:"routing,omitempty" json:"routing,omitempty"`
	// LoadBalance is how a dropless router keeps expert loads even:
	// aux_loss (the default: an auxiliary balance loss, as Switch
	// Transformer, Mixtral and Qwen train) or expert_bias (DeepSeek-V3's
	// auxiliary-loss-free per-expert bias on the top-k scores, §2.1.2).
	// Only with Routing dropless: Validate refuses it under balanced
	// routing, where loads are even by construction, and under random
	// routing, which has no router skew to balance.
	LoadBalance string `yaml:"load_balance,omitempty" json:"load_balance,omitempty"`
}

// MLA holds the low-rank shapes of multi-head latent attention.
type MLA struct {
	QLoraRank  int `yaml:"q_lora_rank" json:"q_lora_rank"` // 0: queries are projected directly
	KVLoraRank int `yaml:"kv_lora_rank" json:"kv_lora_rank"`
	QKRopeDim  int `yaml:"qk_rope_dim" json:"qk_rope_dim"`
	QKNopeDim  int `yaml:"qk_nope_dim" json:"qk_nope_dim"`
	VHeadDim   int `yaml:"v_head_dim" json:"v_head_dim"`
}

// Normalize fills defaults: kv_heads = heads, head_dim = hidden/heads,
// ffn_kind swiglu, attention mha, position rope, norm rmsnorm, moe.routing
// balanced.
func (c *Config) Normalize() {
	if c.Position == "" {
		c.Position = PositionRoPE
	}
	if c.Norm == "" {
		c.Norm = NormRMS
	}
	if c.MoE != nil && c.MoE.Routing == "" {
		c.MoE.Routing = RoutingBalanced
	}
	if c.KVHeads == 0 {
		c.KVHeads = c.Heads
	}
	if c.HeadDim == 0 && c.Heads > 0 {
		c.HeadDim = c.Hidden / c.Heads
	}
	if c.FFNKind == "" {
		c.FFNKind = FFNSwiGLU
	}
	if c.Attention == "" {
		if c.MLA != nil {
			c.Attention = AttentionMLA
		} else {
			c.Attention = AttentionMHA
		}
	}
}

// Position encodings.
const (
	PositionRoPE    = "rope"    // rotary, applied to queries and keys (no weights)
	PositionLearned = "learned" // a learned seq_len × hidden table added to the input (GPT-2/3)
	PositionNone    = "none"    // none, or ALiBi's fixed biases (no weights)
)

// Norms.
const (
	NormRMS   = "rmsnorm"
	NormLayer = "layernorm"
)

// MoE routing.
const (
	RoutingBalanced = "balanced" // every expert receives exactly its even share of tokens
	// RoutingRandom: each token's top_k experts are drawn uniformly at
	// random, which is how Megatron-Core forces balance for benchmarks
	// (moe_router_force_load_balancing replaces the router's logits with
	// random ones, moe_utils.py): loads are even on average and vary only
	// as counts of random draws.
	RoutingRandom   = "random"
	RoutingDropless = "dropless" // no capacity limit: expert loads vary from batch to batch

	BalanceAuxLoss    = "aux_loss"    // an auxiliary load-balancing loss (the default)
	BalanceExpertBias = "expert_bias" // auxiliary-loss-free: a per-expert bias steers top-k selection
)

func bad(field string, v any, allowed string) error {
	return &flopcast.FieldError{Field: "model." + field, Value: v, Allowed: allowed}
}

func badWhy(field string, v any, reason, allowed string) error {
	return &flopcast.FieldError{Field: "model." + field, Value: v, Reason: reason, Allowed: allowed}
}

// Validate checks that the architecture is self-consistent. Errors are
// *flopcast.FieldError with fields named as in run.yaml ("model.heads").
func (c *Config) Validate() error {
	for _, fv := range []struct {
		f string
		v int
	}{{"layers", c.Layers}, {"hidden", c.Hidden}, {"heads", c.Heads}, {"ffn", c.FFN}, {"vocab", c.Vocab}} {
		if fv.v <= 0 {
			return bad(fv.f, fv.v, "a positive integer")
		}
	}
	if c.KVHeads < 0 || c.KVHeads > c.Heads || (c.KVHeads > 0 && c.Heads%c.KVHeads != 0) {
		return bad("kv_heads", c.KVHeads, fmt.Sprintf("a divisor of heads=%d", c.Heads))
	}
	if c.HeadDim < 0 {
		return bad("head_dim", c.HeadDim, "a positive integer")
	}
	if c.HeadDim == 0 && c.Hidden%c.Heads != 0 {
		return badWhy("hidden", c.Hidden, fmt.Sprintf("is not divisible by heads=%d, and head_dim is not given", c.Heads),
			fmt.Sprintf("a multiple of %d (e.g. %d), or give head_dim", c.Heads, c.Hidden/c.Heads*c.Heads))
	}
	switch c.FFNKind {
	case "", FFNSwiGLU, FFNGELU:
	default:
		return bad("ffn_kind", quote(c.FFNKind), "swiglu, gelu")
	}
	switch c.Position {
	case "", PositionRoPE, PositionLearned, PositionNone:
	default:
		return bad("position", quote(c.Position), "rope, learned, none")
	}
	switch c.Norm {
	case "", NormRMS, NormLayer:
	default:
		return bad("norm", quote(c.Norm), "rmsnorm, layernorm")
	}
	if c.SlidingWindow < 0 {
		return bad("sliding_window", c.SlidingWindow, "0 (none) or a positive number of tokens")
	}
	if c.FullAttentionEvery < 0 || c.FullAttentionEvery > c.Layers {
		return bad("full_attention_every", c.FullAttentionEvery, fmt.Sprintf("0..%d (layers)", c.Layers))
	}
	if c.FullAttentionEvery > 0 && c.SlidingWindow == 0 {
		return badWhy("full_attention_every", c.FullAttentionEvery, "needs a sliding window (model.sliding_window)",
			"0 without sliding_window")
	}
	if c.MTPDepth < 0 || c.MTPDepth > c.Layers {
		return bad("mtp_depth", c.MTPDepth, fmt.Sprintf("0..%d (layers)", c.Layers))
	}
	switch c.Attention {
	case "", AttentionMHA:
	case AttentionMLA:
		if c.MLA == nil {
			return badWhy("mla", flopcast.Missing, "is required when attention is mla", "an mla block with q_lora_rank, kv_lora_rank, qk_rope_dim, qk_nope_dim, v_head_dim")
		}
	default:
		return bad("attention", quote(c.Attention), "mha, mla")
	}
	if m := c.MLA; m != nil {
		if m.KVLoraRank <= 0 || m.QKNopeDim <= 0 || m.VHeadDim <= 0 || m.QKRopeDim < 0 || m.QLoraRank < 0 {
			return bad("mla", *m, "positive kv_lora_rank, qk_nope_dim, v_head_dim; non-negative q_lora_rank, qk_rope_dim")
		}
	}
	if m := c.MoE; m != nil {
		return c.validateMoE(m)
	}
	return nil
}

// validateMoE checks the moe block of a model of c.Layers layers.
func (c *Config) validateMoE(m *MoE) error {
	if m.Experts <= 0 {
		return bad("moe.experts", m.Experts, "a positive integer")
	}
	if m.TopK <= 0 || m.TopK > m.Experts {
		return bad("moe.top_k", m.TopK, fmt.Sprintf("1..%d (moe.experts)", m.Experts))
	}
	if m.ExpertFFN <= 0 {
		return bad("moe.expert_ffn", m.ExpertFFN, "a positive integer")
	}
	if m.SharedExperts < 0 {
		return bad("moe.shared_experts", m.SharedExperts, "0 or more")
	}
	if m.DenseLayers < 0 || m.DenseLayers > c.Layers {
		return bad("moe.dense_layers", m.DenseLayers, fmt.Sprintf("0..%d (layers)", c.Layers))
	}
	if m.MaxGroupsPerToken < 0 || m.MaxGroupsPerToken > m.TopK {
		return badWhy("moe.max_groups_per_token", m.MaxGroupsPerToken, "is outside 0 (no limit) and moe.top_k",
			fmt.Sprintf("0..%d", m.TopK))
	}
	switch m.Routing {
	case "", RoutingBalanced, RoutingRandom, RoutingDropless:
	default:
		return bad("moe.routing", quote(m.Routing), "balanced, random, dropless")
	}
	switch m.LoadBalance {
	case "":
	case BalanceAuxLoss, BalanceExpertBias:
		// Balancing acts on the loads a trained router lets vary; a
		// balanced or random router has no skew to balance, so a
		// balancing method there would be ignored: refuse it rather
		// than let a run read as dropless when it is not.
		if m.Routing != RoutingDropless {
			r := m.Routing
			if r == "" {
				r = RoutingBalanced
			}
			return &flopcast.FieldError{Field: "model.moe.load_balance", Value: quote(m.LoadBalance),
				Reason:  fmt.Sprintf("applies only to dropless routing, not to moe.routing: %s", r),
				Allowed: "load_balance with routing: dropless; none with routing: balanced or random",
				Hint:    "set moe.routing: dropless, or remove moe.load_balance"}
		}
	default:
		return bad("moe.load_balance", quote(m.LoadBalance), "aux_loss, expert_bias")
	}
	return nil
}

func quote(s string) string { return strconv.Quote(s) }
