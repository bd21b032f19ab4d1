package serve

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"math"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/fc2conv/fc2conv/detect"
	"github.com/fc2conv/fc2conv/scan"
)

// FormField is the multipart form field that carries the image.
const FormField = "image"

// Heatmap values of the heatmap parameter.
const (
	// HeatmapPNG answers with the overlay PNG scan --heatmaps writes: the
	// image in grey, the heatmap, the boxes with scores and a colour bar.
	HeatmapPNG = "png"
	// HeatmapInline answers with the record plus "heatmap_png", a data URL
	// of the overlay without boxes or colour bar, the image's size, for
	// clients that draw the boxes themselves (the page at /).
	HeatmapInline = "inline"
)

// params are the query parameters of POST /v1/detect.
var params = []string{"threshold", "scales", "step", "flip", "class", "heatmap"}

// request is a parsed detect request.
type request struct {
	opt       detect.Options
	custom    bool    // opt differs from the server's
	threshold float64 // recorded in the record, as given
	setThr    bool
	heatmap   string
}

// paramError is a bad query parameter.
type paramError struct {
	param string
	err   error
}

func (e *paramError) Error() string { return e.param + ": " + e.err.Error() }

func badParam(param, format string, a ...any) error {
	return &paramError{param, fmt.Errorf(format, a...)}
}

// optionParams names the query parameter behind each detect.Options field
// a request can set.
var optionParams = map[string]string{"Class": "class", "Threshold": "threshold", "Scales": "scales", "Step": "step"}

// parseRequest reads the query parameters over the server's options.
func (s *Server) parseRequest(q url.Values) (*request, error) {
	for k := range q {
		known := false
		for _, p := range params {
			known = known || k == p
		}
		if !known {
			return nil, badParam(k, "unknown parameter (want one of %s)", strings.Join(params, ", "))
		}
	}
	for _, p := range params {
		if len(q[p]) > 1 {
			return nil, badParam(p, "given %d times", len(q[p]))
		}
	}
	req := &request{opt: s.cfg.Options}
	req.opt.Scales = append([]float64(nil), req.opt.Scales...)
	if v, ok := q["threshold"]; ok {
		t, err := strconv.ParseFloat(v[0], 64)
		if err != nil || !(t >= 0 && t <= 1) {
			return nil, badParam("threshold", "%q is not a number in [0,1]", v[0])
		}
		req.threshold, req.setThr, req.custom = t, true, true
		req.opt.Threshold = t
		if t == 0 {
			req.opt.Threshold = detect.EveryWindow // 0 keeps every window, as in scan
		}
	}
	if v, ok := q["scales"]; ok {
		req.opt.Scales, req.custom = nil, true
		for _, f := range strings.Split(v[0], ",") {
			k, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
			if err != nil || !(k > 0) || math.IsInf(k, 0) {
				return nil, badParam("scales", "%q is not a finite number > 0", strings.TrimSpace(f))
			}
			req.opt.Scales = append(req.opt.Scales, k)
		}
		// Scales replace the pyramid, and its bounds with it.
		req.opt.MinSize, req.opt.MaxSize, req.opt.Upsample = 0, 0, false
	}
	if v, ok := q["step"]; ok {
		n, err := strconv.Atoi(v[0])
		if err != nil || n < 1 {
			return nil, badParam("step", "%q is not a whole number ≥ 1", v[0])
		}
		req.opt.Step, req.custom = n, true
	}
	if v, ok := q["flip"]; ok {
		b, err := strconv.ParseBool(v[0])
		if err != nil {
			return nil, badParam("flip", "%q is not true or false", v[0])
		}
		req.opt.NoFlip, req.custom = !b, true
	}
	if v, ok := q["class"]; ok {
		n, err := strconv.Atoi(v[0])
		if err != nil || n < 0 {
			return nil, badParam("class", "%q is not a whole number ≥ 0", v[0])
		}
		req.opt.Class, req.custom = detect.Class(n), true
	}
	if v, ok := q["heatmap"]; ok {
		if v[0] != HeatmapPNG && v[0] != HeatmapInline {
			return nil, badParam("heatmap", "%q: want %s or %s", v[0], HeatmapPNG, HeatmapInline)
		}
		req.heatmap = v[0]
	}
	return req, nil
}

