package web

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/flopcast/flopcast/estimate"
	"github.com/flopcast/flopcast/search"
	"github.com/flopcast/flopcast/spec"
)

const llama70b = `{"model": "llama3-70b", "cluster": {"chip": "h100-sxm", "chips": 1024},
	"training": {"seq_len": 8192, "global_batch": 1024%s}%s}`

// body builds a run.yaml JSON document for the 70B default plan, with extra
// training fields and extra top-level blocks.
func body(training, rest string) string {
	s := strings.Replace(llama70b, "%s", training, 1)
	return strings.Replace(s, "%s", rest, 1)
}

type response struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("response is not a JSON object: %v\n%s", err, r.Body)
	}
	return m
}

func serve(t *testing.T, h http.Handler, method, path, reqBody string) response {
	t.Helper()
	return serveCtx(t, context.Background(), h, method, path, reqBody)
}

func serveCtx(t *testing.T, ctx context.Context, h http.Handler, method, path, reqBody string) response {
	t.Helper()
	var rd io.Reader
	if reqBody != "" {
		rd = strings.NewReader(reqBody)
	}
	req := httptest.NewRequestWithContext(ctx, method, path, rd)
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/json")
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return response{rec.Code, rec.Header(), rec.Body.Bytes()}
}

// hasKeys fails unless m holds every dotted key path.
func hasKeys(t *testing.T, m map[string]any, keys ...string) {
	t.Helper()
	for _, k := range keys {
		var v any = m
		for _, part := range strings.Split(k, ".") {
			obj, ok := v.(map[string]any)
			if !ok {
				v = nil
				break
			}
			v = obj[part]
		}
		if v == nil {
			t.Errorf("missing key %s", k)
		}
	}
}

// estimateKeys are the keys docs/output.md promises in an estimate object.
var estimateKeys = []string{
	"parallel.tp", "parallel.pp", "parallel.dp", "parallel.cp", "parallel.ep", "parallel.vpp", "parallel.micro_batch",
	"parallel.zero", "parallel.recompute", "parallel.sequence_parallel",
	"step_time_s", "tokens_per_s", "model_tflops_per_chip", "mfu", "hfu",
	"memory.peak_gib", "memory.weights_gib", "memory.grads_gib", "memory.optimizer_gib", "memory.activations_gib",
	"memory.other_gib", "memory.fits",
	"breakdown.compute_s", "breakdown.exposed_tp_comm_s", "breakdown.exposed_cp_comm_s", "breakdown.exposed_ep_comm_s",
	"breakdown.pipeline_bubble_s", "breakdown.exposed_dp_comm_s", "breakdown.optimizer_s",
}

var runKeys = []string{"run.steps", "run.days", "run.chip_hours", "run.cost_usd", "run.energy_mwh", "run.co2_t", "run.interruptions", "run.goodput"}

