package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fc2conv/fc2conv/detect"
	"github.com/fc2conv/fc2conv/models"
	"github.com/fc2conv/fc2conv/nn"
	"github.com/fc2conv/fc2conv/scan"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// scanCLI runs "fc2conv scan ARGS" in process.
func scanCLI(args ...string) (code int, stdout, stderr string) {
	var o, e bytes.Buffer
	code = run(append([]string{"scan"}, args...), &o, &e)
	return code, o.String(), e.String()
}

// The scan package's errors speak of shards, formats and resumes; the
// command names the flag.
func TestScanNamesFlagsOfLibraryErrors(t *testing.T) {
	dir := t.TempDir()
	img := filepath.Join(dir, "a.png")
	writeImage(t, img, 40, 40, false)
	code, _, stderr := scanCLI("--shard", "3/2", img)
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, `fc2conv scan: --shard: scan: shard "3/2": want i/N`)

	// A bad format is refused before --out is opened (and truncated).
	out := filepath.Join(dir, "out.jsonl")
	require.NoError(t, os.WriteFile(out, []byte("keep\n"), 0o644))
	code, _, stderr = scanCLI("--format", "xml", "--out", out, img)
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, `fc2conv scan: --format: scan: unknown format "xml"`)
	assert.Equal(t, "keep\n", string(b0(t, out)))

	code, _, stderr = scanCLI("--resume", "--out", out, img)
	assert.Equal(t, exitFail, code)
	assert.Contains(t, stderr, "fc2conv scan: --resume: scan: resume: "+out+":1 is not a scan record")
}

// --class other than the model's positive class: the embedded verifier
// checks dresses, so it is refused with the way out named, and without
// it the stored dress threshold is not borrowed.
func TestScanClassOtherThanPositive(t *testing.T) {
	img := filepath.Join(t.TempDir(), "a.png")
	writeImage(t, img, 40, 40, false)
	code, stdout, stderr := scanCLI("--class", "0", img)
	assert.Equal(t, exitUsage, code)
	assert.Empty(t, stdout)
	assert.Contains(t, stderr, "fc2conv scan: --class: class 0 (the positive class is 1): the verifier checks the network's positive class, not this one; add --verifier none")

	code, stdout, stderr = scanCLI("--quiet", "--scales", "1", "--class", "0", "--verifier", "none", img)
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stderr, "warning: --class 0 is not embedded:dress-fcn's positive class (1), which its threshold is for; scanning at 0.5")
	assert.Contains(t, stdout, `"threshold":0.5,`)

	code, _, stderr = scanCLI("--quiet", "--scales", "1", "--class", "1", img)
	require.Equal(t, exitOK, code, stderr)
	assert.NotContains(t, stderr, "warning", "the positive class named: the defaults")
}

// --resume refuses a file another model wrote, or one scanned at another
// threshold, before scanning or writing anything, and names both; the
// same model at the same threshold resumes.
func TestScanResumeRefusesAnotherModelOrThreshold(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.png"), filepath.Join(dir, "b.png")
	writeImage(t, a, 40, 40, false)
	writeImage(t, b, 40, 40, true)
	out := filepath.Join(dir, "out.jsonl")
	code, _, stderr := scanCLI("--quiet", "--scales", "1", "--threshold", "0.7", "--out", out, a)
	require.Equal(t, exitOK, code, stderr)
	before := b0(t, out)

	code, _, stderr = scanCLI("--quiet", "--scales", "1", "--verifier", "none", "--resume", "--out", out, a, b)
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "fc2conv scan: --resume: scan: resume: "+out+" holds records of another model, embedded:dress-fcn+embedded:verifier (")
	assert.Contains(t, stderr, "and this scan's is embedded:dress-fcn (")
	assert.Equal(t, before, b0(t, out), "nothing written")

	code, _, stderr = scanCLI("--quiet", "--scales", "1", "--threshold", "0.5", "--resume", "--out", out, a, b)
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "fc2conv scan: --resume: scan: resume: "+out+" holds records scanned at another threshold, 0.7, and this scan's is 0.5: resume at 0.7, or scan into another file")
	assert.Equal(t, before, b0(t, out), "nothing written")

	code, _, stderr = scanCLI("--quiet", "--scales", "1", "--threshold", "0.7", "--resume", "--out", out, a, b)
	require.Equal(t, exitOK, code, stderr)
	assert.Equal(t, 2, bytes.Count(b0(t, out), []byte("\n")), "b added, a not scanned again")
}

