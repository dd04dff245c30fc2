package calibrate

import (
	"errors"
	"fmt"
	"github.com/flopcast/flopcast"
	"math"
	"strconv"
	"strings"

	"github.com/flopcast/flopcast/hardware"
)

// Thresholds above which Fit warns that the model describes the
// measurement poorly.
const (
	warnGEMMWorstErr = 0.25
	warnAttnMeanErr  = 0.15
)

// Fit fits a profile for the catalog chip chipName to a measurement. The
// warnings are non-fatal: a device name that does not match the chip, a
// poor fit, parts of the file that were not used.
func Fit(m *Measurement, chipName string) (*hardware.Profile, []string, error) {
	chip, ok := hardware.LookupChip(chipName)
	if !ok {
		known := strings.Join(hardware.ChipNames(), ", ")
		if known == "" {
			known = "none: the chip catalog is empty"
		}
		return nil, nil, fmt.Errorf("chip %q: not in the catalog (allowed: %s)", chipName, known)
	}
	return FitChip(m, chip)
}

// FitChip is Fit with the chip's figures given directly: its name, BF16
// and FP8 peaks, HBM bandwidth and the wave-quantisation figures of its
// GEMM block (Units, TileM, TileN). Units is replaced by the measured SM
// count (env.sms) when the file has one.
func FitChip(m *Measurement, chip hardware.Chip) (*hardware.Profile, []string, error) {
	if m == nil {
		return nil, nil, errors.New("calibrate: no measurement")
	}
	if chip.BF16TFLOPS <= 0 || chip.HBMTBps <= 0 {
		return nil, nil, fmt.Errorf("chip %q: bf16_tflops %v and hbm_tbps %v must both be positive to calibrate against", chip.Name, chip.BF16TFLOPS, chip.HBMTBps)
	}
	warns := append([]string(nil), m.Warnings...)
	warns = append(warns, DeviceWarnings(m.Env.GPU, chip.Name)...)

	g := hardware.GEMMModel{Units: chip.GEMM.Units, TileM: chip.GEMM.TileM, TileN: chip.GEMM.TileN}
	if m.Env.SMs > 0 {
		if g.Units > 0 && g.Units != m.Env.SMs {
			warns = append(warns, fmt.Sprintf("env.sms: %d differs from the catalog's %d units for %s; using the measured %d", m.Env.SMs, g.Units, chip.Name, m.Env.SMs))
		}
		g.Units = m.Env.SMs
	}
	if g.Units > 0 && (g.TileM <= 0 || g.TileN <= 0) {
		warns = append(warns, fmt.Sprintf("chip %s: the catalog gives no GEMM tile size; wave quantisation is left out of the fit", chip.Name))
		g.Units, g.TileM, g.TileN = 0, 0, 0
	}

	// GEMM: bf16 points fix MaxEff and the overhead; fp8 points then fix
	// FP8MaxEff with the overhead held.
	var bf16, fp8 []GEMMPoint
	for _, p := range m.GEMM {
		if p.DType == "fp8" {
			fp8 = append(fp8, p)
		} else {
			bf16 = append(bf16, p)
		}
	}
	if len(bf16) == 0 {
		return nil, warns, &flopcast.FieldError{Field: "gemm", Value: fmt.Sprintf("%d points", len(m.GEMM)), Reason: "has no bf16 point", Allowed: "at least one bf16 GEMM; MaxEff and OverheadUs are fitted on bf16"}
	}
	if len(bf16) < 3 {
		warns = append(warns, fmt.Sprintf("gemm: only %d bf16 points; MaxEff and OverheadUs are poorly determined", len(bf16)))
	}
	if len(fp8) > 0 && chip.FP8TFLOPS <= 0 {
		warns = append(warns, fmt.Sprintf("gemm: %d fp8 points ignored: chip %s has no FP8 peak", len(fp8), chip.Name))
		fp8 = nil
	}
	peak := chip.BF16TFLOPS * 1e12
	var rows [][2]float64
	for _, p := range bf16 {
		ideal := p.FLOPs() / (peak * WaveEff(g, p.M, p.N))
		rows = append(rows, [2]float64{ideal / p.S, 1e-6 / p.S})
	}
	x := boundedLS2(rows, [2]float64{1, 0})
	g.MaxEff = round4(1 / x[0])
	g.OverheadUs = round4(x[1])
	if g.MaxEff >= 1 {
		warns = append(warns, fmt.Sprintf("gemm: fitted max_eff is 1: the measurement reaches the %s bf16 peak of %v TFLOPS; is the chip right?", chip.Name, chip.BF16TFLOPS))
	}
	if len(fp8) > 0 {
		peak8 := chip.FP8TFLOPS * 1e12
		var num, den float64
		for _, p := range fp8 {
			r := p.FLOPs() / (peak8 * WaveEff(g, p.M, p.N)) / p.S
			num += r * (1 - g.OverheadUs*1e-6/p.S)
			den += r * r
		}
		inv := math.Max(1, num/den)
		g.FP8MaxEff = round4(1 / inv)
	} else if chip.FP8TFLOPS > 0 {
		warns = append(warns, "gemm: no fp8 points; fp8_max_eff is left 0 (the estimator then uses max_eff at the fp8 peak)")
	}

	// Attention.
	if err := fitAttention(m.Attention, chip, &g); err != nil {
		return nil, warns, err
	}

	// Streaming memory bandwidth.
	g.MemEff = m.Env.CopyTBps / chip.HBMTBps
	if g.MemEff > 1 {
		warns = append(warns, fmt.Sprintf("env.copy_tbps: %v TB/s exceeds the %s peak of %v TB/s; mem_eff is capped at 1; is the chip right?", m.Env.CopyTBps, chip.Name, chip.HBMTBps))
		g.MemEff = 1
	}
	g.MemEff = round4(g.MemEff)

	origin := Origin(m)
	g.Source = "fitted by flopcast calibrate on " + shortOrigin(m)
	prof := &hardware.Profile{
		Chip:     chip.Name,
		Device:   m.Env.GPU,
		Measured: m.Measured,
		Origin:   origin,
		GEMM:     g,
		Points:   len(bf16) + len(fp8) + len(m.Attention),
	}

	var gemmErrs, attnErrs []float64
	var worst Residual
	for _, r := range Residuals(m, chip, g) {
		e := math.Abs(r.RelErr)
		if r.Kind == "gemm" {
			gemmErrs = append(gemmErrs, e)
			if e > math.Abs(worst.RelErr) {
				worst = r
			}
		} else {
			attnErrs = append(attnErrs, e)
		}
	}
	prof.GEMMFitMeanErr = round4(mean(gemmErrs))
	prof.GEMMFitWorstErr = round4(maxOf(gemmErrs))
	prof.AttnFitMeanErr = round4(mean(attnErrs))
	if prof.GEMMFitWorstErr > warnGEMMWorstErr {
		warns = append(warns, fmt.Sprintf("gemm: the fit misses %s by %+.0f%%", worst.Label, 100*worst.RelErr))
	}
	if prof.AttnFitMeanErr > warnAttnMeanErr {
		warns = append(warns, fmt.Sprintf("attention: mean fit error %.0f%%", 100*prof.AttnFitMeanErr))
	}
	if n := len(m.Elementwise) + len(m.Steps); n > 0 {
		warns = append(warns, fmt.Sprintf("%d elementwise and %d training-step points are not used by the fit (they serve validation)", len(m.Elementwise), len(m.Steps)))
	}
	return prof, warns, nil
}

