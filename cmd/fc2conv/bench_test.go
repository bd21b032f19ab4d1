package main

import (
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/fc2conv/fc2conv/nn/kernels"
)

// bench prints one row per layer of the embedded model, a total, the GEMM
// rate it compares with, and the scan's rate and peak memory.
func TestBench(t *testing.T) {
	code, out, errOut := runCLI("bench", "--size", "96x64", "--runs", "1")
	assert.Equal(t, exitOK, code, errOut)
	assert.Regexp(t, regexp.MustCompile(`single-thread GEMM rate: [0-9.]+ GFLOP/s`), out)
	for _, step := range []string{`conv1\+relu1`, `conv2\+relu2\+pool3`, `conv4\+relu4\+pool5`, `fc6\+relu6`, "out", "softmax", "total"} {
		assert.Regexp(t, regexp.MustCompile(`(?m)^\s*`+step+`\s`), out, "a row for %s", step)
	}
	// On 96×64 conv1 (3×3) gives 32×62×94; conv2 64×60×92, pooled to 64×30×46.
	assert.Regexp(t, regexp.MustCompile(`(?m)^\s*conv1\+relu1\s+conv2d\+relu\s+32×62×94\s`), out)
	assert.Regexp(t, regexp.MustCompile(`(?m)^\s*conv2\+relu2\+pool3\s+conv2d\+relu\+maxpool2d\s+64×30×46\s`), out)
	assert.Regexp(t, regexp.MustCompile(`scan of a synthetic 96×64 image with the default options and verifier embedded:verifier: [0-9.]+ s per image`), out)
	assert.Contains(t, out, "peak memory (RSS)")
}

// The verifier's views and weight are timed as scan would run them, and
// named.
func TestBenchVerifierScoring(t *testing.T) {
	code, out, errOut := runCLI("bench", "--size", "96x64", "--runs", "1", "--verifier-views", "5", "--verifier-weight", "0.65")
	assert.Equal(t, exitOK, code, errOut)
	assert.Regexp(t, regexp.MustCompile(`scan of a synthetic 96×64 image with the default options and verifier embedded:verifier\(views 5, weight 0.65\): [0-9.]+ s per image`), out)
}

// --kernel times the engine with the named micro-kernel, and says so.
func TestBenchKernel(t *testing.T) {
	before := kernels.Default
	code, out, errOut := runCLI("bench", "--size", "64x48", "--runs", "1", "--no-scan", "--kernel", "go")
	assert.Equal(t, exitOK, code, errOut)
	assert.Regexp(t, regexp.MustCompile(`single-thread GEMM rate: [0-9.]+ GFLOP/s \(512×512×512, median of 1, go micro-kernel\)`), out)
	assert.Equal(t, before, kernels.Default, "the default is put back")
}

// A model with blocks gets a row per step of each path, under its block.
func TestBenchBlockPaths(t *testing.T) {
	code, out, errOut := runCLI("bench", "--size", "32x32", "--runs", "1", "--no-scan", filepath.Join("..", "..", "testdata", "onnx", "inception_op13.onnx"))
	assert.Equal(t, exitOK, code, errOut)
	assert.Contains(t, out, "mixed3b_Concat")
	assert.Contains(t, out, "↳ path 3")
	assert.Regexp(t, `↳ mixed3b_branch4_branch4_0_MaxPool +maxpool2d +16×16×16`, out)
	assert.Regexp(t, `(?m)^ +total +[0-9.]+`, out)
}

func TestBenchUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--size", "big"}, `--size "big"`},
		{[]string{"--size", "0x10"}, `--size "0x10"`},
		{[]string{"--runs", "0"}, "--runs 0 out of range"},
		{[]string{"a", "b"}, "at most one MODEL"},
		{[]string{"photo.JPG"}, "MODEL photo.JPG is an image, not a model file (try --help)"},
		{[]string{"--kernel", "sse9"}, `--kernel: kernels: no micro-kernel "sse9" on this CPU (it has `},
		{[]string{"--verifier-weight", "1.5"}, "--verifier-weight: weight 1.5 out of range (0,1)"},
		{[]string{"--verifier", "none", "--verifier-views", "5"}, "--verifier-views: set without a verifier"},
	} {
		code, _, errOut := runCLI(append([]string{"bench"}, tc.args...)...)
		assert.Equal(t, exitUsage, code, "%v", tc.args)
		assert.Contains(t, errOut, tc.want, "%v", tc.args)
	}
	code, _, errOut := runCLI("bench", "--size", "10x10", "--no-scan")
	assert.Equal(t, exitFail, code)
	assert.Contains(t, errOut, "--size 10x10", "an input smaller than the window names the flag")
}
