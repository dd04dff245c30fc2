package economics

import "github.com/flopcast/flopcast/model"

// trainFLOPsPerToken is the model FLOPs of one trained token by DESIGN.md
// §3, as the estimator counts them: 6 × active non-embedding parameters,
// the logits layer (6·d·V) and causal attention (12·L·s·d_attn × ½, with
// the QK and AV widths of MLA kept apart).
func trainFLOPsPerToken(m model.Config, seqLen int) float64 {
	m.Normalize()
	qk, v := float64(m.HeadDim), float64(m.HeadDim)
	if m.Attention == model.AttentionMLA && m.MLA != nil {
		qk = float64(m.MLA.QKNopeDim + m.MLA.QKRopeDim)
		v = float64(m.MLA.VHeadDim)
	}
	attn := 3 * float64(m.Layers) * float64(seqLen) * float64(m.Heads) * (qk + v)
	return 6*m.ActiveNonEmbeddingParams() + 6*float64(m.Hidden)*float64(m.Vocab) + attn
}
