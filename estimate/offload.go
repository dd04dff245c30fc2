package estimate

import "github.com/flopcast/flopcast/spec"

// Offload to host memory, a memory-saving choice with a time cost over the
// chip's host link (hardware.Chip.HostLinkGBps).
//
// Activations: each layer's saved tensors go to pinned host memory after
// its forward and come back before its backward, on their own streams,
// overlapped with compute (Megatron-Core fine-grained activation
// offloading, docs/user-guide/features/fine_grained_activation_offloading.md).
// The device keeps the layer in hand and the one in transit.
//
// Optimizer: the fp32 master weights and Adam moments live in host memory
// and the step runs there; each step sends the fp32 gradients down and
// brings the updated bf16 weights back, both ways at once (Megatron-Core's
// optimizer CPU offload, --optimizer-cpu-offload; ZeRO-Offload, Ren et al.
// 2021). The host's Adam is taken to keep pace with the link.

// offloadedLayers is the layers' worth of saved activations a rank keeps
// on the device while offloading: the one being computed and the one in
// transit.
const offloadedLayers = 2

// offloads reports whether the layout offloads o and the chip has a host
// link to do it over; a layout that asks without one gets WarnNoHostLink.
func (e *Estimator) offloads(l *spec.Layout, o spec.Offload) bool {
	return l.Offload.Has(o) && e.hostBW > 0
}

// activationOffloadTime is the exposed time per micro-batch of moving a
// rank's saved activations (bytes) to the host in forward and back in
// backward, beside fwd and bwd of compute.
func (e *Estimator) activationOffloadTime(bytes, fwd, bwd float64) float64 {
	t := bytes / e.hostBW
	return max(0, t-fwd) + max(0, t-bwd)
}

// optimizerOffloadTime is the optimizer step of n local parameters run on
// the host: fp32 gradients down, bf16 weights up, concurrently.
func (e *Estimator) optimizerOffloadTime(n float64) float64 {
	return max(dpGradBytes, dpParamBytes) * n / e.hostBW
}
