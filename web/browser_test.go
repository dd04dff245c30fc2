package web

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/flopcast/flopcast/search"
	"github.com/flopcast/flopcast/spec"
	"github.com/flopcast/flopcast/validate"
)

// chromiumPath is the browser the tests drive; .ci/run installs it.
const chromiumPath = "/usr/bin/chromium"

// The package's browser tests share one headless Chromium (started by the
// first of them, closed by TestMain) and one tab of it (see page).
var shared struct {
	once    sync.Once
	ctx     context.Context // the browser and the tab it started with
	err     error
	dir     string
	cancels []context.CancelFunc
}

func TestMain(m *testing.M) {
	code := m.Run()
	for i := len(shared.cancels) - 1; i >= 0; i-- {
		shared.cancels[i]()
	}
	if shared.dir != "" {
		os.RemoveAll(shared.dir)
	}
	os.Exit(code)
}

// browser returns the shared headless Chromium, starting it on first use.
// Without Chromium the test is skipped, except in CI where that is a
// failure.
func browser(t *testing.T) context.Context {
	t.Helper()
	if testing.Short() {
		t.Skip("browser tests skipped in -short mode")
	}
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("browser tests need %s (apt-get install chromium): %v", chromiumPath, err)
		}
		t.Skipf("browser tests skipped: %s not found; install it with apt-get install chromium", chromiumPath)
	}
	shared.once.Do(startBrowser)
	if shared.err != nil {
		t.Fatalf("starting %s: %v", chromiumPath, shared.err)
	}
	return shared.ctx
}

func startBrowser() {
	shared.dir, shared.err = os.MkdirTemp("", "flopcast-chromium-")
	if shared.err != nil {
		return
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-sync", true),
		// Tabs run side by side: none is throttled as a background tab.
		chromedp.Flag("disable-background-timer-throttling", true),
		chromedp.Flag("disable-backgrounding-occluded-windows", true),
		chromedp.Flag("disable-renderer-backgrounding", true),
		chromedp.NoFirstRun,
		chromedp.UserDataDir(shared.dir),
		chromedp.WindowSize(1440, 1000),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	shared.ctx, shared.cancels = bctx, []context.CancelFunc{cancelAlloc, cancelBrowser}
	// Start the browser now so that its start-up is not charged to a subtest.
	shared.err = chromedp.Do(bctx, chromedp.Navigate("about:blank"))
}

// page is the one tab the browser tests share. Opening a tab costs
// Chromium about 1 CPU-s and loading the UI (parsing ECharts, the first
// layout) about 2 more, where going to another URL of a loaded page costs a
// tenth of that; on a two-core machine the tabs were the package's long pole.
type page struct {
	ctx context.Context
	srv *httptest.Server // the UI's server; show goes to URLs on it
}

// newPage takes the tab the browser started with, with a deadline (a guard
// against a hang, generous so that a loaded machine does not trip it).
func newPage(t *testing.T, bctx context.Context, srv *httptest.Server) *page {
	t.Helper()
	ctx, cancel := context.WithTimeout(bctx, 5*time.Minute)
	t.Cleanup(cancel)
	return &page{ctx: ctx, srv: srv}
}

// load navigates to url: a real page load, for the checks on what the page
// reads from its URL when it is opened (a bookmark, a report file).
func (p *page) load(t *testing.T, url string) {
	t.Helper()
	do(t, p.ctx, chromedp.Navigate(url))
}

// show brings the UI to pathQuery (like "/?view=compare&counts=64") as the
// browser's back and forward buttons do: history.pushState, then a popstate
// event, which the page answers as it answers a load: it reads the URL into
// its forms, shows the view and asks the server again. Every subtest starts
// with show, so that none depends on what the one before left in the page.
// The first show, or one after the tab left the server, loads the page.
func (p *page) show(t *testing.T, pathQuery string) {
	t.Helper()
	if eval[string](t, p.ctx, `location.origin`) != p.srv.URL {
		p.load(t, p.srv.URL+pathQuery)
		return
	}
	eval[bool](t, p.ctx, `(() => { history.pushState(null, '', `+jsString(pathQuery)+`); dispatchEvent(new PopStateEvent('popstate')); return true })()`)
}

// testServer serves the UI for browser tests. A search the page has just
// abandoned for a new one may still hold its slot, so a search waits for a
// slot as long as it takes rather than being refused.
func testServer(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(Handler(Options{MaxSearches: 2, QueueWait: 5 * time.Minute}))
	t.Cleanup(srv.Close)
	return srv
}

func do(t *testing.T, ctx context.Context, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatal(err)
	}
}