func TestEstimate(t *testing.T) {
	h := Handler(Options{})
	req := body(`, "tokens": 15e12`, `, "parallel": {"tp": 8, "pp": 4, "vpp": 2}`)
	resp := serve(t, h, "POST", "/api/estimate", req)
	if resp.Status != http.StatusOK {
		t.Fatalf("status %d: %s", resp.Status, resp.Body)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q", ct)
	}
	m := resp.json(t)
	hasKeys(t, m, estimateKeys...)
	hasKeys(t, m, runKeys...)
	hasKeys(t, m, "timeline.bars", "timeline.bubble_fraction")

	// The answer is the estimator's, and the timeline is its schedule.
	run, err := spec.ParseJSON([]byte(req))
	if err != nil {
		t.Fatal(err)
	}
	r, err := spec.Resolve(run)
	if err != nil {
		t.Fatal(err)
	}
	e, err := estimate.New(r)
	if err != nil {
		t.Fatal(err)
	}
	want := e.Estimate(r.Layout)
	var got Result
	if err := json.Unmarshal(resp.Body, &got); err != nil {
		t.Fatal(err)
	}
	if got.StepTimeS != want.StepTimeS || got.MFU != want.MFU || got.Parallel != want.Parallel {
		t.Errorf("got step %v mfu %v %v, want the estimator's %v %v %v", got.StepTimeS, got.MFU, got.Parallel, want.StepTimeS, want.MFU, want.Parallel)
	}
	tl := got.Timeline
	if tl == nil {
		t.Fatal("no timeline")
	}
	m2 := want.Parallel.MicroBatches(r.Training.GlobalBatch)
	if tl.Stages != 4 || tl.VPP != 2 || tl.MicroBatches != m2 {
		t.Errorf("timeline %d stages %d vpp %d micro-batches, want 4, 2, %d", tl.Stages, tl.VPP, tl.MicroBatches, m2)
	}
	if !tl.Truncated && len(tl.Bars) != 2*4*2*m2 {
		t.Errorf("%d bars, want %d", len(tl.Bars), 2*4*2*m2)
	}

	// Without tokens there is no whole-run block.
	resp = serve(t, h, "POST", "/api/estimate", body("", ""))
	if resp.Status != http.StatusOK {
		t.Fatalf("status %d: %s", resp.Status, resp.Body)
	}
	if _, ok := resp.json(t)["run"]; ok {
		t.Errorf("a run block without training.tokens")
	}
}

func TestBadRequests(t *testing.T) {
	h := Handler(Options{MaxBodyBytes: 4 << 10})
	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		field                    string // "" = any
		msg                      string // regexp the error must match
	}{
		{"not JSON", "POST", "/api/estimate", `{"model": `, 400, "", `not valid JSON`},
		{"empty", "POST", "/api/estimate", ``, 400, "", `empty|not valid JSON`},
		{"unknown field", "POST", "/api/estimate", body("", `, "paralel": {}`), 400, "paralel", `paralel`},
		{"wrong type", "POST", "/api/estimate", strings.Replace(body("", ""), `"chips": 1024`, `"chips": "many"`, 1), 400, "cluster.chips", `type`},
		{"sweep unknown chip", "POST", "/api/sweep", `{"run": ` + body("", "") + `, "chips": ["h100-sxm", "nope"], "counts": [8]}`, 400, "cluster.chip", `nope`},
		{"unknown chip", "POST", "/api/search", strings.Replace(body("", ""), `h100-sxm`, `h100-sxn`, 1), 400, "cluster.chip", `h100-sxn`},
		{"bad tp", "POST", "/api/estimate", strings.Replace(body("", `, "parallel": {"tp": 3}`), "1024}", "1536}", 1), 400, "parallel.tp", `tp`},
		{"too large", "POST", "/api/estimate", `{"x": "` + strings.Repeat("a", 8<<10) + `"}`, 413, "", `larger than`},
		{"bad top", "POST", "/api/search?top=0", body("", ""), 400, "top", `top`},
		{"bad objective", "POST", "/api/search?objective=speed", body("", ""), 400, "objective", `speed`},
		{"wrong method", "GET", "/api/estimate", "", 405, "", `takes POST`},
		{"unknown route", "GET", "/api/nothing", "", 404, "", `no API route`},
		{"sweep without cells", "POST", "/api/sweep", `{"run": ` + body("", "") + `, "chips": [], "counts": [8]}`, 400, "chips", ``},
		{"sweep too big", "POST", "/api/sweep", `{"run": ` + body("", "") + `, "chips": ["h100-sxm"], "counts": [` + strings.Repeat("8,", 99) + `8]}`, 400, "counts", `too many`},
		{"capex no budget", "POST", "/api/capex", `{"chip": "h100-sxm"}`, 400, "budget_usd", ``},
		{"capex bad chip", "POST", "/api/capex", `{"budget_usd": 1e9, "chip": "nope"}`, 400, "chip", `nope`},
		{"capex bad scenario", "POST", "/api/capex", `{"scenario": "nope"}`, 400, "scenario", `nope`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := serve(t, h, tc.method, tc.path, tc.body)
			if resp.Status != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.Status, tc.status, resp.Body)
			}
			m := resp.json(t)
			msg, _ := m["error"].(string)
			if msg == "" {
				t.Fatalf("no error message: %s", resp.Body)
			}
			if !regexp.MustCompile(tc.msg).MatchString(msg) {
				t.Errorf("error %q does not match %q", msg, tc.msg)
			}
			if tc.field != "" && m["field"] != tc.field {
				t.Errorf("field %v, want %q", m["field"], tc.field)
			}
		})
	}
}

