package web

import (
	"github.com/flopcast/flopcast"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/flopcast/flopcast/capex"
	"github.com/flopcast/flopcast/economics"
	"github.com/flopcast/flopcast/hardware"
	"github.com/flopcast/flopcast/model"
	"github.com/flopcast/flopcast/validate"
)

// CapexRequest is the body of /api/capex: a budget and a chip, or the name
// of a scenario of budgets (capex.Scenarios). Model and Tokens narrow
// the list of trainable runs.
type CapexRequest struct {
	BudgetUSD float64 `json:"budget_usd,omitempty"`
	Chip      string  `json:"chip,omitempty"`
	Scenario  string  `json:"scenario,omitempty"`
	Model     string  `json:"model,omitempty"`
	Tokens    float64 `json:"tokens,omitempty"`
}

// ScenarioResponse is the answer of /api/capex for a scenario: one plan per
// entry.
type ScenarioResponse struct {
	Scenario    string          `json:"scenario"`
	Description string          `json:"description"`
	Plans       []*capex.Report `json:"plans"`
}

func (s *server) capex(w http.ResponseWriter, r *http.Request) {
	var req CapexRequest
	if !s.decodeRequest(w, r, "capex request", &req) {
		return
	}
	ctx, cancel := s.batchDeadline(r.Context())
	defer cancel()
	opts := capex.Options{Model: req.Model, Tokens: req.Tokens, Context: ctx, Search: s.runSearch, StepTimeErr: validate.StepTimeErr}
	if req.Tokens < 0 {
		s.writeError(w, r, &flopcast.FieldError{Field: "tokens", Value: req.Tokens, Allowed: "0 (Chinchilla-optimal) or a positive number"})
		return
	}
	var sc capex.Scenario
	if req.Scenario != "" {
		var ok bool
		if sc, ok = capex.LookupScenario(req.Scenario); !ok {
			var names []string
			for _, x := range capex.Scenarios() {
				names = append(names, x.Name)
			}
			s.writeError(w, r, &flopcast.FieldError{Field: "scenario", Value: strconv.Quote(req.Scenario), Reason: "is not a known scenario", Allowed: strings.Join(names, ", ")})
			return
		}
	}
	var chip hardware.Chip
	if req.Scenario == "" {
		if req.BudgetUSD <= 0 {
			s.writeError(w, r, &flopcast.FieldError{Field: "budget_usd", Value: req.BudgetUSD, Allowed: "a positive number of US dollars", Hint: "10e9"})
			return
		}
		var ok bool
		if chip, ok = hardware.LookupChip(req.Chip); !ok {
			s.writeError(w, r, &flopcast.FieldError{Field: "chip", Value: strconv.Quote(req.Chip), Reason: "is not in the catalog", Allowed: strings.Join(hardware.ChipNames(), ", ")})
			return
		}
	}
	// The plan's jobs come from searches: take a slot like any search.
	release, err := s.acquire(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	defer release()
	if req.Scenario != "" {
		// The scenario table shows each budget's largest run: plan that
		// model only, unless the request names one.
		if req.Model == "" {
			opts.Models = []model.Config{largestRun(req.Tokens)}
		}
		plans, err := capex.RunScenario(sc, opts)
		if err != nil {
			s.writeError(w, r, badInput{err})
			return
		}
		writeJSON(w, http.StatusOK, ScenarioResponse{Scenario: sc.Name, Description: sc.Description, Plans: plans})
		return
	}
	plan, err := capex.Plan(req.BudgetUSD, chip, opts)
	if err != nil {
		s.writeError(w, r, badInput{err})
		return
	}
	writeJSON(w, http.StatusOK, plan)
}

// largestRun is the catalog model whose run (tokens, or Chinchilla-optimal)
// takes the most FLOPs.
func largestRun(tokens float64) model.Config {
	var best model.Config
	bestF := 0.0
	for _, m := range model.Catalog() {
		t := tokens
		if t == 0 {
			t = economics.ChinchillaTokensPerParam * m.Params()
		}
		if f := m.TrainFLOPsPerToken(8192) * t; f > bestF {
			best, bestF = m, f
		}
	}
	return best
}

func (s *server) capexScenarios(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, capex.Scenarios())
}

// validation runs the corpus once: it is built in and does not change.
var validation = sync.OnceValues(validate.Run)

func (s *server) validate(w http.ResponseWriter, r *http.Request) {
	rep, err := validation()
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, rep)
}
