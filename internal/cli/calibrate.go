package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/flopcast/flopcast/calibrate"
	"github.com/flopcast/flopcast/hardware"
)

func init() { register(newCalibrateCmd) }

// calibrateOptions are the flags of flopcast calibrate.
type calibrateOptions struct {
	IO   *IO
	From string // measurement JSON; "-" reads stdin
	Out  string // profile YAML; "-" writes stdout
	Chip string // catalog chip; empty: inferred from the device name
	JSON bool
}

func newCalibrateCmd(io *IO) *cobra.Command {
	o := &calibrateOptions{IO: io}
	cmd := &cobra.Command{
		Use:   "calibrate --from measured.json --out profile.yaml [--chip NAME]",
		Short: "Fit a chip profile to a GPU measurement",
		Long: `Fit a chip profile to a GPU measurement written by tools/gpu/measure.py.

The profile holds the fitted GEMM, attention and memory efficiencies of the
measured chip; name it in run.yaml as cluster.profile to use it in place of
the catalog's defaults. The chip is inferred from the measured device name
(NVIDIA H100 80GB HBM3 is h100-sxm) unless --chip names it.`,
		Example: "  python3 tools/gpu/measure.py --out h100.json   # on the GPU machine\n" +
			"  flopcast calibrate --from h100.json --out h100.yaml",
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error { return runCalibrate(o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.From, "from", "", "measurement JSON written by tools/gpu/measure.py (- for stdin)")
	f.StringVar(&o.Out, "out", "", "profile YAML to write (- for stdout)")
	f.StringVar(&o.Chip, "chip", "", "catalog chip that was measured (default: inferred from the device name)")
	f.BoolVar(&o.JSON, "json", false, "print the fit as JSON")
	_ = cmd.MarkFlagRequired("from")
	_ = cmd.MarkFlagRequired("out")
	return cmd
}

// calibrateResult is the --json output.
type calibrateResult struct {
	From         string               `json:"from"`
	Out          string               `json:"out"`
	Chip         string               `json:"chip"`
	ChipInferred bool                 `json:"chip_inferred"`
	Profile      *hardware.Profile    `json:"profile"`
	Warnings     []string             `json:"warnings"`
	Points       []calibrate.Residual `json:"points"`
	Unused       map[string]int       `json:"unused"` // points kept for validation, not fitted
}

func runCalibrate(o *calibrateOptions) error {
	if o.JSON && o.Out == "-" {
		return &fieldError{Field: "--out", Value: "-", Reason: "would mix the profile with the --json output on stdout", Hint: "--out profile.yaml"}
	}
	var b []byte
	var err error
	if o.From == "-" {
		b, err = io.ReadAll(o.IO.In)
	} else {
		b, err = os.ReadFile(o.From)
	}
	if err != nil {
		return err
	}
	m, err := calibrate.ParseMeasurement(b)
	if err != nil {
		return fmt.Errorf("%s: %w", o.From, err)
	}
	if o.From != "-" {
		m.Source = filepath.Base(o.From)
	}

	chip, inferred := o.Chip, false
	if chip == "" {
		c, ok := calibrate.InferChip(m.Env.GPU)
		if !ok {
			return &fieldError{Field: "env.gpu", Value: fmt.Sprintf("%q", m.Env.GPU),
				Reason: "is not a device flopcast can match to a catalog chip", Hint: "--chip NAME (flopcast catalog chips lists them)"}
		}
		chip, inferred = c, true
	}
	c, ok := hardware.LookupChip(chip)
	if !ok {
		return &fieldError{Field: "--chip", Value: chip, Reason: "is not in the catalog", Allowed: strings.Join(hardware.ChipNames(), ", ")}
	}
	prof, warns, err := calibrate.Fit(m, chip)
	if err != nil {
		return fmt.Errorf("%s: %w", o.From, err)
	}
	y, err := calibrate.MarshalProfile(prof)
	if err != nil {
		return err
	}
	if _, err := hardware.ParseProfile(y); err != nil {
		return fmt.Errorf("calibrate: the written profile does not read back: %w", err)
	}
	if o.Out == "-" {
		if _, err := o.IO.Out.Write(y); err != nil {
			return err
		}
	} else if err := os.WriteFile(o.Out, y, 0o644); err != nil {
		return err
	}

	points := calibrate.Residuals(m, c, prof.GEMM)
	if o.JSON {
		if warns == nil {
			warns = []string{}
		}
		enc := json.NewEncoder(o.IO.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(calibrateResult{
			From: o.From, Out: o.Out, Chip: chip, ChipInferred: inferred,
			Profile: prof, Warnings: warns, Points: points,
			Unused: map[string]int{"elementwise": len(m.Elementwise), "steps": len(m.Steps)},
		})
	}
	w := o.IO.Out
	if o.Out == "-" {
		w = o.IO.Err // stdout carries the profile
	}
	writeCalibrateSummary(w, o, prof, c, m, points, inferred)
	for _, s := range warns {
		fmt.Fprintf(o.IO.Err, "warning: %s\n", s)
	}
	return nil
}

func writeCalibrateSummary(w io.Writer, o *calibrateOptions, p *hardware.Profile, c hardware.Chip, m *calibrate.Measurement, pts []calibrate.Residual, inferred bool) {
	g := p.GEMM
	how := ""
	if inferred {
		how = "; chip inferred from the device name, --chip overrides"
	}
	fmt.Fprintf(w, "%s profile from %s (%s, measured %s%s)\n", p.Chip, o.From, p.Device, p.Measured, how)
	worst := func(kinds ...string) (n int, r calibrate.Residual) {
		for _, x := range pts {
			for _, k := range kinds {
				if x.Kind == k {
					n++
					if math.Abs(x.RelErr) >= math.Abs(r.RelErr) {
						r = x
					}
				}
			}
		}
		return n, r
	}
	fp8 := "same as max_eff"
	if g.FP8MaxEff > 0 {
		fp8 = fmt.Sprintf("%.4g", g.FP8MaxEff)
	}
	fmt.Fprintf(w, "  gemm       max_eff %.4g  fp8_max_eff %s  overhead %.4g us  (%d units, %dx%d tiles)\n",
		g.MaxEff, fp8, g.OverheadUs, g.Units, g.TileM, g.TileN)
	n, r := worst("gemm")
	fmt.Fprintf(w, "             %d points: error mean %.1f%%, worst %.1f%% (%s)\n", n, 100*p.GEMMFitMeanErr, 100*math.Abs(r.RelErr), r.Label)
	fmt.Fprintf(w, "  attention  max_eff %.4g  half_seq %.4g  bwd_ratio %.4g\n", g.AttnMaxEff, g.AttnHalfSeq, g.AttnBwdRatio)
	n, r = worst("attn_fwd", "attn_bwd")
	fmt.Fprintf(w, "             %d times: error mean %.1f%%, worst %.1f%% (%s)\n", n, 100*p.AttnFitMeanErr, 100*math.Abs(r.RelErr), r.Label)
	fmt.Fprintf(w, "  memory     mem_eff %.4g  (copy %.3g TB/s of %.3g TB/s)\n", g.MemEff, m.Env.CopyTBps, c.HBMTBps)
	if o.Out != "-" {
		fmt.Fprintf(w, "wrote %s\n", o.Out)
	}
}