func eval[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("evaluating %s: %v", js, err)
	}
	return v
}

// waitState waits until document.body.dataset[key] is one of the final
// states and returns it.
func waitState(t *testing.T, ctx context.Context, key string) string {
	t.Helper()
	js := fmt.Sprintf(`(() => { const s = document.body.dataset[%q]; return s === 'ready' || s === 'error' ? s : null })()`, key)
	s, err := chromedp.Run(ctx, chromedp.Poll[string](js, chromedp.WithPollingTimeout(3*time.Minute), chromedp.WithPollingInterval(50*time.Millisecond)))
	if err != nil {
		status := eval[string](t, ctx, `document.body.innerText.slice(0, 600)`)
		t.Fatalf("waiting for %s: %v; page: %s", key, err, status)
	}
	return s
}

// chartInfo is what a test reads from one ECharts instance.
type chartInfo struct {
	Canvas bool  `json:"canvas"`
	Width  int   `json:"width"`
	Series []int `json:"series"` // data points per series
}

func charts(t *testing.T, ctx context.Context, ids ...string) map[string]chartInfo {
	t.Helper()
	idsJSON, _ := json.Marshal(ids)
	js := fmt.Sprintf(`(() => {
		const out = {};
		for (const id of %s) {
			const el = document.getElementById(id);
			const c = el && echarts.getInstanceByDom(el);
			if (!c) continue;
			const cv = el.querySelector('canvas');
			out[id] = {canvas: !!cv, width: cv ? cv.width : 0,
				series: (c.getOption().series || []).map(s => (s.data || []).length)};
		}
		return out;
	})()`, idsJSON)
	return eval[map[string]chartInfo](t, ctx, js)
}

func checkCharts(t *testing.T, ctx context.Context, ids ...string) map[string]chartInfo {
	t.Helper()
	got := charts(t, ctx, ids...)
	for _, id := range ids {
		c, ok := got[id]
		if !ok {
			t.Errorf("chart %s: no ECharts instance", id)
			continue
		}
		total := 0
		for _, n := range c.Series {
			total += n
		}
		if !c.Canvas || c.Width == 0 || total == 0 {
			t.Errorf("chart %s: canvas %v width %d series %v: want a drawn canvas with data", id, c.Canvas, c.Width, c.Series)
		}
	}
	return got
}

// textBox is one text element an ECharts instance drew, in canvas pixels.
type textBox struct {
	Text string  `json:"text"`
	X    float64 `json:"x"`
	W    float64 `json:"w"`
}

// chartTexts returns the chart's width and every text it drew (labels,
// legend) with its horizontal extent.
func chartTexts(t *testing.T, ctx context.Context, id string) (float64, []textBox) {
	t.Helper()
	var out struct {
		Width float64   `json:"width"`
		Texts []textBox `json:"texts"`
	}
	js := fmt.Sprintf(`(() => {
		const c = echarts.getInstanceByDom(document.getElementById(%q));
		const texts = [];
		for (const el of c.getZr().storage.getDisplayList(true)) {
			if ((el.type !== 'text' && el.type !== 'tspan') || !el.style || !el.style.text || el.ignore || el.invisible) continue;
			const r = el.getBoundingRect().clone();
			if (el.transform) r.applyTransform(el.transform);
			texts.push({text: String(el.style.text), x: r.x, w: r.width});
		}
		return {width: c.getWidth(), texts};
	})()`, id)
	b := eval[string](t, ctx, "JSON.stringify("+js+")")
	if err := json.Unmarshal([]byte(b), &out); err != nil {
		t.Fatal(err)
	}
	return out.Width, out.Texts
}