// --min-size and --max-size choose the pyramid by object height: the
// embedded model's window is 28 high, so 14 px starts at scale 2 and 40 px
// stops at 28/40 = 0.7, before 0.65536.
func TestScanMinMaxSize(t *testing.T) {
	dir := t.TempDir()
	img := filepath.Join(dir, "a.png")
	writeImage(t, img, 60, 60, false)
	raw := filepath.Join(dir, "raw")
	code, stdout, stderr := scanCLI("--quiet", "--min-size", "14", "--max-size", "40", "--raw", raw, img)
	require.Equal(t, exitOK, code, stderr)
	var rec struct {
		Heatmaps []struct{ Scale float64 } `json:"heatmaps"`
	}
	require.NoError(t, json.Unmarshal([]byte(stdout), &rec))
	var scales []float64
	for _, h := range rec.Heatmaps {
		scales = append(scales, h.Scale)
	}
	assert.InDeltaSlice(t, []float64{2, 1.6, 1.28, 1.024, 0.8192}, scales, 1e-4)

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--min-size", "10", "--scales", "1"}, "fc2conv scan: --min-size and --scales exclude each other"},
		{[]string{"--max-size", "50", "--scales", "1"}, "fc2conv scan: --max-size and --scales exclude each other"},
		{[]string{"--min-size", "10", "--upsample"}, "fc2conv scan: --min-size and --upsample exclude each other"},
		{[]string{"--max-size", "20"}, "fc2conv scan: --max-size: max size 20 is below the smallest object size scanned, 28 px"},
		{[]string{"--min-size", "-3"}, "fc2conv scan: --min-size: min size -3 is negative"},
		{[]string{"--step", "3"}, "fc2conv scan: --step: step 3 does not divide"},
		{[]string{"--nms", "1.5"}, "fc2conv scan: --nms: NMS IoU 1.5 out of range"},
		{[]string{"--class", "5"}, "fc2conv scan: --class: class 5 out of range"},
	} {
		code, _, stderr := scanCLI(append(tc.args, img)...)
		assert.Equal(t, exitUsage, code, tc.args)
		assert.Contains(t, stderr, tc.want, tc.args)
	}
}

// The FC model and its converted twin are opened alike; a missing model
// file is a usage error that names --model.
func TestScanModelFlag(t *testing.T) {
	dir := t.TempDir()
	img := filepath.Join(dir, "a.png")
	writeImage(t, img, 40, 40, false)
	assertMissingFileNamesFlag(t, "--model", img)

	// The shipped FC file scans at its stored threshold, as its twin does.
	code, stdout, stderr := scanCLI("--quiet", "--scales", "1", "--model", filepath.Join("..", "..", "models", "dress.safetensors"), img)
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, `"threshold":0.8445,`)
	assert.NotContains(t, stderr, "warning")

	// A model that stores none scans at 0.5, and scan says so.
	noThr := editedShippedFC(t, "fc-none.safetensors", func(fc *nn.Network) { fc.Threshold = 0 })
	code, stdout, stderr = scanCLI("--quiet", "--scales", "1", "--model", noThr, img)
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, `"threshold":0.5,`)
	assert.Contains(t, stderr, "fc2conv scan: warning: fc-none.safetensors stores no threshold; scanning at 0.5 (set --threshold)\n")

	var outs []string
	for _, m := range []string{"dress.safetensors", "dress-fcn.safetensors"} {
		code, stdout, stderr := scanCLI("--quiet", "--threshold", "0", "--scales", "1", "--model", filepath.Join("..", "..", "models", m), img)
		require.Equal(t, exitOK, code, stderr)
		outs = append(outs, stdout)
	}
	assert.Equal(t, detectionsOf(t, outs[0]), detectionsOf(t, outs[1]))
}

