package infer

import (
	"fmt"
	"math"

	"github.com/flopcast/flopcast/hardware"
	"github.com/flopcast/flopcast/model"
)

// Constants of the serving model that are not per chip. Each says where it
// comes from.
const (
	// memUtil is the share of a device's memory the serving engine lets
	// weights, activations and the KV cache use (vLLM's
	// gpu_memory_utilization default 0.9, vllm/config/cache.py; SGLang's
	// mem_fraction_static is 0.8-0.9 by GPU size).
	memUtil = 0.90
	// chunkTokens is the prefill chunk: the most prompt tokens one forward
	// pass of an attention replica takes (SGLang chunked_prefill_size
	// 8192 on large GPUs; vLLM max_num_batched_tokens 2048-16384 by
	// version and usage context). It also batches short prompts.
	chunkTokens = 8192
	// launchUs is the cost of one small non-GEMM kernel (norm, rotary,
	// activation, top-k, sampling) replayed inside a CUDA graph: a few µs
	// each, the order NVIDIA's "Getting Started with CUDA Graphs" (2019)
	// measures for back-to-back short kernels. Assumption.
	launchUs = 2.5
	// smallKernelsPerLayer counts those kernels in one layer's forward:
	// two norms, rotary, residual adds, activation, router softmax/top-k
	// (vLLM/SGLang model code). Assumption of the order of the code.
	smallKernelsPerLayer = 6
	// stepKernels: per decode step, outside the layers: embedding, final
	// norm, sampling, and the scheduler's input preparation kernels.
	stepKernels = 8
	// actBytes: activations and collectives run in bf16.
	actBytes = 2
	// dispatchBytes: an FP8 token dispatch carries one byte per element
	// plus one fp32 scale per 128 (DeepEP low-latency dispatch,
	// deepseek-ai/DeepEP README); combine stays bf16 (actBytes).
	dispatchBytes = 1 + 4.0/128
	// maxSplitK, minSplitKDepth bound the split-K factors tried: up to 16
	// splits, each at least 256 deep (the range of CUTLASS's split-K
	// examples and cuBLAS's heuristics). Assumption.
	maxSplitK      = 16
	minSplitKDepth = 256
)

// devicePrecision maps serving formats to the kernel model's.
var devicePrecision = map[string]string{"bf16": "bf16", "fp8": "fp8", "fp4": "nvfp4"}

// Layout is one serving layout of an instance, with its concurrency.
type Layout struct {
	TP          int `json:"tp"`
	EP          int `json:"ep"`
	PP          int `json:"pp"`
	DP          int `json:"dp"`
	AttentionDP int `json:"attention_dp"`
}

func (l Layout) chips() int { return l.TP * l.PP }

func (l Layout) String() string {
	return fmt.Sprintf("tp%d ep%d pp%d dp%d adp%d", l.TP, l.EP, l.PP, l.DP, l.AttentionDP)
}

// Model holds a resolved serving run's shapes and the chip's cost model,
// computed once; its methods price any layout without allocating.
type Model struct {
	r   *Resolved
	dev hardware.Device
	fab hardware.Fabric

	domain   float64
	capacity float64 // bytes per device the engine may fill

	// Model shapes.
	L, h, H, KV, dh, V, f       float64
	moe                         bool
	E, k, shared, ef            float64
	moeFrac                     float64 // share of layers that are MoE
	mla                         bool
	qr, kvr, rope, nope, dv, dq float64
	attnParams, ffnParams       float64
	expertParams, routerParams  float64

	wb      float64 // bytes per weight element
	kvToken float64 // KV bytes per token per layer, whole model (no TP split)
	// kvSpeedup is the decode attention's compute speed-up from a
	// low-precision KV cache: FlashAttention-3 quantises the queries to
	// FP8 too and runs the FP8 tensor cores (an FP4 cache is dequantised
	// to FP8); 1 for a bf16 cache.
	kvSpeedup float64
	in, out   float64
	inNew     float64 // uncached input tokens per request
	ctxMean   float64 // mean KV length of a decoding request
	price     float64 // USD per chip-hour; 0: unknown
	power     power
	priceSrc  string
}