// The API's error message is the CLI's: the FieldError's own text.
func TestFieldErrorMatchesCLI(t *testing.T) {
	req := strings.Replace(body("", `, "parallel": {"tp": 3}`), "1024}", "1536}", 1)
	run, err := spec.ParseJSON([]byte(req))
	if err != nil {
		t.Fatal(err)
	}
	_, want := spec.Resolve(run)
	if want == nil {
		t.Fatal("tp=3 resolves")
	}
	resp := serve(t, Handler(Options{}), "POST", "/api/estimate", req)
	if got := resp.json(t)["error"]; got != want.Error() {
		t.Errorf("error %q, want the CLI's %q", got, want.Error())
	}
}

func TestCatalog(t *testing.T) {
	h := Handler(Options{})
	for _, tc := range []struct {
		path string
		want []string
	}{
		{"/api/catalog/chips", []string{"a100-sxm-80gb", "h100-sxm", "b200", "mi300x", "tpu-v5p", "trainium2", "gaudi3"}},
		{"/api/catalog/models", []string{"gpt3-175b", "llama3-70b", "llama3-405b", "mixtral-8x7b", "deepseek-v3"}},
	} {
		resp := serve(t, h, "GET", tc.path, "")
		if resp.Status != 200 {
			t.Fatalf("%s: status %d", tc.path, resp.Status)
		}
		var list []struct {
			Name string `json:"name"`
		}
		if err := json.Unmarshal(resp.Body, &list); err != nil {
			t.Fatalf("%s: %v", tc.path, err)
		}
		have := map[string]bool{}
		for _, x := range list {
			have[x.Name] = true
		}
		for _, n := range tc.want {
			if !have[n] {
				t.Errorf("%s: no %s", tc.path, n)
			}
		}
	}
}

func TestSearch(t *testing.T) {
	h := Handler(Options{})
	resp := serve(t, h, "POST", "/api/search?top=5", body(`, "tokens": 15e12`, ""))
	if resp.Status != 200 {
		t.Fatalf("status %d: %s", resp.Status, resp.Body)
	}
	m := resp.json(t)
	hasKeys(t, m, "results", "pareto", "evaluated", "feasible", "elapsed_s")
	var rep SearchResponse
	if err := json.Unmarshal(resp.Body, &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Results) == 0 || len(rep.Results) > 5 {
		t.Fatalf("%d results, want 1..5", len(rep.Results))
	}
	res0 := m["results"].([]any)[0].(map[string]any)
	hasKeys(t, res0, estimateKeys...)
	hasKeys(t, res0, runKeys...)
	for i, r := range rep.Results {
		p := r.Parallel
		if p.TP*p.PP*p.DP*p.CP != 1024 {
			t.Errorf("result %d: %v does not use 1024 chips", i, p)
		}
		if i > 0 && r.StepTimeS < rep.Results[i-1].StepTimeS {
			t.Errorf("result %d is faster than %d", i, i-1)
		}
	}
	if rep.HBMGiB <= 0 || rep.Chips != 1024 || rep.Chip != "h100-sxm" || rep.Model != "llama3-70b" {
		t.Errorf("hbm %v chips %d chip %q model %q", rep.HBMGiB, rep.Chips, rep.Chip, rep.Model)
	}
}

