// Package estimate is flopcast's performance model: for one run and one
// parallel layout it predicts the step time with its breakdown, the memory
// per device, and MFU/HFU, from first principles (DESIGN.md §4).
//
// An Estimator is built once per run (New) and evaluated for many layouts
// (Eval); Eval does a few thousand arithmetic operations and never
// allocates, so the search can call it millions of times a second.
package estimate

import (
	"fmt"

	"github.com/flopcast/flopcast/hardware"
	"github.com/flopcast/flopcast/model"
	"github.com/flopcast/flopcast/spec"
)

// Constants of the model that are not per chip. Each says where it comes
// from.
const (
	// runtimeReservedGiB: memory the runtime holds outside the allocator
	// (CUDA context, cuBLAS workspaces, NCCL channels). Assumption, of the
	// order seen on H100 (79.18 GiB visible; ~0.5 GiB context; NCCL
	// buffers ~0.5 GiB per busy communicator set).
	runtimeReservedGiB = 1.5
	// fragmentation: share of activation memory the PyTorch caching
	// allocator loses to fragmentation at peak. Assumption (commonly
	// 5-15% in torch.cuda.memory_stats reserved vs allocated).
	fragmentation = 0.10
	// commContention: the share of a chip's compute that a hidden
	// collective takes while it runs (its kernels occupy SMs and HBM
	// bandwidth). NCCL and Transformer Engine's userbuffers run
	// collectives on 16-32 of an H100's 132 SMs (NCCL_MAX_NCHANNELS,
	// TE's num_sm); 0.15 is the middle of that range. Assumption.
	commContention = 0.15
	// hostFwdUs, hostBwdUs: host time to launch one kernel from Python
	// (forward: module call, dispatcher, launch) and from the autograd
	// engine (backward). When the GPU work of a pass is shorter, the host
	// sets the pace. Assumption, of the order of PyTorch's eager
	// per-operator overhead (~10 µs).
	hostFwdUs = 8
	hostBwdUs = 4
	// dpBucketParams: Megatron-Core's DDP bucket size in parameters
	// (max(40M, 1M·dp); Megatron-LM distributed_data_parallel_config.py).
	dpBucketParams = 40e6
)

// Estimator predicts one run for any layout. Build it with New.
type Estimator struct {
	r *spec.Resolved

	dev    hardware.Device // kernel costs on this chip at the run precision
	fab    hardware.Fabric // collective costs over its fabric
	domain int             // chips in the scale-up domain

	capacity float64 // usable bytes per device

	// Model shapes, as floats.
	L, h, H, KV, dqk, dv, f, V float64
	mla                        bool
	qr, kvr, rope              float64
	moe                        bool
	E, topk, shared, ef        float64
	denseLayers                float64
	swiglu                     bool
	eager                      bool // pytorch-amp recipe
	fp8                        bool
	flash, dropout             bool
	tpOverlap                  *bool
	dpOverlap                  bool
	epOverlap                  bool

	seq, gbs float64

	// Per-layer parameter counts (full, not sharded).
	denseFFNParams, expertParams, sharedParams, routerParams float64
	embParams                                                float64
	tied                                                     bool

	// Model FLOPs per token of the whole model (DESIGN.md §3 definition).
	modelFlopsPerToken float64
}

// New prepares an estimator for a resolved run.
func New(r *spec.Resolved) (*Estimator, error) {
	if r == nil {
		return nil, fmt.Errorf("estimate: nil run")
	}
	c := &r.Chip
	e := &Estimator{r: r}
	dev, err := hardware.NewDevice(c, r.Profile, r.Training.Precision)
	if err != nil {
		return nil, fmt.Errorf("estimate: %w", err)
	}
	e.dev = dev
	e.fp8 = r.Training.Precision == "fp8"
	e.fab = hardware.NewFabric(c.Fabric)
	e.domain = c.ScaleUpDomain()
	e.capacity = c.HBMBytes() - runtimeReservedGiB*(1<<30)

	m := &r.Model
	e.L, e.h, e.H, e.KV = float64(m.Layers), float64(m.Hidden), float64(m.Heads), float64(m.KVHeads)
	e.dqk, e.dv = float64(m.HeadDim), float64(m.HeadDim)
	e.f, e.V = float64(m.FFN), float64(m.Vocab)
	e.swiglu = m.FFNKind != model.FFNGELU
	if m.Attention == model.AttentionMLA && m.MLA != nil {
		e.mla = true
		e.qr, e.kvr, e.rope = float64(m.MLA.QLoraRank), float64(m.MLA.KVLoraRank), float64(m.MLA.QKRopeDim)
		e.dqk = float64(m.MLA.QKNopeDim + m.MLA.QKRopeDim)
		e.dv = float64(m.MLA.VHeadDim)
	}
	if m.MoE != nil {
		e.moe = true
		e.E, e.topk, e.shared, e.ef = float64(m.MoE.Experts), float64(m.MoE.TopK), float64(m.MoE.SharedExperts), float64(m.MoE.ExpertFFN)
		e.denseLayers = float64(m.MoE.DenseLayers)
	} else {
		e.denseLayers = e.L
	}
	e.eager = r.Training.Recipe == "pytorch-amp"
	e.flash = r.Training.FlashAttention
	e.dropout = r.Training.Dropout
	e.tpOverlap = r.Training.TPCommOverlap
	e.dpOverlap = r.Training.DPCommOverlap
	e.epOverlap = r.Training.EPCommOverlap
	e.seq, e.gbs = float64(r.Training.SeqLen), float64(r.Training.GlobalBatch)

	// Parameter counts from the model package; attnLocal shards attention.
	e.denseFFNParams = m.DenseFFNParams()
	if e.moe {
		e.expertParams = e.E * m.ExpertParams()
		e.sharedParams = e.shared * m.ExpertParams()
		e.routerParams = m.RouterParams()
	}
	e.tied = m.TiedEmbeddings
	e.embParams = e.V * e.h

	e.modelFlopsPerToken = m.TrainFLOPsPerToken(r.Training.SeqLen)
	return e, nil
}

// GEMMCeiling is the best fraction of the BF16 peak this chip's GEMMs reach
// in a training step: the efficiency curve's maximum at the sustained
// clock. It is the roofline the search's explanation measures against.
func (e *Estimator) GEMMCeiling() float64 { return e.dev.GEMMCeiling() }

// ModelFLOPsPerToken is the model FLOPs per trained token (DESIGN.md §3).
func (e *Estimator) ModelFLOPsPerToken() float64 { return e.modelFlopsPerToken }

// CausalAttentionFLOPsPerToken is the attention work that the causal mask
// skips: what conventions that count attention whole add to the model
// FLOPs.
func (e *Estimator) CausalAttentionFLOPsPerToken() float64 {
	return 3 * e.L * e.seq * e.H * (e.dqk + e.dv)
}