// NewModel prepares the serving model of a resolved run.
func NewModel(r *Resolved) (*Model, error) {
	hw := r.HW
	m := &hw.Model
	s := &r.Serving
	dev, err := hardware.NewDevice(&hw.Chip, hw.Profile, devicePrecision[s.Precision])
	if err != nil {
		return nil, err
	}
	x := &Model{r: r, dev: dev, fab: hardware.NewFabric(hw.Chip.Fabric).WithoutNCCL()}
	x.domain = float64(hw.Chip.ScaleUpDomain())
	x.capacity = memUtil * hw.Chip.HBMBytes()
	x.L, x.h, x.H, x.KV, x.dh = float64(m.Layers), float64(m.Hidden), float64(m.Heads), float64(m.KVHeads), float64(m.HeadDim)
	x.V, x.f = float64(m.Vocab), float64(m.FFN)
	x.dq, x.dv = x.dh, x.dh
	if mla := m.MLA; mla != nil && m.Attention == "mla" {
		x.mla = true
		x.qr, x.kvr, x.rope, x.nope, x.dv = float64(mla.QLoraRank), float64(mla.KVLoraRank), float64(mla.QKRopeDim), float64(mla.QKNopeDim), float64(mla.VHeadDim)
		x.dq = x.nope + x.rope
	}
	x.attnParams = m.AttnParams()
	x.ffnParams = m.DenseFFNParams()
	if m.MoE != nil {
		x.moe = true
		x.E, x.k, x.shared, x.ef = float64(m.MoE.Experts), float64(m.MoE.TopK), float64(m.MoE.SharedExperts), float64(m.MoE.ExpertFFN)
		x.moeFrac = float64(m.MoELayers()) / x.L
		x.expertParams = m.ExpertParams()
		x.routerParams = m.RouterParams()
	}
	x.wb = formatBytes[s.Precision]
	x.kvToken = KVBytesPerTokenLayer(m, s.KVPrecision)
	x.kvSpeedup = 1
	if c := &hw.Chip; s.KVPrecision != "bf16" && c.FP8TFLOPS > 0 {
		x.kvSpeedup = c.FP8TFLOPS / c.BF16TFLOPS
	}
	x.in, x.out = float64(s.InputTokens), float64(s.OutputTokens)
	x.inNew = math.Max(1, math.Round(x.in*(1-s.CacheHitRate)))
	// A decoding request holds its prompt and, on average over its
	// decode, half its output.
	x.ctxMean = x.in + x.out/2
	x.price, x.power = costsOf(hw, r.Economics)
	return x, nil
}

// KVBytesPerTokenLayer is the KV-cache bytes one token takes in one layer,
// whole model (before any tensor-parallel split), in the given format:
// 2·kv_heads·head_dim·bytes for MHA and GQA; for MLA the compressed latent
// and the rotary key, (kv_lora_rank + qk_rope_dim)·bytes, one copy for all
// heads. FP8 MLA is vLLM's fp8_ds_mla layout: the latent in FP8 with one
// fp32 scale per 128, the rotary part in bf16 (656 B for DeepSeek-V3). FP4
// is NVFP4 (a byte scale per 16 values).
func KVBytesPerTokenLayer(m *model.Config, format string) float64 {
	b := formatBytes[format]
	if m.Attention == "mla" && m.MLA != nil {
		kvr, rope := float64(m.MLA.KVLoraRank), float64(m.MLA.QKRopeDim)
		switch format {
		case "fp8":
			return kvr + kvr/128*4 + rope*actBytes
		case "fp4":
			return kvr*b + rope*actBytes
		}
		return (kvr + rope) * b
	}
	return 2 * float64(m.KVHeads) * float64(m.HeadDim) * b
}

