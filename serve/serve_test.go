package serve

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"hash/crc32"
	"image"
	"image/png"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fc2conv/fc2conv/detect"
	"github.com/fc2conv/fc2conv/models"
	"github.com/fc2conv/fc2conv/scan"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const scene = "../testdata/samples/scene_001.png"

// sceneScales is the pyramid level at which scene_001's dresses are
// found: scanning only it keeps the tests fast.
const sceneScales = "0.4096"

// sceneDresses is the ground truth of scene_001 (testdata/samples/truth.jsonl).
var sceneDresses = [][4]float64{{749, 252, 828, 331}, {639, 318, 704, 383}}

var embeddedModel = scan.NewModel("embedded:dress-fcn", models.DressFCNFile())

// newServer serves the embedded model with cfg's limits.
func newServer(t *testing.T, cfg Config) *Server {
	t.Helper()
	net, err := models.DressFCN()
	require.NoError(t, err)
	cfg.Detector, err = detect.New(net, cfg.Options)
	require.NoError(t, err)
	cfg.Model = embeddedModel
	s, err := New(cfg)
	require.NoError(t, err)
	return s
}

func do(t *testing.T, h http.Handler, method, target string, body []byte, contentType string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, target, bytes.NewReader(body))
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func multipartBody(t *testing.T, field, filename string, data []byte) ([]byte, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	require.NoError(t, mw.WriteField("note", "a field before the image"))
	fw, err := mw.CreateFormFile(field, filename)
	require.NoError(t, err)
	_, err = fw.Write(data)
	require.NoError(t, err)
	require.NoError(t, mw.Close())
	return buf.Bytes(), mw.FormDataContentType()
}

func pngOf(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 37)
	}
	var buf bytes.Buffer
	require.NoError(t, png.Encode(&buf, img))
	return buf.Bytes()
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return b
}

type apiErr struct {
	Error string `json:"error"`
	Param string `json:"param"`
}

func decodeErr(t *testing.T, w *httptest.ResponseRecorder) apiErr {
	t.Helper()
	assert.Equal(t, "application/json", w.Header().Get("Content-Type"))
	var e apiErr
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &e), "body %q", w.Body.String())
	require.NotEmpty(t, e.Error)
	return e
}

func iou(a, b [4]float64) float64 {
	ix := max(0, min(a[2], b[2])-max(a[0], b[0]))
	iy := max(0, min(a[3], b[3])-max(a[1], b[1]))
	inter := ix * iy
	return inter / ((a[2]-a[0])*(a[3]-a[1]) + (b[2]-b[0])*(b[3]-b[1]) - inter)
}

// withoutElapsed drops elapsed_ms, the one field that differs run to run.
func withoutElapsed(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m), "body %q", b)
	require.Contains(t, m, "elapsed_ms")
	delete(m, "elapsed_ms")
	return m
}

func TestDetectAnswersScansRecord(t *testing.T) {
	s := newServer(t, Config{})
	img := readFile(t, scene)

	// The record scan would write for the same image and options.
	net, err := models.DressFCN()
	require.NoError(t, err)
	d, err := detect.New(net, detect.Options{Scales: []float64{0.4096}})
	require.NoError(t, err)
	pic, err := detect.LoadImage(scene)
	require.NoError(t, err)
	res, err := d.Detect(pic)
	require.NoError(t, err)
	want, err := json.Marshal(scan.NewRecord("scene_001.png", embeddedModel, 0.8445, res))
	require.NoError(t, err)

	mp, ct := multipartBody(t, FormField, "scene_001.png", img)
	for name, w := range map[string]*httptest.ResponseRecorder{
		"body":      do(t, s.Handler(), "POST", "/v1/detect?scales="+sceneScales, img, "image/png"),
		"multipart": do(t, s.Handler(), "POST", "/v1/detect?scales="+sceneScales, mp, ct),
	} {
		require.Equal(t, http.StatusOK, w.Code, "%s: %s", name, w.Body)
		assert.Equal(t, "application/json", w.Header().Get("Content-Type"))
		got := withoutElapsed(t, w.Body.Bytes())
		exp := withoutElapsed(t, want)
		if name == "body" {
			exp["image"] = "upload"
		}
		assert.Equal(t, exp, got, name)

		var rec struct {
			Threshold  float64
			Detections []struct {
				Box   [4]float64
				Score float64
			}
		}
		require.NoError(t, json.Unmarshal(w.Body.Bytes(), &rec))
		assert.Equal(t, 0.8445, rec.Threshold, "the embedded model's own threshold")
		require.Len(t, rec.Detections, len(sceneDresses), name)
		for _, truth := range sceneDresses {
			best := 0.0
			for _, det := range rec.Detections {
				best = max(best, iou(det.Box, truth))
			}
			assert.GreaterOrEqual(t, best, 0.5, "%s: dress %v found", name, truth)
		}
	}
}

