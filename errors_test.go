package flopcast_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/flopcast/flopcast"
)

func ExampleFieldError() {
	err := &flopcast.FieldError{Field: "parallel.tp", Value: 3, Reason: "does not divide model.heads=64", Allowed: "1, 2, 4, 8, 16, 32, 64"}
	fmt.Println(err)
	b, _ := json.Marshal(err)
	fmt.Println(string(b))
	// Output:
	// parallel.tp: 3 does not divide model.heads=64 (allowed: 1, 2, 4, 8, 16, 32, 64)
	// {"error":"parallel.tp: 3 does not divide model.heads=64 (allowed: 1, 2, 4, 8, 16, 32, 64)","field":"parallel.tp","value":3,"reason":"does not divide model.heads=64","allowed":"1, 2, 4, 8, 16, 32, 64"}
}

func TestFieldErrorText(t *testing.T) {
	for _, tc := range []struct {
		e    flopcast.FieldError
		want string
	}{
		{flopcast.FieldError{Field: "cluster.chips", Value: 0, Allowed: "a positive integer"}, "cluster.chips: 0 is not allowed (allowed: a positive integer)"},
		{flopcast.FieldError{Field: "env.gpu", Value: flopcast.Missing, Reason: "is required"}, "env.gpu: (missing) is required"},
		{flopcast.FieldError{Field: "budget", Value: -1.0, Allowed: "a positive number of USD", Hint: "100e9"}, "budget: -1 is not allowed (allowed: a positive number of USD); try: 100e9"},
	} {
		if got := tc.e.Error(); got != tc.want {
			t.Errorf("got %q, want %q", got, tc.want)
		}
	}
}
