package estimate

// The pipeline's ends: the embedding on the first stage, the final norm,
// logits and loss on the last.

const (
	// embeddingBytes per hidden element per token: the lookup reads a
	// bf16 row and writes it (forward; backward scatters the gradient).
	embeddingBytes = 2 * bf16Bytes
	// finalNormBytes per hidden element per token: the final norm's
	// forward (read, write) and backward (read input and gradient, write
	// gradient), bf16: 4 + 8 B.
	finalNormBytes = 12.0
	// Cross-entropy over the logits, bytes per logit. Megatron's
	// vocab-parallel loss casts to fp32 and makes several passes (max,
	// subtract, exp, sum, normalise) and saves the fp32 softmax; backward
	// subtracts the one-hot and casts back (cross_entropy.py). PyTorch's
	// fused log-softmax under autocast: cast, one read-write pass;
	// backward one pass and the cast back.
	lossFwdBytes, lossBwdBytes           = 30.0, 14.0
	eagerLossFwdBytes, eagerLossBwdBytes = 14.0, 18.0
	// Bytes per logit held at the loss: megatron keeps the bf16 logits
	// and the fp32 softmax, and backward's fp32 gradient (2 + 4 + 4).
	// Eager PyTorch: cross_entropy runs in fp32 under autocast
	// (autocast_mode.cpp) and log_softmax saves its fp32 result
	// (derivatives.yaml); its backward holds those log-probs, their
	// fp32 gradient and the gradient of the fp32 logits (4 + 4 + 4), more
	// than the forward's bf16 logits, fp32 copy and log-probs (2 + 4 + 4).
	logitsHeldBytes, eagerLogitsHeldBytes = 10.0, 12.0
	// A fused softmax cross-entropy (training.fused_loss; llm.c's
	// fused_classifier, Transformer Engine's parallel_cross_entropy
	// kernel that Megatron-LM's --cross-entropy-fusion-impl te calls):
	// one kernel per row reads the bf16 logits for their maximum and
	// sum, reads them again and writes the bf16 gradient in place over
	// them (2 + 2 + 2 B), and holds nothing beyond the logits (2 B).
	fusedLossFwdBytes, fusedLossBwdBytes = 2.0, 4.0
	fusedLogitsHeldBytes                 = bf16Bytes
)

// ends costs the embedding (first stage) and the logits and loss (last
// stage) of one micro-batch.
func (e *Estimator) ends(s *shape, c *shapeCosts) {
	tp, hidden := s.tp, e.hidden
	c.embTime = e.dev.Mem(s.normTokens * hidden * embeddingBytes)
	if e.eager && e.learnedPos {
		// The learned positions' add, forward (two reads, a write) and
		// backward (the gradient read twice, the table's row written).
		c.embTime += e.dev.Mem(2 * 3 * s.normTokens * hidden * residualBytes(s))
	}
	c.embComm = 0
	if tp > 1 {
		// The embedding's output is reduced over the vocabulary shards,
		// and so is the gradient of the logits' input.
		// A reduce-scatter under SP, else an all-reduce (shape.tpColl).
		c.embComm = 2 * s.tpColl.At(s.tokens*hidden*bf16Bytes)
	}
	vocab := e.vocab / tp
	logitsF := e.dev.GEMMBF16(s.tokens, vocab, hidden)
	logitsB := e.dev.GEMMBF16(s.tokens, hidden, vocab) + e.dev.GEMMBF16(hidden, vocab, s.tokens)
	lossF, lossB := lossFwdBytes, lossBwdBytes
	switch {
	case e.fusedLoss:
		lossF, lossB = fusedLossFwdBytes, fusedLossBwdBytes
	case e.eager:
		lossF, lossB = eagerLossFwdBytes, eagerLossBwdBytes
	}
	c.logits = s.tokens * e.vocab / tp
	c.headTime = logitsF + logitsB + e.dev.Mem(c.logits*(lossF+lossB)) + e.dev.Mem(s.normTokens*hidden*finalNormBytes)
}

// logitsHeld is the bytes the last stage holds at the loss for one
// micro-batch.
func (e *Estimator) logitsHeld(c *shapeCosts) float64 {
	if e.fusedLoss {
		return c.logits * fusedLogitsHeldBytes
	}
	if e.eager {
		return c.logits * eagerLogitsHeldBytes
	}
	return c.logits * logitsHeldBytes
}

// headInputsHeld is the bytes the last stage keeps for one micro-batch
// between the last layer and the logits: the final norm's input (the
// residual stream) and its output, the output layer's input. Megatron-LM's
// GPTModel runs final_layernorm (a Transformer Engine norm, which saves
// its input) and then output_layer, a tensor_parallel.ColumnParallelLinear
// whose LinearWithGradAccumulationAndAsyncCommunication saves its input
// for the weight gradient (the shard before the all-gather under sequence
// parallelism; megatron/core/tensor_parallel/layers.py); both live until
// backward reaches them, across the loss. The output layer runs in bf16
// under every recipe (Megatron's own linear, outside Transformer Engine's
// FP8 autocast; torchtitan leaves "output" out of its float8 conversion).
// Eager PyTorch keeps the norm's input at its saved size and its
// statistics, as for a layer's norms (eagerSaved).
func (e *Estimator) headInputsHeld(s *shape) float64 {
	in, stats := float64(bf16Bytes), 0.0
	if e.eager {
		in, stats = e.eagerNormSaved(s)
	}
	return s.normTokens * ((in+bf16Bytes)*e.hidden + stats)
}

// headWeightCopy is the bytes of autocast's bf16 copy of the fp32 output
// weight that the logits GEMM saves for backward on the last stage: one
// copy, tied or not (the embedding lookup is not on autocast's lists and
// casts nothing). FSDP's gathered weights are already bf16.
func (e *Estimator) headWeightCopy(s *shape) float64 {
	if !e.eager || s.zero3 {
		return 0
	}
	return eagerWeightCopyBytes * e.embParams / s.tp
}