func TestSearchBusy(t *testing.T) {
	s := newServer(Options{MaxSearches: 1, QueueWait: 20 * time.Millisecond})
	h := s.handler()
	s.sem <- struct{}{} // another search holds the only slot
	resp := serve(t, h, "POST", "/api/search", body("", ""))
	if resp.Status != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("status %d Retry-After %q: %s", resp.Status, resp.Header.Get("Retry-After"), resp.Body)
	}
	<-s.sem
	if resp := serve(t, h, "POST", "/api/search", body("", "")); resp.Status != 200 {
		t.Fatalf("status %d after the slot freed: %s", resp.Status, resp.Body)
	}
}

func TestSearchClientGone(t *testing.T) {
	h := Handler(Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	resp := serveCtx(t, ctx, h, "POST", "/api/search", body("", ""))
	if resp.Status == 200 {
		t.Fatalf("a search for a client that went away answered 200")
	}
	// No search result was computed for nobody: the answer is the cancellation.
	if msg := resp.json(t)["error"]; msg != "request cancelled" {
		t.Errorf("error %q", msg)
	}
}

func TestRecover(t *testing.T) {
	var logged bytes.Buffer
	s := newServer(Options{Log: log.New(&logged, "", 0)})
	h := s.recoverer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") }))
	resp := serve(t, h, "GET", "/", "")
	if resp.Status != 500 {
		t.Fatalf("status %d", resp.Status)
	}
	if got := resp.json(t)["error"]; got != "internal error" {
		t.Errorf("error %q", got)
	}
	if bytes.Contains(resp.Body, []byte("goroutine")) || bytes.Contains(resp.Body, []byte("boom")) {
		t.Errorf("the response shows the panic: %s", resp.Body)
	}
	if !strings.Contains(logged.String(), "boom") || !strings.Contains(logged.String(), "goroutine") {
		t.Errorf("the log lacks the panic and its stack: %q", logged.String())
	}
}

func TestStatic(t *testing.T) {
	h := Handler(Options{})
	for _, tc := range []struct{ path, ctype, contains string }{
		{"/", "text/html", "<title>flopcast</title>"},
		{"/app.js", "javascript", "FLOPCAST_REPORT"},
		{"/style.css", "text/css", ".chart"},
		{"/echarts.min.js", "javascript", "Apache Software Foundation"},
	} {
		resp := serve(t, h, "GET", tc.path, "")
		if resp.Status != 200 {
			t.Errorf("%s: status %d", tc.path, resp.Status)
			continue
		}
		if ct := resp.Header.Get("Content-Type"); !strings.Contains(ct, tc.ctype) {
			t.Errorf("%s: Content-Type %q, want %s", tc.path, ct, tc.ctype)
		}
		if !bytes.Contains(resp.Body, []byte(tc.contains)) {
			t.Errorf("%s: no %q", tc.path, tc.contains)
		}
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
			t.Errorf("%s: CSP %q", tc.path, csp)
		}
	}
	// Nothing is loaded from elsewhere.
	page := serve(t, h, "GET", "/", "").Body
	if m := regexp.MustCompile(`(src|href)="(https?:)?//`).Find(page); m != nil {
		t.Errorf("index.html loads %s from another site", m)
	}
	if resp := serve(t, h, "POST", "/", "x"); resp.Status != http.StatusMethodNotAllowed {
		t.Errorf("POST /: status %d", resp.Status)
	}
}

