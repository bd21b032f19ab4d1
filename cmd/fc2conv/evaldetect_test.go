package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/fc2conv/fc2conv/detect"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRecallFPAndChoice(t *testing.T) {
	gt := [][][4]float64{{{0, 0, 10, 10}}, {{20, 20, 30, 30}}}
	dets := [][]detect.ScoredBox{
		{{Box: [4]float64{0, 0, 10, 10}, Score: 0.9}, {Box: [4]float64{50, 50, 60, 60}, Score: 0.8}},
		{{Box: [4]float64{21, 21, 31, 31}, Score: 0.6}, {Box: [4]float64{20, 20, 30, 30}, Score: 0.4}},
	}
	// At 0.5: two TPs (IoU 81/119 ≥ 0.5 for the shifted box), one FP.
	r, fp := recallFP(dets, gt, 0.5)
	assert.InDelta(t, 1.0, r, 1e-12)
	assert.InDelta(t, 0.5, fp, 1e-12)
	// At 0.3 the 0.4 box duplicates a matched truth: two FPs over 2 images.
	_, fp = recallFP(dets, gt, 0.3)
	assert.InDelta(t, 1.0, fp, 1e-12)
	th, r, fp := chooseThreshold(dets, gt, 0)
	assert.Equal(t, 0.9, th)
	assert.InDelta(t, 0.5, r, 1e-12)
	assert.Zero(t, fp)
}

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
