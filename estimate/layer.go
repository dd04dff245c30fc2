package estimate

import "github.com/flopcast/flopcast/spec"

// layerCost is the cost of one transformer layer for one micro-batch on one
// device.
type layerCost struct {
	fwd, bwd     float64 // compute time; bwd excludes recompute
	recompute    float64 // compute added to backward by activation recompute
	gemm         float64 // GEMM time of forward plus backward (TP overlap window)
	tpF, tpB     float64 // TP collective time, forward and backward (raw)
	cpExp        float64 // exposed CP (ring attention) time, forward + backward
	epComm       float64 // EP all-to-all time, forward + backward
	act          float64 // activation bytes stored for backward, by recompute mode
	actFull      float64 // bytes a layer holds with no recompute (working set)
	kernF, kernB float64 // kernels launched per forward and backward (host-bound floor)
	localParam   float64 // parameters on this device (dense part)
	localExp     float64 // expert parameters on this device
}

// shape is what every layer of one layout shares.
type shape struct {
	t, cp, ep, mb float64
	T             float64 // tokens per micro-batch on a device (after CP)
	Tln           float64 // tokens per device for norms and residuals (T/t under SP)
	kvPer         float64 // KV heads per TP rank (replicated when tp > kv_heads)
	sp            bool
	zero3         bool
	tpOverlap     bool
	rc            spec.Recompute
}

func (e *Estimator) newShape(l *spec.Layout) shape {
	s := shape{t: float64(l.TP), cp: float64(l.CP), ep: float64(l.EP), mb: float64(l.MicroBatch), rc: l.Recompute}
	s.T = s.mb * e.seq / s.cp
	s.sp = l.SequenceParallel && l.TP > 1
	s.Tln = s.T
	if s.sp {
		s.Tln = s.T / s.t
	}
	s.kvPer = max(e.KV/s.t, 1)
	s.zero3 = l.ZeRO == 3
	if e.tpOverlap != nil {
		s.tpOverlap = *e.tpOverlap && l.TP > 1
	} else {
		s.tpOverlap = !e.eager && s.sp
	}
	return s
}

// gemmFB adds a GEMM's forward and backward (data and weight gradient)
// times. count > 1 is a grouped GEMM (the local experts of an MoE layer):
// one launch whose tiles share the waves.
func (e *Estimator) gemmFB(c *layerCost, count, m, n, k float64) {
	f := e.dev.BatchedGEMM(count, m, n, k)
	b := e.dev.BatchedGEMM(count, m, k, n) + e.dev.BatchedGEMM(count, k, n, m)
	c.fwd += f
	c.bwd += b
	c.gemm += f + b
	c.kernF++
	c.kernB += 2
	if e.fp8 {
		// FP8 GEMMs need their inputs quantised (read bf16, write fp8)
		// plus a transposed fp8 copy for the other pass: 4 bytes per
		// element of the activation in forward and of its gradient in
		// backward (Transformer Engine's cast-transpose kernels).
		c.fwd += e.dev.Mem(count * 4 * m * k)
		c.bwd += e.dev.Mem(count * 4 * m * n)
		c.kernF++
		c.kernB++
	}
}