// fitAttention fits AttnMaxEff, AttnHalfSeq and AttnBwdRatio jointly to the
// forward and backward times (backward = fwdbwd_s − fwd_s). With u = 1/A,
// v = H/A and w = 1/R the model is
//
//	fwd = φ·(u + v/s),  bwd = 2.5·φ·w·(u + v/s),  φ = F/peak,
//
// linear in (u, v) for a given w; w is found by a one-dimensional search.
func fitAttention(pts []AttentionPoint, chip hardware.Chip, g *hardware.GEMMModel) error {
	seqs := map[int]bool{}
	for _, p := range pts {
		seqs[p.Seq] = true
	}
	if len(seqs) < 2 {
		return &flopcast.FieldError{Field: "attention", Value: fmt.Sprintf("%d points at %d sequence length(s)", len(pts), len(seqs)),
			Reason: "cannot fix the half-efficiency sequence length", Allowed: "points at two or more sequence lengths"}
	}
	peak := chip.BF16TFLOPS * 1e12
	solve := func(w float64) ([2]float64, float64) {
		rows := make([][2]float64, 0, 2*len(pts))
		for _, p := range pts {
			phi := p.FwdFLOPs() / peak
			s := float64(p.Seq)
			tb := p.FwdBwdS - p.FwdS
			rows = append(rows,
				[2]float64{phi / p.FwdS, phi / (s * p.FwdS)},
				[2]float64{2.5 * phi * w / tb, 2.5 * phi * w / (s * tb)})
		}
		x := boundedLS2(rows, [2]float64{1, 0})
		return x, ls2Cost(rows, x)
	}
	cost := func(lw float64) float64 { _, c := solve(math.Exp(lw)); return c }
	// R is the backward efficiency over the forward one; a grid over
	// 0.05 ≤ R ≤ 20 brackets the minimum, golden section refines it.
	lo, hi := math.Log(0.05), math.Log(20)
	const grid = 200
	best, bestCost := 0, math.Inf(1)
	for i := 0; i <= grid; i++ {
		if c := cost(lo + (hi-lo)*float64(i)/grid); c < bestCost {
			best, bestCost = i, c
		}
	}
	a := lo + (hi-lo)*float64(max(best-1, 0))/grid
	b := lo + (hi-lo)*float64(min(best+1, grid))/grid
	lw := goldenMin(cost, a, b, 60)
	w := math.Exp(lw)
	x, _ := solve(w)
	g.AttnMaxEff = round4(1 / x[0])
	g.AttnHalfSeq = round4(x[1] / x[0])
	g.AttnBwdRatio = round4(1 / w)
	return nil
}