// shape is what one instance layout fixes.
type shape struct {
	l                Layout
	tp, ep, adp, pp  float64
	atp, etp         float64 // attention TP, expert TP
	localExperts     float64 // routed experts per EP rank
	stageLayers      float64 // layers of the slowest stage
	moeL, denseL     float64 // of those, MoE and dense
	kvChipToken      float64 // KV bytes per token per layer on one device
	weights          float64 // weight bytes per device
	twoBatch         bool    // dispatch/combine overlapped with the other micro-batch
	replicaMaxBatch  float64 // requests per attention replica that fit
	workspace        float64
	memFits          bool
	kvCapacityTokens float64 // KV tokens per attention replica
	// Aggregated serving's prefill, which does not depend on the batch:
	// a full chunk's stage time, and the stage time of one prompt's
	// chunk (its TTFT).
	chunkStage, promptChunk float64
}

func (x *Model) shape(l Layout) shape {
	s := shape{l: l, tp: float64(l.TP), ep: float64(l.EP), adp: float64(l.AttentionDP), pp: float64(l.PP)}
	s.atp = s.tp / s.adp
	s.etp = s.tp / s.ep
	s.stageLayers = math.Ceil(x.L / s.pp)
	s.moeL = s.stageLayers * x.moeFrac
	s.denseL = s.stageLayers - s.moeL
	if x.mla {
		s.kvChipToken = x.kvToken // the latent is one head: each attention-TP rank holds it whole
	} else {
		s.kvChipToken = x.kvToken * math.Max(x.KV/s.atp, 1) / x.KV
	}
	// Weights per device: attention and the dense FFN sharded over
	// attention TP (under DP attention the dense layers run data-parallel
	// with it, SGLang's moe_dense_tp_size 1), routed experts over ep (each sliced etp ways), shared
	// experts over etp, embedding and logits over attention TP (kept in
	// bf16, as serving engines keep them).
	w := s.stageLayers * x.attnParams / s.atp * x.wb
	w += s.denseL * x.ffnParams / s.atp * x.wb
	if x.moe {
		s.localExperts = math.Ceil(x.E / s.ep)
		w += s.moeL * (s.localExperts*x.expertParams/s.etp + x.shared*x.expertParams/s.etp) * x.wb
		w += s.moeL * x.routerParams * actBytes
	}
	ends := 1.0
	if l.PP == 1 {
		ends = 2
	}
	w += ends * x.V * x.h / s.atp * actBytes
	s.weights = w
	// Workspace: one prefill chunk's widest activations per attention
	// replica (hidden states, QKV, the FFN's up projection), plus the
	// decode logits in fp32.
	wide := math.Max(x.f/s.atp, 2*x.ef*math.Max(1, x.k)/s.etp)
	s.workspace = chunkTokens * (6*x.h + 3*wide) * actBytes
	s.twoBatch = x.moe && l.EP > 1
	free := x.capacity - s.weights - s.workspace
	s.memFits = free > 0
	perReq := x.ctxMean * s.kvChipToken * s.stageLayers
	if free > 0 && perReq > 0 {
		s.replicaMaxBatch = math.Floor(free / perReq)
		s.kvCapacityTokens = free / (s.kvChipToken * s.stageLayers)
	}
	s.chunkStage, _ = x.prefillPoint(&s, chunkTokens)
	seg := math.Min(x.inNew, chunkTokens)
	s.promptChunk = x.prefillChunk(&s, seg, seg, x.in-x.inNew).total()
	return s
}

// parts is where a forward pass's time goes on the slowest device.
type parts struct {
	weights, kv, compute, tp, a2a, pp, launch float64
}

func (p parts) total() float64 {
	return p.weights + p.kv + p.compute + p.tp + p.a2a + p.pp + p.launch
}

