// Package estimate is flopcast's performance model: for one run and one
// parallel layout it predicts the step time with its breakdown, the memory
// per device, and MFU/HFU, from first principles.
//
// An Estimator is built once per run (New) and evaluated for many layouts
// (Eval); Eval does a few thousand arithmetic operations and never
// allocates, so the search can call it millions of times a second.
//
// The model is spread over files by mechanism: attention.go, ffn.go and
// moe.go price a layer's GEMMs and attention; elementwise.go its
// memory-bound kernels; tp.go its tensor-parallel collectives;
// activations.go what it saves for backward; layer.go puts a layer
// together; ends.go the embedding and the loss; stages.go spreads layers
// over pipeline stages; memory.go, dp.go and pipeline.go assemble a
// step; timeline.go simulates the pipeline schedule pass by pass.
package estimate

import (
	"fmt"

	"github.com/flopcast/flopcast/hardware"
	"github.com/flopcast/flopcast/model"
	"github.com/flopcast/flopcast/spec"
)

// Constants of the model that are not per chip or per mechanism. Each says
// where it comes from.
const (
	// hostFwdUs, hostBwdUs: host time to launch one kernel of the fused
	// recipe from Python (forward: module call, dispatcher, launch) and
	// from the autograd engine (backward). When the GPU work of a pass is
	// shorter, the host sets the pace. Assumption, of the order of
	// PyTorch's eager per-operator overhead (~10 µs).
	hostFwdUs = 8
	hostBwdUs = 4
	// eagerHostFwdUs, eagerHostBwdUs: host time per kernel of eager
	// PyTorch under autocast (eagerKernels and the GEMMs) in forward, from
	// Python (and again in the forward that full recompute,
	// torch.utils.checkpoint, repeats inside backward), and in backward,
	// from the autograd engine. Each carries the operators between the
	// kernels too (views, splits, module calls, autograd nodes without a
	// kernel, AccumulateGrad). Fitted (estimate/eagerhost_test.go,
	// TestEagerHostFit) to the six GPT-style whole steps of
	// catalog/measured/h200.json (PyTorch 2.11 eager on one H200 and its
	// host CPU; fit mean |error| 8.1%); the ten Llama-style steps, held
	// out, come within 4.6% mean and 11.0% worst (GPU alone: 17.2% and
	// 45.8%). Fitting the recomputed forward's figure apart (the
	// checkpoint's saved-tensor hooks run in Python) fits the GPT-style
	// steps closer but the held-out ones worse (8.6% mean, 34% worst).
	eagerHostFwdUs, eagerHostBwdUs = 64, 44
	// bf16Bytes is the size of one bf16 element, the dtype of activations,
	// weights and collectives unless a mechanism says otherwise.
	bf16Bytes = 2
	// fp32Bytes is the size of one fp32 element.
	fp32Bytes = 4
	// fp8Bytes is the size of one fp8 (E4M3 or E5M2) element.
	fp8Bytes = 1
)