// detector is the server's detector, or one made for the request's
// options on the same network. Detectors only read the network, and
// detect.New validates the options, so a bad one is the caller's error.
func (s *Server) detector(req *request) (*detect.Detector, error) {
	if !req.custom {
		return s.cfg.Detector, nil
	}
	d, err := detect.New(s.cfg.Detector.Network(), req.opt)
	var oe *detect.OptionError
	if errors.As(err, &oe) {
		if p, ok := optionParams[oe.Option]; ok {
			return nil, &paramError{p, oe.Err}
		}
	}
	return d, err
}

// httpError is an error with its status code.
type httpError struct {
	code int
	err  error
}

func (e *httpError) Error() string { return e.err.Error() }
func (e *httpError) Unwrap() error { return e.err }

func statusErr(code int, format string, a ...any) error {
	return &httpError{code, fmt.Errorf(format, a...)}
}

// readImage reads the upload, from the body or the multipart field
// FormField, and returns its bytes and the name to record: the file name
// of a multipart upload, else "upload".
func (s *Server) readImage(w http.ResponseWriter, r *http.Request) ([]byte, string, error) {
	body := http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes)
	limitErr := func(err error) error {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return statusErr(http.StatusRequestEntityTooLarge, "request body is larger than the %d-byte limit", mbe.Limit)
		}
		return statusErr(http.StatusBadRequest, "reading the request body: %w", err)
	}
	name := "upload"
	var src io.Reader = body
	if mt, p, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err == nil && mt == "multipart/form-data" {
		mr := multipart.NewReader(body, p["boundary"])
		for {
			part, err := mr.NextPart()
			if err == io.EOF {
				return nil, "", statusErr(http.StatusBadRequest, "multipart form has no field %q holding the image", FormField)
			}
			if err != nil {
				return nil, "", limitErr(err)
			}
			if part.FormName() == FormField {
				if fn := part.FileName(); fn != "" {
					name = fn
				}
				src = part
				break
			}
		}
	}
	b, err := io.ReadAll(src)
	if err != nil {
		return nil, "", limitErr(err)
	}
	if len(b) == 0 {
		return nil, "", statusErr(http.StatusBadRequest, "no image: the request body is empty (send the image as the body or as the multipart field %q)", FormField)
	}
	return b, name, nil
}

// decode decodes the upload as detect.DecodeImage does, which checks its
// size on the header before allocating the pixels and applies its EXIF
// orientation.
func (s *Server) decode(b []byte) (image.Image, error) {
	img, err := detect.DecodeImage(bytes.NewReader(b), s.cfg.MaxPixels)
	switch {
	case errors.Is(err, image.ErrFormat):
		return nil, statusErr(http.StatusUnsupportedMediaType, "the upload is not an image in a known format (JPEG, PNG, GIF, BMP, TIFF, WebP)")
	case errors.Is(err, detect.ErrTooManyPixels):
		return nil, &httpError{http.StatusRequestEntityTooLarge, err}
	case err != nil:
		return nil, &httpError{http.StatusBadRequest, err}
	}
	return img, nil
}

// run detects in img on a worker, waiting for one until ctx is done. The
// detection stops when ctx is done too (detect checks it between pyramid
// levels and tiles), so a request past its timeout frees its worker.
func (s *Server) run(ctx context.Context, d *detect.Detector, img image.Image) (*detect.Result, error) {
	select {
	case s.workers <- struct{}{}:
	case <-ctx.Done():
		return nil, statusErr(http.StatusServiceUnavailable, "no worker became free within the %v request timeout", s.cfg.Timeout)
	}
	s.metrics.busy.Add(1)
	defer func() {
		s.metrics.busy.Add(-1)
		<-s.workers
	}()
	if s.beforeDetect != nil {
		s.beforeDetect(ctx)
	}
	res, err := d.DetectContext(ctx, img)
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return nil, statusErr(http.StatusGatewayTimeout, "the detection took longer than the %v request timeout", s.cfg.Timeout)
	case errors.Is(err, context.Canceled):
		return nil, statusErr(http.StatusServiceUnavailable, "the request was canceled")
	case err == nil:
		s.metrics.images.Add(1)
	}
	return res, err
}