// --verifier names its file in errors and records, and must score
// probabilities.
func TestScanVerifierFlag(t *testing.T) {
	dir := t.TempDir()
	img := filepath.Join(dir, "a.png")
	writeImage(t, img, 40, 40, false)
	assertMissingFileNamesFlag(t, "--verifier", img)

	code, _, stderr := scanCLI("--verifier", logitsModel(t), img)
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "fc2conv scan: --verifier: its last layer")
	assert.Contains(t, stderr, "want a softmax or sigmoid")

	// The shipped FC classifier as its own verifier: records name the
	// pair, and the hash is not the model's alone.
	fcPath := filepath.Join("..", "..", "models", "dress.safetensors")
	code, stdout, stderr := scanCLI("--quiet", "--scales", "1", "--threshold", "0", "--verifier", fcPath, img)
	require.Equal(t, exitOK, code, stderr)
	var rec map[string]any
	require.NoError(t, json.Unmarshal([]byte(stdout), &rec), stdout)
	assert.Equal(t, "embedded:dress-fcn+dress.safetensors", rec["model"])
	sum := sha256.Sum256(b0(t, filepath.Join("..", "..", "models", "dress-fcn.safetensors")))
	assert.NotEqual(t, hex.EncodeToString(sum[:])[:12], rec["model_sha256"])
	assert.Len(t, rec["model_sha256"], 12)
	assert.NotEmpty(t, detectionsOf(t, stdout))

	// By default the embedded verifier rescores the embedded model's
	// boxes: the detections of --verifier embedded, not those of none.
	detections := func(verifier ...string) string {
		args := append([]string{"--quiet", "--scales", "1", "--threshold", "0"}, verifier...)
		code, stdout, stderr := scanCLI(append(args, img)...)
		require.Equal(t, exitOK, code, stderr)
		return fmt.Sprintf("%s", detectionsOf(t, stdout))
	}
	byDefault := detections()
	assert.Equal(t, detections("--verifier", "embedded"), byDefault)
	assert.NotEqual(t, detections("--verifier", "none"), byDefault)
	// On a scene with dresses, more views and another weight move the
	// verified scores; unset, the views and pool are the verifier's own.
	scene := filepath.Join("..", "..", "testdata", "samples", "scene_000.png")
	onScene := func(flags ...string) string {
		args := append([]string{"--quiet", "--scales", "0.5", "--threshold", "0.2"}, flags...)
		code, stdout, stderr := scanCLI(append(args, scene)...)
		require.Equal(t, exitOK, code, stderr)
		require.NotEmpty(t, detectionsOf(t, stdout), "%v", flags)
		return fmt.Sprintf("%s", detectionsOf(t, stdout))
	}
	embedded, err := models.Verifier()
	require.NoError(t, err)
	own := []string{"--verifier-views", strconv.Itoa(max(embedded.Views, 1))}
	if embedded.ViewPool != "" {
		own = append(own, "--verifier-pool", embedded.ViewPool)
	}
	assert.Equal(t, onScene(own...), onScene(), "the embedded verifier's own views and pool")
	alone := onScene("--verifier-views", "1")
	assert.Equal(t, onScene("--verifier-views", "1", "--verifier-weight", "0.5"), alone)
	assert.NotEqual(t, onScene("--verifier-views", "5"), alone)
	assert.NotEqual(t, onScene("--verifier-views", "1", "--verifier-weight", "0.8"), alone)
	assert.NotEqual(t, onScene("--verifier-views", "5", "--verifier-pool", "max"), onScene("--verifier-views", "5", "--verifier-pool", "mean"))
	assert.NotEqual(t, onScene("--verifier-views", "27", "--verifier-pool", "min"), onScene("--verifier-views", "27", "--verifier-pool", "mean"))
	// Records name the scoring where it is not the verifier's own (the
	// embedded one stores none, or 27 views and their least).
	code, stdout, stderr = scanCLI("--quiet", "--scales", "1", "--verifier-views", "5", "--verifier-weight", "0.65", img)
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, `"model":"embedded:dress-fcn+embedded:verifier(views 5, weight 0.65)"`)
	code, stdout, stderr = scanCLI("--quiet", "--scales", "1", "--verifier-views", "7", "--verifier-pool", "max", img)
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, `"model":"embedded:dress-fcn+embedded:verifier(views 7, max)"`)
	for _, bad := range [][]string{
		{"--verifier-views", "3", "--verifier-views: 3 views: want 1, 5, 7 or 27"},
		{"--verifier-weight", "1.5", "--verifier-weight: weight 1.5 out of range (0,1)"},
		{"--verifier-weight", "0.7", "--verifier", "none", "--verifier-weight: set without a verifier"},
		{"--verifier-views", "1", "--verifier-pool", "max", "--verifier-pool: the max p of one view is its mean: it needs 5, 7 or 27 views"},
		{"--verifier-pool", "median", `--verifier-pool: pool "median": want mean, max or min`},
		{"--verifier-pool", "min", "--verifier-views", "5", "--verifier", "none", "--verifier-views: set without a verifier"},
	} {
		code, _, stderr := scanCLI(append(bad[:len(bad)-1:len(bad)-1], img)...)
		assert.Equal(t, exitUsage, code, bad)
		assert.Contains(t, stderr, "fc2conv scan: "+bad[len(bad)-1], bad)
	}

	// A verifier that stores no threshold: the model's applies, with a
	// warning, since it was chosen for the unverified score.
	noThr := editedShippedFC(t, "no-threshold.safetensors", func(fc *nn.Network) { fc.Threshold = 0 })
	code, stdout, stderr = scanCLI("--quiet", "--scales", "1", "--verifier", noThr, img)
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, `"threshold":0.8445,`)
	assert.Contains(t, stderr, "fc2conv scan: warning: --verifier "+noThr+" stores no threshold; scanning at 0.8445 (set --threshold)\n")
}

