package calibrate

import (
	"bytes"
	"fmt"

	"go.yaml.in/yaml/v3"

	"github.com/flopcast/flopcast/hardware"
)

// MarshalProfile renders a profile as the YAML file that cluster.profile
// names and hardware.ParseProfile reads: one top-level profile: key, with a
// comment that says how it was made.
func MarshalProfile(p *hardware.Profile) ([]byte, error) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# Chip profile for %s, written by `flopcast calibrate`; regenerate rather than edit.\n", p.Chip)
	fmt.Fprintf(&b, "# GEMM: t = 2mnk / (peak x max_eff x wave_eff) + overhead_us; fit mean error %.1f%%, worst %.1f%%.\n",
		100*p.GEMMFitMeanErr, 100*p.GEMMFitWorstErr)
	fmt.Fprintf(&b, "# Attention: eff = attn_max_eff x s/(s+attn_half_seq), backward x attn_bwd_ratio; fit mean error %.1f%%.\n",
		100*p.AttnFitMeanErr)
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(struct {
		Profile *hardware.Profile `yaml:"profile"`
	}{p}); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