// boundedLS2 minimises Σ(x₀·r₀ + x₁·r₁ − 1)² over x ≥ lb. The problem is a
// convex quadratic, so when the unconstrained optimum is infeasible the
// bounded one lies on an edge of the feasible quadrant, and the edges'
// one-dimensional optima are the only candidates.
func boundedLS2(rows [][2]float64, lb [2]float64) [2]float64 {
	var a00, a01, a11, c0, c1 float64
	for _, r := range rows {
		a00 += r[0] * r[0]
		a01 += r[0] * r[1]
		a11 += r[1] * r[1]
		c0 += r[0]
		c1 += r[1]
	}
	if det := a00*a11 - a01*a01; det > 1e-12*a00*a11 {
		x := [2]float64{(a11*c0 - a01*c1) / det, (a00*c1 - a01*c0) / det}
		if x[0] >= lb[0] && x[1] >= lb[1] {
			return x
		}
	}
	var cands [][2]float64
	if a11 > 0 {
		cands = append(cands, [2]float64{lb[0], math.Max(lb[1], (c1-a01*lb[0])/a11)})
	}
	if a00 > 0 {
		cands = append(cands, [2]float64{math.Max(lb[0], (c0-a01*lb[1])/a00), lb[1]})
	}
	cands = append(cands, lb)
	best, bestCost := lb, math.Inf(1)
	for _, x := range cands {
		if c := ls2Cost(rows, x); c < bestCost {
			best, bestCost = x, c
		}
	}
	return best
}

func ls2Cost(rows [][2]float64, x [2]float64) float64 {
	var c float64
	for _, r := range rows {
		d := x[0]*r[0] + x[1]*r[1] - 1
		c += d * d
	}
	return c
}