// --verifier with several models averages them: the embedded verifier
// twice is itself (the mean of one logit is that logit), named and
// hashed apart from it; the list's errors name the flag.
func TestScanVerifierList(t *testing.T) {
	scene := filepath.Join("..", "..", "testdata", "samples", "scene_000.png")
	scanWith := func(verifier string) (map[string]any, []map[string]any, string) {
		t.Helper()
		code, stdout, stderr := scanCLI("--quiet", "--scales", "0.5", "--threshold", "0.2", "--verifier", verifier, scene)
		require.Equal(t, exitOK, code, stderr)
		var rec map[string]any
		require.NoError(t, json.Unmarshal([]byte(stdout), &rec), stdout)
		var dets []map[string]any
		for _, d := range detectionsOf(t, stdout) {
			var det map[string]any
			require.NoError(t, json.Unmarshal(d, &det))
			dets = append(dets, det)
		}
		require.NotEmpty(t, dets)
		return rec, dets, stderr
	}
	one, oneDets, _ := scanWith("embedded")
	twice, twiceDets, _ := scanWith("embedded,embedded")
	assert.Equal(t, "embedded:dress-fcn+embedded:verifier,embedded:verifier", twice["model"])
	assert.NotEqual(t, one["model_sha256"], twice["model_sha256"])
	// Unset, the threshold is the model's, as for a verifier without one.
	code, stdout, stderr := scanCLI("--quiet", "--scales", "0.5", "--verifier", "embedded,embedded", scene)
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, `"threshold":0.8445,`)
	assert.Contains(t, stderr, "fc2conv scan: warning: --verifier embedded,embedded averages 2 verifiers, whose thresholds were not chosen for it; scanning at 0.8445 (set --threshold)\n")
	require.Len(t, twiceDets, len(oneDets))
	for i := range oneDets {
		assert.Equal(t, oneDets[i]["box"], twiceDets[i]["box"], "detection %d", i)
		assert.InDelta(t, oneDets[i]["verifier_p"], twiceDets[i]["verifier_p"], 1e-4, "detection %d", i)
	}

	// A file whose own name holds a comma is that one file, not a list.
	comma := filepath.Join(t.TempDir(), "verifier,copy.safetensors")
	require.NoError(t, os.WriteFile(comma, models.VerifierFile(), 0o644))
	commaRec, commaDets, _ := scanWith(comma)
	assert.Equal(t, "embedded:dress-fcn+verifier,copy.safetensors", commaRec["model"])
	require.Len(t, commaDets, len(oneDets))
	for i := range oneDets {
		assert.Equal(t, oneDets[i]["verifier_p"], commaDets[i]["verifier_p"], "detection %d", i)
	}

	fcPath := filepath.Join("..", "..", "models", "dress.safetensors")
	for _, bad := range [][2]string{
		{"embedded,none", `--verifier: "none" in a list: want files or "embedded", comma-separated, or "none" alone`},
		{"embedded,", `--verifier: "" in a list`},
		{"embedded," + fcPath, "--verifier: verifier 2 of 2: it has 2 outputs, the first verifier 11"},
		{"embedded,missing.safetensors", "--verifier missing.safetensors: open missing.safetensors"},
	} {
		code, _, stderr := scanCLI("--verifier", bad[0], scene)
		assert.NotEqual(t, exitOK, code, bad[0])
		assert.Contains(t, stderr, "fc2conv scan: "+bad[1], bad[0])
	}
}

