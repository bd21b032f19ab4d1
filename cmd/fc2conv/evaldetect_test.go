package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fc2conv/fc2conv/fmnist"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEvalDetectCLI(t *testing.T) {
	dir := t.TempDir()
	truth := filepath.Join(dir, "truth.jsonl")
	scanOut := filepath.Join(dir, "scan.jsonl")
	require.NoError(t, os.WriteFile(truth, []byte(`{"image":"s0.png","width":100,"height":100,"objects":[{"box":[0,0,28,28],"class":3,"label":"Dress"},{"box":[40,40,68,68],"class":0,"label":"T-shirt/top"}]}`+"\n"), 0o644))
	require.NoError(t, os.WriteFile(scanOut, []byte(`{"image":"/x/s0.png","width":100,"height":100,"detections":[{"box":[0,0,28,28],"score":0.95,"scale":1},{"box":[40,40,68,68],"score":0.7,"scale":1}],"elapsed_ms":1}`+"\n"), 0o644))
	code, stdout, stderr := runCLI("eval", "detect", "--truth", truth, "--scan", scanOut, "--max-fp", "0.5")
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, "1 scenes, AP@0.5 (dress) 1.0000")
	assert.Contains(t, stdout, "lowest threshold with ≤ 0.5 FP/image: 0.95")
}

// Two scenes, one dress each; the sweep table and the threshold choice
// come from detect's matching: ranked 0.9 hit, 0.8 miss, 0.8 miss (tied),
// 0.6 shifted hit (IoU 81/119), 0.4 duplicate.
func TestEvalDetectSweep(t *testing.T) {
	dir := t.TempDir()
	truth := twoDressScenes(t, dir)
	scanOut := filepath.Join(dir, "scan.jsonl")
	require.NoError(t, os.WriteFile(scanOut, []byte(
		`{"image":"a.png","width":100,"height":100,"detections":[{"box":[0,0,10,10],"score":0.9,"scale":1},{"box":[50,50,60,60],"score":0.8,"scale":1}]}`+"\n"+
			`{"image":"b.png","width":100,"height":100,"detections":[{"box":[80,80,90,90],"score":0.8,"scale":1},{"box":[21,21,31,31],"score":0.6,"scale":1},{"box":[20,20,30,30],"score":0.4,"scale":1}]}`+"\n"), 0o644))
	code, stdout, stderr := runCLI("eval", "detect", "--truth", truth, "--scan", scanOut, "--threshold", "0.6", "--max-fp", "1")
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, "      0.3  1.0000     1.500\n")
	assert.Contains(t, stdout, "      0.6  1.0000     1.000  <- --threshold\n")
	assert.Contains(t, stdout, "      0.8  0.5000     1.000\n")
	assert.Contains(t, stdout, "      0.9  0.5000     0.000\n")
	assert.Contains(t, stdout, "lowest threshold with ≤ 1 FP/image: 0.6 (recall 1.0000, 1.000 FP/image)")

	code, stdout, stderr = runCLI("eval", "detect", "--truth", truth, "--scan", scanOut, "--max-fp", "0.4")
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, "lowest threshold with ≤ 0.4 FP/image: 0.9 (recall 0.5000, 0.000 FP/image)")

	// A false positive on top: even the highest score gives 0.5 FP/image.
	require.NoError(t, os.WriteFile(scanOut, []byte(
		`{"image":"a.png","width":100,"height":100,"detections":[{"box":[50,50,60,60],"score":0.95,"scale":1}]}`+"\n"+
			`{"image":"b.png","width":100,"height":100,"detections":[]}`+"\n"), 0o644))
	code, stdout, stderr = runCLI("eval", "detect", "--truth", truth, "--scan", scanOut, "--max-fp", "0.1")
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, "no threshold gives ≤ 0.1 FP/image: the highest score, 0.95, already gives 0.500")
}

