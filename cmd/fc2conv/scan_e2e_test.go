package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// buildBinary compiles fc2conv once per test run.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "fc2conv")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, "%s", out)
	return bin
}

func writeImage(t *testing.T, path string, w, h int, jpg bool) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	img := image.NewGray(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.SetGray(x, y, color.Gray{uint8((x*7 + y*13) % 256)})
		}
	}
	var buf bytes.Buffer
	if jpg {
		require.NoError(t, jpeg.Encode(&buf, img, nil))
	} else {
		require.NoError(t, png.Encode(&buf, img))
	}
	require.NoError(t, os.WriteFile(path, buf.Bytes(), 0o644))
}

type record struct {
	Image      string            `json:"image"`
	Width      int               `json:"width"`
	Error      string            `json:"error"`
	Detections []json.RawMessage `json:"detections"`
	Heatmaps   []struct {
		File string `json:"file"`
		PNG  string `json:"png"`
	} `json:"heatmaps"`
}

func readJSONL(t *testing.T, b []byte) []record {
	t.Helper()
	var out []record
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		var r record
		require.NoError(t, json.Unmarshal(sc.Bytes(), &r), "line %q", sc.Text())
		out = append(out, r)
	}
	return out
}

func runBin(t *testing.T, bin string, stdin string, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else {
		require.NoError(t, err)
	}
	return code, o.String(), e.String()
}

// A tree with good images, bad files and duplicate base names.
func makeTree(t *testing.T) string {
	dir := t.TempDir()
	writeImage(t, filepath.Join(dir, "a", "photo.png"), 120, 80, false)
	writeImage(t, filepath.Join(dir, "b", "deep", "photo.png"), 64, 64, false) // same base name
	writeImage(t, filepath.Join(dir, "b", "cam.jpg"), 100, 60, true)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "zero.jpg"), nil, 0o644))
	var buf bytes.Buffer
	require.NoError(t, jpeg.Encode(&buf, image.NewGray(image.Rect(0, 0, 90, 90)), nil))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a", "truncated.jpg"), buf.Bytes()[:buf.Len()/3], 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "b", "text.png"), []byte("not a png"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("skip me"), 0o644))
	return dir
}

func TestScanEndToEnd(t *testing.T) {
	bin := buildBinary(t)
	dir := makeTree(t)
	heat, raw := filepath.Join(t.TempDir(), "heat"), filepath.Join(t.TempDir(), "raw")
	code, stdout, stderr := runBin(t, bin, "", "scan", "--quiet", "--heatmaps", heat, "--raw", raw, "--scales", "1,0.5", dir)
	assert.Equal(t, exitFail, code, "some inputs failed: %s", stderr)
	recs := readJSONL(t, []byte(stdout))
	byBase := map[string][]record{}
	for _, r := range recs {
		rel, _ := filepath.Rel(dir, r.Image)
		byBase[rel] = append(byBase[rel], r)
	}
	require.Len(t, recs, 6, "5 image-named files + zero.jpg; notes.txt skipped: %s", stdout)
	for _, good := range []string{"a/photo.png", "b/deep/photo.png", "b/cam.jpg"} {
		require.Len(t, byBase[good], 1, good)
		r := byBase[good][0]
		assert.Empty(t, r.Error, good)
		assert.Positive(t, r.Width, good)
		assert.NotNil(t, r.Detections, good)
		require.NotEmpty(t, r.Heatmaps, good)
		assert.FileExists(t, r.Heatmaps[0].PNG)
		assert.FileExists(t, r.Heatmaps[0].File)
	}
	// Duplicate base names get distinct files.
	assert.NotEqual(t, byBase["a/photo.png"][0].Heatmaps[0].PNG, byBase["b/deep/photo.png"][0].Heatmaps[0].PNG)
	for _, bad := range []string{"zero.jpg", "a/truncated.jpg", "b/text.png"} {
		require.Len(t, byBase[bad], 1, bad)
		assert.NotEmpty(t, byBase[bad][0].Error, bad)
		assert.Contains(t, byBase[bad][0].Error, filepath.Base(bad), "error names the file")
	}
	assert.Contains(t, stderr, "6 images scanned (3 failed, 1 non-images skipped")

	// Smaller than the window: an error record, or padded on request.
	tiny := filepath.Join(t.TempDir(), "tiny.png")
	writeImage(t, tiny, 20, 15, false)
	code, stdout, _ = runBin(t, bin, "", "scan", "--quiet", tiny)
	assert.Equal(t, exitFail, code)
	assert.Contains(t, stdout, "image 20×15 is smaller than the 28×28 window at every scale; use --pad-small")
	code, stdout, _ = runBin(t, bin, "", "scan", "--quiet", "--pad-small", tiny)
	assert.Equal(t, exitOK, code)
	assert.Contains(t, stdout, `"padded":true`)

	// All good: exit 0. A usage error: exit 2.
	code, _, stderr = runBin(t, bin, "", "scan", "--quiet", "--scales", "1", filepath.Join(dir, "b", "cam.jpg"))
	assert.Equal(t, exitOK, code, stderr)
	code, _, stderr = runBin(t, bin, "", "scan", "--shard", "3/2", dir)
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "--shard")
	code, _, _ = runBin(t, bin, "", "scan", "--step", "3", dir)
	assert.Equal(t, exitUsage, code, "step must divide the stride")
	code, _, stderr = runBin(t, bin, "", "scan", "--vote", "2", dir)
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "vote IoU 2")

	// Paths from stdin; CSV.
	code, stdout, _ = runBin(t, bin, filepath.Join(dir, "b", "cam.jpg")+"\n", "scan", "--quiet", "--scales", "1", "--format", "csv", "--threshold", "0", "-")
	assert.Equal(t, exitOK, code)
	assert.True(t, strings.HasPrefix(stdout, "image,width,height,x1,y1,x2,y2,score,scale,threshold,model,model_sha256,error\n"))
	assert.Contains(t, stdout, "cam.jpg,100,60,")
}