// assertMissingFileNamesFlag: a missing model file given to flag is a
// usage error that names the flag and the file.
func assertMissingFileNamesFlag(t *testing.T, flag, img string) {
	t.Helper()
	missing := filepath.Join(t.TempDir(), "absent.safetensors")
	code, _, stderr := scanCLI(flag, missing, img)
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "fc2conv scan: "+flag+" "+missing+": ")
	assert.Contains(t, stderr, "no such file")
}

// editedShippedFC saves the shipped FC classifier, changed by edit, as
// name in a temporary dir and returns its path.
func editedShippedFC(t *testing.T, name string, edit func(*nn.Network)) string {
	t.Helper()
	fc, err := nn.Load(filepath.Join("..", "..", "models", "dress.safetensors"))
	require.NoError(t, err)
	edit(fc)
	path := filepath.Join(t.TempDir(), name)
	require.NoError(t, fc.Save(path))
	return path
}

// logitsModel is the shipped FC classifier without its softmax, a model
// no verifier may be.
func logitsModel(t *testing.T) string {
	return editedShippedFC(t, "logits.safetensors", func(fc *nn.Network) { fc.Layers = fc.Layers[:len(fc.Layers)-1] })
}

// With a verifier, each box's record shows the scan's score and the
// verifier's p it was made of (their geometric mean, each floored to
// 1e-4 as written); without one, neither.
func TestScanRecordsShowTheStages(t *testing.T) {
	scene := filepath.Join("..", "..", "testdata", "samples", "scene_000.png")
	type det struct {
		Score     float64
		ScanScore *float64 `json:"scan_score"`
		VerifierP *float64 `json:"verifier_p"`
	}
	dets := func(flags ...string) []det {
		t.Helper()
		code, stdout, stderr := scanCLI(append(append([]string{"--quiet", "--scales", "0.5", "--threshold", "0.2"}, flags...), scene)...)
		require.Equal(t, exitOK, code, stderr)
		var out []det
		for _, raw := range detectionsOf(t, stdout) {
			var d det
			require.NoError(t, json.Unmarshal(raw, &d))
			out = append(out, d)
		}
		return out
	}
	for _, d := range dets() {
		require.NotNil(t, d.ScanScore)
		require.NotNil(t, d.VerifierP)
		assert.GreaterOrEqual(t, *d.VerifierP, 0.0)
		assert.LessOrEqual(t, *d.VerifierP, 1.0)
		assert.InDelta(t, math.Sqrt(*d.ScanScore**d.VerifierP), d.Score, 2e-4, "%+v", d)
	}
	for _, d := range dets("--verifier", "none") {
		assert.Nil(t, d.ScanScore)
		assert.Nil(t, d.VerifierP)
	}
}

func detectionsOf(t *testing.T, jsonl string) []json.RawMessage {
	t.Helper()
	recs := readJSONL(t, []byte(jsonl))
	require.Len(t, recs, 1)
	require.NotEmpty(t, recs[0].Detections)
	return recs[0].Detections
}