// checkTextsInside fails when a text of chart id reaches past its left or
// right edge (it would be cut off).
func checkTextsInside(t *testing.T, ctx context.Context, id string, want ...string) {
	t.Helper()
	width, texts := chartTexts(t, ctx, id)
	seen := map[string]bool{}
	for _, tx := range texts {
		for _, w := range want {
			if strings.Contains(tx.Text, w) {
				seen[w] = true
			}
		}
		if tx.X < 0 || tx.X+tx.W > width+0.5 {
			t.Errorf("%s: text %q spans x %.0f..%.0f, outside the chart's 0..%.0f", id, tx.Text, tx.X, tx.X+tx.W, width)
		}
	}
	for _, w := range want {
		if !seen[w] {
			t.Errorf("%s: no text %q drawn", id, w)
		}
	}
}

// visiblePanels counts the panels of a view that take space on the page.
func visiblePanels(t *testing.T, ctx context.Context, view string) int {
	t.Helper()
	return eval[int](t, ctx, fmt.Sprintf(`Array.from(document.querySelectorAll('#view-%s .panel')).filter(p => p.getClientRects().length > 0).length`, view))
}

// screenshots asks the browser tests to save what they see, for a person
// to look at (after updating ECharts, say): a full-page capture re-renders
// every chart at the page's height, which costs more than the test.
var screenshots = flag.Bool("screenshots", false, "save the browser tests' pages in testdata/screenshots")

