package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fc2conv/fc2conv/nn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func runCLI(args ...string) (code int, stdout, stderr string) {
	var o, e bytes.Buffer
	code = run(args, &o, &e)
	return code, o.String(), e.String()
}

func TestHelpOnEveryCommand(t *testing.T) {
	for name := range commands {
		code, _, stderr := runCLI(name, "--help")
		assert.Equal(t, exitOK, code, name)
		assert.Contains(t, stderr, "usage: fc2conv "+name, name)
	}
	code, _, stderr := runCLI("frobnicate")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, `unknown command "frobnicate"`)
}

func TestConvertAndVerifyGolden(t *testing.T) {
	src := filepath.Join("..", "..", "testdata", "torch", "hwc_keras.safetensors")
	out := filepath.Join(t.TempDir(), "fcn.safetensors")
	code, stdout, stderr := runCLI("convert", src, "-o", out)
	require.Equal(t, exitOK, code, stderr)
	// The table names each layer with its FC and conv shapes.
	assert.Regexp(t, `fc1\s+dense 100→7\s+conv 7×4×5×5`, stdout)
	assert.Regexp(t, `fc2\s+dense 7→2\s+conv 2×7×1×1`, stdout)
	assert.Contains(t, stdout, "sliding window")
	fcn, err := nn.Load(out)
	require.NoError(t, err)
	assert.True(t, fcn.IsFullyConvolutional())

	for _, args := range [][]string{{"verify", src}, {"verify", out}, {"verify", out, "--fc", src}} {
		code, stdout, stderr = runCLI(args...)
		assert.Equal(t, exitOK, code, "%v: %s", args, stderr)
		assert.Contains(t, stdout, "OK", args)
	}
}

// Real images are checked too: the sample scene through the PyTorch model.
func TestVerifyRealImage(t *testing.T) {
	src := filepath.Join("..", "..", "testdata", "torch", "chw_softmax.safetensors")
	img := filepath.Join("..", "..", "testdata", "samples", "scene_000.png")
	code, stdout, stderr := runCLI("verify", src, "--image", img, "--large", "1")
	require.Equal(t, exitOK, code, stderr)
	// 1 random large input plus the image: more crop cases than one input gives.
	assert.Regexp(t, `feature-crop\s+(\d{3}|[7-9]\d)\s`, stdout)
	code, _, stderr = runCLI("verify", src, "--image", "/nonexistent.png")
	assert.Equal(t, exitFail, code)
	assert.Contains(t, stderr, "/nonexistent.png")
}

func TestVerifyBadFiles(t *testing.T) {
	dir := t.TempDir()
	good, err := os.ReadFile(filepath.Join("..", "..", "testdata", "torch", "chw_softmax.safetensors"))
	require.NoError(t, err)
	cases := map[string][]byte{
		"truncated.safetensors": good[:len(good)/2],
		"magic.safetensors":     append([]byte("\x89PNG\r\n\x1a\n"), good[8:]...),
		"empty.safetensors":     nil,
	}
	for name, b := range cases {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, b, 0o644))
		code, _, stderr := runCLI("verify", p)
		assert.Equal(t, exitFail, code, name)
		assert.Contains(t, stderr, name, "the error names the file")
		assert.Contains(t, strings.ToLower(stderr), "invalid format", name)
	}
	code, _, stderr := runCLI("verify")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "need exactly one model")
}

// An ensemble of a PyTorch fixture with itself is that model: it converts
// and verifies against the fixture. Mixing FC and converted members fails.
func TestEnsembleCommand(t *testing.T) {
	src := filepath.Join("..", "..", "testdata", "torch", "chw_softmax.safetensors")
	dir := t.TempDir()
	ens, fcn := filepath.Join(dir, "ens.safetensors"), filepath.Join(dir, "ens-fcn.safetensors")
	code, stdout, stderr := runCLI("ensemble", "-o", ens, src, src)
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, "2 members")
	code, _, stderr = runCLI("convert", ens, "-o", fcn)
	require.Equal(t, exitOK, code, stderr)
	code, stdout, stderr = runCLI("verify", fcn, "--fc", src)
	assert.Equal(t, exitOK, code, "an ensemble of one model twice is that model: %s", stderr)
	assert.Contains(t, stdout, "OK")

	code, _, stderr = runCLI("ensemble", "-o", ens, src)
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "at least two")
	code, _, stderr = runCLI("ensemble", "-o", ens, src, fcn)
	assert.Equal(t, exitFail, code)
	assert.Contains(t, stderr, "not compatible")
	code, _, stderr = runCLI("ensemble", "-o", ens, src, "/nonexistent.safetensors")
	assert.Equal(t, exitFail, code)
	assert.Contains(t, stderr, "/nonexistent.safetensors")
}

func TestTrainSamplerFlagsValidated(t *testing.T) {
	for _, c := range []struct {
		flags []string
		usage bool // sampler settings are usage errors (exit 2); the rest fail in train (any non-zero exit)
		want  string
	}{
		{[]string{"--black", "0.5", "--photo", "0.7"}, true, "Black + Photo = 1.2"},
		{[]string{"--scene", "2"}, true, "Scene = 2"},
		{[]string{"--leaves", "1.5"}, true, "Leaves = 1.5"},
		{[]string{"--mine-leaves", "-1"}, false, "--mine-leaves -1"},
		{[]string{"--print", "-0.5"}, true, "Print = -0.5"},
		{[]string{"--mine-print", "2"}, false, "--mine-print 2"},
		{[]string{"--print-blocky", "2"}, true, "PrintBlocky = 2"},
		{[]string{"--scale-iou", "0.1"}, true, "ScaleIoU = 0.1"},
		{[]string{"--mine-negative-iou", "0.8"}, false, "--mine-negative-iou 0.8"},
	} {
		args := append([]string{"train"}, c.flags...)
		code, _, stderr := runCLI(append(args, "--out", filepath.Join(t.TempDir(), "m.safetensors"))...)
		if c.usage {
			assert.Equal(t, exitUsage, code, "%v", c.flags)
		} else {
			assert.NotEqual(t, 0, code, "%v", c.flags)
		}
		assert.Contains(t, stderr, c.want)
	}
}
