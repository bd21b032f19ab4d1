package serve

import (
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// latencyBuckets are the upper bounds, in seconds, of the request
// latency histogram: from a health check to a large image.
var latencyBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120}

// metrics holds what GET /metrics reports, written by hand in the
// Prometheus text format (version 0.0.4): a few counters, one histogram
// and two gauges do not need a client library.
type metrics struct {
	mu       sync.Mutex
	requests map[reqKey]uint64     // by handler and status code
	latency  map[string]*histogram // by handler

	inFlight atomic.Int64 // detect requests admitted, running or queued
	busy     atomic.Int64 // detections running
	images   atomic.Uint64
	rejected atomic.Uint64 // 503 for lack of room
}

type reqKey struct {
	handler string
	code    int
}

type histogram struct {
	counts []uint64 // per bucket, not cumulative; the last is +Inf
	sum    float64
	n      uint64
}

func newMetrics() *metrics {
	return &metrics{requests: map[reqKey]uint64{}, latency: map[string]*histogram{}}
}

func (m *metrics) observe(handler string, code int, d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.requests[reqKey{handler, code}]++
	h := m.latency[handler]
	if h == nil {
		h = &histogram{counts: make([]uint64, len(latencyBuckets)+1)}
		m.latency[handler] = h
	}
	s := d.Seconds()
	i := sort.SearchFloat64s(latencyBuckets, s) // first bound ≥ s
	h.counts[i]++
	h.sum += s
	h.n++
}

// statusWriter remembers the status code a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// instrument counts h's requests by status code and times them under the
// label handler.
func (m *metrics) instrument(handler string, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t0 := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		h(sw, r)
		if sw.code == 0 {
			sw.code = http.StatusOK
		}
		m.observe(handler, sw.code, time.Since(t0))
	})
}

// write prints every metric, series sorted so the output is stable.
func (m *metrics) write(w io.Writer) error {
	m.mu.Lock()
	keys := make([]reqKey, 0, len(m.requests))
	for k := range m.requests {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].handler != keys[j].handler {
			return keys[i].handler < keys[j].handler
		}
		return keys[i].code < keys[j].code
	})
	var b []byte
	b = append(b, "# HELP fc2conv_http_requests_total HTTP requests answered, by handler and status code.\n# TYPE fc2conv_http_requests_total counter\n"...)
	for _, k := range keys {
		b = fmt.Appendf(b, "fc2conv_http_requests_total{handler=%q,code=\"%d\"} %d\n", k.handler, k.code, m.requests[k])
	}
	handlers := make([]string, 0, len(m.latency))
	for h := range m.latency {
		handlers = append(handlers, h)
	}
	sort.Strings(handlers)
	b = append(b, "# HELP fc2conv_http_request_duration_seconds Time to answer an HTTP request, by handler.\n# TYPE fc2conv_http_request_duration_seconds histogram\n"...)
	for _, name := range handlers {
		h := m.latency[name]
		var cum uint64
		for i, c := range h.counts {
			cum += c
			le := "+Inf"
			if i < len(latencyBuckets) {
				le = strconv.FormatFloat(latencyBuckets[i], 'g', -1, 64)
			}
			b = fmt.Appendf(b, "fc2conv_http_request_duration_seconds_bucket{handler=%q,le=%q} %d\n", name, le, cum)
		}
		b = fmt.Appendf(b, "fc2conv_http_request_duration_seconds_sum{handler=%q} %s\n", name, strconv.FormatFloat(h.sum, 'g', -1, 64))
		b = fmt.Appendf(b, "fc2conv_http_request_duration_seconds_count{handler=%q} %d\n", name, h.n)
	}
	m.mu.Unlock()
	b = fmt.Appendf(b, "# HELP fc2conv_images_in_flight Detect requests admitted and not yet answered, running or waiting for a worker.\n# TYPE fc2conv_images_in_flight gauge\nfc2conv_images_in_flight %d\n", m.inFlight.Load())
	b = fmt.Appendf(b, "# HELP fc2conv_workers_busy Detections running.\n# TYPE fc2conv_workers_busy gauge\nfc2conv_workers_busy %d\n", m.busy.Load())
	b = fmt.Appendf(b, "# HELP fc2conv_images_scanned_total Images scanned to the end.\n# TYPE fc2conv_images_scanned_total counter\nfc2conv_images_scanned_total %d\n", m.images.Load())
	b = fmt.Appendf(b, "# HELP fc2conv_requests_rejected_total Detect requests refused with 503 because MaxInFlight were admitted.\n# TYPE fc2conv_requests_rejected_total counter\nfc2conv_requests_rejected_total %d\n", m.rejected.Load())
	_, err := w.Write(b)
	return err
}
