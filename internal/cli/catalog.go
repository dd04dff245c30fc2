package cli

import (
	"fmt"
	"text/tabwriter"

	"github.com/flopcast/flopcast/hardware"
	"github.com/flopcast/flopcast/model"
	"github.com/flopcast/flopcast/validate"
	"github.com/spf13/cobra"
)

func init() { register(newCatalogCmd) }

func newCatalogCmd(io *IO) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:       "catalog chips|models|runs",
		Short:     "List what is built in, with sources",
		Args:      cobra.ExactArgs(1),
		ValidArgs: []string{"chips", "models", "runs"},
		RunE: func(cmd *cobra.Command, args []string) error {
			switch args[0] {
			case "chips":
				if asJSON {
					return writeJSON(io.Out, hardware.Chips())
				}
				tw := tabwriter.NewWriter(io.Out, 0, 0, 2, ' ', 0)
				fmt.Fprintln(tw, "name\tBF16 TFLOP/s\tFP8\tHBM GB\tTB/s\tscale-up\tscale-out GB/s\tprofile\tsource")
				for _, c := range hardware.Chips() {
					up := c.Fabric[0]
					out := c.Fabric[len(c.Fabric)-1]
					prof := "-"
					if c.Profile != "" {
						prof = "measured"
					}
					fp8 := "-"
					if c.FP8TFLOPS > 0 {
						fp8 = fmt.Sprintf("%.0f", c.FP8TFLOPS)
					}
					fmt.Fprintf(tw, "%s\t%.0f\t%s\t%.0f\t%.2f\t%d× %s %.0f GB/s\t%.1f\t%s\t%s\n", c.Name, c.BF16TFLOPS, fp8, c.HBMGB, c.HBMTBps,
						up.Size, up.Name, up.GBps, out.GBps, prof, c.Source)
				}
				return tw.Flush()
			case "models":
				if asJSON {
					return writeJSON(io.Out, model.Catalog())
				}
				tw := tabwriter.NewWriter(io.Out, 0, 0, 2, ' ', 0)
				fmt.Fprintln(tw, "name\tparams\tactive\tlayers\thidden\theads/kv\tffn\tvocab\tkind\tsource")
				for _, m := range model.Catalog() {
					kind := "dense"
					if m.MoE != nil {
						kind = fmt.Sprintf("MoE %d×top%d", m.MoE.Experts, m.MoE.TopK)
					}
					if m.Attention == model.AttentionMLA {
						kind += ", MLA"
					} else if m.KVHeads < m.Heads {
						kind += ", GQA"
					}
					fmt.Fprintf(tw, "%s\t%.1fB\t%.1fB\t%d\t%d\t%d/%d\t%d\t%d\t%s\t%s\n", m.Name, m.Params()/1e9, m.ActiveParams()/1e9,
						m.Layers, m.Hidden, m.Heads, m.KVHeads, m.FFN, m.Vocab, kind, m.Source)
				}
				return tw.Flush()
			case "runs":
				rows, err := validate.Corpus()
				if err != nil {
					return err
				}
				if asJSON {
					return writeJSON(io.Out, rows)
				}
				tw := tabwriter.NewWriter(io.Out, 0, 0, 2, ' ', 0)
				fmt.Fprintln(tw, "name\tmetric\tmeasured\tconfidence\tsource")
				for _, r := range rows {
					fmt.Fprintf(tw, "%s\t%s\t%g\t%s\t%s\n", r.Name, r.Metric, r.Measured, r.Confidence, r.Source)
				}
				return tw.Flush()
			}
			return fmt.Errorf("catalog: %q is not a catalog (allowed: chips, models, runs)", args[0])
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}