// Estimator predicts one run for any layout. Build it with New.
type Estimator struct {
	r *spec.Resolved

	dev hardware.Device // kernel costs on this chip at the run precision
	// commShare is the share of the chip's compute that a collective
	// takes while it runs hidden behind compute
	// (hardware.Device.CommShare): overlapped TP, DP, PP and EP traffic
	// slows the compute it overlaps by this share of its duration.
	commShare float64
	fab       hardware.Fabric // collective costs over its fabric
	domain    int             // chips in the scale-up domain
	// slowest is the fraction by which the job's slowest chip is slower
	// than the average: a synchronous step runs at its pace.
	slowest float64
	// stepSync is the step's global synchronisation before the optimizer:
	// the gradient norm (and inf/NaN flag) all-reduced over every chip and
	// read by the host (stepSyncTime).
	stepSync float64
	// MoE dispatch: the scale-up domains one token may reach (0: any),
	// and whether tokens cross once per destination domain (flex
	// dispatchers: DeepEP, HybridEP).
	maxGroups float64
	perDomain bool
	// cpA2A: context parallelism by all-to-all (training.cp_comm_type
	// a2a) instead of ring attention.
	cpA2A bool
	// routeCV is the coefficient of variation of the experts' loads
	// that dropless routing lets through (router skew; 0 when balanced
	// or random).
	routeCV float64
	// varLoads: the experts' loads vary from micro-batch to micro-batch
	// (dropless or random routing), as counts of routed tokens at least;
	// false when every expert gets exactly its share.
	varLoads bool

	capacity float64 // usable bytes per device
	hostBW   float64 // achieved bytes/s per direction to host memory; 0 unknown

	// The model's dimensions, as floats.
	layers, hidden, heads, kvHeads float64
	qkHeadDim, vHeadDim            float64 // per head; MLA's q/k include the rotary part
	ffn, vocab                     float64
	swiglu                         bool
	layerNorm                      bool // LayerNorm (else RMSNorm)
	rope, learnedPos               bool // rotary on q and k; a learned position table added to the input
	bias                           bool // the linear layers carry biases
	mla                            bool
	qLoraRank, kvLoraRank, ropeDim float64 // MLA only
	moe                            bool
	experts, topK                  float64 // MoE only
	sharedExperts, expertFFN       float64
	denseLayers                    float64 // layers with a dense FFN (all of them without MoE)
	mtpDepth                       float64 // multi-token-prediction modules on the last stage
	// Sliding-window attention: the share of layers that attend to a
	// window of window keys, windowKeys keys a query on average
	// (model.Config.WindowKeys); attendedKeys averages every layer's.
	windowFrac, window, windowKeys, attendedKeys float64

	// The recipe.
	eager bool         // pytorch-amp: eager PyTorch under autocast
	fp8   bool         // GEMMs in a low precision (fp8, mxfp8, nvfp4) with quantised operands
	lowp  lowPrecision // storage of quantised tensors (zero at bf16)
	// fp8Gather: sequence-parallel all-gathers move the GEMM input
	// quantised, one byte an element: per-tensor fp8 casts the local
	// shard before it gathers, and one scale serves the gathered tensor
	// (Transformer Engine's gather_along_first_dim with a quantizer,
	// pytorch/distributed.py, for the input in forward and the output
	// gradient in backward; torchao's Float8ColwiseParallel and
	// Float8RowwiseParallel, float8/float8_tensor_parallel.py). Row-wise
	// scaling has no fp8 tensor-parallel path (torchtitan applies the
	// float8 TP plans to tensorwise alone) and gathers bf16; the block
	// formats are left at bf16.
	fp8Gather      bool
	rowwise        bool // fp8 operands scaled per row (training.fp8_scaling)
	fp8Params      bool // primary weights kept quantised
	bf16Moments    bool // Adam moments in bf16 (training.optimizer_moments)
	fp8Acts        bool // SwiGLU input and attention output cached in low precision (training.fp8_activations)
	flash, dropout bool
	fusedLoss      bool  // softmax cross-entropy in one fused kernel (training.fused_loss)
	tpOverlap      *bool // nil: by recipe and chip (tpOverlapDefault)
	// tpOverlapDefault: the chip runs the recipe's default TP overlap
	// (hardware.Chip.TPOverlapByDefault).
	tpOverlapDefault bool
	dpOverlap        bool
	epOverlap        bool
	// Host seconds per eager kernel: forward, backward (eagerHostFwdUs,
	// eagerHostBwdUs).
	hostFwd, hostBwd float64

	seqLen        float64
	tokensPerStep float64 // spec.Resolved.TokensPerStep

	// Parameter counts (full, not sharded).
	denseFFNParams, expertParams, sharedParams, routerParams float64 // per layer; expertParams over all experts
	embParams                                                float64
	tied                                                     bool

	// Model FLOPs per token of the whole model (model.Config.TrainFLOPsPerToken).
	modelFlopsPerToken float64
	attnFwdFLOPs       float64    // per token: the causal attention core's forward
	rcFLOPs            [7]float64 // per token: the forward FLOPs each recompute module repeats

}

