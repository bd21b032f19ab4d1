package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fc2conv/fc2conv/detect"
	"github.com/fc2conv/fc2conv/nn"
	"github.com/fc2conv/fc2conv/scan"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestScanLimitFlags(t *testing.T) {
	dir := t.TempDir()
	small, big := filepath.Join(dir, "small.png"), filepath.Join(dir, "big.png")
	writeImage(t, small, 40, 30, false) // 1200 pixels
	writeImage(t, big, 60, 50, false)   // 3000 pixels

	// --max-pixels refuses the big image from its header; the batch goes on.
	code, stdout, stderr := scanCLI("--quiet", "--scales", "1", "--max-pixels", "2000", small, big)
	assert.Equal(t, exitFail, code, stderr)
	recs := readJSONL(t, []byte(stdout))
	require.Len(t, recs, 2)
	assert.Empty(t, recs[0].Error)
	assert.Contains(t, recs[1].Error, big)
	assert.Contains(t, recs[1].Error, "image is 60×50, more than 2000 pixels")
	assert.Contains(t, recs[1].Error, "--max-pixels 2000")

	// --timeout: an image that takes longer than a nanosecond is an error
	// record, and the next image is still scanned.
	code, stdout, _ = scanCLI("--quiet", "--scales", "1", "--workers", "1", "--timeout", "1ns", small, big)
	assert.Equal(t, exitFail, code)
	recs = readJSONL(t, []byte(stdout))
	require.Len(t, recs, 2)
	for _, r := range recs {
		assert.Contains(t, r.Error, "gave up after --timeout 1ns")
	}
	code, _, stderr = scanCLI("--quiet", "--scales", "1", "--timeout", "1m", small)
	assert.Equal(t, exitOK, code, "a generous timeout changes nothing: %s", stderr)

	// Model limits: the seed's FC network, refused for its size.
	model := filepath.Join("..", "..", "testdata", "torch", "seed.safetensors")
	code, _, stderr = scanCLI("--quiet", "--model", model, "--max-tensor-elements", "1000", small)
	assert.Equal(t, exitFail, code)
	assert.Contains(t, stderr, "more than the 1000 allowed")
	assert.Contains(t, stderr, "raise --max-tensor-elements, --max-weight-bytes or --max-onnx-nodes")
	code, _, stderr = scanCLI("--quiet", "--model", model, "--max-weight-bytes", "1000", small)
	assert.Equal(t, exitFail, code)
	assert.Contains(t, stderr, "--model "+model)
	assert.Contains(t, stderr, nn.ErrLimit.Error())
	// The same limits, and the node count, for an ONNX model.
	onnxModel := filepath.Join("..", "..", "testdata", "onnx", "chain_op13.onnx")
	code, _, stderr = scanCLI("--quiet", "--model", onnxModel, "--max-onnx-nodes", "1", small)
	assert.Equal(t, exitFail, code)
	assert.Contains(t, stderr, "nodes, at most 1")
	assert.Contains(t, stderr, "--max-onnx-nodes if the model is trusted")
	code, _, stderr = scanCLI("--quiet", "--model", onnxModel, "--max-tensor-elements", "10", small)
	assert.Equal(t, exitFail, code)
	assert.Contains(t, stderr, "elements, at most 10")
	code, _, stderr = scanCLI("--quiet", "--model", onnxModel, "--max-weight-bytes", "100", small)
	assert.Equal(t, exitFail, code)
	assert.Contains(t, stderr, "at most 100")

	for _, c := range []struct{ args, want string }{
		{"--max-pixels 0", "--max-pixels 0 out of range"},
		{"--max-pixels 999999999999", "--max-pixels 999999999999 out of range"},
		{"--timeout -1s", "--timeout -1s is negative"},
		{"--max-tensor-elements 0", "--max-tensor-elements 0 out of range"},
		{"--max-weight-bytes 0", "--max-weight-bytes 0 must be at least 1"},
		{"--max-onnx-nodes 0", "--max-onnx-nodes 0 must be at least 1"},
	} {
		code, _, stderr := scanCLI(append(strings.Fields(c.args), small)...)
		assert.Equal(t, exitUsage, code, c.args)
		assert.Contains(t, stderr, c.want, c.args)
	}
	assert.Equal(t, 1<<27, detect.MaxImagePixels, "the README states the default")
}

