package spec_test

import (
	"fmt"

	"github.com/flopcast/flopcast/spec"
)

// Errors name the field, the value and what is allowed.
func ExampleResolve() {
	run, _ := spec.Parse([]byte(`
model: llama3-70b
cluster: {chip: h100-sxm, chips: 1024}
training: {seq_len: 8192, global_batch: 1024}
parallel: {tp: 16, pp: 3}
`))
	r, err := spec.Resolve(run)
	if err == nil {
		err = r.CheckLayout(r.Layout)
	}
	fmt.Println(err)
	// Output:
	// parallel: tp×pp×cp = 16×3×1 = 48 does not divide cluster.chips=1024 (allowed: tp×pp×cp dividing 1024); try: cluster.chips: 1056
}

func ExampleParse_unknownField() {
	_, err := spec.Parse([]byte("model: llama3-8b\ncluster: {chip: h100-sxm, chips: 8, nodes: 1}\n"))
	fmt.Println(err)
	// Output:
	// cluster.nodes: (line 2) is not a known field (allowed: chip, chips, scale_up_domain, scale_up_gbps, scale_out_gbps, hbm_gib, profile)
}
