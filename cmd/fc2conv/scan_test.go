package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

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
	missing := filepath.Join(dir, "absent.safetensors")
	code, _, stderr := scanCLI("--model", missing, img)
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "fc2conv scan: --model "+missing+": ")
	assert.Contains(t, stderr, "no such file")

	var outs []string
	for _, m := range []string{"dress.safetensors", "dress-fcn.safetensors"} {
		code, stdout, stderr := scanCLI("--quiet", "--threshold", "0", "--scales", "1", "--model", filepath.Join("..", "..", "models", m), img)
		require.Equal(t, exitOK, code, stderr)
		outs = append(outs, stdout)
	}
	assert.Equal(t, detectionsOf(t, outs[0]), detectionsOf(t, outs[1]))
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
	code, stdout, stderr := scanCLI("--quiet", "--scales", "1", img)
	require.Equal(t, exitOK, code, stderr)
	assert.Equal(t, rec{"embedded:dress-fcn", hash, 0.89}, parse(stdout), "the embedded model is the file")
	code, stdout, stderr = scanCLI("--quiet", "--scales", "1", "--model", fcn, "--threshold", "0", img)
	require.Equal(t, exitOK, code, stderr)
	assert.Equal(t, rec{"dress-fcn.safetensors", hash, 0}, parse(stdout))

	// A 40×40 gradient holds no dress at 0.89: one row, empty box fields.
	code, stdout, stderr = scanCLI("--quiet", "--scales", "1", "--format", "csv", img)
	require.Equal(t, exitOK, code, stderr)
	assert.Equal(t, "image,width,height,x1,y1,x2,y2,score,scale,threshold,model,model_sha256,error\n"+
		img+",40,40,,,,,,,0.89,embedded:dress-fcn,"+hash+",\n", stdout)
}
