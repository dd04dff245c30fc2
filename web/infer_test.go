package web

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

const inferBody = `{"model": "llama3-70b", "cluster": {"chip": "h100-sxm", "chips": 8},
  "serving": {"input_tokens": 1000, "output_tokens": 500, "precision": "fp8", "tpot_ms": 50}}`

func TestInferAPI(t *testing.T) {
	h := Handler(Options{})
	resp := serve(t, h, "POST", "/api/infer?top=3", inferBody)
	if resp.Status != 200 {
		t.Fatalf("status %d: %s", resp.Status, resp.Body)
	}
	var rep struct {
		Results   []map[string]any `json:"results"`
		Pareto    []map[string]any `json:"pareto"`
		Evaluated int              `json:"evaluated"`
		ElapsedS  *float64         `json:"elapsed_s"`
	}
	if err := json.Unmarshal(resp.Body, &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Results) != 3 || len(rep.Pareto) == 0 || rep.Evaluated == 0 || rep.ElapsedS == nil {
		t.Fatalf("results %d, pareto %d, evaluated %d", len(rep.Results), len(rep.Pareto), rep.Evaluated)
	}
	if tpot := rep.Results[0]["tpot_s"].(float64); tpot > 0.05 {
		t.Errorf("winner's TPOT %.3f s breaks the 50 ms target", tpot)
	}
	for _, tt := range []struct {
		name, body string
		code       int
		want       []string
	}{
		{"zero output", strings.Replace(inferBody, `"output_tokens": 500`, `"output_tokens": 0`, 1), 400, []string{"serving.output_tokens"}},
		{"unknown field", strings.Replace(inferBody, `"tpot_ms"`, `"tpot"`, 1), 400, []string{"tpot"}},
		{"not JSON", `{"model": `, 400, []string{"not valid JSON"}},
		{"unreachable", strings.Replace(inferBody, `"tpot_ms": 50`, `"tpot_ms": 0.5`, 1), 422, []string{"no layout meets", "closest", "hints"}},
		{"too big", strings.Replace(strings.Replace(inferBody, `llama3-70b`, `llama3-405b`, 1), `"chips": 8`, `"chips": 1`, 1), 422, []string{"does not fit"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := serve(t, h, "POST", "/api/infer", tt.body)
			if r.Status != tt.code {
				t.Fatalf("status %d, want %d: %s", r.Status, tt.code, r.Body)
			}
			for _, w := range tt.want {
				if !strings.Contains(string(r.Body), w) {
					t.Errorf("answer %s lacks %q", r.Body, w)
				}
			}
		})
	}
	if r := serve(t, h, "GET", "/api/infer", ""); r.Status != 405 {
		t.Errorf("GET /api/infer: %d, want 405", r.Status)
	}
}

// checkServeView opens the Serve view (a subtest of TestBrowser): the
// default serving search draws its Pareto chart and table; a bad field and
// an unreachable target show their errors in the form.
func checkServeView(t *testing.T, p *page) {
	ctx := p.ctx
	p.show(t, "/?view=serve")
	if s := waitState(t, ctx, "serve"); s != "ready" {
		t.Fatalf("serve state %s: %s", s, eval[string](t, ctx, `document.getElementById('serve-error').innerText`))
	}
	checkCharts(t, ctx, "chart-serve-pareto")
	if n := eval[int](t, ctx, `document.querySelectorAll('#serve-table tbody tr').length`); n < 2 {
		t.Errorf("%d table rows, want the ranked layouts", n)
	}
	status := eval[string](t, ctx, `document.getElementById('serve-status').innerText`)
	if !strings.Contains(status, "llama3-70b on 8 × h100-sxm") || !strings.Contains(status, "tokens/s per user") {
		t.Errorf("status %q", status)
	}
	if notes := eval[string](t, ctx, `document.getElementById('serve-notes').innerText`); !strings.Contains(notes, "bottleneck") {
		t.Errorf("notes %q lack the winner's bottleneck", notes)
	}
	if eval[bool](t, ctx, `document.getElementById('view-plan').hidden === false`) {
		t.Error("the Plan view shows beside the Serve view")
	}
	screenshot(t, ctx, "serve.png")

	// Switching views and back keeps the chart drawn. (Validate, whose
	// answer the page keeps, rather than a view that searches again.)
	do(t, ctx, chromedp.Click(`#tabs a[data-view="validate"]`), chromedp.Click(`#tabs a[data-view="serve"]`))
	checkCharts(t, ctx, "chart-serve-pareto")

	for _, tt := range []struct {
		field, value, want string
	}{
		{"#s-output", "0", "serving.output_tokens"},
		{"#s-tpot", "0.5", "no layout meets"},
	} {
		setValue(t, ctx, "#s-output", "500")
		setValue(t, ctx, "#s-tpot", "50")
		setValue(t, ctx, tt.field, tt.value)
		do(t, ctx, chromedp.Click("#serve-submit"))
		if s := waitState(t, ctx, "serve"); s != "error" {
			t.Fatalf("%s=%s: state %s, want error", tt.field, tt.value, s)
		}
		if msg := eval[string](t, ctx, `document.getElementById('serve-error').innerText`); !strings.Contains(msg, tt.want) {
			t.Errorf("%s=%s: error %q lacks %q", tt.field, tt.value, msg, tt.want)
		}
	}
	// A good request after an error draws again.
	setValue(t, ctx, "#s-tpot", "50")
	do(t, ctx, chromedp.Click("#serve-submit"))
	if s := waitState(t, ctx, "serve"); s != "ready" {
		t.Fatalf("after an error: state %s", s)
	}
	checkCharts(t, ctx, "chart-serve-pareto")
}
