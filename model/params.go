package model

// Parameter counts. They assume Normalize has run, but fall back to the same
// defaults when it has not. Biases, position embeddings and QK-norm weights
// are left out: they are well under 0.1% of any catalog model. All methods
// are allocation-free so the estimator can call them on its hot path.

func (c *Config) kvHeads() float64 {
	if c.KVHeads > 0 {
		return float64(c.KVHeads)
	}
	return float64(c.Heads)
}

func (c *Config) headDim() float64 {
	if c.HeadDim > 0 {
		return float64(c.HeadDim)
	}
	if c.Heads > 0 {
		return float64(c.Hidden / c.Heads)
	}
	return 0
}

func (c *Config) isMLA() bool {
	return c.MLA != nil && (c.Attention == AttentionMLA || c.Attention == "")
}

// ffnParams is the weight count of one feed-forward block of width ffn:
// SwiGLU has gate, up and down projections, GELU only up and down.
func (c *Config) ffnParams(ffn int) float64 {
	h, f := float64(c.Hidden), float64(ffn)
	if c.FFNKind == FFNGELU {
		return 2 * h * f
	}
	return 3 * h * f
}

// AttnParams is the per-layer weight count of the attention block: the
// Q, K, V and output projections (for MLA, the low-rank down and up
// projections and the norms on the two latents), plus the layer's two
// hidden-sized norms (before attention and before the FFN), so that one
// layer holds AttnParams plus DenseFFNParams or MoEParams.
func (c *Config) AttnParams() float64 {
	h := float64(c.Hidden)
	heads := float64(c.Heads)
	norms := 2 * h
	if c.isMLA() {
		m := c.MLA
		qLora, kvLora := float64(m.QLoraRank), float64(m.KVLoraRank)
		rope, nope, v := float64(m.QKRopeDim), float64(m.QKNopeDim), float64(m.VHeadDim)
		var q float64
		if m.QLoraRank > 0 {
			q = h*qLora + qLora*heads*(nope+rope)
			norms += qLora
		} else {
			q = h * heads * (nope + rope)
		}
		kv := h*(kvLora+rope) + kvLora*heads*(nope+v)
		norms += kvLora
		out := heads * v * h
		return q + kv + out + norms
	}
	d := c.headDim()
	qkv := h * (heads + 2*c.kvHeads()) * d
	out := heads * d * h
	return qkv + out + norms
}

// DenseFFNParams is the weight count of one dense feed-forward block.
func (c *Config) DenseFFNParams() float64 { return c.ffnParams(c.FFN) }

// ExpertParams is the weight count of one routed or shared expert.
func (c *Config) ExpertParams() float64 {
	if c.MoE == nil {
		return 0
	}
	return c.ffnParams(c.MoE.ExpertFFN)
}

// RouterParams is the weight count of one MoE layer's router (a
// hidden x experts projection).
func (c *Config) RouterParams() float64 {
	if c.MoE == nil {
		return 0
	}
	return float64(c.Hidden) * float64(c.MoE.Experts)
}

// MoEParams is the weight count of one MoE layer's feed-forward block: all
// routed experts, the shared experts and the router. 0 for a dense model.
func (c *Config) MoEParams() float64 {
	if c.MoE == nil {
		return 0
	}
	n := float64(c.MoE.Experts + c.MoE.SharedExperts)
	return n*c.ExpertParams() + c.RouterParams()
}

// ActiveMoEParams is the weight count one token passes through in an MoE
// layer's feed-forward block: top_k routed experts, the shared experts and
// the router. 0 for a dense model.
func (c *Config) ActiveMoEParams() float64 {
	if c.MoE == nil {
		return 0
	}
	n := float64(c.MoE.TopK + c.MoE.SharedExperts)
	return n*c.ExpertParams() + c.RouterParams()
}

// MoELayers is the number of layers with an MoE feed-forward block.
func (c *Config) MoELayers() int {
	if c.MoE == nil {
		return 0
	}
	return c.Layers - c.MoE.DenseLayers
}