// Records name the model and the threshold; CSV has a row for an image
// with no detections.
func TestScanRecordsNameModelAndThreshold(t *testing.T) {
	dir := t.TempDir()
	img := filepath.Join(dir, "a.png")
	writeImage(t, img, 40, 40, false)
	fcn := filepath.Join("..", "..", "models", "dress-fcn.safetensors")
	sum := sha256.Sum256(b0(t, fcn))
	hash := hex.EncodeToString(sum[:])[:12]
	type rec struct {
		Model     string  `json:"model"`
		SHA       string  `json:"model_sha256"`
		Threshold float64 `json:"threshold"`
	}
	parse := func(stdout string) rec {
		var r rec
		require.NoError(t, json.Unmarshal([]byte(stdout), &r), stdout)
		return r
	}
	// The shipped defaults: the embedded model and verifier, named
	// together, hashed together, at the verifier's stored threshold.
	ver, err := models.Verifier()
	require.NoError(t, err)
	require.Greater(t, ver.Threshold, 0.0, "the embedded verifier stores its threshold")
	code, stdout, stderr := scanCLI("--quiet", "--scales", "1", img)
	require.Equal(t, exitOK, code, stderr)
	pair := parse(stdout)
	assert.Equal(t, "embedded:dress-fcn+embedded:verifier", pair.Model)
	assert.Equal(t, ver.Threshold, pair.Threshold)
	assert.Regexp(t, "^[0-9a-f]{12}$", pair.SHA)
	assert.NotEqual(t, hash, pair.SHA)
	code, stdout, stderr = scanCLI("--quiet", "--scales", "1", "--verifier", "none", img)
	require.Equal(t, exitOK, code, stderr)
	assert.Equal(t, rec{"embedded:dress-fcn", hash, 0.8445}, parse(stdout), "the embedded model is the file")
	code, stdout, stderr = scanCLI("--quiet", "--scales", "1", "--model", fcn, "--threshold", "0", img)
	require.Equal(t, exitOK, code, stderr)
	assert.Equal(t, rec{"dress-fcn.safetensors", hash, 0}, parse(stdout), "no verifier with --model")
	code, stdout, stderr = scanCLI("--quiet", "--scales", "1", "--model", fcn, "--verifier", "embedded", img)
	require.Equal(t, exitOK, code, stderr)
	withVer := parse(stdout)
	assert.Equal(t, "dress-fcn.safetensors+embedded:verifier", withVer.Model)
	assert.Equal(t, ver.Threshold, withVer.Threshold)
	assert.Regexp(t, "^[0-9a-f]{12}$", withVer.SHA)

	// A 40×40 gradient holds no dress: one row, empty box fields.
	code, stdout, stderr = scanCLI("--quiet", "--scales", "1", "--format", "csv", "--verifier", "none", img)
	require.Equal(t, exitOK, code, stderr)
	assert.Equal(t, "image,width,height,x1,y1,x2,y2,score,scale,threshold,model,model_sha256,error\n"+
		img+",40,40,,,,,,,0.8445,embedded:dress-fcn,"+hash+",\n", stdout)
}

// Bad flag values are usage errors that name the flag, found before any
// image is scanned.
func TestScanRefusesBadFlags(t *testing.T) {
	dir := t.TempDir()
	img := filepath.Join(dir, "a.png")
	writeImage(t, img, 40, 40, false)
	file := filepath.Join(dir, "file")
	require.NoError(t, os.WriteFile(file, nil, 0o644))
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--threshold", "2"}, "fc2conv scan: --threshold 2 out of range [0,1]"},
		{[]string{"--threshold", "-0.5"}, "fc2conv scan: --threshold -0.5 out of range [0,1]"},
		{[]string{"--threshold", "NaN"}, "fc2conv scan: --threshold NaN out of range [0,1]"},
		{[]string{"--nms", "0"}, "fc2conv scan: --nms 0 out of range (0,1]"},
		{[]string{"--vote", "-1"}, "fc2conv scan: --vote -1 out of range [0,1]"},
		{[]string{"--scale-factor", "0"}, "fc2conv scan: --scale-factor 0 must be > 1"},
		{[]string{"--scale-factor", "0.8"}, "fc2conv scan: --scale-factor: scale factor 0.8 must be finite and > 1"},
		{[]string{"--max-detections", "-1"}, "fc2conv scan: --max-detections -1 is negative"},
		{[]string{"--scales", "-1"}, `fc2conv scan: --scales -1: "-1" is not a finite number > 0`},
		{[]string{"--scales", "1,x"}, `fc2conv scan: --scales 1,x: "x" is not a finite number > 0`},
		{[]string{"--heatmaps", file}, "fc2conv scan: --heatmaps " + file + ": not a directory"},
		{[]string{"--raw", file}, "fc2conv scan: --raw " + file + ": not a directory"},
	} {
		code, stdout, stderr := scanCLI(append(tc.args, img)...)
		assert.Equal(t, exitUsage, code, tc.args)
		assert.Contains(t, stderr, tc.want, tc.args)
		assert.Empty(t, stdout, "nothing scanned: %v", tc.args)
	}
}

