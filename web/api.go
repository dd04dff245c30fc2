package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/flopcast/flopcast"
	"io"
	"math"
	"net"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	"github.com/flopcast/flopcast/economics"
	"github.com/flopcast/flopcast/estimate"
	"github.com/flopcast/flopcast/hardware"
	"github.com/flopcast/flopcast/model"
	"github.com/flopcast/flopcast/search"
	"github.com/flopcast/flopcast/spec"
	"github.com/flopcast/flopcast/validate"
)

// errorBody is the JSON of an error that is not a *flopcast.FieldError (which
// marshals itself with the same "error" key plus "field", "value", ...).
type errorBody struct {
	Error string `json:"error"`
	Field string `json:"field,omitempty"`
}

// noLayoutBody is the 422 answer of a search that finds no layout.
type noLayoutBody struct {
	Error   string           `json:"error"`
	Hints   []string         `json:"hints,omitempty"`
	Closest *estimate.Result `json:"closest,omitempty"`
}

// badInput marks an error caused by the request rather than the server.
type badInput struct{ err error }

func (e badInput) Error() string { return e.err.Error() }
func (e badInput) Unwrap() error { return e.err }

// Result is one configuration's answer: the estimate object of docs/output.md
// with the optional whole-run block, plus the estimator's warnings and,
// from /api/estimate, the pipeline timeline.
type Result struct {
	estimate.Result
	// Placement says where each parallel group's members sit.
	Placement []estimate.Group   `json:"placement,omitempty"`
	Run       *economics.Run     `json:"run,omitempty"`
	Warnings  []string           `json:"warnings,omitempty"`
	Timeline  *estimate.Timeline `json:"timeline,omitempty"`
}

// EstimateResponse is the answer of /api/estimate: what `flopcast estimate
// --json` prints, plus the pipeline timeline.
type EstimateResponse struct {
	Model  string `json:"model"`
	Chip   string `json:"chip"`
	Chips  int    `json:"chips"`
	Recipe string `json:"recipe"`
	Result
}