// DenseLayers is the number of layers with a dense feed-forward block.
func (c *Config) DenseLayers() int { return c.Layers - c.MoELayers() }

// EmbeddingParams counts the input embedding and, unless tied, the separate
// output projection (logits).
func (c *Config) EmbeddingParams() float64 {
	e := float64(c.Vocab) * float64(c.Hidden)
	if c.TiedEmbeddings {
		return e
	}
	return 2 * e
}

// NonEmbeddingParams counts every weight outside the embeddings: all layers
// and the final norm.
func (c *Config) NonEmbeddingParams() float64 {
	return float64(c.Layers)*c.AttnParams() +
		float64(c.DenseLayers())*c.DenseFFNParams() +
		float64(c.MoELayers())*c.MoEParams() +
		float64(c.Hidden)
}

// ActiveNonEmbeddingParams is NonEmbeddingParams with each MoE layer
// counting only the experts one token is routed to.
func (c *Config) ActiveNonEmbeddingParams() float64 {
	return float64(c.Layers)*c.AttnParams() +
		float64(c.DenseLayers())*c.DenseFFNParams() +
		float64(c.MoELayers())*c.ActiveMoEParams() +
		float64(c.Hidden)
}

// Params is the total weight count, embeddings included.
func (c *Config) Params() float64 { return c.NonEmbeddingParams() + c.EmbeddingParams() }

// ActiveParams is the weight count one token passes through, embeddings
// included.
func (c *Config) ActiveParams() float64 {
	return c.ActiveNonEmbeddingParams() + c.EmbeddingParams()
}

// TrainFLOPsPerToken is the model FLOPs of one trained token as docs/output.md
// defines them: 6 × active non-embedding parameters, the logits layer
// (6·d·V), and attention over the keys each query attends to
// (12·L·k̄·d_attn with k̄ = AttendedKeys: s/2 under the causal mask, about
// the window on sliding-window layers; MLA's query-key and value widths
// kept apart). Recompute is not counted.
func (c *Config) TrainFLOPsPerToken(seqLen int) float64 {
	m := *c
	m.Normalize()
	qk, v := float64(m.HeadDim), float64(m.HeadDim)
	if m.Attention == AttentionMLA && m.MLA != nil {
		qk = float64(m.MLA.QKNopeDim + m.MLA.QKRopeDim)
		v = float64(m.MLA.VHeadDim)
	}
	attn := 6 * float64(m.Layers) * m.AttendedKeys(seqLen) * float64(m.Heads) * (qk + v)
	return 6*m.ActiveNonEmbeddingParams() + 6*float64(m.Hidden)*float64(m.Vocab) + attn
}

// WindowedLayers is the layers that attend to a sliding window: none
// without one, every layer but each FullAttentionEvery-th with one.
func (c *Config) WindowedLayers() int {
	if c.SlidingWindow <= 0 {
		return 0
	}
	if c.FullAttentionEvery <= 0 {
		return c.Layers
	}
	return c.Layers - c.Layers/c.FullAttentionEvery
}

// WindowKeys is the mean keys a query attends to on a sliding-window layer
// over a causal sequence of seqLen tokens: query i sees min(i+1, w) keys,
// so the mean is w − w(w−1)/(2s); s/2, the full causal mean as
// TrainFLOPsPerToken counts it, once the window spans the sequence.
func (c *Config) WindowKeys(seqLen int) float64 {
	s, w := float64(seqLen), float64(c.SlidingWindow)
	if w <= 0 || w >= s {
		return s / 2
	}
	return w - w*(w-1)/(2*s)
}

// AttendedKeys is the mean keys a query attends to, over the layers: s/2
// on full causal layers, WindowKeys on sliding-window ones.
func (c *Config) AttendedKeys(seqLen int) float64 {
	s := float64(seqLen)
	if c.Layers <= 0 {
		return s / 2
	}
	win := float64(c.WindowedLayers())
	L := float64(c.Layers)
	return ((L-win)*s/2 + win*c.WindowKeys(seqLen)) / L
}
