package cli

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"time"

	"github.com/flopcast/flopcast/web"
	"github.com/spf13/cobra"
)

func init() { register(newServeCmd) }

type serveOptions struct {
	io       *IO
	addr     string
	public   bool
	searches int
}

func newServeCmd(io *IO) *cobra.Command {
	opts := &serveOptions{io: io}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the web UI and the HTTP API",
		Long: `serve runs the web UI: plan a run with charts of the search, compare
chips and cluster sizes, turn a capex budget into a cluster, and look at the
validation corpus. The same HTTP API (POST /api/estimate, POST /api/search,
GET /api/catalog/chips, GET /api/catalog/models) serves scripts; POST
bodies are run.yaml as JSON, sent as Content-Type: application/json.
The API is described in docs/output.md.

It listens on 127.0.0.1:8080, this machine only. Listening on another
address needs --public: the server has no authentication.`,
		Example: `  flopcast serve
  flopcast serve --addr 127.0.0.1:9000
  flopcast serve --addr 0.0.0.0:8080 --public`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runServe(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.addr, "addr", "127.0.0.1:8080", "`host:port` to listen on")
	cmd.Flags().BoolVar(&opts.public, "public", false, "allow an --addr that is reachable from other machines")
	cmd.Flags().IntVar(&opts.searches, "searches", 0, "searches run at once (default: a quarter of the cores, at least 1)")
	return cmd
}

// isLoopback reports whether host only accepts connections from this
// machine. An empty host or 0.0.0.0 listens on every interface.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func runServe(ctx context.Context, o *serveOptions) error {
	host, _, err := net.SplitHostPort(o.addr)
	if err != nil {
		return &fieldError{Field: "--addr", Value: o.addr, Reason: "is not host:port", Allowed: "e.g. 127.0.0.1:8080"}
	}
	if !isLoopback(host) {
		if !o.public {
			return &fieldError{Field: "--addr", Value: o.addr, Reason: "is reachable from other machines and the server has no authentication",
				Allowed: "a loopback address such as 127.0.0.1:8080", Hint: "add --public to listen there anyway"}
		}
		fmt.Fprintf(o.io.Err, "flopcast: warning: serving on %s without authentication: anyone who can reach it can run searches\n", o.addr)
	}
	if o.searches < 0 {
		return &fieldError{Field: "--searches", Value: o.searches, Allowed: "a positive integer"}
	}
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	srv := web.NewServer(o.addr, web.Options{MaxSearches: o.searches, Log: log.New(o.io.Err, "flopcast: ", log.LstdFlags), LoopbackOnly: isLoopback(host)})
	// Searches in flight stop when the server does.
	srv.BaseContext = func(net.Listener) context.Context { return ctx }
	fmt.Fprintf(o.io.Out, "http://%s\n", ln.Addr())

	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	shutCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil {
		srv.Close()
	}
	if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}
