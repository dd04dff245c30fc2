package cli

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/flopcast/flopcast/calibrate"

	"github.com/flopcast/flopcast/validate"
	"github.com/spf13/cobra"
)

func init() { register(newValidateCmd) }

func newValidateCmd(io *IO) *cobra.Command {
	var asJSON, fillIn bool
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
			return writeValidate(io.Out, rep, fillIn)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON (keys in docs/output.md)")
	cmd.Flags().BoolVar(&fillIn, "fill-in", false, "under each row, how the knobs its source did not publish were filled in")
	cmd.Flags().StringVar(&measured, "measured", "", "a tools/gpu/measure.py file: compare its whole training steps with predictions from the default curve and from the profile fitted to it")
	cmd.Flags().StringVar(&chip, "chip", "", "catalog chip of --measured (default: inferred from the device name)")
	return cmd
}

// writeValidate prints the corpus report: the rows by group, with signed
// errors, then the time error by group, the memory rows, other simulators
// on their own validation sets, and the worst rows.
func writeValidate(w io.Writer, rep *validate.Report, fillIn bool) error {
	mark := map[string]string{validate.Confirmed: "✔", validate.Secondary: "◐", validate.Recalled: "✱"}
	anchorTitle := map[string]string{}
	for _, a := range rep.Anchors {
		anchorTitle[a.Name] = a.Title
	}
	for _, g := range validate.Groups {
		var rows []validate.Result
		for _, r := range rep.Rows {
			if r.Group == g {
				rows = append(rows, r)
			}
		}
		if len(rows) == 0 {
			continue
		}
		fmt.Fprintf(w, "%s\n", g)
		var buf bytes.Buffer
		tw := tabwriter.NewWriter(&buf, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  row\t\tmetric\tmeasured\tpredicted\terror\tother tool\tlayout")
		for _, r := range rows {
			other := ""
			if r.AnchorErr != nil {
				other = fmt.Sprintf("%s %+.1f%%", r.Anchor, 100**r.AnchorErr)
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%.4g\t%.4g\t%+.1f%%\t%s\t%s\n", r.Name, mark[r.Confidence], r.Metric, r.Measured, r.Predicted, 100*r.Err, other, r.Layout)
		}
		tw.Flush()
		lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
		fmt.Fprintln(w, lines[0])
		for i, line := range lines[1:] {
			fmt.Fprintln(w, strings.TrimRight(line, " "))
			if fillIn && rows[i].FillIn != "" {
				for _, l := range wrapText("fill-in: "+rows[i].FillIn, 110) {
					fmt.Fprintf(w, "      %s\n", l)
				}
			}
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w, "time error by group (|predicted - measured| / measured over step-time, throughput and MFU rows; ✔ confirmed, ◐ secondary, ✱ recalled)")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  group\trows\tmean\tworst\t✔◐ rows\t✔◐ mean\t✔◐ worst")
	for _, g := range validate.Groups {
		if s := rep.Groups[g]; s != nil {
			fmt.Fprintf(tw, "  %s\t%d\t%.1f%%\t%.1f%%\t%d\t%.1f%%\t%.1f%%\n", g, s.Rows, 100*s.MeanAbsErr, 100*s.WorstAbsErr,
				s.TrustedRows, 100*s.TrustedMeanAbsErr, 100*s.TrustedWorstAbsErr)
		}
	}
	tw.Flush()
	fmt.Fprintln(w)
	m := rep.Memory
	fmt.Fprintln(w, "memory (peak allocated or peak reserved GiB per device)")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  group\trows\tmean\tworst")
	for _, g := range validate.Groups {
		if s := m.Groups[g]; s != nil {
			fmt.Fprintf(tw, "  %s\t%d\t%.1f%%\t%.1f%%\n", g, s.Rows, 100*s.MeanAbsErr, 100*s.WorstAbsErr)
		}
	}
	fmt.Fprintf(tw, "  all\t%d\t%.1f%%\t%.1f%%\n", m.Rows, 100*m.MeanAbsErr, 100*m.WorstAbsErr)
	tw.Flush()
	fmt.Fprintln(w)
	if len(rep.Anchors) > 0 {
		fmt.Fprintln(w, "other simulators on their own validation sets: flopcast's mean / worst |error| beside theirs")
		for _, a := range rep.Anchors {
			fmt.Fprintf(w, "  %s (%s)\n", a.Title, a.Source)
			fmt.Fprintf(w, "    time:   flopcast %.1f%% / %.1f%% over %d rows; %s %.3g%% / %.3g%%\n", 100*a.Time.MeanAbsErr, 100*a.Time.WorstAbsErr, a.Time.Rows,
				a.Name, 100*a.TimeMeanAbsErr, 100*a.TimeWorstAbsErr)
			if a.Memory.Rows > 0 {
				fmt.Fprintf(w, "    memory: flopcast %.1f%% / %.1f%% over %d rows; %s %.3g%% / %.3g%%\n", 100*a.Memory.MeanAbsErr, 100*a.Memory.WorstAbsErr, a.Memory.Rows,
					a.Name, 100*a.MemMeanAbsErr, 100*a.MemWorstAbsErr)
			}
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "rows: %d (%d confirmed/secondary and %d recalled step rows, %d whole-run, %d memory)\n", len(rep.Rows), rep.Trusted, rep.Recalled, rep.WholeRun, m.Rows)
	fmt.Fprintf(w, "mean |error|: %.1f%% over all step rows, %.1f%% over confirmed/secondary, %.1f%% over recalled, %.1f%% over whole-run rows\n",
		100*rep.MeanAbsErr, 100*rep.TrustedMeanAbs, 100*rep.RecalledMeanAbs, 100*rep.WholeRunMeanAbs)
	fmt.Fprintf(w, "worst |error|: %.1f%% over all step rows, %.1f%% over confirmed/secondary\n", 100*rep.WorstAbsErr, 100*rep.TrustedWorstAbs)
	fmt.Fprintf(w, "worst step rows:\n")
	for _, r := range rep.Worst(5) {
		fmt.Fprintf(w, "  %s (%s): %+.1f%% (%s)\n", r.Name, r.Group, 100*r.Err, r.Source)
	}
	return nil
}

// wrapText breaks s into lines of at most width bytes at spaces.
func wrapText(s string, width int) []string {
	var lines []string
	var line strings.Builder
	for _, word := range strings.Fields(s) {
		if line.Len() > 0 && line.Len()+1+len(word) > width {
			lines = append(lines, line.String())
			line.Reset()
		}
		if line.Len() > 0 {
			line.WriteByte(' ')
		}
		line.WriteString(word)
	}
	if line.Len() > 0 {
		lines = append(lines, line.String())
	}
	return lines
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
			return &fieldError{Field: "--chip", Value: "(missing)", Reason: fmt.Sprintf("cannot be inferred from the device %q", m.Env.GPU), Allowed: "a catalog chip name"}
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