// goldenMin finds a minimum of a unimodal f on [a, b].
func goldenMin(f func(float64) float64, a, b float64, iters int) float64 {
	const invPhi = 0.6180339887498949
	c, d := b-invPhi*(b-a), a+invPhi*(b-a)
	fc, fd := f(c), f(d)
	for range iters {
		if fc < fd {
			b, d, fd = d, c, fc
			c = b - invPhi*(b-a)
			fc = f(c)
		} else {
			a, c, fc = c, d, fd
			d = a + invPhi*(b-a)
			fd = f(d)
		}
	}
	return (a + b) / 2
}

// WaveEff is the wave-quantisation factor q = tiles / (waves × Units) of an
// m×n output; 1 when g.Units is 0.
func WaveEff(g hardware.GEMMModel, m, n int) float64 {
	if g.Units <= 0 || g.TileM <= 0 || g.TileN <= 0 {
		return 1
	}
	tiles := ((m + g.TileM - 1) / g.TileM) * ((n + g.TileN - 1) / g.TileN)
	return hardware.WaveEff(float64(tiles), float64(g.Units))
}

// GEMMTime is the model's time in seconds for an (m×k)·(k×n) product in
// precision "bf16" or "fp8" on chip.
func GEMMTime(g hardware.GEMMModel, chip hardware.Chip, m, n, k int, precision string) float64 {
	eff := g.MaxEff
	if precision == "fp8" && chip.FP8TFLOPS > 0 && g.FP8MaxEff > 0 {
		eff = g.FP8MaxEff
	}
	flops := 2 * float64(m) * float64(n) * float64(k)
	return flops/(chip.PeakTFLOPS(precision)*1e12*eff*WaveEff(g, m, n)) + g.OverheadUs*1e-6
}

// AttentionTimes is the model's forward and backward time in seconds of
// causal fused attention over b sequences of seq tokens.
func AttentionTimes(g hardware.GEMMModel, chip hardware.Chip, b, heads, seq, headDim int) (fwd, bwd float64) {
	p := AttentionPoint{B: b, Heads: heads, Seq: seq, HeadDim: headDim}
	s := float64(seq)
	eff := g.AttnMaxEff * s / (s + g.AttnHalfSeq)
	peak := chip.BF16TFLOPS * 1e12
	fwd = p.FwdFLOPs() / (peak * eff)
	bwd = 2.5 * p.FwdFLOPs() / (peak * eff * g.AttnBwdRatio)
	return fwd, bwd
}

// Residual compares one measured time with the fitted model's.
type Residual struct {
	Kind      string  `json:"kind"`  // gemm | attn_fwd | attn_bwd
	Label     string  `json:"label"` // e.g. "gemm[3] fc2 bf16 4096x1024x4096"
	MeasuredS float64 `json:"measured_s"`
	FittedS   float64 `json:"fitted_s"`
	RelErr    float64 `json:"rel_err"` // (fitted − measured) / measured
}

// Residuals evaluates profile model g against every GEMM and attention
// point of m. FP8 points are left out for chips without FP8.
func Residuals(m *Measurement, chip hardware.Chip, g hardware.GEMMModel) []Residual {
	var out []Residual
	add := func(kind, label string, meas, fit float64) {
		out = append(out, Residual{Kind: kind, Label: label, MeasuredS: meas, FittedS: fit, RelErr: (fit - meas) / meas})
	}
	for i, p := range m.GEMM {
		if p.DType == "fp8" && chip.FP8TFLOPS <= 0 {
			continue
		}
		tag := p.Tag
		if tag != "" {
			tag += " "
		}
		add("gemm", fmt.Sprintf("gemm[%d] %s%s %dx%dx%d", i, tag, p.DType, p.M, p.N, p.K),
			p.S, GEMMTime(g, chip, p.M, p.N, p.K, p.DType))
	}
	for i, p := range m.Attention {
		fwd, bwd := AttentionTimes(g, chip, p.B, p.Heads, p.Seq, p.HeadDim)
		label := fmt.Sprintf("attention[%d] b%d h%d s%d d%d", i, p.B, p.Heads, p.Seq, p.HeadDim)
		add("attn_fwd", label+" fwd", p.FwdS, fwd)
		add("attn_bwd", label+" bwd", p.FwdBwdS-p.FwdS, bwd)
	}
	return out
}

