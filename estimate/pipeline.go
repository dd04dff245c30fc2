package estimate

import "github.com/flopcast/flopcast/spec"

// The pipeline schedule: how many micro-batches a stage holds, the step's
// pipelined time and bubble, and the point-to-point hops between stages.
// Megatron-LM's 1F1B and interleaved 1F1B (Narayanan et al. 2021, §2.2;
// megatron/core/pipeline_parallel/schedules.py).

// warmup is the forward passes pipeline rank r of p runs before its first
// backward: p-r-1 under 1F1B; under interleaved 1F1B with v chunks per
// rank, (p-r-1)·2 + (v-1)·p (schedules.py, get_num_warmup_microbatches
// for the interleaved schedule). total bounds it: a step of m
// micro-batches has m·v passes of each kind.
func warmup(p, v, r, total int) int {
	w := p - r - 1
	if v > 1 {
		w = (p-r-1)*2 + (v-1)*p
	}
	return min(w, total)
}

// inFlight is the micro-batch chunks rank r holds activations of at its
// peak: its warm-up forwards plus the one whose backward comes next, of
// m·v in all.
func inFlight(p, v, r, m int) float64 {
	return float64(min(warmup(p, v, r, m*v)+1, m*v))
}

// pipelineTime is the pipelined part of a step of m micro-batches: the
// slowest rank's m passes plus the fill and drain, which take (p-1)/v of
// the average rank's time per micro-batch. bubble is the time the average
// rank idles in it: pipelined time less the average rank's busy time (the
// timeline's BubbleS is the same quantity, simulated).
func pipelineTime(p, v, m, slowest, mean float64) (pipelined, bubble float64) {
	pipelined = m*slowest + (p-1)/v*mean
	return pipelined, pipelined - m*mean
}

// dualPipeTime is the pipelined part of a step under DualPipe (DeepSeek-V3
// report, arXiv 2412.19437 §3.2.1 and Table 2; deepseek-ai/DualPipe):
// micro-batches enter from both ends, each rank holds two chunks (its
// stage of either direction), and a forward chunk runs beside a backward
// chunk so that each hides the other's communication. The bubble is
// (PP/2−1)(F&B + B − 3W) in chunk times, F&B being an overlapped
// forward-and-backward pair, B a backward and W its weight-gradient part;
// a chunk is half a rank's layers. It does not grow with m.
func dualPipeTime(p, m, slowest, mean float64, rt *rankTiming) (pipelined, bubble float64) {
	F, B, W := rt.fwd/2, rt.bwd/2, rt.wgrad/2
	pipelined = m*slowest + max(0, (p/2-1)*((F+B)+B-3*W))
	return pipelined, pipelined - m*mean
}

// dualPipeRankTime is a rank's time per micro-batch under DualPipe: the
// rank holds its stage rl of one direction and the mirror stage of the
// other, and half of
// the step's micro-batches pass through each (deepseek-ai/DualPipe: each end
// of the pipeline feeds half of them), so its load is the mean of the two
// stages'. Pairing a stage with its mirror is what lets the ends' embedding,
// output heads and multi-token-prediction module share ranks with lighter
// stages.
func (e *Estimator) dualPipeRankTime(l *spec.Layout, rl, mirrorLoad rankLoad, c *layerCache) rankTiming {
	own, mirror := e.rankTime(l, rl, c), e.rankTime(l, mirrorLoad, c)
	return rankTiming{
		fwd: (own.fwd + mirror.fwd) / 2, bwd: (own.bwd + mirror.bwd) / 2,
		tp: (own.tp + mirror.tp) / 2, cp: (own.cp + mirror.cp) / 2, ep: (own.ep + mirror.ep) / 2,
		offload: (own.offload + mirror.offload) / 2, wgrad: (own.wgrad + mirror.wgrad) / 2,
	}
}

// dualPipeHops: DualPipe hides the pipeline's transfers behind the paired
// chunks; filling the pipeline still waits on them.
func dualPipeHops(p, hop float64) float64 {
	return 2 * hop * (p - 1)
}

