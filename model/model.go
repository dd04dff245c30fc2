// Package model describes transformer architectures: their shapes, parameter
// counts and FLOPs. It knows nothing about hardware or parallelism.
package model

import "fmt"

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
// ffn_kind swiglu, attention mha.
func (c *Config) Normalize() {
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

// FieldError reports one invalid field of a model.
type FieldError struct {
	Field   string
	Value   any
	Allowed string
}

func (e *FieldError) Error() string {
	return fmt.Sprintf("%s: %v is not valid (allowed: %s)", e.Field, e.Value, e.Allowed)
}

// Validate checks that the architecture is self-consistent. Field names are
// relative to the model block (e.g. "heads").
func (c *Config) Validate() error {
	pos := func(f string, v int) error {
		if v <= 0 {
			return &FieldError{f, v, "a positive integer"}
		}
		return nil
	}
	for _, fv := range []struct {
		f string
		v int
	}{{"layers", c.Layers}, {"hidden", c.Hidden}, {"heads", c.Heads}, {"ffn", c.FFN}, {"vocab", c.Vocab}} {
		if err := pos(fv.f, fv.v); err != nil {
			return err
		}
	}
	if c.KVHeads < 0 || c.KVHeads > c.Heads || (c.KVHeads > 0 && c.Heads%c.KVHeads != 0) {
		return &FieldError{"kv_heads", c.KVHeads, fmt.Sprintf("a divisor of heads=%d", c.Heads)}
	}
	if c.HeadDim < 0 {
		return &FieldError{"head_dim", c.HeadDim, "a positive integer"}
	}
	switch c.FFNKind {
	case "", FFNSwiGLU, FFNGELU:
	default:
		return &FieldError{"ffn_kind", c.FFNKind, "swiglu, gelu"}
	}
	switch c.Attention {
	case "", AttentionMHA:
	case AttentionMLA:
		if c.MLA == nil {
			return &FieldError{"mla", "missing", "an mla block when attention is mla"}
		}
	default:
		return &FieldError{"attention", c.Attention, "mha, mla"}
	}
	if m := c.MLA; m != nil {
		if m.KVLoraRank <= 0 || m.QKNopeDim <= 0 || m.VHeadDim <= 0 || m.QKRopeDim < 0 || m.QLoraRank < 0 {
			return &FieldError{"mla", *m, "positive kv_lora_rank, qk_nope_dim, v_head_dim; non-negative q_lora_rank, qk_rope_dim"}
		}
	}
	if m := c.MoE; m != nil {
		if m.Experts <= 0 {
			return &FieldError{"moe.experts", m.Experts, "a positive integer"}
		}
		if m.TopK <= 0 || m.TopK > m.Experts {
			return &FieldError{"moe.top_k", m.TopK, fmt.Sprintf("1..%d (moe.experts)", m.Experts)}
		}
		if m.ExpertFFN <= 0 {
			return &FieldError{"moe.expert_ffn", m.ExpertFFN, "a positive integer"}
		}
		if m.SharedExperts < 0 {
			return &FieldError{"moe.shared_experts", m.SharedExperts, "0 or more"}
		}
		if m.DenseLayers < 0 || m.DenseLayers > c.Layers {
			return &FieldError{"moe.dense_layers", m.DenseLayers, fmt.Sprintf("0..%d (layers)", c.Layers)}
		}
	}
	return nil
}