func TestSweep(t *testing.T) {
	h := Handler(Options{})
	req := `{"run": ` + body(`, "tokens": 15e12`, `, "parallel": {"dp": 7}`) + `, "chips": ["h100-sxm", "b200"], "counts": [512, 256]}`
	resp := serve(t, h, "POST", "/api/sweep", req)
	if resp.Status != 200 {
		t.Fatalf("status %d: %s", resp.Status, resp.Body)
	}
	var rep search.SweepReport
	if err := json.Unmarshal(resp.Body, &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Cells) != 4 || rep.Tokens != 15e12 {
		t.Fatalf("%d cells for %g tokens, want 4 for 15e12", len(rep.Cells), rep.Tokens)
	}
	for _, c := range rep.Cells {
		if c.Best == nil {
			t.Errorf("cell %s×%d: %s", c.Chip, c.Chips, c.Error)
			continue
		}
		// The pinned dp gives way to the cell's chip count.
		p := c.Best.Parallel
		if p.TP*p.PP*p.DP*p.CP != c.Chips {
			t.Errorf("cell %s×%d: layout %v", c.Chip, c.Chips, p)
		}
		if c.Days <= 0 || c.RunUSD <= 0 {
			t.Errorf("cell %s×%d: %v days, $%v", c.Chip, c.Chips, c.Days, c.RunUSD)
		}
	}
}

func TestSearchNoLayout(t *testing.T) {
	req := strings.Replace(strings.Replace(body("", ""), "llama3-70b", "llama3-405b", 1), `"chips": 1024`, `"chips": 8`, 1)
	resp := serve(t, Handler(Options{}), "POST", "/api/search", strings.Replace(req, `"global_batch": 1024`, `"global_batch": 8`, 1))
	if resp.Status != http.StatusUnprocessableEntity {
		t.Fatalf("status %d, want 422: %s", resp.Status, resp.Body)
	}
	m := resp.json(t)
	if msg, _ := m["error"].(string); !strings.Contains(msg, "fits") && !strings.Contains(msg, "valid") {
		t.Errorf("error %q does not say why", msg)
	}
}

func TestCapex(t *testing.T) {
	h := Handler(Options{})
	resp := serve(t, h, "POST", "/api/capex", `{"budget_usd": 1e9, "chip": "h100-sxm", "model": "llama3-70b"}`)
	if resp.Status != 200 {
		t.Fatalf("status %d: %s", resp.Status, resp.Body)
	}
	m := resp.json(t)
	hasKeys(t, m, "budget_usd", "chip", "chips", "power_mw", "capex_split", "annual_bf16_flop", "trainable")
	if m["chip"] != "h100-sxm" || m["budget_usd"].(float64) != 1e9 || m["chips"].(float64) <= 0 {
		t.Errorf("capex %v", m)
	}

	resp = serve(t, h, "POST", "/api/capex", `{"scenario": "hyperscalers-2025", "model": "llama3-405b"}`)
	if resp.Status != 200 {
		t.Fatalf("scenario status %d: %s", resp.Status, resp.Body)
	}
	var sc ScenarioResponse
	if err := json.Unmarshal(resp.Body, &sc); err != nil {
		t.Fatal(err)
	}
	if sc.Scenario != "hyperscalers-2025" || len(sc.Plans) == 0 {
		t.Fatalf("scenario %q with %d plans", sc.Scenario, len(sc.Plans))
	}
	for _, p := range sc.Plans {
		if p.Chips <= 0 || p.BudgetUSD <= 0 || p.Company == "" {
			t.Errorf("plan %+v", p)
		}
	}

	resp = serve(t, h, "GET", "/api/capex/scenarios", "")
	if resp.Status != 200 || !bytes.Contains(resp.Body, []byte(`"hyperscalers-2025"`)) {
		t.Errorf("scenarios: status %d: %s", resp.Status, resp.Body)
	}
}

func TestValidate(t *testing.T) {
	resp := serve(t, Handler(Options{}), "GET", "/api/validate", "")
	if resp.Status != 200 {
		t.Fatalf("status %d: %s", resp.Status, resp.Body)
	}
	m := resp.json(t)
	hasKeys(t, m, "rows", "mean_abs_err", "worst_abs_err")
	rows, _ := m["rows"].([]any)
	if len(rows) == 0 {
		t.Fatal("no rows")
	}
	hasKeys(t, rows[0].(map[string]any), "name", "source", "measured", "predicted", "metric", "abs_err")
}

