package main

import (
	"bytes"
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