func TestDetectOptionsChangeTheResult(t *testing.T) {
	s := newServer(t, Config{})
	img, _ := sceneCrop(t)
	count := func(query string) (int, float64) {
		w := do(t, s.Handler(), "POST", "/v1/detect?scales="+sceneScales+query, img, "")
		require.Equal(t, http.StatusOK, w.Code, "%s: %s", query, w.Body)
		var rec struct {
			Threshold  float64
			Detections []json.RawMessage
		}
		require.NoError(t, json.Unmarshal(w.Body.Bytes(), &rec))
		return len(rec.Detections), rec.Threshold
	}
	n, thr := count("")
	assert.Equal(t, 2, n)
	assert.Equal(t, 0.8445, thr)
	n, thr = count("&threshold=0")
	assert.Greater(t, n, 2, "threshold 0 reports every window that survives NMS")
	assert.Equal(t, 0.0, thr, "the record keeps the threshold as given")
	n, _ = count("&class=0&threshold=0.99")
	assert.Greater(t, n, 2, "class 0, not dress, fires on the background")
	n, _ = count("&flip=false&step=2")
	assert.GreaterOrEqual(t, n, 1)
}

// sceneCrop is the part of scene_001 that holds its two dresses, as a
// PNG, and decoded.
func sceneCrop(t *testing.T) ([]byte, image.Image) {
	t.Helper()
	pic, err := detect.LoadImage(scene)
	require.NoError(t, err)
	crop := toNRGBA(pic.(interface {
		SubImage(image.Rectangle) image.Image
	}).SubImage(image.Rect(600, 230, 860, 410)))
	var buf bytes.Buffer
	require.NoError(t, png.Encode(&buf, crop))
	return buf.Bytes(), crop
}

func TestDetectHeatmaps(t *testing.T) {
	s := newServer(t, Config{})
	img, pic := sceneCrop(t)
	net, err := models.DressFCN()
	require.NoError(t, err)
	d, err := detect.New(net, detect.Options{Scales: []float64{0.4096}})
	require.NoError(t, err)
	res, err := d.Detect(pic)
	require.NoError(t, err)
	require.Len(t, res.Detections, 2)

	w := do(t, s.Handler(), "POST", "/v1/detect?heatmap=png&scales=0.4096", img, "")
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	assert.Equal(t, "image/png", w.Header().Get("Content-Type"))
	got, err := png.Decode(w.Body)
	require.NoError(t, err)
	want := detect.RenderOverlay(pic, detect.MaxOverScales(res.Heatmaps), res.Detections)
	require.Equal(t, want.Bounds(), got.Bounds(), "the overlay scan --heatmaps writes")
	assert.Equal(t, want.(*image.NRGBA).Pix, toNRGBA(got).Pix)

	w = do(t, s.Handler(), "POST", "/v1/detect?heatmap=inline&scales=0.4096", img, "")
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	var rec map[string]any
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &rec))
	url, _ := rec["heatmap_png"].(string)
	require.True(t, strings.HasPrefix(url, "data:image/png;base64,"), "heatmap_png %.40q", url)
	b, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(url, "data:image/png;base64,"))
	require.NoError(t, err)
	layer, err := png.Decode(bytes.NewReader(b))
	require.NoError(t, err)
	assert.Equal(t, image.Rect(0, 0, 260, 180), layer.Bounds(), "cut to the image")
	// Without boxes, so it equals the overlay drawn with none.
	bare := detect.RenderOverlay(pic, detect.MaxOverScales(res.Heatmaps), nil).(*image.NRGBA)
	assert.Equal(t, toNRGBA(bare.SubImage(layer.Bounds())).Pix, toNRGBA(layer).Pix)
	assert.Len(t, rec["detections"], 2, "the record is there too")
}

func toNRGBA(img image.Image) *image.NRGBA {
	b := img.Bounds()
	out := image.NewNRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			out.Set(x, y, img.At(b.Min.X+x, b.Min.Y+y))
		}
	}
	return out
}