func TestScanResumeAndShards(t *testing.T) {
	bin := buildBinary(t)
	dir := makeTree(t)
	for i := 0; i < 6; i++ {
		writeImage(t, filepath.Join(dir, "more", string(rune('a'+i))+".png"), 50, 40, false)
	}
	out := filepath.Join(t.TempDir(), "all.jsonl")
	_, _, _ = runBin(t, bin, "", "scan", "--quiet", "--scales", "1", "--out", out, dir)
	b, err := os.ReadFile(out)
	require.NoError(t, err)
	all := readJSONL(t, b)
	require.Len(t, all, 12)

	// The union of the shards is the whole list, with no overlap.
	seen := map[string]int{}
	for _, sh := range []string{"0/3", "1/3", "2/3"} {
		p := filepath.Join(t.TempDir(), "shard.jsonl")
		_, _, stderr := runBin(t, bin, "", "scan", "--quiet", "--scales", "1", "--shard", sh, "--out", p, dir)
		b, err := os.ReadFile(p)
		require.NoError(t, err, stderr)
		for _, r := range readJSONL(t, b) {
			seen[r.Image]++
		}
	}
	require.Len(t, seen, len(all))
	for img, n := range seen {
		assert.Equal(t, 1, n, img)
	}

	// Resume: cut the file after 5 records plus half a line, resume, and
	// get every image exactly once.
	lines := bytes.SplitAfter(b0(t, out), []byte("\n"))
	partial := append(bytes.Join(lines[:5], nil), lines[5][:len(lines[5])/2]...)
	require.NoError(t, os.WriteFile(out, partial, 0o644))
	_, _, stderr := runBin(t, bin, "", "scan", "--quiet", "--scales", "1", "--resume", "--out", out, dir)
	assert.Contains(t, stderr, "5 already done")
	assertEachOnce(t, out, all)
}

func b0(t *testing.T, p string) []byte {
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	return b
}

func assertEachOnce(t *testing.T, out string, want []record) {
	t.Helper()
	got := map[string]int{}
	for _, r := range readJSONL(t, b0(t, out)) {
		got[r.Image]++
	}
	require.Len(t, got, len(want))
	for _, r := range want {
		assert.Equal(t, 1, got[r.Image], r.Image)
	}
}

