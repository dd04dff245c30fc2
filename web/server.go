package web

import (
	"embed"
	"errors"
	"io/fs"
	"log"
	"mime"
	"net"
	"net/http"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"
)

//go:embed static
var static embed.FS

// Options tune the server. DefaultOptions gives the defaults; zero fields
// take them too.
type Options struct {
	// MaxBodyBytes caps a request body.
	MaxBodyBytes int64
	// MaxSearches bounds the searches and sweeps that run at once; each
	// already uses every core.
	MaxSearches int
	// QueueWait is how long a search waits for a free slot before the
	// server answers 429 Too Many Requests.
	QueueWait time.Duration
	// SearchTimeout bounds one search. A sweep or a capex scenario, which
	// run several, get twice as long in all.
	SearchTimeout time.Duration
	// MaxSweepCells bounds chips × counts of one sweep.
	MaxSweepCells int
	// Log receives panics and internal errors; nil discards them.
	Log *log.Logger
	// LoopbackOnly refuses requests whose Host is not a loopback name, so
	// that a web page cannot reach a local server through DNS rebinding.
	LoopbackOnly bool
}

// DefaultOptions are the options used for fields left zero.
var DefaultOptions = Options{
	MaxBodyBytes:  1 << 20,
	MaxSearches:   max(2, runtime.GOMAXPROCS(0)/4),
	QueueWait:     10 * time.Second,
	SearchTimeout: 60 * time.Second,
	MaxSweepCells: 64,
}

func (o Options) withDefaults() Options {
	d := DefaultOptions
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = d.MaxBodyBytes
	}
	if o.MaxSearches <= 0 {
		o.MaxSearches = d.MaxSearches
	}
	if o.QueueWait <= 0 {
		o.QueueWait = d.QueueWait
	}
	if o.SearchTimeout <= 0 {
		o.SearchTimeout = d.SearchTimeout
	}
	if o.MaxSweepCells <= 0 {
		o.MaxSweepCells = d.MaxSweepCells
	}
	return o
}

type server struct {
	opt Options
	sem chan struct{}
}

// Handler returns the HTTP handler of the API and the UI.
func Handler(opt Options) http.Handler { return newServer(opt).handler() }

func newServer(opt Options) *server {
	s := &server{opt: opt.withDefaults()}
	s.sem = make(chan struct{}, s.opt.MaxSearches)
	return s
}

func (s *server) handler() http.Handler {
	mux := http.NewServeMux()
	routes := map[string]string{} // path → method, for 405 answers
	handle := func(method, path string, h http.HandlerFunc) {
		routes[path] = method
		if method == http.MethodPost {
			h = requireJSON(h)
		}
		mux.HandleFunc(method+" "+path, h)
	}
	handle("POST", "/api/estimate", s.estimate)
	handle("POST", "/api/search", s.search)
	handle("POST", "/api/sweep", s.sweep)
	handle("POST", "/api/capex", s.capex)
	handle("POST", "/api/infer", s.infer)
	handle("GET", "/api/capex/scenarios", s.capexScenarios)
	handle("GET", "/api/validate", s.validate)
	handle("GET", "/api/catalog/chips", s.catalogChips)
	handle("GET", "/api/catalog/models", s.catalogModels)
	// Everything else under /api/ answers JSON, never the UI's files.
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		if m, ok := routes[r.URL.Path]; ok {
			w.Header().Set("Allow", m)
			writeJSON(w, http.StatusMethodNotAllowed, errorBody{Error: r.URL.Path + " takes " + m + ", not " + r.Method})
			return
		}
		writeJSON(w, http.StatusNotFound, errorBody{Error: "no API route " + r.URL.Path})
	})
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // the embedded tree is part of the program
	}
	files := http.FileServerFS(sub)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		files.ServeHTTP(w, r)
	})
	h := s.recoverer(headers(mux))
	if s.opt.LoopbackOnly {
		h = loopbackHost(h)
	}
	return h
}

// NewServer returns an http.Server for addr with the handler and timeouts
// that keep a slow or idle client from holding the server.
func NewServer(addr string, opt Options) *http.Server {
	opt = opt.withDefaults()
	return &http.Server{
		Addr:              addr,
		Handler:           Handler(opt),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		// The longest answer: a queued sweep (see batchDeadline).
		WriteTimeout:   opt.QueueWait + 2*opt.SearchTimeout + 10*time.Second,
		IdleTimeout:    2 * time.Minute,
		MaxHeaderBytes: 64 << 10,
		ErrorLog:       opt.Log,
	}
}

// headers sets security headers: the UI loads only its own files.
func headers(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'")
		h.ServeHTTP(w, r)
	})
}

// recoverer turns a panic into a 500 with a plain message; the stack goes to
// the log, never to the client.
func (s *server) recoverer(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.logf("panic serving %s %s: %v\n%s", r.Method, r.URL.Path, v, debug.Stack())
			writeJSON(w, http.StatusInternalServerError, errorBody{Error: "internal error"})
		}()
		h.ServeHTTP(w, r)
	})
}

func (s *server) logf(format string, args ...any) {
	if s.opt.Log != nil {
		s.opt.Log.Printf(format, args...)
	}
}

// errBusy is returned by acquire when no search slot frees in time.
var errBusy = errors.New("the server is busy with other searches; try again shortly")

// acquire takes a search slot, waiting at most QueueWait or until the
// client goes away.
func (s *server) acquire(r *http.Request) (release func(), err error) {
	select {
	case s.sem <- struct{}{}:
		return func() { <-s.sem }, nil
	default:
	}
	t := time.NewTimer(s.opt.QueueWait)
	defer t.Stop()
	select {
	case s.sem <- struct{}{}:
		return func() { <-s.sem }, nil
	case <-t.C:
		return nil, errBusy
	case <-r.Context().Done():
		return nil, r.Context().Err()
	}
}

// loopbackHost answers 403 to a request whose Host header names anything
// but this machine.
func loopbackHost(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := r.Host
		if hh, _, err := net.SplitHostPort(host); err == nil {
			host = hh
		}
		host = strings.Trim(host, "[]")
		if ip := net.ParseIP(host); (ip != nil && ip.IsLoopback()) || host == "localhost" {
			h.ServeHTTP(w, r)
			return
		}
		writeJSON(w, http.StatusForbidden, errorBody{Error: "flopcast serves this machine only: the Host header must be localhost or a loopback address, not " + strconv.Quote(r.Host)})
	})
}

// requireJSON answers 415 to a POST whose body is not declared JSON. A web
// page on another origin can send text/plain or form bodies without asking
// the browser's permission (no CORS preflight), but not application/json;
// so this keeps other sites from making a local server run searches.
func requireJSON(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ct := r.Header.Get("Content-Type")
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			if ct == "" {
				ct = "(none)"
			}
			w.Header().Set("Accept-Post", "application/json")
			writeJSON(w, http.StatusUnsupportedMediaType, errorBody{Error: "request Content-Type is " + ct + "; send the body as application/json", Field: "Content-Type"})
			return
		}
		h(w, r)
	}
}