func TestWriteReport(t *testing.T) {
	run, err := spec.ParseJSON([]byte(body(`, "tokens": 15e12`, "")))
	if err != nil {
		t.Fatal(err)
	}
	r, err := spec.Resolve(run)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := search.Run(context.Background(), r, search.Options{Top: 3})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteReport(&buf, r, rep); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	// One file: no script, style or image is fetched.
	if m := regexp.MustCompile(`<script[^>]+src=|<link[^>]+href=|(src|href)="(https?:)?//`).FindString(page); m != "" {
		t.Errorf("the report references a file: %s", m)
	}
	for _, want := range []string{"echarts", "window.FLOPCAST_REPORT = ", "llama3-70b"} {
		if !strings.Contains(page, want) {
			t.Errorf("the report lacks %q", want)
		}
	}
	// The data parses and holds the search with a timeline per result.
	i := strings.Index(page, "window.FLOPCAST_REPORT = ")
	j := strings.Index(page[i:], ";\n</script>")
	var data reportData
	if err := json.Unmarshal([]byte(page[i+len("window.FLOPCAST_REPORT = "):i+j]), &data); err != nil {
		t.Fatalf("report data: %v", err)
	}
	if len(data.Search.Results) != len(rep.Results) || len(data.Timelines) != len(rep.Results) {
		t.Errorf("%d results and %d timelines, want %d", len(data.Search.Results), len(data.Timelines), len(rep.Results))
	}
}

// A loopback server refuses requests that name another host (DNS
// rebinding).
func TestLoopbackOnly(t *testing.T) {
	h := Handler(Options{LoopbackOnly: true})
	for host, want := range map[string]int{"127.0.0.1:8080": 200, "localhost:8080": 200, "[::1]:8080": 200, "evil.example:8080": 403, "10.0.0.1": 403} {
		req := httptest.NewRequest("GET", "/api/catalog/chips", nil)
		req.Host = host
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != want {
			t.Errorf("Host %s: %d, want %d", host, rec.Code, want)
		}
	}
}

// Every refusal of the loopback check is JSON like every other error.
func TestLoopbackOnlyAnswersJSON(t *testing.T) {
	h := Handler(Options{LoopbackOnly: true})
	req := httptest.NewRequest("POST", "/api/estimate", strings.NewReader(body("", "")))
	req.Host = "evil.example"
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("403 Content-Type %q, want application/json", ct)
	}
	m := response{rec.Code, rec.Header(), rec.Body.Bytes()}.json(t)
	if msg, _ := m["error"].(string); !strings.Contains(msg, "evil.example") {
		t.Errorf("error %q does not name the refused host", msg)
	}
}

// A web page on another origin can POST text/plain or form bodies without
// a CORS preflight; the API serves only bodies declared JSON.
func TestPostNeedsJSONContentType(t *testing.T) {
	h := Handler(Options{})
	for _, path := range []string{"/api/estimate", "/api/search", "/api/sweep", "/api/capex"} {
		for _, ct := range []string{"", "text/plain", "text/plain;charset=UTF-8", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/jsonx"} {
			req := httptest.NewRequest("POST", path, strings.NewReader(body("", "")))
			if ct != "" {
				req.Header.Set("Content-Type", ct)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusUnsupportedMediaType {
				t.Errorf("%s with Content-Type %q: %d, want 415", path, ct, rec.Code)
				continue
			}
			m := response{rec.Code, rec.Header(), rec.Body.Bytes()}.json(t)
			if msg, _ := m["error"].(string); !strings.Contains(msg, "application/json") {
				t.Errorf("%s: error %q does not say what to send", path, msg)
			}
		}
	}
	req := httptest.NewRequest("POST", "/api/estimate", strings.NewReader(body("", "")))
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Errorf("application/json; charset=utf-8: %d, want 200: %s", rec.Code, rec.Body)
	}
}

