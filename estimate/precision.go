package estimate

import (
	"github.com/flopcast/flopcast/hardware"
	"github.com/flopcast/flopcast/spec"
)

// How low-precision tensors are stored (Transformer Engine, docs
// low_precision_training/{introduction, mxfp8, nvfp4}).

// lowPrecision is the storage of a tensor quantised for the run's GEMMs.
type lowPrecision struct {
	// elem is the bytes per element of one quantised copy, scales
	// included: per-tensor FP8 1 B; MXFP8 1 B plus one E8M0 scale per 32
	// elements; NVFP4 half a byte plus one E4M3 scale per 16. 0 at bf16.
	elem float64
	// copies is the quantised copies a weight needs, one per orientation
	// the GEMMs read: per-tensor FP8 on Hopper keeps a physically
	// transposed copy for the other pass (2), on Blackwell one layout
	// serves both (1); MXFP8's row- and column-wise scalings differ (2);
	// NVFP4 GEMMs are TN-only, so the column-wise data is stored
	// transposed (2).
	copies float64
}

func newLowPrecision(p spec.Precision, chip *hardware.Chip) lowPrecision {
	switch p {
	case spec.PrecisionFP8:
		// Blackwell-class tensor cores (those that run the block-scaled
		// formats) read one FP8 layout both ways.
		if chip.Supports(string(spec.PrecisionMXFP8)) {
			return lowPrecision{elem: 1, copies: 1}
		}
		return lowPrecision{elem: 1, copies: 2}
	case spec.PrecisionMXFP8:
		return lowPrecision{elem: 1 + 1.0/32, copies: 2}
	case spec.PrecisionNVFP4:
		return lowPrecision{elem: 0.5 + 1.0/16, copies: 2}
	}
	return lowPrecision{}
}

// gemmWeightBytes is the device bytes per GEMM weight parameter beside the
// optimizer's: bf16 weights, plus their cached quantised copies under a
// low-precision recipe (TE caches them across micro-batches,
// module/linear.py), or the quantised copies alone when the primary
// weights are kept in the low-precision format (Megatron's fp8_param /
// fp8_param_gather; training.fp8_params).
func (e *Estimator) gemmWeightBytes() float64 {
	if e.lowp.elem == 0 || e.eager {
		return e.weightBytes()
	}
	quantised := e.lowp.elem * e.lowp.copies
	if e.fp8Params {
		return quantised
	}
	return weightBytes + quantised
}

// weightBytes is the bytes per parameter of the weights the recipe
// computes with: bf16 (megatron) or fp32 (pytorch-amp).
func (e *Estimator) weightBytes() float64 {
	if e.eager {
		return eagerWeightBytes
	}
	return weightBytes
}