// screenshot saves the page as testdata/screenshots/name under -screenshots.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	if !*screenshots {
		return
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Errorf("screenshot %s: %v", name, err)
		return
	}
	dir := filepath.Join("testdata", "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

func setValue(t *testing.T, ctx context.Context, sel, v string) {
	t.Helper()
	do(t, ctx, chromedp.SetValue(chromedp.CSS(sel), v))
}

// TestBrowser drives the UI in one tab, view by view: the subtests run in
// order, each from its own URL (see page.show).
func TestBrowser(t *testing.T) {
	bctx := browser(t)
	srv := testServer(t)
	p := newPage(t, bctx, srv)
	ctx := p.ctx
	planCharts := []string{"chart-pareto", "chart-breakdown", "chart-memory", "chart-timeline"}

	// A bookmark is opened by a real load: the page reads the URL as it
	// starts, after it has filled its selects from the catalog.
	t.Run("bookmark", func(t *testing.T) {
		p.load(t, srv.URL+"/?model=llama3-8b&chip=b200&chips=64&seq=4096&gb=128&precision=bf16&tp=2&sel=1")
		if s := waitState(t, ctx, "plan"); s != "ready" {
			t.Fatalf("plan state %s: %s", s, eval[string](t, ctx, `document.getElementById('plan-error').innerText`))
		}
		waitState(t, ctx, "timeline")
		form := eval[map[string]string](t, ctx, `(() => { const f = document.getElementById('plan-form').elements;
			return {model: f.model.value, chip: f.chip.value, chips: f.chips.value, seq: f.seq.value, gb: f.gb.value, tp: f.tp.value, tokens: f.tokens.value, recipe: f.recipe.value} })()`)
		want := map[string]string{"model": "llama3-8b", "chip": "b200", "chips": "64", "seq": "4096", "gb": "128", "tp": "2", "tokens": "", "recipe": "megatron"}
		for k, v := range want {
			if form[k] != v {
				t.Errorf("form %s = %q, want %q from the URL", k, form[k], v)
			}
		}
		if sel := eval[string](t, ctx, `document.querySelector('#plan-table tbody tr.selected').dataset.i`); sel != "1" {
			t.Errorf("selected row %s, want 1 from the URL", sel)
		}
		for _, l := range eval[[]string](t, ctx, `Array.from(document.querySelectorAll('#plan-table tbody tr[data-i] td:nth-child(2)')).map(td => td.innerText)`) {
			if !strings.HasPrefix(l, "tp2 ") {
				t.Errorf("layout %q ignores the pinned tp=2", l)
			}
		}
		// No tokens: the whole-run panel says what is missing.
		if txt := eval[string](t, ctx, `document.getElementById('run-totals').innerText`); !strings.Contains(txt, "tokens") {
			t.Errorf("whole-run panel %q", txt)
		}
	})

	t.Run("default plan, resubmit and select", func(t *testing.T) {
		p.show(t, "/")
		if s := waitState(t, ctx, "plan"); s != "ready" {
			t.Fatalf("plan state %s: %s", s, eval[string](t, ctx, `document.getElementById('plan-error').innerText`))
		}
		waitState(t, ctx, "timeline")
		status := eval[string](t, ctx, `document.getElementById('plan-status').innerText`)
		if !strings.Contains(status, "llama3-70b on 1,024 × h100-sxm") {
			t.Errorf("status %q: want the default llama3-70b on 1,024 h100-sxm", status)
		}
		if n := eval[int](t, ctx, `document.querySelectorAll('#plan-table tbody tr[data-i]').length`); n < 1 {
			t.Errorf("%d table rows, want some", n)
		}
		got := checkCharts(t, ctx, planCharts...)
		if s := got["chart-timeline"].Series; len(s) != 3 || s[1] == 0 || s[2] == 0 {
			t.Errorf("timeline series %v: want idle, forward and backward passes", s)
		}
		if n := eval[int](t, ctx, `document.querySelectorAll('#run-totals .v').length`); n < 8 {
			t.Errorf("%d whole-run totals, want 8 (the default plan gives tokens)", n)
		}
		// The memory axis labels are evenly spaced: none crowds the top
		// one (a top of 85 above a tick at 80 printed them on each other).
		ticks := eval[[]float64](t, ctx, `(() => {
			const c = echarts.getInstanceByDom(document.getElementById('chart-memory'));
			const ax = c.getModel().getComponent('yAxis', 0).axis;
			return ax.scale.getTicks().map(tk => ax.dataToCoord(tk.value));
		})()`)
		if len(ticks) < 3 {
			t.Errorf("memory axis has %d ticks", len(ticks))
		}
		for i := 1; i < len(ticks); i++ {
			if gap, first := math.Abs(ticks[i]-ticks[i-1]), math.Abs(ticks[1]-ticks[0]); gap < 14 || math.Abs(gap-first) > 0.5 {
				t.Errorf("memory axis ticks at %v px: gap %.1f between ticks %d and %d, want even gaps of at least 14 px", ticks, gap, i-1, i)
				break
			}
		}
		screenshot(t, ctx, "plan.png")

		// Resubmitted with another chip count, the plan is searched again.
		before := eval[string](t, ctx, `document.querySelector('#plan-table tbody').innerText`)
		setValue(t, ctx, "#f-chips", "512")
		do(t, ctx, chromedp.Click(chromedp.CSS("#plan-submit")))
		if s := waitState(t, ctx, "plan"); s != "ready" {
			t.Fatalf("plan state %s after chips=512", s)
		}
		status = eval[string](t, ctx, `document.getElementById('plan-status').innerText`)
		if !strings.Contains(status, "512 × h100-sxm") {
			t.Errorf("status %q after chips=512", status)
		}
		if after := eval[string](t, ctx, `document.querySelector('#plan-table tbody').innerText`); after == before {
			t.Errorf("the table did not change with chips=512")
		}
		if loc := eval[string](t, ctx, `location.search`); !strings.Contains(loc, "chips=512") {
			t.Errorf("URL %q does not hold chips=512", loc)
		}
		// Every layout of the new table multiplies to 512 chips.
		prod := eval[[]int](t, ctx, `Array.from(document.querySelectorAll('#plan-table tbody tr[data-i] td:nth-child(2)')).map(td => {
			const m = td.innerText.match(/tp(\d+) pp(\d+) dp(\d+)(?: cp(\d+))?/); return m[1]*m[2]*m[3]*(m[4]||1) })`)
		for i, p := range prod {
			if p != 512 {
				t.Errorf("row %d: tp·pp·dp·cp = %d, want 512", i, p)
			}
		}
		checkCharts(t, ctx, planCharts...)

		rows := eval[int](t, ctx, `document.querySelectorAll('#plan-table tbody tr[data-i]').length`)
		if rows < 2 {
			t.Fatalf("only %d result; no second row to select", rows)
		}
		selectRow(t, ctx, 1)
		if loc := eval[string](t, ctx, `location.search`); !strings.Contains(loc, "sel=1") {
			t.Errorf("URL %q does not hold the selection", loc)
		}
		checkCharts(t, ctx, "chart-timeline")
	})

	t.Run("inline model", func(t *testing.T) {
		p.show(t, "/?model=custom&layers=32&hidden=4096&heads=32&kv_heads=8&ffn=14336&vocab=32000&experts=8&top_k=2&chip=h100-sxm&chips=64&seq=4096&gb=256")
		if s := waitState(t, ctx, "plan"); s != "ready" {
			t.Fatalf("plan state %s: %s", s, eval[string](t, ctx, `document.getElementById('plan-error').innerText`))
		}
		if !eval[bool](t, ctx, `!document.getElementById('inline-model').hidden`) {
			t.Errorf("the inline model fields are hidden")
		}
		if st := eval[string](t, ctx, `document.getElementById('plan-status').innerText`); !strings.HasPrefix(st, "custom on 64 × h100-sxm") {
			t.Errorf("status %q", st)
		}
		// The timeline is drawn after its own estimate returns.
		if s := waitState(t, ctx, "timeline"); s != "ready" {
			t.Fatalf("timeline state %s", s)
		}
		checkCharts(t, ctx, planCharts...)
	})

	t.Run("field error", func(t *testing.T) {
		p.show(t, "/?model=llama3-70b&chip=h100-sxm&chips=1024&seq=8192&gb=0")
		if s := waitState(t, ctx, "plan"); s != "error" {
			t.Fatalf("plan state %s, want error for global_batch 0", s)
		}
		// The page shows the message the CLI prints for the same run.
		_, want := spec.Resolve(&spec.Run{Model: spec.ModelRef{Name: "llama3-70b"}, Cluster: spec.Cluster{Chip: "h100-sxm", Chips: 1024},
			Training: spec.Training{SeqLen: 8192, GlobalBatch: 0}})
		if want == nil {
			t.Fatal("spec.Resolve accepts global_batch 0")
		}
		msg := eval[string](t, ctx, `document.getElementById('plan-error').innerText`)
		if msg != want.Error() {
			t.Errorf("error box %q, want %q", msg, want.Error())
		}
		if !eval[bool](t, ctx, `document.getElementById('f-gb').classList.contains('bad')`) {
			t.Errorf("the global_batch input is not marked")
		}
		if n := visiblePanels(t, ctx, "plan"); n != 0 {
			t.Errorf("%d empty chart and table panels shown beside the error, want none", n)
		}
		screenshot(t, ctx, "plan-error.png")
		// Fixed, the answer brings its panels back.
		setValue(t, ctx, "#f-gb", "1024")
		do(t, ctx, chromedp.Click(chromedp.CSS("#plan-submit")))
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.body.dataset.plan !== 'error'`)); err != nil {
			t.Fatal(err)
		}
		if s := waitState(t, ctx, "plan"); s != "ready" {
			t.Fatalf("plan state %s after fixing global_batch", s)
		}
		if n := visiblePanels(t, ctx, "plan"); n < 5 {
			t.Errorf("%d panels after a good search, want all of them", n)
		}
	})

	t.Run("compare", func(t *testing.T) {
		p.show(t, "/?view=compare&cchips=h100-sxm,b200&counts=64,256")
		if s := waitState(t, ctx, "compare"); s != "ready" {
			t.Fatalf("compare state %s: %s", s, eval[string](t, ctx, `document.getElementById('compare-error').innerText`))
		}
		got := checkCharts(t, ctx, "chart-throughput", "chart-mfu", "chart-days", "chart-cost")
		if s := got["chart-throughput"].Series; len(s) != 2 {
			t.Errorf("throughput series %v, want one per chip", s)
		}
		if n := eval[int](t, ctx, `document.querySelectorAll('#compare-table tbody tr').length`); n != 4 {
			t.Errorf("%d compare rows, want 4 cells", n)
		}
		screenshot(t, ctx, "compare.png")

		// An error leaves no empty chart panels behind.
		setValue(t, ctx, "#f-counts", "0")
		do(t, ctx, chromedp.Click(chromedp.CSS("#compare-submit")))
		if s := waitState(t, ctx, "compare"); s != "error" {
			t.Fatalf("compare state %s, want error for a count of 0", s)
		}
		if msg := eval[string](t, ctx, `document.getElementById('compare-error').innerText`); msg == "" {
			t.Error("no error message in the compare form")
		}
		if n := visiblePanels(t, ctx, "compare"); n != 0 {
			t.Errorf("%d empty panels shown beside the compare error, want none", n)
		}
	})

	t.Run("capex", func(t *testing.T) {
		p.show(t, "/?view=capex&budget=1e9&cchip=h100-sxm&cmodel=llama3-70b")
		if s := waitState(t, ctx, "capex"); s != "ready" {
			t.Fatalf("capex state %s: %s", s, eval[string](t, ctx, `document.getElementById('capex-error').innerText`))
		}
		checkCharts(t, ctx, "chart-capex")
		checkTextsInside(t, ctx, "chart-capex", "power & cooling", "land & site", "chips", "servers & network")
		if n := eval[int](t, ctx, `document.querySelectorAll('#capex-table tbody tr').length`); n < 1 {
			t.Errorf("no trainable rows")
		}
		screenshot(t, ctx, "capex.png")
		// One click plans the hyperscalers' 2025 budgets.
		do(t, ctx, chromedp.Click(chromedp.CSS(`#capex-scenarios button[data-scenario="hyperscalers-2025"]`)))
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.body.dataset.capex === 'loading' || location.search.includes('scenario=')`)); err != nil {
			t.Fatal(err)
		}
		if s := waitState(t, ctx, "capex"); s != "ready" {
			t.Fatalf("scenario state %s: %s", s, eval[string](t, ctx, `document.getElementById('capex-error').innerText`))
		}
		if st := eval[string](t, ctx, `document.getElementById('capex-status').innerText`); !strings.Contains(st, "hyperscalers-2025") {
			t.Errorf("capex status %q, want the scenario", st)
		}
		checkTextsInside(t, ctx, "chart-capex", "power & cooling", "land & site")
		screenshot(t, ctx, "capex-scenario.png")
	})

	t.Run("validate", func(t *testing.T) {
		p.show(t, "/?view=validate")
		if s := waitState(t, ctx, "validate"); s != "ready" {
			t.Fatalf("validate state %s: %s", s, eval[string](t, ctx, `document.getElementById('validate-status').innerText`))
		}
		got := checkCharts(t, ctx, "chart-validate")
		// y = x and the two ±10% bands, then the points.
		if s := got["chart-validate"].Series; len(s) < 4 {
			t.Errorf("validate series %v: want reference lines and points", s)
		}
		// The header says what each mean is over, counted here from the
		// corpus itself.
		rep, err := validate.Run()
		if err != nil {
			t.Fatal(err)
		}
		var step, serving, under, over int
		for _, r := range rep.Rows {
			switch {
			case validate.IsServing(r.Group):
				serving++
			case !validate.IsMemory(r.Metric) && !validate.IsWholeRun(r.Metric):
				step++
			}
		}
		status := eval[string](t, ctx, `document.getElementById('validate-status').innerText`)
		if want := fmt.Sprintf("mean error %.1f%% over %d rows", 100*rep.MeanAbsErr, step); !strings.Contains(status, want) {
			t.Errorf("validate header %q does not say %q", status, want)
		}
		if want := regexp.MustCompile(fmt.Sprintf(`serving: mean [0-9.]+%% over %d rows`, serving)); serving > 0 && !want.MatchString(status) {
			t.Errorf("validate header %q does not count the %d serving rows apart", status, serving)
		}
		screenshot(t, ctx, "validate.png")
		// The table keeps the error's sign: (predicted − measured) / measured.
		// All metrics, so that rows on both sides show.
		eval[bool](t, ctx, `(() => { const s = document.getElementById('validate-metric'); s.value = 'all'; s.dispatchEvent(new Event('change')); return true })()`)
		errs := eval[[]string](t, ctx, `Array.from(document.querySelectorAll('#validate-table tbody td.err')).map(td => td.innerText)`)
		shown := eval[[]string](t, ctx, `Array.from(document.querySelectorAll('#validate-table tbody tr td:nth-child(2)')).map(td => td.innerText)`)
		if len(errs) == 0 || len(errs) != len(shown) {
			t.Fatalf("%d error cells for %d rows", len(errs), len(shown))
		}
		byName := map[string]float64{}
		for _, r := range rep.Rows {
			byName[r.Name] = r.Err
		}
		for i, e := range errs {
			want := byName[shown[i]]
			switch {
			case want < -0.0005 && strings.HasPrefix(e, "−"):
				under++
			case want > 0.0005 && strings.HasPrefix(e, "+"):
				over++
			case math.Abs(want) <= 0.0005:
			default:
				t.Errorf("row %s: error cell %q, want the sign of %+.4f", shown[i], e, want)
			}
		}
		if under == 0 || over == 0 {
			t.Errorf("%d rows shown under and %d over the measurement: want both signs", under, over)
		}
	})

	t.Run("serve", func(t *testing.T) { checkServeView(t, p) })

	// Last: the report is a file, and the tab leaves the server for it.
	t.Run("report", func(t *testing.T) {
		run := &spec.Run{Model: spec.ModelRef{Name: "llama3-8b"}, Cluster: spec.Cluster{Chip: "h100-sxm", Chips: 64},
			Training: spec.Training{SeqLen: 8192, GlobalBatch: 256, Tokens: 1e12}}
		r, err := spec.Resolve(run)
		if err != nil {
			t.Fatal(err)
		}
		rep, err := search.Run(context.Background(), r, search.Options{Top: 5})
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := WriteReport(&buf, r, rep); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), "report.html")
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		// The report reads its URL: the row to select, and a view it does
		// not hold is named rather than silently replaced by the Plan.
		p.load(t, "file://"+path+"?view=validate&sel=2")
		if s := waitState(t, ctx, "plan"); s != "ready" {
			t.Fatalf("report plan state %s", s)
		}
		if sel := eval[string](t, ctx, `document.querySelector('#plan-table tbody tr.selected').dataset.i`); sel != "2" {
			t.Errorf("report selected row %s, want 2 from ?sel=2", sel)
		}
		if st := eval[string](t, ctx, `document.getElementById('plan-status').innerText`); !strings.Contains(st, "Validate view needs flopcast serve") {
			t.Errorf("report status %q does not say the Validate view is not in the report", st)
		}
		waitState(t, ctx, "timeline")
		checkCharts(t, ctx, planCharts...)
		screenshot(t, ctx, "report.png")
		// A row picked in the report goes into its URL.
		selectRow(t, ctx, 1)
		if loc := eval[string](t, ctx, `location.search`); !strings.Contains(loc, "sel=1") {
			t.Errorf("report URL %q does not hold the selected row", loc)
		}
	})
}

// selectRow clicks row i of the ranked table and waits for the timeline of
// that row.
func selectRow(t *testing.T, ctx context.Context, i int) {
	t.Helper()
	waitState(t, ctx, "timeline")
	key0 := eval[string](t, ctx, `document.body.dataset.timelineFor`)
	row := fmt.Sprintf(`#plan-table tbody tr[data-i="%d"]`, i)
	want := eval[string](t, ctx, `document.querySelector('`+row+` td:nth-child(2)').innerText`)
	do(t, ctx, chromedp.Click(chromedp.CSS(row)))
	js := `(() => { const k = document.body.dataset.timelineFor; return document.body.dataset.timeline === 'ready' && k !== ` + jsString(key0) + ` ? k : null })()`
	if _, err := chromedp.Run(ctx, chromedp.Poll[string](js, chromedp.WithPollingTimeout(3*time.Minute))); err != nil {
		t.Fatalf("the timeline was not redrawn after selecting row %d: %v", i+1, err)
	}
	if sel := eval[string](t, ctx, `document.querySelector('#plan-table tbody tr.selected td:nth-child(2)').innerText`); sel != want {
		t.Errorf("selected row %q, want %q", sel, want)
	}
	if note := eval[string](t, ctx, `document.getElementById('timeline-note').innerText`); !strings.HasPrefix(note, fmt.Sprintf("#%d", i+1)) {
		t.Errorf("timeline note %q, want it for #%d", note, i+1)
	}
	checkCharts(t, ctx, "chart-timeline")
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