// A body that is JSON but not an object names what the API expected, in
// the words of run.yaml, never a Go type.
func TestNotAnObject(t *testing.T) {
	h := Handler(Options{})
	for _, b := range []string{`[]`, `[{"model": "llama3-70b"}]`, `"llama3-70b"`, `42`, `null`,
		strings.Replace(body("", ""), `{"chip": "h100-sxm", "chips": 1024}`, `["h100-sxm"]`, 1)} {
		resp := serve(t, h, "POST", "/api/estimate", b)
		if resp.Status != http.StatusBadRequest {
			t.Errorf("%.40s: status %d, want 400", b, resp.Status)
		}
		m := resp.json(t)
		msg, _ := m["error"].(string)
		if regexp.MustCompile(`spec\.|model\.Config|\*?[a-z]+\.[A-Z]\w+`).MatchString(msg) {
			t.Errorf("%.40s: error names a Go type: %q", b, msg)
		}
		if !strings.Contains(msg, "object") && !strings.Contains(msg, "mapping") {
			t.Errorf("%.40s: error %q does not say an object was expected", b, msg)
		}
	}
	// The other POST routes answer the same way, in their own keys.
	for _, tc := range []struct{ path, body, field, want string }{
		{"/api/infer", `[]`, "body", "a JSON object with keys model, cluster, serving"},
		{"/api/infer", `{"model": "llama3-8b", "cluster": ["h100-sxm"]}`, "cluster", "an object with keys chip, chips"},
		{"/api/infer", `{"model": "llama3-8b", "cluster": {"chip": "h100-sxm", "chips": 8}, "serving": {"input_tokens": "many"}}`, "serving.input_tokens", "an integer"},
		{"/api/estimate", strings.Replace(body("", ""), `"global_batch": 1024`, `"global_batch": 1024, "batch_ramp": {"tokens": 1}`, 1), "training.batch_ramp", "a list of objects with keys tokens, global_batch"},
		{"/api/sweep", `[]`, "body", "a JSON object with keys run, chips, counts"},
		{"/api/capex", `[{"budget_usd": 1e9}]`, "body", "a JSON object with keys budget_usd"},
		{"/api/sweep", `{"run": ` + body("", "") + `, "chips": "h100-sxm", "counts": [8]}`, "chips", "a list of strings"},
		{"/api/sweep", `{"run": ` + body("", "") + `, "chips": ["h100-sxm"], "counts": [8.5]}`, "counts", "an integer"},
		{"/api/capex", `{"budget_usd": "lots", "chip": "h100-sxm"}`, "budget_usd", "a number"},
		{"/api/capex", `{"budget": 1e9, "chip": "h100-sxm"}`, "budget", "budget_usd"},
	} {
		resp := serve(t, h, "POST", tc.path, tc.body)
		m := resp.json(t)
		msg, _ := m["error"].(string)
		if resp.Status != http.StatusBadRequest || m["field"] != tc.field || !strings.Contains(msg, tc.want) {
			t.Errorf("%s %.40s: %d field %v %q; want 400, field %s, %q", tc.path, tc.body, resp.Status, m["field"], msg, tc.field, tc.want)
		}
		if regexp.MustCompile(`web\.|infer\.|spec\.|Go |\[\]string|float64|value of type`).MatchString(msg) {
			t.Errorf("%s %.40s: error names a Go type: %q", tc.path, tc.body, msg)
		}
	}
}

// A client that stops sending its body gets 408 Request Timeout once the
// server's read timeout passes, as HTTP servers usually answer.
func TestSlowUpload(t *testing.T) {
	ts := httptest.NewUnstartedServer(Handler(Options{}))
	ts.Config.ReadTimeout = 200 * time.Millisecond
	ts.Start()
	defer ts.Close()
	c, err := net.Dial("tcp", ts.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "POST /api/estimate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"model\": ")
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusRequestTimeout {
		t.Errorf("status %d, want 408: %s", resp.StatusCode, b)
	}
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Errorf("Content-Type %q, want JSON: %s", resp.Header.Get("Content-Type"), b)
	}
}
