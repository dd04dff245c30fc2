package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"strings"
	"time"

	"github.com/flopcast/flopcast/estimate"
	"github.com/flopcast/flopcast/search"
	"github.com/flopcast/flopcast/spec"
)

// reportData is window.FLOPCAST_REPORT in a written report: what the Plan
// view would have fetched.
type reportData struct {
	Title     string               `json:"title"`
	Search    *SearchResponse      `json:"search"`
	Timelines []*estimate.Timeline `json:"timelines"`
}

// WriteReport writes the Plan view of a search as one self-contained HTML
// file: the page, its script, ECharts and the data inline, so that it opens
// from disk with no server and no network.
func WriteReport(w io.Writer, r *spec.Resolved, rep *search.Report) error {
	e, err := estimate.New(r)
	if err != nil {
		return err
	}
	data := reportData{
		Title: fmt.Sprintf("%s on %d × %s, seq %d, batch %d — %s", r.Model.Name, r.Chips, r.Chip.Name,
			r.Training.SeqLen, r.Training.GlobalBatch, time.Now().UTC().Format("2006-01-02 15:04 UTC")),
		Search: searchResponse(r, e, rep),
	}
	for _, res := range rep.Results {
		tl, err := e.Timeline(res.Parallel)
		if err != nil {
			tl = nil
		}
		data.Timelines = append(data.Timelines, tl)
	}
	// json.Marshal escapes <, > and &, so the data cannot close the script.
	js, err := json.Marshal(data)
	if err != nil {
		return err
	}
	page, err := reportPage(js, html.EscapeString(data.Title))
	if err != nil {
		return err
	}
	_, err = w.Write(page)
	return err
}

// reportPage inlines the static files into index.html.
func reportPage(data []byte, title string) ([]byte, error) {
	read := func(name string) (string, error) {
		b, err := static.ReadFile("static/" + name)
		if err != nil {
			return "", err
		}
		if name != "index.html" && name != "style.css" && bytes.Contains(bytes.ToLower(b), []byte("</script")) {
			return "", fmt.Errorf("web: static/%s contains </script and cannot be inlined", name)
		}
		return string(b), nil
	}
	page, err := read("index.html")
	if err != nil {
		return nil, err
	}
	css, err := read("style.css")
	if err != nil {
		return nil, err
	}
	ec, err := read("echarts.min.js")
	if err != nil {
		return nil, err
	}
	app, err := read("app.js")
	if err != nil {
		return nil, err
	}
	for _, rep := range []struct{ old, new string }{
		{`<title>flopcast</title>`, "<title>flopcast: " + title + "</title>"},
		{`<link rel="stylesheet" href="style.css">`, "<style>\n" + css + "</style>"},
		{`<script src="echarts.min.js"></script>`, "<script>\n" + ec + "\n</script>"},
		{`<script src="app.js"></script>`, "<script>\nwindow.FLOPCAST_REPORT = " + string(data) + ";\n</script>\n<script>\n" + app + "\n</script>"},
		// A report shows the Plan view alone; the Serve view's script stays out.
		{`<script src="serve.js"></script>`, ""},
	} {
		if !strings.Contains(page, rep.old) {
			return nil, fmt.Errorf("web: static/index.html lacks %s", rep.old)
		}
		page = strings.Replace(page, rep.old, rep.new, 1)
	}
	return []byte(page), nil
}