// An empty directory or a glob matching nothing says so and exits with
// the usage code; an empty directory beside images is a warning.
func TestScanNothingFound(t *testing.T) {
	empty := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(empty, "notes.txt"), nil, 0o644))
	code, stdout, stderr := scanCLI(empty)
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "fc2conv scan: no images found under "+empty+" (directories are searched for .bmp .gif .jpeg .jpg .png .tif .tiff .webp)")
	assert.Empty(t, stdout)
	glob := filepath.Join(empty, "*.png")
	code, _, stderr = scanCLI(glob)
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "no images found under "+glob)

	dir := t.TempDir()
	writeImage(t, filepath.Join(dir, "a.png"), 40, 40, false)
	code, stdout, stderr = scanCLI("--quiet", "--scales", "1", dir, empty)
	assert.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stderr, "fc2conv scan: warning: no images found under "+empty+"\n")
	assert.Len(t, readJSONL(t, []byte(stdout)), 1)
}

// syncBuffer is a bytes.Buffer safe for the progress goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// On a non-terminal the progress line comes on a timer, also while no
// image has finished, and a slow rate does not read 0.0.
func TestScanProgressLines(t *testing.T) {
	var buf syncBuffer
	p := newScanProgress(&buf, 3, false, 10*time.Millisecond)
	waitFor := func(want string) string {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			if s := buf.String(); strings.Contains(s, want) {
				return s
			}
			time.Sleep(5 * time.Millisecond)
		}
		t.Fatalf("no %q in %q", want, buf.String())
		return ""
	}
	out := waitFor("fc2conv scan: 0/3 images after ")
	assert.Contains(t, out, "the first still in progress")
	assert.NotContains(t, out, "images/s")
	p.done(true)
	out = waitFor("fc2conv scan: 1/3 images, ")
	assert.Contains(t, out, ", 1 failed\n")
	p.finish()

	assert.Equal(t, "0.0432 images/s", rate(1, 23.15))
	assert.Equal(t, "2.5 images/s", rate(5, 2))
	assert.Equal(t, "250 images/s", rate(500, 2))
	quiet := &syncBuffer{}
	q := newScanProgress(quiet, 3, true, time.Millisecond)
	time.Sleep(20 * time.Millisecond)
	q.finish()
	assert.Empty(t, quiet.String(), "--quiet")
}

