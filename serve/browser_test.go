package serve

// The page at / tested in a real browser: headless Chromium driven
// through the DevTools protocol. chromedp is imported only here, so the
// fc2conv binary does not link it.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/fc2conv/fc2conv/detect"
	"github.com/fc2conv/fc2conv/models"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// browserPath finds Chromium (Debian's package is "chromium").
func browserPath() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// box is a box as the API reports it and as the page draws it.
type box struct {
	Box   [4]float64 `json:"box"`
	Score float64    `json:"score"`
}

// apiBox is a detection as the API answers it, with its stages.
type apiBox struct {
	box
	Scale     float64  `json:"scale"`
	ScanScore *float64 `json:"scan_score"`
	VerifierP *float64 `json:"verifier_p"`
}

// drawnBoxes reads the boxes the page drew: each SVG rect's geometry and
// the box and score it carries.
const drawnBoxes = `Array.from(document.querySelectorAll("#boxes rect")).map(r => ({
	box: JSON.parse(r.dataset.box), score: Number(r.dataset.score),
	drawn: ["x", "y", "width", "height"].map(a => Number(r.getAttribute(a))),
	title: r.querySelector("title").textContent}))`

type drawn struct {
	box
	Drawn [4]float64 `json:"drawn"` // x, y, width, height
	Title string     `json:"title"`
}