// New prepares an estimator for a resolved run.
func New(r *spec.Resolved) (*Estimator, error) {
	if r == nil {
		return nil, fmt.Errorf("estimate: nil run")
	}
	c := &r.Chip
	if r.Chips == 1 && c.ResidualDerate != 0 {
		// The residual derate is what multi-chip runs lose beyond the
		// modelled mechanisms; one chip alone does not lose it: the 16
		// whole steps of catalog/measured/h200.json run as the measured
		// profile and sustained clock predict (models 4,096 and 8,192
		// wide: within 5% without it, 8-12% too slow with it).
		alone := *c
		alone.ResidualDerate = 0
		c = &alone
	}
	e := &Estimator{r: r}
	dev, err := hardware.NewDevice(c, r.Profile, string(r.Training.Precision))
	if err != nil {
		return nil, fmt.Errorf("estimate: %w", err)
	}
	if r.Training.AttentionKernel == spec.AttentionFlash2 {
		dev = dev.Flash2()
	}
	if r.Training.FP8Scaling == spec.ScalingRowwise {
		dev = dev.Rowwise()
		e.rowwise = true
	}
	e.dev = dev
	e.commShare = dev.CommShare()
	// Every low precision the chip runs natively quantises its GEMM
	// operands (fp8, mxfp8, nvfp4).
	e.fp8 = dev.Quantizes()
	e.fp8Gather = e.fp8 && r.Training.Precision == spec.PrecisionFP8 && r.Training.FP8Scaling == spec.ScalingTensorwise
	e.lowp = newLowPrecision(r.Training.Precision, c)
	e.fp8Params = r.Training.FP8Params
	e.bf16Moments = r.Training.OptimizerMoments == spec.MomentsBF16
	e.fp8Acts = r.Training.FP8Activations
	// Groups are placed as launchers place them for a job of this size.
	e.fab = hardware.NewFabric(c.Fabric).ForJob(r.Chips)
	e.slowest = hardware.SlowestOf(r.Chips)
	e.stepSync = stepSyncTime(&e.fab, &e.dev, r.Chips)
	e.perDomain = r.Training.PerNodeDispatch()
	e.cpA2A = r.Training.CPCommType == spec.CPCommA2A
	e.domain = c.ScaleUpDomain()
	e.capacity = c.HBMBytes() - runtimeReservedGiB*gib
	e.hostBW = c.HostLinkGBps * 1e9

	e.setModel(&r.Model)
	e.eager = r.Training.Recipe == spec.RecipePyTorchAMP
	e.hostFwd, e.hostBwd = eagerHostFwdUs*1e-6, eagerHostBwdUs*1e-6
	e.flash = r.Training.FlashAttention
	e.dropout = r.Training.Dropout
	e.fusedLoss = r.Training.FusedLoss
	e.tpOverlap = r.Training.TPCommOverlap
	e.tpOverlapDefault = c.TPOverlapByDefault()
	e.dpOverlap = r.Training.DPCommOverlap
	e.epOverlap = r.Training.EPCommOverlap
	e.seqLen = float64(r.Training.SeqLen)
	e.window = float64(r.Model.SlidingWindow)
	e.windowKeys = r.Model.WindowKeys(r.Training.SeqLen)
	e.attendedKeys = r.Model.AttendedKeys(r.Training.SeqLen)
	e.tokensPerStep = r.TokensPerStep()

	m := &r.Model
	e.modelFlopsPerToken = m.TrainFLOPsPerToken(r.Training.SeqLen)
	e.recomputeFLOPs(m)
	return e, nil
}

