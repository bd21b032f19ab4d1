// Package serve is fc2conv's HTTP service: POST /v1/detect scans one
// uploaded image and answers with the same record as the batch scan (or
// the overlay PNG), GET /v1/model describes the loaded model, GET /healthz
// and GET /metrics serve operations, and GET / is a browser page that
// shows the heatmap and the boxes of a dropped image.
//
// Requests are bounded: body size, image pixels (read from the header
// before decoding), a per-request timeout, a fixed number of detections
// at once (Workers) and of requests admitted at once (MaxInFlight); more
// get 503 with Retry-After. Every refusal is a JSON error naming its cause.
package serve

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"time"

	"github.com/fc2conv/fc2conv/detect"
	"github.com/fc2conv/fc2conv/scan"
)

// Defaults for Config's zero fields.
const (
	DefaultMaxBodyBytes = 32 << 20
	DefaultMaxPixels    = 1 << 24 // 16 Mpx, e.g. 4096×4096
	DefaultTimeout      = 2 * time.Minute
	// DefaultInFlightPerWorker sets MaxInFlight to this many requests per
	// worker: one running and the rest queued.
	DefaultInFlightPerWorker = 4
	// retryAfter is the Retry-After of a 503, in seconds.
	retryAfter = "1"
)

// Config is what a Server serves and its limits.
type Config struct {
	// Detector scans with the server's default options, which are
	// Options: per-request parameters start from Options and build a
	// detector on the same network. Detector must have been made with
	// Options.
	Detector *detect.Detector
	Options  detect.Options
	// Model names the model in records and on /v1/model.
	Model scan.Model
	// Workers is how many detections run at once (0: 1).
	Workers int
	// MaxInFlight bounds the detect requests admitted at once, running or
	// waiting for a worker (0: DefaultInFlightPerWorker × Workers); more
	// are refused with 503 and Retry-After.
	MaxInFlight int
	// MaxBodyBytes bounds a request body (0: DefaultMaxBodyBytes).
	MaxBodyBytes int64
	// MaxPixels bounds width × height of an uploaded image, checked on its
	// header before it is decoded (0: DefaultMaxPixels).
	MaxPixels int
	// Timeout bounds one detect request, waiting for a worker included
	// (0: DefaultTimeout).
	Timeout time.Duration
}

// Server is the HTTP service. Make it with New; it is safe for
// concurrent use.
type Server struct {
	cfg      Config
	inFlight chan struct{} // admitted detect requests
	workers  chan struct{} // running detections
	metrics  *metrics
	handler  http.Handler
	// beforeDetect, when set (tests), runs on the worker before each
	// detection, with the request's context.
	beforeDetect func(context.Context)
}

// New checks cfg, fills in its defaults and returns a server.
func New(cfg Config) (*Server, error) {
	if cfg.Detector == nil {
		return nil, errors.New("serve: config has no detector")
	}
	fill := func(name string, v *int, def int) error {
		switch {
		case *v < 0:
			return fmt.Errorf("serve: config: %s %d is negative", name, *v)
		case *v == 0:
			*v = def
		}
		return nil
	}
	if err := fill("Workers", &cfg.Workers, 1); err != nil {
		return nil, err
	}
	if err := fill("MaxInFlight", &cfg.MaxInFlight, DefaultInFlightPerWorker*cfg.Workers); err != nil {
		return nil, err
	}
	if err := fill("MaxPixels", &cfg.MaxPixels, DefaultMaxPixels); err != nil {
		return nil, err
	}
	if cfg.MaxPixels > detect.MaxImagePixels {
		return nil, fmt.Errorf("serve: config: MaxPixels %d is above detect's bound, %d", cfg.MaxPixels, detect.MaxImagePixels)
	}
	switch {
	case cfg.MaxBodyBytes < 0:
		return nil, fmt.Errorf("serve: config: MaxBodyBytes %d is negative", cfg.MaxBodyBytes)
	case cfg.MaxBodyBytes == 0:
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	switch {
	case cfg.Timeout < 0:
		return nil, fmt.Errorf("serve: config: Timeout %v is negative", cfg.Timeout)
	case cfg.Timeout == 0:
		cfg.Timeout = DefaultTimeout
	}
	if cfg.MaxInFlight < cfg.Workers {
		return nil, fmt.Errorf("serve: config: MaxInFlight %d is below Workers %d, which could never all be busy", cfg.MaxInFlight, cfg.Workers)
	}
	if cfg.Options.Threads == 0 {
		// Workers × threads fill the cores, as scan's workers do.
		cfg.Options.Threads = max(1, runtime.GOMAXPROCS(0)/cfg.Workers)
	}
	s := &Server{
		cfg:      cfg,
		inFlight: make(chan struct{}, cfg.MaxInFlight),
		workers:  make(chan struct{}, cfg.Workers),
		metrics:  newMetrics(),
	}
	mux := http.NewServeMux()
	route := func(pattern, name string, h http.HandlerFunc) {
		mux.Handle(pattern, s.metrics.instrument(name, h))
	}
	route("POST /v1/detect", "/v1/detect", s.handleDetect)
	route("GET /v1/model", "/v1/model", s.handleModel)
	route("GET /healthz", "/healthz", s.handleHealth)
	route("GET /metrics", "/metrics", s.handleMetrics)
	route("GET /{$}", "/", servePage)
	route("GET /static/", "/static/", serveStatic)
	// Other API requests answer in JSON like the rest of the API.
	route("/v1/", "other", func(w http.ResponseWriter, r *http.Request) {
		if allow, ok := apiMethods[r.URL.Path]; ok {
			w.Header().Set("Allow", allow)
			writeError(w, http.StatusMethodNotAllowed, "", fmt.Errorf("%s %s: method not allowed, use %s", r.Method, r.URL.Path, allow))
			return
		}
		writeError(w, http.StatusNotFound, "", fmt.Errorf("no endpoint %s (the API is POST /v1/detect and GET /v1/model)", r.URL.Path))
	})
	s.handler = mux
	return s, nil
}

// apiMethods is the method each API endpoint takes.
var apiMethods = map[string]string{"/v1/detect": http.MethodPost, "/v1/model": http.MethodGet}

// Handler is the server's routes, for use with any http.Server or
// httptest.
func (s *Server) Handler() http.Handler { return s.handler }

// Serve answers on ln until ctx is done, then shuts down gracefully: it
// stops accepting connections, lets the requests in flight finish (each is
// bounded by the request timeout) and returns once they have. It returns nil after a clean shutdown.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       s.cfg.Timeout,
		WriteTimeout:      s.cfg.Timeout + 10*time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	// A request admitted just before the signal may still wait for a
	// worker and then run, so the grace period is the request timeout
	// plus a margin for writing the answer.
	grace, cancel := context.WithTimeout(context.Background(), s.cfg.Timeout+10*time.Second)
	defer cancel()
	err := srv.Shutdown(grace)
	if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	if err != nil {
		return fmt.Errorf("serve: shutdown: %w", err)
	}
	return nil
}
