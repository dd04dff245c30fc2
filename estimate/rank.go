package estimate

import "github.com/flopcast/flopcast/spec"

// rankTiming is one pipeline rank's time per micro-batch: compute by pass,
// and the communication its layers leave exposed.
type rankTiming struct {
	fwd, bwd   float64 // compute, embedding and logits included; bwd holds recompute
	tp, cp, ep float64
	offload    float64 // exposed activation offload
	wgrad      float64 // weight-gradient part of bwd
}

// total is the rank's time per micro-batch.
func (rt *rankTiming) total() float64 { return rt.fwd + rt.bwd + rt.tp + rt.cp + rt.ep + rt.offload }

// rankTime is the one place a rank's time per micro-batch is assembled,
// for the step (eval) and for the timeline (Schedule) alike.
func (e *Estimator) rankTime(l *spec.Layout, rl rankLoad, c *layerCache) rankTiming {
	dl, ml := &c.dense, &c.moe
	if rl.mtp > 0 {
		// A multi-token-prediction module runs one more layer (MoE where
		// the model is) and the output head and loss again.
		if e.moe {
			rl.moe += rl.mtp
		} else {
			rl.dense += rl.mtp
		}
	}
	var rt rankTiming
	rt.fwd = rl.dense*dl.fwd + rl.moe*ml.fwd
	rt.bwd = rl.dense*(dl.bwd+dl.recompute) + rl.moe*(ml.bwd+ml.recompute)
	// The host must launch every kernel; when that takes longer than the
	// GPU work, the host sets the pace.
	kf, kb := rl.dense*dl.kernelsFwd+rl.moe*ml.kernelsFwd, rl.dense*dl.kernelsBwd+rl.moe*ml.kernelsBwd
	recomputed := c.s.recompute == spec.RecomputeFull || c.s.recompute == spec.RecomputeOp
	if e.eager {
		e.eagerHost(&rt, kf, kb, recomputed)
	} else {
		fwdLaunches := 1.0
		if recomputed {
			fwdLaunches = 2 // the forward again inside backward (per-op: all but a few of its kernels)
		}
		host := (kf*fwdLaunches*hostFwdUs + kb*hostBwdUs) * 1e-6
		if gpu := rt.fwd + rt.bwd; host > gpu && gpu > 0 {
			rt.fwd *= host / gpu
			rt.bwd *= host / gpu
		}
	}
	rt.tp = rl.dense*c.denseTP + rl.moe*c.moeTP
	rt.cp = rl.dense*dl.cpExposed + rl.moe*ml.cpExposed
	// DualPipe runs one micro-batch's forward chunk beside another's
	// backward chunk, each hiding the other's all-to-all.
	rt.ep = rl.moe * e.exposedEP(ml, e.epOverlap || c.s.dualPipe)
	rt.wgrad = rl.dense*dl.wgrad + rl.moe*ml.wgrad
	// The embedding and the logits and loss: a third forward, two thirds
	// backward, like the GEMMs they are made of.
	if rl.first {
		rt.fwd += c.embTime / 3
		rt.bwd += 2 * c.embTime / 3
		rt.tp += c.embComm
	}
	if e.offloads(l, spec.OffloadActivations) {
		saved := rl.dense*dl.saved + rl.moe*ml.saved
		rt.offload = e.activationOffloadTime(saved, rt.fwd, rt.bwd)
	}
	if rl.last {
		heads := 1 + rl.mtp
		rt.fwd += heads * c.headTime / 3
		rt.bwd += 2 * heads * c.headTime / 3
		rt.tp += heads * c.embComm
	}
	return rt
}

// eagerHost paces a micro-batch's layers by the host under eager PyTorch,
// which launches kf kernels in forward (from Python) and kb in backward
// (from the autograd engine), and the forward's again inside backward
// when recomputed (torch.utils.checkpoint runs the block's Python
// forward again). The GPU runs ahead of the host through the launch
// queue, so a pass the host launches faster than the GPU runs it is
// GPU-bound and one it launches slower is host-bound, each on its own:
// with the queue deep enough, the micro-batch ends when the later of
// three paths does: all the GPU work; the host's forward, then the GPU's
// backward; the host's forward and backward (the GPU's last kernel
// after the host's last launch is small beside a layer).
func (e *Estimator) eagerHost(rt *rankTiming, kf, kb float64, recomputed bool) {
	hf, hb := kf*e.hostFwd, kb*e.hostBwd
	if recomputed {
		hb += hf
	}
	gf, gb := rt.fwd, rt.bwd
	total := max(gf+gb, hf+gb, hf+hb)
	rt.fwd = max(gf, hf)
	rt.bwd = total - rt.fwd
}
