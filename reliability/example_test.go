package reliability_test

import (
	"fmt"

	"github.com/flopcast/flopcast/reliability"
)

// The checkpoint interval for a 60 s checkpoint write on a job that is
// interrupted once an hour on average.
func ExampleDaly() {
	delta, mtti := 60.0, 3600.0
	fmt.Printf("Young %.0f s, Daly %.0f s\n", reliability.Young(delta, mtti), reliability.Daly(delta, mtti))
	// Output: Young 657 s, Daly 618 s
}

// Llama 3 saw 419 unexpected interruptions in 54 days on 16,384 H100s.
func ExampleMTTI() {
	lambda := 419 / (54 * 24 * 16384.0)
	for _, chips := range []int{1024, 16384, 131072} {
		fmt.Printf("%6d chips: MTTI %5.1f h\n", chips, reliability.MTTI(lambda, chips))
	}
	// Output:
	//   1024 chips: MTTI  49.5 h
	//  16384 chips: MTTI   3.1 h
	// 131072 chips: MTTI   0.4 h
}