// SearchResponse is the answer of /api/search: the search JSON of docs/output.md
// §3, its results with whole-run totals, and the usable HBM for the memory
// chart.
type SearchResponse struct {
	Results     []Result `json:"results"`
	Pareto      []Result `json:"pareto"`
	Evaluated   int64    `json:"evaluated"`
	Feasible    int64    `json:"feasible"`
	ElapsedS    float64  `json:"elapsed_s"`
	Explanation []string `json:"explanation,omitempty"`
	Warnings    []string `json:"warnings,omitempty"`
	Model       string   `json:"model"`
	Chip        string   `json:"chip"`
	Chips       int      `json:"chips"`
	HBMGiB      float64  `json:"hbm_gib"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		status = http.StatusInternalServerError
		buf.Reset()
		fmt.Fprintf(&buf, "{\"error\":%q}\n", "encoding the answer: "+err.Error())
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// writeError maps an error to its status: the caller's mistakes are 4xx
// with the same message the CLI prints, anything else a 500 without
// internals beyond the message.
func (s *server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var fe *flopcast.FieldError
	var mb *http.MaxBytesError
	var bi badInput
	var nl *search.NoLayoutError
	switch {
	case errors.As(err, &fe):
		writeJSON(w, http.StatusBadRequest, fe)
	case errors.As(err, &mb):
		writeJSON(w, http.StatusRequestEntityTooLarge, errorBody{Error: fmt.Sprintf("request body is larger than %d bytes", mb.Limit)})
	case errors.Is(err, errSlowBody):
		w.Header().Set("Connection", "close")
		writeJSON(w, http.StatusRequestTimeout, errorBody{Error: err.Error()})
	case errors.Is(err, errBusy):
		w.Header().Set("Retry-After", "2")
		writeJSON(w, http.StatusTooManyRequests, errorBody{Error: err.Error()})
	case errors.Is(err, context.DeadlineExceeded):
		writeJSON(w, http.StatusServiceUnavailable, errorBody{Error: fmt.Sprintf("the search ran past its time limit (%v a search); pin more knobs or ask for fewer cells", s.opt.SearchTimeout)})
	case r.Context().Err() != nil:
		// The client went away; nobody reads this.
		writeJSON(w, http.StatusServiceUnavailable, errorBody{Error: "request cancelled"})
	case errors.As(err, &nl):
		// The run is valid but admits no layout: say why and what would.
		writeJSON(w, http.StatusUnprocessableEntity, noLayoutBody{Error: err.Error(), Hints: nl.Hints, Closest: nl.Closest})
	case errors.As(err, &bi):
		writeJSON(w, http.StatusBadRequest, errorBody{Error: err.Error()})
	default:
		s.logf("%s %s: %v", r.Method, r.URL.Path, err)
		writeJSON(w, http.StatusInternalServerError, errorBody{Error: err.Error()})
	}
}

// errSlowBody is returned by readBody when the client does not finish its
// body within the server's read timeout.
var errSlowBody = errors.New("the request body did not arrive within the server's read timeout")

// readBody reads a capped request body.
func (s *server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.opt.MaxBodyBytes))
	if err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			return nil, err
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return nil, errSlowBody
		}
		return nil, badInput{fmt.Errorf("reading the request: %w", err)}
	}
	return b, nil
}

// resolveJSON parses and resolves a run given as JSON. Resolve checks the
// given knobs only, so a search may leave a default layout that is invalid;
// an estimate checks its layout itself.
func resolveJSON(b []byte) (*spec.Resolved, error) {
	if !json.Valid(b) {
		return nil, badInput{jsonSyntaxError(b)}
	}
	run, err := spec.ParseJSON(b)
	if err != nil {
		return nil, badInput{err}
	}
	res, err := spec.Resolve(run)
	if err != nil {
		return nil, badInput{err}
	}
	return res, nil
}

// jsonSyntaxError says where a body stops being JSON.
func jsonSyntaxError(b []byte) error {
	var v any
	err := json.Unmarshal(b, &v)
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("request body is not valid JSON at byte %d: %v", se.Offset, se)
	}
	if err == nil {
		err = errors.New("trailing data")
	}
	return fmt.Errorf("request body is not valid JSON: %v", err)
}

// result wraps an estimate with its whole-run totals and warnings.
func result(r *spec.Resolved, e *estimate.Estimator, res estimate.Result) Result {
	out := Result{Result: res, Placement: e.Placement(res.Parallel), Warnings: e.Warnings(&res)}
	if r.Training.Tokens > 0 && !math.IsInf(res.StepTimeS, 0) && res.StepTimeS > 0 {
		var o economics.Options
		o.StepTimeErr, o.StepTimeErrFrom = validate.StepTimeErr(r)
		run, err := economics.WholeRunOpts(r, &res, o)
		if err != nil {
			out.Warnings = append(out.Warnings, "whole-run totals: "+err.Error())
		} else {
			out.Run = run
		}
	}
	return out
}

func (s *server) estimate(w http.ResponseWriter, r *http.Request) {
	b, err := s.readBody(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	rs, err := resolveJSON(b)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := rs.CheckLayout(rs.Layout); err != nil {
		s.writeError(w, r, err)
		return
	}
	e, err := estimate.New(rs)
	if err != nil {
		s.writeError(w, r, badInput{err})
		return
	}
	out := EstimateResponse{Model: rs.Model.Name, Chip: rs.Chip.Name, Chips: rs.Chips, Recipe: string(rs.Training.Recipe),
		Result: result(rs, e, e.Estimate(rs.Layout))}
	out.Warnings = append(append([]string{}, rs.Warnings...), out.Warnings...)
	if tl, err := e.Timeline(rs.Layout); err != nil {
		s.logf("timeline for %v: %v", rs.Layout, err)
	} else {
		out.Timeline = tl
	}
	writeJSON(w, http.StatusOK, out)
}

// topParam reads ?top=N, the length of a ranked list: 1..most, def when
// the query leaves it out.
func topParam(r *http.Request, def, most int) (int, error) {
	v := r.URL.Query().Get("top")
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > most {
		return 0, &flopcast.FieldError{Field: "top", Value: v, Allowed: fmt.Sprintf("1..%d", most)}
	}
	return n, nil
}

// runSearch runs one search under a slot and a timeout, tied to the
// request so that a client that goes away stops it.
func (s *server) runSearch(ctx context.Context, rs *spec.Resolved, opt search.Options) (*search.Report, error) {
	ctx, cancel := context.WithTimeout(ctx, s.opt.SearchTimeout)
	defer cancel()
	rep, err := search.Run(ctx, rs, opt)
	if err == nil && ctx.Err() != nil {
		err = ctx.Err()
	}
	return rep, err
}

func (s *server) search(w http.ResponseWriter, r *http.Request) {
	b, err := s.readBody(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	opt := search.DefaultOptions
	q := r.URL.Query()
	if opt.Top, err = topParam(r, opt.Top, 100); err != nil {
		s.writeError(w, r, err)
		return
	}
	if v := q.Get("objective"); v != "" {
		o, err := search.ParseObjective(v)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		opt.Objective = o
	}
	rs, err := resolveJSON(b)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	e, err := estimate.New(rs)
	if err != nil {
		s.writeError(w, r, badInput{err})
		return
	}
	release, err := s.acquire(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	rep, err := s.runSearch(r.Context(), rs, opt)
	release()
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, searchResponse(rs, e, rep))
}

func searchResponse(rs *spec.Resolved, e *estimate.Estimator, rep *search.Report) *SearchResponse {
	out := &SearchResponse{
		Results: []Result{}, Pareto: []Result{},
		Evaluated: rep.Evaluated, Feasible: rep.Feasible, ElapsedS: rep.ElapsedS,
		Explanation: rep.Explanation, Warnings: rs.Warnings,
		Model: rs.Model.Name, Chip: rs.Chip.Name, Chips: rs.Chips,
		HBMGiB: rs.Chip.HBMBytes() / (1 << 30),
	}
	for _, res := range rep.Results {
		out.Results = append(out.Results, result(rs, e, res))
	}
	for _, res := range rep.Pareto {
		out.Pareto = append(out.Pareto, Result{Result: res})
	}
	if len(rep.Results) > 0 && rep.Results[0].Memory.CapacityGiB > 0 {
		out.HBMGiB = rep.Results[0].Memory.CapacityGiB
	}
	return out
}

// SweepRequest is the body of /api/sweep: a base run and the chips and chip
// counts to try it on, as `flopcast compare` does. The run's tokens, or
// Chinchilla's 20 per parameter, give the time and rent of the whole run.
type SweepRequest struct {
	Run    json.RawMessage `json:"run"`
	Chips  []string        `json:"chips"`
	Counts []int           `json:"counts"`
	// Weak scales the global batch with the chip count.
	Weak bool `json:"weak,omitempty"`
}

func (s *server) sweep(w http.ResponseWriter, r *http.Request) {
	var req SweepRequest
	if !s.decodeRequest(w, r, "sweep request", &req) {
		return
	}
	if len(req.Chips) == 0 || len(req.Counts) == 0 {
		s.writeError(w, r, &flopcast.FieldError{Field: "chips", Value: len(req.Chips) * len(req.Counts), Reason: "gives no cell", Allowed: "at least one chip and one count"})
		return
	}
	if n := len(req.Chips) * len(req.Counts); n > s.opt.MaxSweepCells {
		s.writeError(w, r, &flopcast.FieldError{Field: "counts", Value: n, Reason: "is too many cells (chips × counts)", Allowed: fmt.Sprintf("at most %d", s.opt.MaxSweepCells)})
		return
	}
	if !json.Valid(req.Run) {
		s.writeError(w, r, badInput{errors.New("sweep request: run is missing or not JSON")})
		return
	}
	run, err := spec.ParseJSON(req.Run)
	if err != nil {
		s.writeError(w, r, badInput{err})
		return
	}
	release, err := s.acquire(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	defer release()
	ctx, cancel := s.batchDeadline(r.Context())
	defer cancel()
	rep, err := search.Sweep(ctx, *run, search.SweepOptions{Chips: req.Chips, Counts: req.Counts, Tokens: run.Training.Tokens, Weak: req.Weak})
	if err != nil {
		s.writeError(w, r, badInput{err})
		return
	}
	writeJSON(w, http.StatusOK, rep)
}

// batchDeadline bounds a request that runs several searches, so that it
// answers within the server's write timeout.
func (s *server) batchDeadline(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, 2*s.opt.SearchTimeout)
}

func (s *server) catalogChips(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, hardware.Chips())
}

func (s *server) catalogModels(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, model.Catalog())
}

// decodeRequest reads a request body into v, strictly: unknown fields are a
// 400 naming what. It answers the error itself and reports whether v holds
// the request.
func (s *server) decodeRequest(w http.ResponseWriter, r *http.Request, what string, v any) bool {
	b, err := s.readBody(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return false
	}
	if !json.Valid(b) {
		s.writeError(w, r, badInput{jsonSyntaxError(b)})
		return false
	}
	keys := jsonKeys(reflect.TypeOf(v).Elem())
	if t := bytes.TrimSpace(b); len(t) > 0 && t[0] != '{' {
		s.writeError(w, r, &flopcast.FieldError{Field: "body", Value: "a JSON " + spec.JSONKind(t[0]), Reason: "is not a " + what,
			Allowed: "a JSON object with keys " + strings.Join(keys, ", ")})
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		s.writeError(w, r, requestError(what, keys, err))
		return false
	}
	return true
}

// requestError says in the request's own words, never Go's, what is wrong
// with a body that decodes as JSON but not as the request.
func requestError(what string, keys []string, err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return &flopcast.FieldError{Field: te.Field, Value: "a JSON " + te.Value, Reason: "has the wrong type", Allowed: spec.JSONTypeWords(te.Type)}
	}
	if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return &flopcast.FieldError{Field: strings.Trim(f, `"`), Value: "(unknown)", Reason: "is not a field of a " + what,
			Allowed: strings.Join(keys, ", ")}
	}
	return badInput{fmt.Errorf("%s: %v", what, err)}
}

// jsonKeys lists the JSON keys of a struct type.
func jsonKeys(t reflect.Type) []string {
	var keys []string
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			keys = append(keys, name)
		}
	}
	return keys
}