// layer costs one dense (moe=false) or MoE layer.
func (e *Estimator) layer(s *shape, moe bool) layerCost {
	var c layerCost
	t, T, Tln := s.t, s.T, s.Tln
	h := e.h
	Ht := e.H / t

	// Attention projections.
	if e.mla {
		if e.qr > 0 {
			e.gemmFB(&c, 1, T, e.qr, h)
			e.gemmFB(&c, 1, T, Ht*e.dqk, e.qr)
		} else {
			e.gemmFB(&c, 1, T, Ht*e.dqk, h)
		}
		e.gemmFB(&c, 1, T, e.kvr+e.rope, h)
		e.gemmFB(&c, 1, T, Ht*(e.dqk-e.rope+e.dv), e.kvr)
	} else {
		e.gemmFB(&c, 1, T, (Ht+2*s.kvPer)*e.dqk, h)
	}
	e.gemmFB(&c, 1, T, h, Ht*e.dv)

	// Attention core.
	seq := e.seq
	if e.flash {
		F := s.mb * Ht * seq * seq * (e.dqk + e.dv) / s.cp // causal half of 2·s²·(dqk+dv)
		f, b := e.dev.Attention(F, seq/s.cp)
		c.fwd += f
		c.bwd += b
		if s.cp > 1 {
			// Ring attention: cp-1 exchanges of a K,V chunk, each hidden
			// behind the attention of the chunk in hand.
			kvBytes := T * 2 * (s.kvPer*e.dqk + s.kvPer*e.dv)
			if e.mla {
				kvBytes = T * 2 * Ht * (e.dqk + e.dv)
			}
			step := e.fab.SendRecv(kvBytes, t)
			c.cpExp += (s.cp - 1) * (max(0, step-f/s.cp) + max(0, 2*step-b/s.cp))
		}
		// (Full recompute repeats the whole forward, this included: see
		// below.)
	} else {
		// Unfused attention: full s×s scores as batched GEMMs, then a
		// fused scale-mask-softmax (and dropout) over the scores.
		batch := s.mb * Ht
		f := e.dev.BatchedGEMMBF16(batch, seq, seq, e.dqk) + e.dev.BatchedGEMMBF16(batch, seq, e.dv, seq)
		scores := batch * seq * seq
		fb, bb := 4.0, 6.0
		if e.dropout {
			fb, bb = 9, 11
		}
		soft := e.dev.Mem(scores * fb)
		c.fwd += f + soft
		c.bwd += 2*f + e.dev.Mem(scores*bb)
		if s.rc == spec.RecomputeSelective {
			// Selective recompute repeats the attention core only; full
			// recompute repeats the whole forward below.
			c.recompute += f + soft
		}
	}

	// Feed-forward.
	var ffnAct float64 // activation bytes per token of the MLP's own tensors
	actMul := 6.0      // swiglu: gate, up, product (bf16)
	if !e.swiglu {
		actMul = 4 // gelu input and output
	}
	if e.eager {
		actMul += 2
	}
	if !moe {
		up := e.f / t
		if e.swiglu {
			e.gemmFB(&c, 1, T, 2*up, h)
		} else {
			e.gemmFB(&c, 1, T, up, h)
		}
		e.gemmFB(&c, 1, T, h, up)
		ffnAct = actMul * up
		c.localParam = e.attnLocal(s) + e.denseFFNParams/t
	} else {
		e.gemmFB(&c, 1, T, e.E, h) // router
		ne := e.E / s.ep
		me := T * e.topk * s.ep / e.E
		up := e.ef / t
		if e.swiglu {
			e.gemmFB(&c, ne, me, 2*up, h)
		} else {
			e.gemmFB(&c, ne, me, up, h)
		}
		e.gemmFB(&c, ne, me, h, up)
		ffnAct = e.topk * (actMul*up + 4*h) // expert tensors plus dispatched inputs and outputs
		if e.shared > 0 {
			su := e.shared * e.ef / t
			if e.swiglu {
				e.gemmFB(&c, 1, T, 2*su, h)
			} else {
				e.gemmFB(&c, 1, T, su, h)
			}
			e.gemmFB(&c, 1, T, h, su)
			ffnAct += actMul * su
		}
		ffnAct += 4 * e.E // router probabilities, fp32
		// Token permutation before the experts and un-permutation after,
		// each reading and writing every routed token (bf16).
		perm := 2 * 4 * T * e.topk * h
		c.fwd += e.dev.Mem(perm)
		c.bwd += e.dev.Mem(perm)
		c.kernF += 6 // router softmax/top-k, permute, un-permute
		c.kernB += 6
		c.localParam = e.attnLocal(s) + e.sharedParams/t + e.routerParams
		c.localExp = e.expertParams / (t * s.ep)
		if s.ep > 1 {
			// Dispatch in the GEMM precision (FP8 runs quantise before
			// dispatch), combine in bf16, both ways in backward.
			dispatch := 2.0
			if e.fp8 {
				dispatch = 1
			}
			a2a := T * e.topk * h
			if s.sp {
				a2a /= t
			}
			c.epComm = 2 * (e.fab.AllToAll(dispatch*a2a, s.ep, t) + e.fab.AllToAll(2*a2a, s.ep, t))
		}
	}

	// Memory-bound elementwise work: norms, residuals, rotary, activation.
	qkHeads := Ht + s.kvPer
	if e.mla {
		qkHeads = 2 * Ht
	}
	var fwdBytes, bwdBytes float64
	if e.eager {
		// Eager PyTorch under autocast: fp32 residual stream and norms,
		// casts to bf16 before each GEMM, unfused rotary and SwiGLU, and
		// each weight cast from fp32 on every forward.
		fwdBytes = Tln*48*h + T*12*qkHeads*e.dqk + T*ffnAct/actMul*10
		bwdBytes = 2 * fwdBytes
		if !s.zero3 {
			// fp32 weights: autocast casts each to bf16 in every forward,
			// and backward casts each weight gradient up and accumulates
			// it into the fp32 .grad. Under FSDP the gathered weights are
			// already bf16 and gradients are reduce-scattered instead.
			local := c.localParam + c.localExp*e.topk/max(1, e.E/s.ep)
			fwdBytes += 6 * local
			bwdBytes += 18 * local
		}
	} else {
		fwdBytes = Tln*20*h + T*4*qkHeads*e.dqk + T*ffnAct
		if e.dropout {
			fwdBytes += Tln * 2 * h
		}
		bwdBytes = 2 * fwdBytes
	}
	c.fwd += e.dev.Mem(fwdBytes)
	c.bwd += e.dev.Mem(bwdBytes)
	if e.eager {
		c.kernF += 24 // norms, casts, rotary, activation, residual adds, attention
		c.kernB += 36
	} else {
		c.kernF += 8 // fused norm, rotary, attention, activation, bias-dropout-add
		c.kernB += 12
	}

	// Tensor-parallel collectives: with SP two all-gathers and two
	// reduce-scatters per pass, without it two all-reduces.
	if s.t > 1 {
		msg := T * h * 2
		var one float64
		if s.sp {
			one = 2 * (e.fab.AllGather(msg, t, 1) + e.fab.ReduceScatter(msg, t, 1))
		} else {
			one = 2 * e.fab.AllReduce(msg, t, 1)
		}
		c.tpF, c.tpB = one, one
		if s.sp {
			// Backward re-gathers the two sharded norm outputs that the
			// weight-gradient GEMMs need (Korthikanti et al. 2022 §4.2.2).
			c.tpB += 2 * e.fab.AllGather(msg, t, 1)
		}
		c.kernF += 4
		c.kernB += 6
	}

	// Activations stored for backward, per micro-batch (Korthikanti et al.
	// 2022 §4, generalised to GQA/MLA, SwiGLU and MoE).
	lnSide := 8 * h // LN1 input, QKV input, LN2 input, FC1 input
	if e.dropout {
		lnSide += 2 * h // two dropout masks
	}
	perTok := T*(2*(Ht+2*s.kvPer)*e.dqk+2*Ht*e.dv+ffnAct+4*Ht) + Tln*lnSide
	if e.mla {
		perTok += T * 2 * (e.qr + e.kvr + e.rope)
	}
	if e.eager {
		// fp32 residual and norm inputs, bf16 casts, pre-rotary q and k,
		// and the bf16 weight copies autocast saves for backward.
		perTok += Tln*6*h + T*4*qkHeads*e.dqk
		if !s.zero3 {
			// Without FSDP's bf16 parameter gathers, autocast's bf16 copies
			// of the fp32 weights are saved for the backward pass.
			perTok += 2 * (c.localParam + c.localExp*e.topk/max(1, e.E/s.ep))
		}
	}
	if !e.flash {
		sb := 2.0
		if e.dropout {
			sb = 5
		}
		perTok += s.mb * Ht * seq * seq * sb
	}
	c.actFull = perTok
	switch s.rc {
	case spec.RecomputeNone:
		c.act = perTok
	case spec.RecomputeSelective:
		c.act = perTok
		if !e.flash {
			sb := 2.0
			if e.dropout {
				sb = 5
			}
			c.act -= s.mb * Ht * seq * seq * sb
		}
	case spec.RecomputeFull:
		in := 2.0
		if e.eager && !s.zero3 {
			in = 4 // fp32 residual stream of fp32 weights under autocast
		}
		c.act = Tln * in * h
		c.recompute += c.fwd
	}
	if s.rc == spec.RecomputeFull {
		c.tpB += c.tpF // the recomputed forward repeats its collectives
		c.epComm *= 1.5
	}
	return c
}