// verifier-list saves --verifier A,B with a threshold chosen for their
// mean; --verifier LIST.json scans as A,B at that threshold, without the
// warning, names the list in records, and refuses a member whose bytes
// have changed since. eval classify calls at the list's threshold.
func TestVerifierListFile(t *testing.T) {
	dir := t.TempDir()
	scene := filepath.Join("..", "..", "testdata", "samples", "scene_000.png")
	a, b := filepath.Join(dir, "m", "a.safetensors"), filepath.Join(dir, "m", "b.safetensors")
	require.NoError(t, os.Mkdir(filepath.Join(dir, "m"), 0o755))
	for _, p := range []string{a, b} {
		require.NoError(t, os.WriteFile(p, models.VerifierFile(), 0o644))
	}
	list := filepath.Join(dir, "pair.json")
	code, stdout, stderr := runCLI("verifier-list", "-o", list, "--threshold", "0.2", a, b)
	require.Equal(t, exitOK, code, stderr)
	assert.Equal(t, "wrote "+list+": 2 verifiers averaged, threshold 0.2\n", stdout)
	saved, err := os.ReadFile(list)
	require.NoError(t, err)
	assert.Contains(t, string(saved), `"file": "m/a.safetensors"`, "members are named relative to the list")

	code, fromList, stderr := scanCLI("--quiet", "--scales", "0.5", "--verifier", list, scene)
	require.Equal(t, exitOK, code, stderr)
	assert.NotContains(t, stderr, "warning", "a list's own threshold needs no warning")
	code, fromPair, stderr := scanCLI("--quiet", "--scales", "0.5", "--threshold", "0.2", "--verifier", a+","+b, scene)
	require.Equal(t, exitOK, code, stderr)
	var recList, recPair scan.Record
	require.NoError(t, json.Unmarshal([]byte(fromList), &recList))
	require.NoError(t, json.Unmarshal([]byte(fromPair), &recPair))
	assert.Equal(t, "embedded:dress-fcn+pair.json", recList.Model)
	assert.InDelta(t, 0.2, recList.Threshold, 0)
	require.NotEmpty(t, recList.Detections)
	assert.Equal(t, recPair.Detections, recList.Detections, "the list scans as its members given with its threshold")

	// eval classify calls a dress at the list's threshold; a bare pair at the model's, as scan does.
	fixture := filepath.Join("..", "..", "testdata", "fmnist")
	code, stdout, stderr = runCLI("eval", "classify", "--data", fixture, "--verifier", list)
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, "at p ≥ 0.20\n")
	code, stdout, stderr = runCLI("eval", "classify", "--data", fixture, "--verifier", a+","+b)
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, "at p ≥ 0.84\n")

	// A member changed since the list was written is refused by name.
	edited, err := models.Verifier()
	require.NoError(t, err)
	edited.Threshold = 0.5
	require.NoError(t, edited.Save(b))
	code, _, stderr = scanCLI("--verifier", list, scene)
	assert.Equal(t, exitFail, code)
	assert.Contains(t, stderr, "fc2conv scan: --verifier "+list+": verifier 2 of 2, "+b+", has changed since the list was written")
	code, _, stderr = scanCLI("--verifier", "embedded,"+list, scene)
	assert.Equal(t, exitFail, code)
	assert.Contains(t, stderr, "fc2conv scan: --verifier: "+list+" in a list: a verifier list file is given alone\n")

	// A list file is bounded before it is read.
	big := filepath.Join(dir, "big.json")
	require.NoError(t, os.WriteFile(big, make([]byte, detect.MaxVerifierListBytes+1), 0o644))
	code, _, stderr = scanCLI("--verifier", big, scene)
	assert.Equal(t, exitFail, code)
	assert.Contains(t, stderr, "fc2conv scan: --verifier "+big+": file is 65537 bytes, more than the 65536 accepted\n")
	// A pipe has no size to check first: its reading stops at the bound.
	if pipe := filepath.Join(dir, "pipe.json"); mkfifo(pipe) == nil {
		go func() {
			f, err := os.OpenFile(pipe, os.O_WRONLY, 0)
			if err == nil {
				_, _ = f.Write(make([]byte, 4*detect.MaxVerifierListBytes)) // fails once the reader stops
				_ = f.Close()
			}
		}()
		code, _, stderr = scanCLI("--verifier", pipe, scene)
		assert.Equal(t, exitFail, code)
		assert.Contains(t, stderr, "fc2conv scan: --verifier "+pipe+": file gave more than the 65536 bytes accepted\n")
	}

	for _, bad := range [][]string{
		{"verifier-list", "-o", filepath.Join(dir, "x.json"), a, a},
		{"verifier-list", "-o", filepath.Join(dir, "x.json"), "--threshold", "1", a, a},
		{"verifier-list", "-o", filepath.Join(dir, "x.json"), "--threshold", "0.5", a},
		{"verifier-list", "-o", filepath.Join(dir, "x.safetensors"), "--threshold", "0.5", a, a},
		{"verifier-list", "-o", filepath.Join(dir, "x.json"), "--threshold", "0.5", "embedded", a},
		{"verifier-list", "-o", list, "--threshold", "0.5", a, a},
	} {
		code, _, stderr := runCLI(bad...)
		assert.Equal(t, exitUsage, code, "%v", bad)
		assert.Contains(t, stderr, "fc2conv verifier-list: ", "%v", bad)
	}
	fcPath := filepath.Join("..", "..", "models", "dress.safetensors")
	code, _, stderr = runCLI("verifier-list", "-o", filepath.Join(dir, "x.json"), "--threshold", "0.5", a, fcPath)
	assert.Equal(t, exitFail, code)
	assert.Contains(t, stderr, "fc2conv verifier-list: verifier 2 of 2: it has 2 outputs, the first verifier 11\n")
	assert.Contains(t, stderr, "  verifier 2: "+fcPath+"\n")
	assert.NoFileExists(t, filepath.Join(dir, "x.json"), "nothing written on an error")
}