func TestBadParametersAreNamed(t *testing.T) {
	s := newServer(t, Config{})
	img := pngOf(t, 64, 64)
	cases := []struct{ query, param, says string }{
		{"threshold=2", "threshold", "[0,1]"},
		{"threshold=abc", "threshold", "abc"},
		{"threshold=NaN", "threshold", "NaN"},
		{"scales=0", "scales", "> 0"},
		{"scales=1,x", "scales", `"x"`},
		{"step=0", "step", "≥ 1"},
		{"step=3", "step", "does not divide"},
		{"flip=maybe", "flip", "maybe"},
		{"class=-1", "class", "≥ 0"},
		{"class=7", "class", "out of range"},
		{"heatmap=jpeg", "heatmap", "png"},
		{"thresold=0.5", "thresold", "unknown parameter"},
		{"threshold=0.5&threshold=0.6", "threshold", "2 times"},
	}
	for _, c := range cases {
		w := do(t, s.Handler(), "POST", "/v1/detect?"+c.query, img, "image/png")
		assert.Equal(t, http.StatusBadRequest, w.Code, c.query)
		e := decodeErr(t, w)
		assert.Equal(t, c.param, e.Param, c.query)
		assert.Contains(t, e.Error, c.says, c.query)
	}
	// And it keeps serving.
	w := do(t, s.Handler(), "POST", "/v1/detect?scales=1", img, "image/png")
	assert.Equal(t, http.StatusOK, w.Code, w.Body.String())
}

// pngHeader is the start of a PNG whose header claims w×h: enough for
// image.DecodeConfig, and nothing to decode.
func pngHeader(w, h uint32) []byte {
	ihdr := make([]byte, 4+13)
	copy(ihdr, "IHDR")
	binary.BigEndian.PutUint32(ihdr[4:], w)
	binary.BigEndian.PutUint32(ihdr[8:], h)
	ihdr[12], ihdr[13] = 8, 0 // 8-bit grey
	b := []byte("\x89PNG\r\n\x1a\n")
	b = binary.BigEndian.AppendUint32(b, 13)
	b = append(b, ihdr...)
	return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(ihdr))
}

func TestBadBodies(t *testing.T) {
	s := newServer(t, Config{MaxBodyBytes: 64 << 10, MaxPixels: 200 * 200})
	good := pngOf(t, 64, 64)
	mpNoImage, ctNoImage := multipartBody(t, "file", "x.png", good)
	cases := []struct {
		name        string
		body        []byte
		contentType string
		code        int
		says        string
	}{
		{"empty", nil, "", http.StatusBadRequest, "empty"},
		{"not an image", []byte("hello, this is text"), "text/plain", http.StatusUnsupportedMediaType, "not an image"},
		{"cut short", good[:len(good)/2], "image/png", http.StatusBadRequest, "png"},
		{"multipart without the field", mpNoImage, ctNoImage, http.StatusBadRequest, `"image"`},
		{"over the body limit", bytes.Repeat([]byte{1}, 65<<10), "", http.StatusRequestEntityTooLarge, "65536-byte limit"},
		{"over the pixel limit", pngOf(t, 201, 200), "", http.StatusRequestEntityTooLarge, "201×200"},
		{"a header claiming 100000×100000", pngHeader(100000, 100000), "", http.StatusRequestEntityTooLarge, "100000×100000"},
		{"smaller than the window", pngOf(t, 20, 15), "", http.StatusUnprocessableEntity, "20×15 is smaller than the 28×28 window"},
	}
	for _, c := range cases {
		w := do(t, s.Handler(), "POST", "/v1/detect", c.body, c.contentType)
		assert.Equal(t, c.code, w.Code, c.name)
		e := decodeErr(t, w)
		assert.Contains(t, e.Error, c.says, c.name)
		assert.Empty(t, e.Param, c.name)
	}
	w := do(t, s.Handler(), "POST", "/v1/detect?scales=1", good, "image/png")
	assert.Equal(t, http.StatusOK, w.Code, "still serving: %s", w.Body)
}