// By default the operating point at ≤ 0.1 FP/image is reported; --margin
// adds the threshold to store with that much headroom. Same scenes as
// TestEvalDetectSweep: at ≤ 1 FP/image the lowest threshold is 0.6
// (recall 1, 1 FP/image); with margin 0.5 (≤ 0.5 FP/image) it is 0.9
// (recall 0.5, no false positive), since 0.8 brings two.
func TestEvalDetectOperatingPointMargin(t *testing.T) {
	dir := t.TempDir()
	truth := twoDressScenes(t, dir)
	scanOut := filepath.Join(dir, "scan.jsonl")
	require.NoError(t, os.WriteFile(scanOut, []byte(
		`{"image":"a.png","width":100,"height":100,"detections":[{"box":[0,0,10,10],"score":0.9,"scale":1},{"box":[50,50,60,60],"score":0.8,"scale":1}]}`+"\n"+
			`{"image":"b.png","width":100,"height":100,"detections":[{"box":[80,80,90,90],"score":0.8,"scale":1},{"box":[21,21,31,31],"score":0.6,"scale":1},{"box":[20,20,30,30],"score":0.4,"scale":1}]}`+"\n"), 0o644))
	code, stdout, stderr := runCLI("eval", "detect", "--truth", truth, "--scan", scanOut)
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, "lowest threshold with ≤ 0.1 FP/image: 0.9 (recall 0.5000, 0.000 FP/image)\n")

	code, stdout, stderr = runCLI("eval", "detect", "--truth", truth, "--scan", scanOut, "--max-fp", "1", "--margin", "0.5")
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, "lowest threshold with ≤ 1 FP/image: 0.6 (recall 1.0000, 1.000 FP/image)\n")
	assert.Contains(t, stdout, "with margin 0.5, threshold to store with ≤ 0.5 FP/image: 0.9 (recall 0.5000, 0.000 FP/image)\n")

	for _, bad := range [][]string{{"--margin", "0.1"}, {"--margin", "-1"}, {"--max-fp", "-0.1"}} {
		code, _, stderr = runCLI(append([]string{"eval", "detect", "--truth", truth, "--scan", scanOut}, bad...)...)
		assert.Equal(t, exitUsage, code, "%v", bad)
		assert.Contains(t, stderr, "want max-fp ≥ 0 and 0 ≤ margin < max-fp", "%v", bad)
	}
}

// --baseline scores a second scan of the same scenes and prints the
// difference; --bootstrap adds intervals over resampled scenes. Scenes of
// TestEvalDetectSweep: this scan has recall 0.5 at ≤ 0.1 FP/image (the
// 0.8 false positives stop it at 0.9), the baseline, which drops them,
// recall 1.
func TestEvalDetectBaselineAndBootstrap(t *testing.T) {
	dir := t.TempDir()
	truth := twoDressScenes(t, dir)
	scanOut := filepath.Join(dir, "scan.jsonl")
	baseline := filepath.Join(dir, "baseline.jsonl")
	require.NoError(t, os.WriteFile(scanOut, []byte(
		`{"image":"a.png","width":100,"height":100,"detections":[{"box":[0,0,10,10],"score":0.9,"scale":1},{"box":[50,50,60,60],"score":0.8,"scale":1}]}`+"\n"+
			`{"image":"b.png","width":100,"height":100,"detections":[{"box":[80,80,90,90],"score":0.8,"scale":1},{"box":[21,21,31,31],"score":0.6,"scale":1}]}`+"\n"), 0o644))
	require.NoError(t, os.WriteFile(baseline, []byte(
		`{"image":"a.png","width":100,"height":100,"detections":[{"box":[0,0,10,10],"score":0.9,"scale":1}]}`+"\n"+
			`{"image":"b.png","width":100,"height":100,"detections":[{"box":[21,21,31,31],"score":0.6,"scale":1}]}`+"\n"), 0o644))

	code, stdout, stderr := runCLI("eval", "detect", "--truth", truth, "--scan", scanOut, "--baseline", baseline)
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, "AP@0.5 1.0000, recall at ≤ 0.1 FP/image 1.0000; this scan − baseline: AP -0.2475, recall -0.5000\n")
	assert.NotContains(t, stdout, "bootstrap")

	code, stdout, stderr = runCLI("eval", "detect", "--truth", truth, "--scan", scanOut, "--baseline", baseline, "--bootstrap", "400")
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, "bootstrap over the 2 scenes (400 resamples, seed 1): median [95% interval]\n")
	// Resampled, the baseline stays perfect and this scan never beats it:
	// with scene a twice its recall is 1 (a tie), otherwise 0.5 or 0.
	assert.Contains(t, stdout, "  this scan − baseline, recall: -0.5000 [-1.0000, +0.0000]; recall higher in 0.0% of resamples\n")

	code, stdout2, _ := runCLI("eval", "detect", "--truth", truth, "--scan", scanOut, "--baseline", baseline, "--bootstrap", "400")
	require.Equal(t, exitOK, code)
	assert.Equal(t, stdout, stdout2, "the same seed, the same intervals")

	code, _, stderr = runCLI("eval", "detect", "--truth", truth, "--scan", scanOut, "--bootstrap", "-1")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "--bootstrap -1: want 0 (off) to")

	require.NoError(t, os.WriteFile(baseline, []byte(`{"image":"a.png","width":100,"height":100,"detections":[]}`+"\n"), 0o644))
	code, _, stderr = runCLI("eval", "detect", "--truth", truth, "--scan", scanOut, "--baseline", baseline)
	assert.Equal(t, exitFail, code)
	assert.Contains(t, stderr, "fc2conv eval detect: --baseline: "+baseline+" has no record for b.png")
}

// twoDressScenes writes the truth of two 100×100 scenes, a.png and b.png,
// one dress each ([0,0,10,10] and [20,20,30,30]), and returns its path.
func twoDressScenes(t *testing.T, dir string) string {
	t.Helper()
	truth := filepath.Join(dir, "truth.jsonl")
	require.NoError(t, os.WriteFile(truth, []byte(
		`{"image":"a.png","width":100,"height":100,"objects":[{"box":[0,0,10,10],"class":3,"label":"Dress"}]}`+"\n"+
			`{"image":"b.png","width":100,"height":100,"objects":[{"box":[20,20,30,30],"class":3,"label":"Dress"}]}`+"\n"), 0o644))
	return truth
}

