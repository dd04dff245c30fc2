// Package web is flopcast's HTTP server and browser UI (flopcast serve).
//
// The API takes the run.yaml structure as JSON and answers with the JSON of
// the CLI (docs/output.md): POST /api/estimate, POST /api/search, GET
// /api/catalog/chips and /api/catalog/models, plus POST /api/sweep (Compare),
// POST /api/capex, POST /api/infer and GET /api/validate for the other
// views. POST bodies must be declared application/json (415 otherwise: a
// page on another origin cannot send that without the browser asking), and
// every error is a JSON object with "error" and, for one bad field,
// "field", "value", "reason", "allowed". The UI is a
// single page in static/, embedded in the binary, drawn with a vendored
// Apache ECharts; nothing is fetched from elsewhere. WriteReport writes the
// Plan view of a search as one self-contained HTML file.
package web