func TestRoutes(t *testing.T) {
	s := newServer(t, Config{})
	w := do(t, s.Handler(), "GET", "/healthz", nil, "")
	assert.Equal(t, http.StatusOK, w.Code)
	assert.JSONEq(t, `{"status":"ok"}`, w.Body.String())

	w = do(t, s.Handler(), "GET", "/v1/detect", nil, "")
	assert.Equal(t, http.StatusMethodNotAllowed, w.Code)
	assert.Equal(t, "POST", w.Header().Get("Allow"))
	decodeErr(t, w)
	w = do(t, s.Handler(), "POST", "/v1/model", nil, "")
	assert.Equal(t, http.StatusMethodNotAllowed, w.Code)
	w = do(t, s.Handler(), "GET", "/v1/nothing", nil, "")
	assert.Equal(t, http.StatusNotFound, w.Code)
	assert.Contains(t, decodeErr(t, w).Error, "/v1/nothing")

	w = do(t, s.Handler(), "GET", "/", nil, "")
	assert.Equal(t, http.StatusOK, w.Code)
	assert.Contains(t, w.Header().Get("Content-Type"), "text/html")
	assert.Contains(t, w.Body.String(), `<script src="/static/app.js">`)
	for path, ctype := range map[string]string{"/static/app.js": "javascript", "/static/style.css": "text/css"} {
		w = do(t, s.Handler(), "GET", path, nil, "")
		assert.Equal(t, http.StatusOK, w.Code, path)
		assert.Contains(t, w.Header().Get("Content-Type"), ctype, path)
	}
	w = do(t, s.Handler(), "GET", "/static/nothing.js", nil, "")
	assert.Equal(t, http.StatusNotFound, w.Code)
}

func TestModelInfo(t *testing.T) {
	s := newServer(t, Config{Workers: 2, MaxPixels: 1000, Timeout: time.Minute})
	w := do(t, s.Handler(), "GET", "/v1/model", nil, "")
	require.Equal(t, http.StatusOK, w.Code)
	var info ModelInfo
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &info))
	// The embedded model as models/README.md describes it.
	assert.Equal(t, "embedded:dress-fcn", info.Name)
	assert.Equal(t, "40ca00d7e706", info.SHA256)
	assert.Equal(t, []string{"not dress", "dress"}, info.Labels)
	assert.Equal(t, 1, info.Class)
	assert.Equal(t, 0.8445, info.Threshold)
	assert.Equal(t, Size{28, 28}, info.Window)
	assert.Equal(t, Size{4, 4}, info.Stride)
	require.Len(t, info.Layers, 12)
	assert.Equal(t, LayerRow{Name: "conv1", Type: "conv2d", Config: "conv 32×1×3×3 /1×1 pad 0×0", Output: [3]int{32, 26, 26}, Weights: 32*9 + 32}, info.Layers[0])
	assert.Equal(t, [3]int{2, 1, 1}, info.Layers[11].Output, "one cell of two classes on the window")
	assert.Equal(t, Limits{MaxBodyBytes: DefaultMaxBodyBytes, MaxPixels: 1000, TimeoutSeconds: 60, Workers: 2, MaxInFlight: 8}, info.Limits)
}

// metricValue reads one sample from the /metrics text.
func metricValue(t *testing.T, h http.Handler, series string) float64 {
	t.Helper()
	w := do(t, h, "GET", "/metrics", nil, "")
	require.Equal(t, http.StatusOK, w.Code)
	require.Contains(t, w.Header().Get("Content-Type"), "text/plain; version=0.0.4")
	sc := bufio.NewScanner(w.Body)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), series+" "); ok {
			v, err := strconv.ParseFloat(rest, 64)
			require.NoError(t, err, sc.Text())
			return v
		}
	}
	return 0 // a series not yet seen
}