// attnLocal is the attention weights one TP rank holds: heads split by tp,
// while MLA's down-projections and KV heads beyond kv_heads are replicated.
func (e *Estimator) attnLocal(s *shape) float64 {
	Ht := e.H / s.t
	if e.mla {
		q := e.h * Ht * e.dqk
		if e.qr > 0 {
			q = e.h*e.qr + e.qr*Ht*e.dqk
		}
		return q + e.h*(e.kvr+e.rope) + e.kvr*Ht*(e.dqk-e.rope+e.dv) + Ht*e.dv*e.h
	}
	return e.h*(Ht+2*s.kvPer)*e.dqk + Ht*e.dv*e.h
}

// exposedEP is the expert all-to-all left on the critical path. Overlapped
// (two micro-batches in flight, one communicating while the other
// computes), only what outlasts the layer's compute stays exposed, and the
// hidden part takes its share of the SMs.
func (e *Estimator) exposedEP(c *layerCost) float64 {
	if !e.epOverlap {
		return c.epComm
	}
	comp := c.fwd + c.bwd + c.recompute
	exp := max(0, c.epComm-comp)
	return exp + commContention*(c.epComm-exp)
}

// exposedTP is the TP communication left on the critical path.
func exposedTP(s *shape, c *layerCost) float64 {
	comm := c.tpF + c.tpB
	if comm == 0 {
		return 0
	}
	if s.tpOverlap {
		// Collectives split into tp chunks and pipelined with the GEMMs:
		// one chunk stays exposed, and whatever outlasts the GEMMs. The
		// hidden part still takes SMs from the GEMMs (commContention).
		exp := max(comm/s.t, comm-c.gemm)
		return exp + commContention*(comm-exp)
	}
	return comm
}