// Origin describes where a measurement came from: its source file and
// what it says it is.
func Origin(m *Measurement) string {
	var parts []string
	if m.Source != "" {
		parts = append(parts, m.Source)
	}
	if m.What != "" {
		parts = append(parts, m.What)
	}
	if len(parts) == 0 {
		return "an unnamed measurement of " + m.Env.GPU
	}
	return strings.Join(parts, ": ")
}

// shortOrigin names a measurement in a line: its file, device and date.
func shortOrigin(m *Measurement) string {
	if m.Source == "" {
		return fmt.Sprintf("a measurement of %s (measured %s)", m.Env.GPU, m.Measured)
	}
	return fmt.Sprintf("%s (%s, measured %s)", m.Source, m.Env.GPU, m.Measured)
}

// DeviceWarnings says when a measured device name does not look like the
// catalog chip: the chip's model number (H100 for h100-sxm) should appear
// in the name, and SXM and PCIe parts should not be mixed up.
func DeviceWarnings(device, chip string) []string {
	dev := strings.ToUpper(device)
	model := strings.ToUpper(strings.SplitN(chip, "-", 2)[0])
	var w []string
	if !strings.Contains(dev, model) {
		w = append(w, fmt.Sprintf("env.gpu: %q does not look like chip %s (no %q in the name); is --chip right?", device, chip, model))
	} else if pcie := strings.Contains(dev, "PCIE"); pcie && strings.Contains(chip, "sxm") {
		w = append(w, fmt.Sprintf("env.gpu: %q is a PCIe part but chip %s is SXM; is --chip right?", device, chip))
	} else if !pcie && strings.Contains(chip, "pcie") {
		w = append(w, fmt.Sprintf("env.gpu: %q does not look like a PCIe part but chip %s is; is --chip right?", device, chip))
	}
	return w
}

// InferChip maps a device name, as torch.cuda.get_device_name reports it,
// to a catalog chip name. ok is false when the name is not recognised.
func InferChip(device string) (chip string, ok bool) {
	d := strings.ToUpper(device)
	has := func(s string) bool { return strings.Contains(d, s) }
	switch {
	case has("GH200"):
		return "", false // Grace Hopper: not in the catalog
	case has("H100"):
		if has("PCIE") {
			return "h100-pcie", true
		}
		if has("HBM3") || has("SXM") {
			return "h100-sxm", true
		}
		return "", false // H100 NVL and others
	case has("H200"):
		return "h200", true
	case has("H800"):
		return "h800", true
	case has("A100"):
		return "a100-sxm-80gb", true
	case has("GB300"):
		return "gb300", true
	case has("B300"):
		return "b300", true
	case has("GB200"):
		return "gb200", true
	case has("B200"):
		return "b200", true
	case has("MI300X"):
		return "mi300x", true
	case has("MI325X"):
		return "mi325x", true
	case has("MI355X"):
		return "mi355x", true
	}
	return "", false
}

// round4 keeps four significant digits: the measurements are not more
// precise, and short numbers keep profiles readable.
func round4(x float64) float64 {
	if x == 0 || math.IsNaN(x) || math.IsInf(x, 0) {
		return x
	}
	r, _ := strconv.ParseFloat(strconv.FormatFloat(x, 'g', 4, 64), 64)
	return r
}

func mean(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	var s float64
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

func maxOf(xs []float64) float64 {
	var m float64
	for _, x := range xs {
		m = math.Max(m, x)
	}
	return m
}