func (p *parts) add(q parts, times float64) {
	p.weights += q.weights * times
	p.kv += q.kv * times
	p.compute += q.compute * times
	p.tp += q.tp * times
	p.a2a += q.a2a * times
	p.pp += q.pp * times
	p.launch += q.launch * times
}

// gemm prices an (m×k)·(k×n) product whose k×n weight sits in HBM at the
// serving precision: compute-bound or bound by the bytes it streams,
// whichever is slower, plus the launch. batch > 1 is a grouped GEMM.
func (x *Model) gemm(p *parts, batch, m, n, k float64) {
	if m <= 0 || batch <= 0 {
		return
	}
	// Split-K: a GEMM with fewer output tiles than compute units splits
	// its k dimension so every unit has work, and reduces the fp32
	// partial sums after (cuBLAS and CUTLASS split-K/stream-K kernels).
	c := x.dev.GEMMCompute(batch, m, n, k)
	for sk := 2.0; sk <= maxSplitK && k/sk >= minSplitKDepth; sk *= 2 {
		c = math.Min(c, x.dev.GEMMCompute(batch*sk, m, n, k/sk)+x.dev.Mem(batch*sk*m*n*4))
	}
	w := x.dev.Mem(batch * (k*n*x.wb + (m*k+m*n)*actBytes))
	if c >= w {
		p.compute += c
	} else {
		p.weights += w
	}
	p.launch += x.dev.Overhead()
}