// --by-photo scores each photograph's scenes at the operating point chosen
// over all of them. Scenes a and c on p1, b on p2, one dress each; ranked:
// c 0.95 false positive, a 0.9 hit, a 0.8 false positive, b 0.6 hit. At ≤
// 0.34 FP/image the pooled point is 0.9 (1 FP in 3 images). There p1 has
// found a's dress and not c's (recall 0.5) with c's false positive (0.5
// per image), and its AP is precision 1/2 up to recall 1/2: 51/101 × 0.5;
// p2's one dress scores 0.6, under 0.9, and it ranks first in p2 (AP 1).
func TestEvalDetectByPhoto(t *testing.T) {
	dir := t.TempDir()
	truth := filepath.Join(dir, "truth.jsonl")
	scanOut := filepath.Join(dir, "scan.jsonl")
	require.NoError(t, os.WriteFile(truth, []byte(
		`{"image":"a.png","photo":"p1.jpg","width":100,"height":100,"objects":[{"box":[0,0,10,10],"class":3}]}`+"\n"+
			`{"image":"b.png","photo":"p2.jpg","width":100,"height":100,"objects":[{"box":[20,20,30,30],"class":3}]}`+"\n"+
			`{"image":"c.png","photo":"p1.jpg","width":100,"height":100,"objects":[{"box":[0,0,10,10],"class":3}]}`+"\n"), 0o644))
	require.NoError(t, os.WriteFile(scanOut, []byte(
		`{"image":"a.png","width":100,"height":100,"detections":[{"box":[0,0,10,10],"score":0.9,"scale":1},{"box":[50,50,60,60],"score":0.8,"scale":1}]}`+"\n"+
			`{"image":"b.png","width":100,"height":100,"detections":[{"box":[20,20,30,30],"score":0.6,"scale":1}]}`+"\n"+
			`{"image":"c.png","width":100,"height":100,"detections":[{"box":[60,60,70,70],"score":0.95,"scale":1}]}`+"\n"), 0o644))
	code, stdout, stderr := runCLI("eval", "detect", "--truth", truth, "--scan", scanOut, "--max-fp", "0.34", "--by-photo")
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, "by photograph, at 0.9 (the lowest threshold with ≤ 0.34 FP/image):\n")
	assert.Contains(t, stdout, "p1.jpg                 2        2  0.2525  0.5000     0.500\n")
	assert.Contains(t, stdout, "p2.jpg                 1        1  1.0000  0.0000     0.000\n")
	assert.Less(t, strings.Index(stdout, "p1.jpg"), strings.Index(stdout, "p2.jpg"), "in the truth's order")

	// Without an operating point the groups are scored at --threshold.
	code, stdout, stderr = runCLI("eval", "detect", "--truth", truth, "--scan", scanOut, "--max-fp", "0", "--threshold", "0.5", "--by-photo")
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, "by photograph, at 0.5 (--threshold):\n")
	assert.Contains(t, stdout, "p2.jpg                 1        1  1.0000  1.0000     0.000\n")

	// Truth that names no photograph is refused, naming the scene.
	require.NoError(t, os.WriteFile(truth, []byte(
		`{"image":"a.png","photo":"p1.jpg","width":100,"height":100,"objects":[]}`+"\n"+
			`{"image":"b.png","width":100,"height":100,"objects":[]}`+"\n"), 0o644))
	code, _, stderr = runCLI("eval", "detect", "--truth", truth, "--scan", scanOut, "--by-photo")
	assert.Equal(t, exitFail, code)
	assert.Contains(t, stderr, "fc2conv eval detect: --by-photo: b.png names no photograph")
}

// scenes records the photograph each scene is painted on: scene k on the
// split's photograph k mod their number, in SPLIT.txt's order.
func TestScenesRecordPhotos(t *testing.T) {
	dir := t.TempDir()
	code, _, stderr := runCLI("scenes", "--data", "../../testdata/fmnist", "--items", "t10k", "--photos", "../../testdata/photos",
		"--photo-split", "eval", "--n", "7", "--width", "120", "--height", "60", "--out", dir)
	require.Equal(t, exitOK, code, stderr)
	f, err := os.Open(filepath.Join(dir, "truth.jsonl"))
	require.NoError(t, err)
	defer f.Close()
	truths, err := fmnist.ReadTruth(f, "truth.jsonl")
	require.NoError(t, err)
	var got []string
	for _, tr := range truths {
		got = append(got, tr.Photo)
	}
	assert.Equal(t, []string{"bw_text.jpg", "chelsea.jpg", "coffee.jpg", "coins.jpg", "gravel.jpg", "motorcycle_left.jpg", "bw_text.jpg"}, got)
}