// Interrupt a run with SIGINT, resume it, and no record is lost or doubled.
func TestScanInterruptAndResume(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	var want []record
	for i := 0; i < 40; i++ {
		p := filepath.Join(dir, "img"+string(rune('A'+i/26))+string(rune('a'+i%26))+".png")
		writeImage(t, p, 300, 200, false)
		want = append(want, record{Image: p})
	}
	out := filepath.Join(t.TempDir(), "out.jsonl")
	cmd := exec.Command(bin, "scan", "--quiet", "--workers", "1", "--out", out, dir)
	require.NoError(t, cmd.Start())
	// Wait for the first record, then interrupt.
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if b, _ := os.ReadFile(out); bytes.Count(b, []byte("\n")) >= 2 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil && !errors.Is(err, os.ErrProcessDone) {
		require.NoError(t, err)
	}
	err := cmd.Wait()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		assert.Equal(t, exitFail, ee.ExitCode(), "interrupted runs exit 1")
	}
	b := b0(t, out)
	n := bytes.Count(b, []byte("\n"))
	assert.True(t, len(b) == 0 || b[len(b)-1] == '\n', "no half-written line")
	t.Logf("interrupted after %d of %d records", n, len(want))
	_, _, stderr := runBin(t, bin, "", "scan", "--quiet", "--workers", "2", "--resume", "--out", out, dir)
	assert.Contains(t, stderr, "already done")
	assertEachOnce(t, out, want)
}

// waitForLines waits until the file at path holds at least n lines.
func waitForLines(t *testing.T, path string, n int) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if b, _ := os.ReadFile(path); bytes.Count(b, []byte("\n")) >= n {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s did not reach %d lines in 60 s", path, n)
}

// Kill a scan with SIGKILL mid-run: meanwhile a second scan on the same
// --out refuses; afterwards the killed scan's lock does not block, the
// half-written line is dropped, and no record is lost or doubled.
func TestScanKillResumeAndLock(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	var want []record
	for i := 0; i < 30; i++ {
		p := filepath.Join(dir, fmt.Sprintf("img%02d.png", i))
		writeImage(t, p, 300, 200, false)
		want = append(want, record{Image: p})
	}
	out := filepath.Join(t.TempDir(), "out.jsonl")
	cmd := exec.Command(bin, "scan", "--quiet", "--workers", "1", "--out", out, dir)
	require.NoError(t, cmd.Start())
	waitForLines(t, out, 2)

	code, _, stderr := runBin(t, bin, "", "scan", "--quiet", "--out", out, dir)
	assert.Equal(t, exitLocked, code)
	assert.Contains(t, stderr, "another scan is writing this output")
	assert.Contains(t, stderr, fmt.Sprintf("held by process %d", cmd.Process.Pid))

	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	_ = cmd.Wait()
	b := b0(t, out)
	t.Logf("killed after %d of %d records", bytes.Count(b, []byte("\n")), len(want))
	// A kill inside write(2) is rare to hit; cut the next record in half
	// as such a kill would.
	f, err := os.OpenFile(out, os.O_WRONLY|os.O_APPEND, 0)
	require.NoError(t, err)
	_, err = f.WriteString(`{"image": "` + want[len(want)-1].Image + `", "model": "emb`)
	require.NoError(t, err)
	require.NoError(t, f.Close())

	code, _, stderr = runBin(t, bin, "", "scan", "--quiet", "--workers", "2", "--scales", "1", "--flip=false", "--resume", "--out", out, dir)
	assert.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stderr, "already done")
	assertEachOnce(t, out, want)
	assert.NoFileExists(t, out+".lock")
}

// An interrupted csv scan leaves no csv file at all, and no temporary one.
func TestScanInterruptedCSVLeavesNothing(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	for i := 0; i < 30; i++ {
		writeImage(t, filepath.Join(dir, fmt.Sprintf("img%02d.png", i)), 300, 200, false)
	}
	outDir := t.TempDir()
	out := filepath.Join(outDir, "out.csv")
	cmd := exec.Command(bin, "scan", "--quiet", "--workers", "1", "--format", "csv", "--out", out, dir)
	require.NoError(t, cmd.Start())
	// The temporary file gets the header, then a row per image.
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		tmps, _ := filepath.Glob(filepath.Join(outDir, ".out.csv.*.tmp"))
		if len(tmps) == 1 {
			if b, _ := os.ReadFile(tmps[0]); bytes.Count(b, []byte("\n")) >= 3 {
				break
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	err := cmd.Wait()
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee, "an interrupted scan fails")
	assert.Equal(t, exitFail, ee.ExitCode())
	entries, err := os.ReadDir(outDir)
	require.NoError(t, err)
	assert.Empty(t, entries, "no partial csv, temporary or lock file")
}