func TestMetricsCount(t *testing.T) {
	s := newServer(t, Config{})
	h := s.Handler()
	ok := `fc2conv_http_requests_total{handler="/v1/detect",code="200"}`
	bad := `fc2conv_http_requests_total{handler="/v1/detect",code="400"}`
	hist := `fc2conv_http_request_duration_seconds_count{handler="/v1/detect"}`
	inf := `fc2conv_http_request_duration_seconds_bucket{handler="/v1/detect",le="+Inf"}`
	images := "fc2conv_images_scanned_total"
	before := map[string]float64{}
	for _, k := range []string{ok, bad, hist, inf, images} {
		before[k] = metricValue(t, h, k)
	}
	require.Equal(t, http.StatusOK, do(t, h, "POST", "/v1/detect?scales=1", pngOf(t, 64, 64), "").Code)
	require.Equal(t, http.StatusOK, do(t, h, "POST", "/v1/detect?scales=1", pngOf(t, 64, 32), "").Code)
	require.Equal(t, http.StatusBadRequest, do(t, h, "POST", "/v1/detect?step=x", nil, "").Code)
	assert.Equal(t, before[ok]+2, metricValue(t, h, ok))
	assert.Equal(t, before[bad]+1, metricValue(t, h, bad))
	assert.Equal(t, before[hist]+3, metricValue(t, h, hist))
	assert.Equal(t, before[inf]+3, metricValue(t, h, inf))
	assert.Equal(t, before[images]+2, metricValue(t, h, images))
	assert.Equal(t, 0.0, metricValue(t, h, "fc2conv_images_in_flight"))
	// Buckets are cumulative: the smallest holds at most what +Inf holds.
	assert.LessOrEqual(t, metricValue(t, h, `fc2conv_http_request_duration_seconds_bucket{handler="/v1/detect",le="0.005"}`), metricValue(t, h, inf))
}

// gate blocks every detection until opened, and says when one started.
// With honorCtx it also stops waiting when the request's context is done,
// as detect does between pyramid levels; without, it stands for a
// detection step that outlasts the timeout.
type gate struct {
	started chan struct{}
	open    chan struct{}
	once    sync.Once
}

func newGate(s *Server, honorCtx bool) *gate {
	g := &gate{started: make(chan struct{}, 16), open: make(chan struct{})}
	s.beforeDetect = func(ctx context.Context) {
		g.started <- struct{}{}
		done := ctx.Done()
		if !honorCtx {
			done = nil
		}
		select {
		case <-g.open:
		case <-done:
		}
	}
	return g
}

func (g *gate) release() { g.once.Do(func() { close(g.open) }) }

func (g *gate) waitStarted(t *testing.T) {
	t.Helper()
	select {
	case <-g.started:
	case <-time.After(10 * time.Second):
		t.Fatal("no detection started")
	}
}

func TestOverloadGets503(t *testing.T) {
	s := newServer(t, Config{Workers: 1, MaxInFlight: 2})
	g := newGate(s, false)
	defer g.release()
	h := s.Handler()
	img := pngOf(t, 64, 64)
	codes := make(chan int, 2)
	go func() { codes <- do(t, h, "POST", "/v1/detect?scales=1", img, "").Code }()
	g.waitStarted(t)
	go func() { codes <- do(t, h, "POST", "/v1/detect?scales=1", img, "").Code }()
	require.Eventually(t, func() bool { return metricValue(t, h, "fc2conv_images_in_flight") == 2 }, 5*time.Second, 5*time.Millisecond)
	assert.Equal(t, 1.0, metricValue(t, h, "fc2conv_workers_busy"), "one worker, the other request queued")

	w := do(t, h, "POST", "/v1/detect?scales=1", img, "")
	assert.Equal(t, http.StatusServiceUnavailable, w.Code)
	assert.Equal(t, "1", w.Header().Get("Retry-After"))
	assert.Contains(t, decodeErr(t, w).Error, "2 requests in flight")
	assert.Equal(t, 1.0, metricValue(t, h, "fc2conv_requests_rejected_total"))
	// Health and metrics do not queue behind detections.
	assert.Equal(t, http.StatusOK, do(t, h, "GET", "/healthz", nil, "").Code)

	g.release()
	assert.Equal(t, http.StatusOK, <-codes)
	assert.Equal(t, http.StatusOK, <-codes)
	assert.Equal(t, http.StatusOK, do(t, h, "POST", "/v1/detect?scales=1", img, "").Code, "room again")
}