func (s *Server) handleDetect(w http.ResponseWriter, r *http.Request) {
	t0 := time.Now()
	// Admission: a bounded number of requests, the rest refused at once.
	select {
	case s.inFlight <- struct{}{}:
	default:
		s.metrics.rejected.Add(1)
		w.Header().Set("Retry-After", retryAfter)
		writeError(w, http.StatusServiceUnavailable, "", fmt.Errorf("server busy: %d requests in flight; retry later", s.cfg.MaxInFlight))
		return
	}
	s.metrics.inFlight.Add(1)
	defer func() {
		s.metrics.inFlight.Add(-1)
		<-s.inFlight
	}()
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.Timeout)
	defer cancel()

	req, err := s.parseRequest(r.URL.Query())
	var d *detect.Detector
	if err == nil {
		d, err = s.detector(req)
	}
	var b []byte
	var name string
	if err == nil {
		b, name, err = s.readImage(w, r)
	}
	var img image.Image
	if err == nil {
		img, err = s.decode(b)
	}
	var res *detect.Result
	if err == nil {
		res, err = s.run(ctx, d, img)
	}
	if err != nil {
		s.fail(w, err)
		return
	}
	thr := d.Threshold()
	if req.setThr {
		thr = req.threshold // as given: 0, not EveryWindow
	}
	if req.heatmap == HeatmapPNG {
		over := detect.RenderOverlay(img, detect.MaxOverScales(res.Heatmaps), res.Detections)
		w.Header().Set("Content-Type", "image/png")
		if err := png.Encode(w, over); err != nil {
			// The status is sent; all that is left is to stop.
			return
		}
		return
	}
	rec := scan.NewRecord(name, s.cfg.Model, thr, res)
	rec.ElapsedMS = float64(time.Since(t0).Microseconds()) / 1000
	out, err := json.Marshal(rec)
	if err != nil {
		s.fail(w, err)
		return
	}
	if req.heatmap == HeatmapInline {
		if out, err = withInlineHeatmap(out, img, res); err != nil {
			s.fail(w, err)
			return
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(append(out, '\n'))
}

// withInlineHeatmap adds "heatmap_png" to the record's JSON object: a
// data URL of the overlay cut to the image, without boxes or colour bar.
func withInlineHeatmap(rec []byte, img image.Image, res *detect.Result) ([]byte, error) {
	over := detect.RenderOverlay(img, detect.MaxOverScales(res.Heatmaps), nil)
	sub, ok := over.(interface {
		SubImage(image.Rectangle) image.Image
	})
	if !ok {
		return nil, errors.New("serve: overlay cannot be cut to the image")
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, sub.SubImage(image.Rect(0, 0, res.Width, res.Height))); err != nil {
		return nil, fmt.Errorf("serve: encoding the heatmap: %w", err)
	}
	url, err := json.Marshal("data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes()))
	if err != nil {
		return nil, err
	}
	// rec is one JSON object: insert the field before its closing brace.
	rec = bytes.TrimRight(rec, "\n ")
	out := append(rec[:len(rec)-1:len(rec)-1], `,"heatmap_png":`...)
	out = append(out, url...)
	return append(out, '}'), nil
}

// fail answers with err's status and a JSON error naming the parameter
// at fault, if any.
func (s *Server) fail(w http.ResponseWriter, err error) {
	var pe *paramError
	var he *httpError
	var small detect.ErrTooSmall
	switch {
	case errors.As(err, &pe):
		writeError(w, http.StatusBadRequest, pe.param, err)
	case errors.As(err, &he):
		if he.code == http.StatusServiceUnavailable {
			w.Header().Set("Retry-After", retryAfter)
		}
		writeError(w, he.code, "", err)
	case errors.As(err, &small):
		writeError(w, http.StatusUnprocessableEntity, "", fmt.Errorf("image %d×%d is smaller than the %d×%d window at every scale",
			small.Width, small.Height, small.Window.W, small.Window.H))
	default:
		writeError(w, http.StatusInternalServerError, "", err)
	}
}

// apiError is the body of every error answer.
type apiError struct {
	Error string `json:"error"`
	// Param is the query parameter at fault, when one is.
	Param string `json:"param,omitempty"`
}

func writeError(w http.ResponseWriter, code int, param string, err error) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	b, _ := json.Marshal(apiError{Error: err.Error(), Param: param})
	w.Write(append(b, '\n'))
}