// setModel takes the model's shapes, its mixture of experts and its
// parameter counts (from the model package; attentionParams shards
// attention by layout).
func (e *Estimator) setModel(m *model.Config) {
	e.layers, e.hidden, e.heads, e.kvHeads = float64(m.Layers), float64(m.Hidden), float64(m.Heads), float64(m.KVHeads)
	e.qkHeadDim, e.vHeadDim = float64(m.HeadDim), float64(m.HeadDim)
	e.ffn, e.vocab = float64(m.FFN), float64(m.Vocab)
	e.swiglu = m.FFNKind != model.FFNGELU
	e.layerNorm = m.Norm == model.NormLayer
	e.rope = m.Position == "" || m.Position == model.PositionRoPE
	e.learnedPos = m.Position == model.PositionLearned
	e.bias = m.Bias
	if m.Attention == model.AttentionMLA && m.MLA != nil {
		e.mla = true
		e.qLoraRank, e.kvLoraRank, e.ropeDim = float64(m.MLA.QLoraRank), float64(m.MLA.KVLoraRank), float64(m.MLA.QKRopeDim)
		e.qkHeadDim = float64(m.MLA.QKNopeDim + m.MLA.QKRopeDim)
		e.vHeadDim = float64(m.MLA.VHeadDim)
	}
	e.denseLayers = e.layers
	e.mtpDepth = float64(m.MTPDepth)
	e.windowFrac = float64(m.WindowedLayers()) / e.layers
	if m.MoE != nil {
		e.moe = true
		e.experts, e.topK = float64(m.MoE.Experts), float64(m.MoE.TopK)
		e.sharedExperts, e.expertFFN = float64(m.MoE.SharedExperts), float64(m.MoE.ExpertFFN)
		e.denseLayers = float64(m.MoE.DenseLayers)
		e.maxGroups = float64(m.MoE.MaxGroupsPerToken)
		e.varLoads = m.MoE.Routing == model.RoutingDropless || m.MoE.Routing == model.RoutingRandom
		if m.MoE.Routing == model.RoutingDropless {
			e.routeCV = auxLossRouteCV
			if m.MoE.LoadBalance == model.BalanceExpertBias {
				e.routeCV = expertBiasRouteCV
			}
		}
	}

	e.denseFFNParams = m.DenseFFNParams()
	if e.moe {
		e.expertParams = e.experts * m.ExpertParams()
		e.sharedParams = e.sharedExperts * m.ExpertParams()
		e.routerParams = m.RouterParams()
	}
	e.tied = m.TiedEmbeddings
	e.embParams = e.vocab * e.hidden
}

// stepSyncTime is the global synchronisation every step pays before its
// optimizer: gradient clipping all-reduces the squared gradient norm over
// every rank that holds a shard of the gradients (all chips, with the
// distributed optimizer) and reads it on the host (total_norm.item() in
// Megatron-LM megatron/core/optimizer/clip_grads.py; PyTorch's
// clip_grad_norm_ under FSDP likewise all-reduces the norm). The
// all-reduce is latency-bound (Fabric.TreeAllReduceLatency), and the host
// read drains the launch queue, so the next kernel waits for one launch.
// A single chip only pays the host read.
func stepSyncTime(fab *hardware.Fabric, dev *hardware.Device, chips int) float64 {
	return fab.TreeAllReduceLatency(float64(chips), 1) + dev.LaunchOverhead()
}

// GEMMCeiling is the best fraction of the BF16 peak this chip's GEMMs reach
// in a training step: the efficiency curve's maximum at the sustained
// clock, times the chip's residual derate on runs of more than one chip.
// It is the roofline the search's explanation measures against.
func (e *Estimator) GEMMCeiling() float64 { return e.dev.GEMMCeiling() }

// ModelFLOPsPerToken is the model FLOPs per trained token
// (model.Config.TrainFLOPsPerToken).
func (e *Estimator) ModelFLOPsPerToken() float64 { return e.modelFlopsPerToken }

// CausalAttentionFLOPsPerToken is the attention work that the causal mask
// (and a sliding window) skips: what conventions that count attention
// whole, s keys a query, add to the model FLOPs.
func (e *Estimator) CausalAttentionFLOPsPerToken() float64 {
	return 6 * e.layers * (e.seqLen - e.attendedKeys) * e.heads * (e.qkHeadDim + e.vHeadDim)
}