// hopTime is one point-to-point transfer of a micro-batch's activations
// between adjacent stages, which sit tp·cp·dp chips apart, and the part of
// it that does not depend on its size. That fixed part is the launch of the
// send and receive kernels and two latencies of the link: NCCL moves a
// point-to-point message through buffers the receiver grants, so the sender
// first waits for the receiver's credit (one latency) and then the data
// arrives (another; NCCL src/transport/net.cc, the receiver posts buffers
// that the sender's proxy waits on). SendRecv holds the second.
func (e *Estimator) hopTime(l *spec.Layout, s *shape) (hop, fixed float64) {
	if l.PP <= 1 {
		return 0, 0
	}
	msg := s.tokens * e.hidden * bf16Bytes
	if s.sp {
		msg /= s.tp
	}
	stride := float64(l.TP * l.CP * l.DP)
	lat := e.fab.SendRecvLatency(stride)
	return e.fab.SendRecv(msg, stride) + lat, 2*lat + e.dev.LaunchOverhead()
}

// exposedHops is the pipeline's point-to-point time left on the critical
// path of a step of m micro-batches; mean is the average rank's time per
// micro-batch, fwdShare the forward's share of it, and share the part of
// the chip's compute that a hidden transfer holds (Estimator.commShare).
//
// 1F1B (Megatron's non-interleaved schedule sends and receives in one
// blocking batch): filling and draining waits on every hop, and in the
// steady state each micro-batch waits for the round trip to the next stage.
//
// Interleaved, the first micro-batch's forward crosses each of the p·v−1
// virtual-stage boundaries before the last virtual stage can start its
// backward, and the last micro-batch's backward crosses them all back:
// 2(p·v−1) transfers in series, which is what the timeline's simulation of
// the schedule gives (PipelineTimelineHops). In the steady state,
// Megatron-Core's overlapped schedule (schedules.py with overlap_p2p_comm,
// on by default under interleaving) posts each chunk's send together with
// the receive the next chunk of the same direction needs, and waits on both
// before that chunk: a forward's transfer runs beside the backward chunk
// that follows it, a backward's beside the next forward chunk, and only
// what outlasts that chunk is exposed. Every chunk of every micro-batch
// still pays a send/receive pair whose fixed part (credit, latency, launch)
// the next chunk waits for, and the hidden transfer holds SMs while it runs
// (share). These costs grow with v while the bubble shrinks as
// 1/v (Narayanan et al. 2021, §2.2.2: interleaving multiplies the
// pipeline's communication by v), so one layer per chunk is not free.
func exposedHops(l *spec.Layout, hop, fixed, m, mean, fwdShare, share float64) float64 {
	if l.PP <= 1 {
		return 0
	}
	p, v := float64(l.PP), float64(l.VPP)
	if l.VPP == 1 {
		return 2*hop*(p-1) + 2*hop*m
	}
	fill := fillHops(l.PP, l.VPP) * hop
	fwd, bwd := mean*fwdShare/v, mean*(1-fwdShare)/v // one chunk's passes
	perChunk := max(0, hop-bwd) + max(0, hop-fwd) + 2*fixed + share*(min(hop, bwd)+min(hop, fwd))
	return fill + m*v*perChunk
}

// fillHops is the transfers in series while an interleaved pipeline fills
// and drains: forward across the p·v−1 virtual-stage boundaries, and back.
func fillHops(p, v int) float64 { return float64(2 * (p*v - 1)) }

// embeddingSync is the all-reduce of the tied embedding's gradient between
// the first pipeline stage, which holds the input embedding, and the last,
// which holds a copy as its output layer: after the backward, before the
// optimizer, on the critical path (Megatron-LM
// megatron/core/distributed/finalize_model_grads.py,
// _allreduce_word_embedding_grads over the embedding group; the gradient is
// the fp32 main_grad). DualPipe puts both ends on one rank.
func (e *Estimator) embeddingSync(l *spec.Layout, s *shape) float64 {
	if !e.tied || l.PP <= 1 {
		return 0
	}
	stride := float64((l.PP - 1) * l.TP * l.CP * l.DP)
	return e.fab.AllReduce(dpGradBytes*e.embParams/s.tp, 2, stride)
}