func TestPageInBrowser(t *testing.T) {
	chromium := browserPath()
	if chromium == "" {
		t.Skip("no browser: install Debian's chromium package (apt-get install chromium) to run the page's browser test")
	}
	s := newServer(t, Config{Workers: 1})
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	scenePath, err := filepath.Abs(scene)
	require.NoError(t, err)

	// What the API at base answers for the same image and options.
	apiBoxes := func(base, query string) []apiBox {
		f, err := os.Open(scenePath)
		require.NoError(t, err)
		defer f.Close()
		resp, err := http.Post(base+"/v1/detect?scales="+sceneScales+query, "image/png", f)
		require.NoError(t, err)
		defer resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		var rec struct{ Detections []apiBox }
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&rec))
		return rec.Detections
	}
	atModel := apiBoxes(ts.URL, "")
	atLow := apiBoxes(ts.URL, "&threshold=0.02")
	require.NotEmpty(t, atModel)
	require.Greater(t, len(atLow), len(atModel), "a lower threshold must show more boxes for the slider check to mean something")

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.NoSandbox, // root in a container has no user namespace sandbox
		chromedp.DisableGPU,
		chromedp.WindowSize(1280, 1000),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancelCtx := chromedp.NewContext(actx)
	defer cancelCtx()
	// The browser starts on the first Run, whose context must not time
	// out (it would stop the browser); the steps after it are bounded.
	if err := chromedp.Do(ctx, chromedp.Navigate(ts.URL+"/?scales="+sceneScales)); err != nil {
		t.Fatalf("starting %s: %v", chromium, err)
	}
	step, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	require.NoError(t, chromedp.Do(step, chromedp.WaitVisible(chromedp.CSS(`body[data-state="idle"]`))), "the page loads the model")
	model, err := chromedp.Run(step, chromedp.Text(chromedp.ID("model")))
	require.NoError(t, err)
	assert.Contains(t, model, "embedded:dress-fcn")
	assert.Contains(t, model, "window 28×28")
	require.NoError(t, chromedp.Do(step,
		chromedp.SetUploadFiles(chromedp.ID("file"), []string{scenePath}),
		chromedp.WaitVisible(chromedp.CSS(`body[data-state="done"] #boxes`)),
	), "uploading the scene")
	page, err := chromedp.Run(step, chromedp.Evaluate[[]drawn](drawnBoxes))
	require.NoError(t, err)
	assertSameBoxes(t, atModel, page, "at the model's threshold")
	assertTitles(t, atModel, page)

	if dir := os.Getenv("FC2CONV_SCREENSHOT_DIR"); dir != "" {
		png, err := chromedp.Run(step, chromedp.FullScreenshot(100))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, "page.png"), png, 0o644))
	}

	// The slider re-filters on the page, without another request.
	detects := func() float64 {
		return metricValue(t, s.Handler(), `fc2conv_http_requests_total{handler="/v1/detect",code="200"}`)
	}
	before := detects()
	require.NoError(t, chromedp.Do(step,
		chromedp.SetValue(chromedp.ID("threshold"), "0.02"),
		chromedp.Evaluate[chromedp.Void](`void document.getElementById("threshold").dispatchEvent(new Event("input"))`),
	), "moving the slider")
	page, err = chromedp.Run(step, chromedp.Evaluate[[]drawn](drawnBoxes))
	require.NoError(t, err)
	assertSameBoxes(t, atLow, page, "at threshold 0.02")
	count, err := chromedp.Run(step, chromedp.Text(chromedp.ID("count")))
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(count, fmt.Sprintf("%d of ", len(atLow))), "count %q", count)
	assert.Equal(t, before, detects(), "moving the slider sent no request")

	// A file that is not an image: the page shows the API's error.
	notImage := filepath.Join(t.TempDir(), "notes.png")
	require.NoError(t, os.WriteFile(notImage, []byte("not a picture"), 0o644))
	require.NoError(t, chromedp.Do(step,
		chromedp.SetUploadFiles(chromedp.ID("file"), []string{notImage}),
		chromedp.WaitVisible(chromedp.CSS(`body[data-state="error"]`)),
	), "uploading a file that is not an image")
	status, err := chromedp.Run(step, chromedp.Text(chromedp.ID("status")))
	require.NoError(t, err)
	assert.Contains(t, status, "415: the upload is not an image")

	// Behind a verifier, as fc2conv serve runs by default, each box's
	// tooltip also names the two stages its score was made of.
	ver, err := models.Verifier()
	require.NoError(t, err)
	vs := newServer(t, Config{Workers: 1, Options: detect.Options{Verifier: ver}})
	vts := httptest.NewServer(vs.Handler())
	defer vts.Close()
	verified := apiBoxes(vts.URL, "")
	require.NotEmpty(t, verified)
	require.NotNil(t, verified[0].VerifierP, "the API shows the stages")
	require.NoError(t, chromedp.Do(step,
		chromedp.Navigate(vts.URL+"/?scales="+sceneScales),
		chromedp.WaitVisible(chromedp.CSS(`body[data-state="idle"]`)),
		chromedp.SetUploadFiles(chromedp.ID("file"), []string{scenePath}),
		chromedp.WaitVisible(chromedp.CSS(`body[data-state="done"] #boxes`)),
	), "uploading the scene behind a verifier")
	page, err = chromedp.Run(step, chromedp.Evaluate[[]drawn](drawnBoxes))
	require.NoError(t, err)
	assertSameBoxes(t, verified, page, "behind a verifier")
	assertTitles(t, verified, page)
}

// assertTitles checks each drawn box's tooltip: its score and scale, and
// for a verified box the scan's score and the verifier's p, as the API
// wrote them.
func assertTitles(t *testing.T, api []apiBox, page []drawn) {
	t.Helper()
	num := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	for i, d := range api {
		want := fmt.Sprintf("score %s at scale %s", num(d.Score), num(d.Scale))
		if d.VerifierP != nil {
			want += fmt.Sprintf(": scan %s, verifier %s", num(*d.ScanScore), num(*d.VerifierP))
		}
		assert.Equal(t, want, page[i].Title, "box %d", i)
	}
}

func assertSameBoxes(t *testing.T, api []apiBox, page []drawn, what string) {
	t.Helper()
	require.Len(t, page, len(api), "%s: boxes drawn vs boxes from the API", what)
	for i := range api {
		assert.Equal(t, api[i].box, page[i].box, "%s: box %d", what, i)
		b := api[i].Box
		assert.InDeltaSlice(t, []float64{b[0], b[1], b[2] - b[0], b[3] - b[1]}, page[i].Drawn[:], 1e-9, "%s: rect %d drawn where its box is", what, i)
	}
}