// pass prices one forward pass of the slowest pipeline stage. tok is the
// tokens each attention replica runs (one per request in decode, a chunk
// in prefill); keys is the mean number of keys a token attends to; kvRead
// is the KV bytes per layer one device reads for attention; prefill picks
// the prefill kernels (MLA without weight absorption, flash attention's
// efficiency at seq tokens).
func (x *Model) pass(s *shape, tok, keys, kvRead, seq float64, prefill bool) parts {
	var a, dense, moe parts
	hl := x.H / s.atp // query heads per attention-TP rank
	// Attention projections.
	if x.mla {
		if x.qr > 0 {
			x.gemm(&a, 1, tok, x.qr, x.h)
			x.gemm(&a, 1, tok, hl*x.dq, x.qr)
		} else {
			x.gemm(&a, 1, tok, hl*x.dq, x.h)
		}
		x.gemm(&a, 1, tok, x.kvr+x.rope, x.h)
		if prefill {
			x.gemm(&a, 1, tok, hl*(x.nope+x.dv), x.kvr) // keys and values up-projected
		} else {
			x.gemm(&a, hl, tok, x.kvr, x.nope) // absorb W_UK into the query
			x.gemm(&a, hl, tok, x.dv, x.kvr)   // and W_UV into the output
		}
		x.gemm(&a, 1, tok, x.h, hl*x.dv)
	} else {
		kvl := math.Max(x.KV/s.atp, 1)
		x.gemm(&a, 1, tok, (hl+2*kvl)*x.dh, x.h)
		x.gemm(&a, 1, tok, x.h, hl*x.dh)
	}
	// Attention core: FLOPs of scores and values against the keys.
	qk, v := x.dq, x.dv
	if x.mla && !prefill {
		qk, v = x.kvr+x.rope, x.kvr // in the latent space
	}
	flops := 2 * tok * keys * hl * (qk + v)
	c, _ := x.dev.Attention(flops, seq)
	if !prefill {
		c /= x.kvSpeedup
	}
	mem := x.dev.Mem(kvRead)
	if c >= mem {
		a.compute += c
	} else {
		a.kv += mem
	}
	a.launch += x.dev.Overhead()
	a.launch += smallKernelsPerLayer * launchUs * 1e-6
	if s.atp > 1 {
		a.tp += x.fab.AllReduce(tok*x.h*actBytes, s.atp, 1)
	}

	// Dense FFN: tensor-parallel like attention, on each replica's tokens.
	if s.denseL > 0 {
		x.gemm(&dense, 1, tok, 2*x.f/s.atp, x.h)
		x.gemm(&dense, 1, tok, x.h, x.f/s.atp)
		if s.atp > 1 {
			dense.tp += x.fab.AllReduce(tok*x.h*actBytes, s.atp, 1)
		}
	}
	// Tokens of all replicas meet in the MoE layer.
	T := tok * s.adp
	if x.moe && s.moeL > 0 {
		x.gemm(&moe, 1, tok, x.E, x.h) // router
		// Routed experts. Each token picks k of E experts; an EP rank holds
		// localExperts of them. Distinct experts touched, and the tokens
		// of the busiest rank: the mean plus the expected maximum's excess
		// over ep ranks (Gaussian extreme value, σ² = mean).
		touched := s.localExperts * (1 - math.Pow(1-x.k/x.E, T))
		mean := T * x.k / s.ep
		busiest := mean
		if s.ep > 1 {
			busiest += math.Sqrt(2 * mean * math.Log(s.ep))
		}
		busiest = math.Min(busiest, T*math.Min(x.k, s.localExperts))
		if touched > 0 {
			per := math.Max(busiest/touched, 1)
			x.gemm(&moe, touched, per, 2*x.ef/s.etp, x.h)
			x.gemm(&moe, touched, per, x.h, x.ef/s.etp)
		}
		if x.shared > 0 {
			st := T / s.ep
			x.gemm(&moe, 1, st, 2*x.shared*x.ef/s.etp, x.h)
			x.gemm(&moe, 1, st, x.h, x.shared*x.ef/s.etp)
		}
		if s.ep > 1 {
			// Dispatch (FP8 when the experts run in FP8) and combine: each
			// device sends its tokens' k copies to their experts' ranks.
			src := T / s.tp
			db := float64(actBytes)
			if x.wb < actBytes {
				db = dispatchBytes
			}
			moe.a2a += x.fab.AllToAll(src*x.k*x.h*db, s.ep, s.etp) + x.fab.AllToAll(src*x.k*x.h*actBytes, s.ep, s.etp)
		}
		if s.etp > 1 {
			moe.tp += x.fab.AllReduce(T/s.ep*x.h*actBytes, s.etp, 1)
		}
		if s.twoBatch && tok >= 2 {
			// Two micro-batches alternate: one's dispatch and combine run
			// under the other's attention and experts (DeepSeek's
			// dual-batch overlap, SGLang two-batch overlap).
			hide := math.Min(moe.a2a, a.total()+moe.compute+moe.weights)
			moe.a2a -= hide
		}
	}
	var p parts
	p.add(a, s.stageLayers)
	p.add(dense, s.denseL)
	p.add(moe, s.moeL)
	if s.pp > 1 {
		p.pp += x.fab.SendRecv(tok*s.adp/s.tp*x.h*actBytes, s.tp)
	}
	return p
}

// logits prices the output layer and sampling for tok tokens per replica.
func (x *Model) logits(s *shape, tok float64) parts {
	var p parts
	x.gemm(&p, 1, tok, x.V/s.atp, x.h)
	p.launch += stepKernels * launchUs * 1e-6
	return p
}

// decodeStep prices one decode step of one micro-batch through every
// stage: b requests per attention replica, each attending to ctx keys.
func (x *Model) decodeStep(s *shape, b, ctx float64) parts {
	p := x.pass(s, b, ctx, b*ctx*s.kvChipToken, ctx, false)
	p.add(x.logits(s, b), 1)
	return p
}

// prefillChunk prices one chunk of tok new tokens per replica, of requests
// with seg new tokens each after cached prefix tokens.
func (x *Model) prefillChunk(s *shape, tok, seg, cached float64) parts {
	keys := cached + seg/2
	seqs := tok / seg
	p := x.pass(s, tok, keys, seqs*cached*s.kvChipToken, seg+cached, true)
	p.add(x.logits(s, seqs), 1)
	return p
}