func TestScanOutputIntegrity(t *testing.T) {
	dir := t.TempDir()
	img := filepath.Join(dir, "a.png")
	writeImage(t, img, 40, 30, false)

	// An output that cannot be written is found before any image is
	// scanned: no record anywhere, and --heatmaps is probed too.
	code, stdout, stderr := scanCLI("--quiet", "--out", filepath.Join(dir, "no", "such", "out.jsonl"), img)
	assert.Equal(t, exitFail, code)
	assert.Contains(t, stderr, "fc2conv scan: --out:")
	assert.Empty(t, stdout)
	assert.NotContains(t, stderr, "images scanned", "nothing was scanned")
	code, stdout, stderr = scanCLI("--quiet", "--heatmaps", filepath.Join(img, "sub"), img)
	assert.Equal(t, exitFail, code)
	assert.Contains(t, stderr, "fc2conv scan: --heatmaps:")
	assert.Empty(t, stdout)
	code, _, stderr = scanCLI("--quiet", "--out", dir, img)
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "--out "+dir+": is a directory")

	// csv and coco appear whole, through a temporary file: none is left.
	for _, format := range []string{"csv", "coco"} {
		out := filepath.Join(t.TempDir(), "out."+format)
		code, _, stderr := scanCLI("--quiet", "--scales", "1", "--format", format, "--out", out, img)
		require.Equal(t, exitOK, code, stderr)
		assert.Contains(t, string(b0(t, out)), img)
		entries, err := os.ReadDir(filepath.Dir(out))
		require.NoError(t, err)
		assert.Len(t, entries, 1, "%s: only the output remains (no temporary or lock file)", format)
	}
	// A symlink's target is replaced, the link kept; a device is written
	// in place (renaming over /dev/null would replace it).
	target, link := filepath.Join(t.TempDir(), "target.csv"), filepath.Join(t.TempDir(), "link.csv")
	require.NoError(t, os.Symlink(target, link))
	require.NoError(t, os.WriteFile(target, nil, 0o644))
	code, _, stderr = scanCLI("--quiet", "--scales", "1", "--format", "csv", "--out", link, img)
	require.Equal(t, exitOK, code, stderr)
	st, err := os.Lstat(link)
	require.NoError(t, err)
	assert.Equal(t, os.ModeSymlink, st.Mode().Type(), "the link is still a link")
	assert.Contains(t, string(b0(t, target)), img)
	if st, err := os.Stat(os.DevNull); err == nil && st.Mode()&os.ModeCharDevice != 0 {
		code, _, stderr = scanCLI("--quiet", "--scales", "1", "--format", "csv", "--out", os.DevNull, img)
		require.Equal(t, exitOK, code, stderr)
		st, err := os.Stat(os.DevNull)
		require.NoError(t, err)
		assert.NotZero(t, st.Mode()&os.ModeCharDevice, "%s is still a device", os.DevNull)
		assert.NoFileExists(t, os.DevNull+".lock")
		code, _, stderr = scanCLI("--quiet", "--resume", "--out", os.DevNull, img)
		assert.Equal(t, exitUsage, code)
		assert.Contains(t, stderr, "--resume needs --out to be a regular file")
	}
	code, _, stderr = scanCLI("--quiet", "--format", "csv", "--resume", "--out", filepath.Join(dir, "o.csv"), img)
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "--resume needs --out FILE and --format jsonl (csv and coco are written whole")

	// A second scan on an output being written refuses.
	// (Across processes: TestScanKillResumeAndLock.)
	out := filepath.Join(dir, "locked.jsonl")
	unlock, err := scan.LockOutput(out)
	require.NoError(t, err)
	code, _, stderr = scanCLI("--quiet", "--out", out, img)
	assert.Equal(t, exitLocked, code)
	assert.Contains(t, stderr, "another scan is writing this output")
	assert.NoFileExists(t, out, "the refused scan did not touch --out")
	require.NoError(t, unlock())
}
