package web

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/flopcast/flopcast/infer"
)

// inferNoLayout is the 422 answer of /api/infer when no serving layout is
// feasible: why, the nearest miss and what would admit one.
type inferNoLayout struct {
	Error   string        `json:"error"`
	Hints   []string      `json:"hints,omitempty"`
	Closest *infer.Result `json:"closest,omitempty"`
}

// infer answers POST /api/infer: the serve.yaml structure as JSON in, the
// `flopcast infer --json` report out (docs/serving.md). ?top=N bounds the
// ranked list.
func (s *server) infer(w http.ResponseWriter, r *http.Request) {
	b, err := s.readBody(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if !json.Valid(b) {
		s.writeError(w, r, badInput{jsonSyntaxError(b)})
		return
	}
	sv, err := infer.ParseJSON(b)
	if err != nil {
		s.writeError(w, r, badInput{err})
		return
	}
	rs, err := infer.Resolve(sv)
	if err != nil {
		s.writeError(w, r, badInput{err})
		return
	}
	top, err := topParam(r, 10, 1000)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	release, err := s.acquire(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	defer release()
	rep, err := infer.Infer(rs, infer.Options{Top: top})
	var nl *infer.NoLayoutError
	switch {
	case errors.As(err, &nl):
		writeJSON(w, http.StatusUnprocessableEntity, inferNoLayout{Error: err.Error(), Hints: nl.Hints, Closest: nl.Closest})
	case err != nil:
		s.writeError(w, r, err)
	default:
		writeJSON(w, http.StatusOK, rep)
	}
}
