package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"text/tabwriter"

	"github.com/flopcast/flopcast/calibrate"
	"github.com/flopcast/flopcast/spec"

	"github.com/flopcast/flopcast/validate"
	"github.com/spf13/cobra"
)

func init() { register(newValidateCmd) }

func newValidateCmd(io *IO) *cobra.Command {
	var asJSON bool
	var measured, chip string
	cmd := &cobra.Command{
		Use:   "validate",
		Short: "Compare predictions with the built-in corpus of published runs",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if measured != "" {
				return validateMeasured(io, measured, chip, asJSON)
			}
			rep, err := validate.Run()
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(io.Out, rep)
			}
			w := io.Out
			part := func(r validate.Result) int {
				switch {
				case validate.IsWholeRun(r.Metric):
					return 2
				case r.Confidence == validate.Recalled:
					return 1
				}
				return 0
			}
			for i, title := range []string{"confirmed (✔) and secondary (◐) rows", "recalled (✱) rows, reported apart",
				"whole-run rows (chip-hours, carbon; goodput and an unpublished layout included), reported apart"} {
				fmt.Fprintf(w, "%s\n", title)
				tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
				fmt.Fprintln(tw, "  row\tmetric\tmeasured\tpredicted\terror\tlayout")
				for _, r := range rep.Rows {
					if part(r) != i {
						continue
					}
					fmt.Fprintf(tw, "  %s\t%s\t%.4g\t%.4g\t%+.1f%%\t%s\n", r.Name, r.Metric, r.Measured, r.Predicted, 100*r.Err, r.Layout)
				}
				tw.Flush()
				fmt.Fprintln(w)
			}
			fmt.Fprintf(w, "rows: %d (%d confirmed/secondary, %d recalled, %d whole-run)\n", len(rep.Rows), rep.Trusted, rep.Recalled, rep.WholeRun)
			fmt.Fprintf(w, "mean |error|: %.1f%% over all step rows, %.1f%% over confirmed/secondary, %.1f%% over recalled, %.1f%% over whole-run rows\n",
				100*rep.MeanAbsErr, 100*rep.TrustedMeanAbs, 100*rep.RecalledMeanAbs, 100*rep.WholeRunMeanAbs)
			fmt.Fprintf(w, "worst |error|: %.1f%% over all step rows, %.1f%% over confirmed/secondary\n", 100*rep.WorstAbsErr, 100*rep.TrustedWorstAbs)
			fmt.Fprintf(w, "worst step rows:\n")
			for _, r := range rep.Worst(3) {
				fmt.Fprintf(w, "  %s: %+.1f%% (%s)\n", r.Name, 100*r.Err, r.Source)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON (keys in docs/output.md)")
	cmd.Flags().StringVar(&measured, "measured", "", "a tools/gpu/measure.py file: compare its whole training steps with predictions from the default curve and from the profile fitted to it")
	cmd.Flags().StringVar(&chip, "chip", "", "catalog chip of --measured (default: inferred from the device name)")
	return cmd
}

func validateMeasured(io *IO, path, chip string, asJSON bool) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	m, err := calibrate.ParseMeasurement(b)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	m.Source = filepath.Base(path)
	if chip == "" {
		c, ok := calibrate.InferChip(m.Env.GPU)
		if !ok {
			return &spec.FieldError{Field: "--chip", Value: "(missing)", Reason: fmt.Sprintf("cannot be inferred from the device %q", m.Env.GPU), Allowed: "a catalog chip name"}
		}
		chip = c
	}
	prof, warns, err := calibrate.Fit(m, chip)
	if err != nil {
		return err
	}
	for _, w := range warns {
		fmt.Fprintf(io.Err, "warning: %s\n", w)
	}
	pb, err := calibrate.MarshalProfile(prof)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp("", "flopcast-profile-*.yaml")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(pb); err != nil {
		return err
	}
	tmp.Close()
	rep, err := validate.CompareMeasured(m, chip, tmp.Name())
	if err != nil {
		return err
	}
	if asJSON {
		return writeJSON(io.Out, rep)
	}
	w := io.Out
	fmt.Fprintf(w, "%s on %s (%s): whole training steps, measured against predicted\n", m.Source, rep.GPU, rep.Chip)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  row\tmetric\tmeasured\tdefault curve\terror\tfitted profile\terror")
	for _, r := range rep.Rows {
		fmt.Fprintf(tw, "  %s\t%s\t%.4g\t%.4g\t%+.1f%%\t%.4g\t%+.1f%%\n", r.Name, r.Metric, r.Measured, r.Default, 100*r.DefaultErr, r.Profile, 100*r.ProfileErr)
	}
	tw.Flush()
	fmt.Fprintf(w, "mean |error|: step time %.1f%% (default) %.1f%% (profile); peak memory %.1f%% (default) %.1f%% (profile)\n",
		100*rep.StepDefault, 100*rep.StepProfile, 100*rep.MemDefault, 100*rep.MemProfile)
	return nil
}