func TestTimeouts(t *testing.T) {
	img := pngOf(t, 64, 64)
	t.Run("waiting for a worker", func(t *testing.T) {
		s := newServer(t, Config{Workers: 1, MaxInFlight: 2, Timeout: 300 * time.Millisecond})
		g := newGate(s, false)
		defer g.release()
		h := s.Handler()
		first := make(chan *httptest.ResponseRecorder, 1)
		go func() { first <- do(t, h, "POST", "/v1/detect?scales=1", img, "") }()
		g.waitStarted(t)
		// The second waits for the busy worker past its timeout.
		w := do(t, h, "POST", "/v1/detect?scales=1", img, "")
		assert.Equal(t, http.StatusServiceUnavailable, w.Code)
		assert.Equal(t, "1", w.Header().Get("Retry-After"))
		assert.Contains(t, decodeErr(t, w).Error, "no worker became free within the 300ms request timeout")
		// The first, past its timeout too, stops as soon as it looks.
		g.release()
		w = <-first
		assert.Equal(t, http.StatusGatewayTimeout, w.Code)
		assert.Contains(t, decodeErr(t, w).Error, "took longer than the 300ms request timeout")
	})
	t.Run("detecting", func(t *testing.T) {
		s := newServer(t, Config{Workers: 1, Timeout: 300 * time.Millisecond})
		g := newGate(s, true)
		defer g.release()
		h := s.Handler()
		t0 := time.Now()
		w := do(t, h, "POST", "/v1/detect?scales=1", img, "")
		assert.Equal(t, http.StatusGatewayTimeout, w.Code)
		assert.Contains(t, decodeErr(t, w).Error, "took longer than the 300ms request timeout")
		assert.Less(t, time.Since(t0), 5*time.Second, "the detection stopped at its timeout")
		// The worker is free again without the gate opening.
		assert.Equal(t, 0.0, metricValue(t, h, "fc2conv_workers_busy"))
		g.release()
		assert.Equal(t, http.StatusOK, do(t, h, "POST", "/v1/detect?scales=1", img, "").Code)
	})
}

func TestShutdownLetsRequestsFinish(t *testing.T) {
	s := newServer(t, Config{Workers: 1})
	g := newGate(s, false)
	defer g.release()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	url := "http://" + ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, ln) }()

	type answer struct {
		code int
		body string
		err  error
	}
	inflight := make(chan answer, 1)
	go func() {
		resp, err := http.Post(url+"/v1/detect?scales=1", "image/png", bytes.NewReader(pngOf(t, 64, 64)))
		if err != nil {
			inflight <- answer{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		inflight <- answer{resp.StatusCode, string(b), err}
	}()
	g.waitStarted(t)
	cancel() // as SIGTERM does in fc2conv serve

	// New connections are refused while the request in flight goes on.
	require.Eventually(t, func() bool {
		c, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second)
		if err == nil {
			c.Close()
		}
		return err != nil
	}, 5*time.Second, 10*time.Millisecond, "the listener closes")
	select {
	case err := <-served:
		t.Fatalf("Serve returned %v with a request in flight", err)
	case a := <-inflight:
		t.Fatalf("the request in flight ended early: %+v", a)
	case <-time.After(100 * time.Millisecond):
	}
	g.release()
	a := <-inflight
	require.NoError(t, a.err)
	assert.Equal(t, http.StatusOK, a.code, a.body)
	assert.Contains(t, a.body, `"detections"`)
	select {
	case err := <-served:
		assert.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after the last request")
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	net, err := models.DressFCN()
	require.NoError(t, err)
	d, err := detect.New(net, detect.Options{})
	require.NoError(t, err)
	for _, c := range []struct {
		cfg  Config
		says string
	}{
		{Config{}, "no detector"},
		{Config{Detector: d, Workers: -1}, "Workers -1"},
		{Config{Detector: d, Workers: 4, MaxInFlight: 2}, "MaxInFlight 2 is below Workers 4"},
		{Config{Detector: d, MaxBodyBytes: -1}, "MaxBodyBytes"},
		{Config{Detector: d, Timeout: -time.Second}, "Timeout"},
		{Config{Detector: d, MaxPixels: detect.MaxImagePixels + 1}, "MaxPixels"},
	} {
		_, err := New(c.cfg)
		require.Error(t, err)
		assert.Contains(t, err.Error(), c.says)
	}
}

// A server with a verifier refuses a request for a class the verifier does
// not check, naming the parameter, and keeps serving.
func TestClassTheVerifierDoesNotCheck(t *testing.T) {
	v, err := models.Verifier()
	require.NoError(t, err)
	s := newServer(t, Config{Options: detect.Options{Verifier: v}})
	img := pngOf(t, 64, 64)
	w := do(t, s.Handler(), "POST", "/v1/detect?class=0", img, "image/png")
	assert.Equal(t, http.StatusBadRequest, w.Code)
	e := decodeErr(t, w)
	assert.Equal(t, "class", e.Param)
	assert.Contains(t, e.Error, "the verifier checks the network's positive class")
	w = do(t, s.Handler(), "POST", "/v1/detect?class=1", img, "image/png")
	assert.Equal(t, http.StatusOK, w.Code, w.Body.String())
}
