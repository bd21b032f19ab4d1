package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Bad settings are usage errors (exit 2) that name their flag, in the
// CLI's words, before any work starts.
func TestTrainUsageErrorsNameTheFlag(t *testing.T) {
	out := filepath.Join(t.TempDir(), "m.safetensors")
	for _, c := range []struct {
		flags []string
		want  string
	}{
		{[]string{"--epochs", "0"}, "fc2conv train: --epochs 0 out of range [1,1000]\n"},
		{[]string{"--batch", "0"}, "fc2conv train: --batch 0 out of range [1,4096]\n"},
		{[]string{"--lr", "2"}, "fc2conv train: --lr 2 out of range (0,1)\n"},
		{[]string{"--mine-from", "-1"}, "fc2conv train: --mine-from -1, want ≥ 0 (0: never mine)\n"},
		{[]string{"--mine-print", "2"}, "fc2conv train: --mine-print 2 out of range [0,1]\n"},
		{[]string{"--mine-negative-iou", "0.8"}, "fc2conv train: --mine-negative-iou 0.8 out of range [0,0.65)\n"},
		{[]string{"--mine-cascade", "pair.safetensors", "--mine-from", "0"}, "fc2conv train: --mine-cascade set with --mine-from 0; the cascade's boxes are mined in the mining rounds\n"},
		{[]string{"--mine-cascade-weight", "8"}, "fc2conv train: --mine-cascade-weight 8 without --mine-cascade; it weights the cascade's boxes\n"},
		{[]string{"--mine-cascade", "pair.safetensors", "--mine-from", "3", "--mine-cascade-weight", "-1"}, "fc2conv train: --mine-cascade-weight -1 out of range [0,64]\n"},
		{[]string{"--mine-cascade", "pair.safetensors", "--mine-from", "3", "--mine-cascade-views", "9"}, "fc2conv train: --mine-cascade-views 9, want 0, 1, 5, 7 or 27\n"},
		{[]string{"--out", ""}, "fc2conv train: --out is empty; say where the model goes\n"},
		{[]string{"--scene", "2"}, "fc2conv train: --scene: fmnist: sampler config: Background.Scene = 2, want a fraction in [0,1]\n"},
		{[]string{"--neg-scale", "-1"}, "fc2conv train: --neg-scale: fmnist: sampler config: Mix.NegScale = -1, want a finite weight ≥ 0\n"},
		{[]string{"--black", "0.5", "--photo", "0.7"}, "fc2conv train: --photo: fmnist: sampler config: Background: Black + Photo = 1.2, want ≤ 1\n"},
		{[]string{"--raw", "1.5"}, "fc2conv train: --raw: fmnist: sampler config: Mix.Raw = 1.5, want a fraction in [0,1]\n"},
		{[]string{"--hard-negative", "1.5"}, "fc2conv train: --hard-negative: fmnist: sampler config: Mined.Negative = 1.5, want a fraction in [0,1]\n"},
		{[]string{"--crop-print", "2"}, "fc2conv train: --crop-print: fmnist: sampler config: Crops.Print = 2, want in [0, 1] (a share of scenes)\n"},
		{[]string{"--arch", "wide"}, "fc2conv train: --arch \"wide\": layer \"conv1\" is padded: its converted form would not score what its window scores; only a verifier (--scene-crops above 0) may have that shape\n"},
	} {
		args := append([]string{"train", "--out", out}, c.flags...)
		code, _, stderr := runCLI(args...)
		assert.Equal(t, exitUsage, code, "%v", c.flags)
		assert.Equal(t, c.want, stderr, "%v", c.flags)
		assert.NotContains(t, stderr, "Config.", "%v", c.flags)
	}
	code, _, stderr := runCLI("train", "--out", out, "--init", "a", "--resume", "b")
	assert.Equal(t, exitUsage, code)
	assert.Equal(t, "fc2conv train: --init and --resume both given; a checkpoint holds its own weights\n", stderr)
}

// Errors found while running name their flag too (exit 1).
func TestTrainRunErrorsNameTheFlag(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "m.safetensors")
	code, _, stderr := runCLI("train", "--out", out, "--photos", "", "--data", dir, "--quiet")
	assert.Equal(t, exitFail, code)
	assert.Contains(t, stderr, "fc2conv train: --data "+dir+": ")

	missing := filepath.Join(dir, "missing.safetensors")
	code, _, stderr = runCLI("train", "--out", out, "--photos", "../../testdata/photos", "--data", "../../testdata/fmnist", "--init", missing, "--quiet")
	assert.Equal(t, exitFail, code)
	assert.Contains(t, stderr, "fc2conv train: --init "+missing+": ")
	assert.NoFileExists(t, out)

	code, _, stderr = runCLI("train", "--out", out, "--photos", "../../testdata/photos", "--data", "../../testdata/fmnist", "--mine-cascade", missing, "--quiet")
	assert.Equal(t, exitFail, code)
	assert.Contains(t, stderr, "fc2conv train: --mine-cascade "+missing+": ")
	assert.NoFileExists(t, out)
}

// --out and its -fcn twin are never overwritten without --force; with it
// the run goes on (here to fail on an empty --data directory).
func TestTrainRefusesToOverwrite(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "m.safetensors")
	base := []string{"train", "--out", out, "--photos", "", "--data", dir, "--quiet"}
	require.NoError(t, os.WriteFile(out, []byte("keep"), 0o644))
	code, _, stderr := runCLI(base...)
	assert.Equal(t, exitUsage, code)
	assert.Equal(t, "fc2conv train: "+out+" exists; give --force to overwrite it or another --out\n", stderr)

	require.NoError(t, os.Remove(out))
	twin := filepath.Join(dir, "m-fcn.safetensors")
	require.NoError(t, os.WriteFile(twin, []byte("keep"), 0o644))
	code, _, stderr = runCLI(base...)
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, twin+" exists")

	code, _, stderr = runCLI(append(base, "--force")...)
	assert.Equal(t, exitFail, code)
	assert.Contains(t, stderr, "--data "+dir)
	b, err := os.ReadFile(twin)
	require.NoError(t, err)
	assert.Equal(t, "keep", string(b), "a failed run leaves the twin alone")
}

// The default output is dress.safetensors in the current directory, not
// models/; without testdata/photos here, --photos must be given.
func TestTrainDefaultPaths(t *testing.T) {
	code, stdout, stderr := runCLI("train", "--help")
	assert.Equal(t, exitOK, code)
	help := stdout + stderr
	assert.Contains(t, help, `(default "dress.safetensors")`)
	assert.NotContains(t, help, "models/")

	_, err := os.Stat("testdata/photos")
	require.True(t, os.IsNotExist(err), "this test runs where testdata/photos is absent")
	code, _, stderr = runCLI("train", "--out", filepath.Join(t.TempDir(), "m.safetensors"))
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "fc2conv train: no --photos given and ./testdata/photos is not a directory here")
}

// --cpuprofile writes a pprof profile (gzipped) of the training, and a
// path it cannot create is an error that names the flag.
func TestTrainCPUProfile(t *testing.T) {
	dir := t.TempDir()
	prof := filepath.Join(dir, "cpu.pprof")
	base := []string{"train", "--out", filepath.Join(dir, "m.safetensors"), "--photos", "../../testdata/photos", "--data", "../../testdata/fmnist",
		"--epochs", "1", "--steps", "2", "--batch", "4", "--val-fraction", "0.5", "--quiet"}
	code, _, stderr := runCLI(append(base, "--cpuprofile", prof)...)
	require.Equal(t, exitOK, code, stderr)
	b, err := os.ReadFile(prof)
	require.NoError(t, err)
	require.Greater(t, len(b), 2)
	assert.Equal(t, []byte{0x1f, 0x8b}, b[:2], "pprof's gzipped protobuf")

	code, _, stderr = runCLI(append(base, "--force", "--cpuprofile", filepath.Join(dir, "absent", "cpu.pprof"))...)
	assert.Equal(t, exitFail, code)
	assert.Contains(t, stderr, "fc2conv train: --cpuprofile: ")
}

// With --raw 1 no patch is drawn on a background of its own, so the
// background flags are named as drawing nothing, and only those given.
func TestTrainNotesBackgroundFlagsThatDrawNothing(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "m.safetensors")
	require.NoError(t, os.WriteFile(out, []byte("keep"), 0o644)) // stops the run before training
	base := []string{"train", "--out", out, "--photos", "", "--data", dir, "--quiet"}

	_, _, stderr := runCLI(append(base, "--raw", "1", "--print", "0.3", "--mine-print", "0.5")...)
	assert.Contains(t, stderr, "note: --print draws nothing with --raw 1")
	assert.NotContains(t, stderr, "--mine-print draws nothing")
	assert.NotContains(t, stderr, "--photo draws nothing")

	_, _, stderr = runCLI(append(base, "--raw", "0.2", "--print", "0.3")...)
	assert.NotContains(t, stderr, "draws nothing")
}

// A verifier-only shape is costed per window, not per scanned position:
// wide's 44.39 MFLOP counted by hand (multiply-adds 32·9·784 + 32·32·9·784
// + 32·64·9·196 + 64·64·9·196 + 64·128·9·49 + 1152·256 + 256·2, twice).
func TestPrintCostOfAVerifierShape(t *testing.T) {
	var b bytes.Buffer
	require.NoError(t, printCost(&b, "wide", 28))
	assert.Contains(t, b.String(), `architecture "wide": 44.39 MFLOP per 28×28 window, `)
	assert.Contains(t, b.String(), "the embedded verifier's; a verifier's shape only (layer \"conv1\" is padded")
	assert.NotContains(t, b.String(), "scanned position")

	b.Reset()
	require.NoError(t, printCost(&b, "bn3s", 28))
	assert.Contains(t, b.String(), "per scanned position at stride 4")

	// bn3s on a 36×36 window (multiply-adds 16·9·34² + 32·16·9·32² +
	// 32·32·9·14² + 1568·128 + 128·2, twice) reads like a verifier's shape.
	b.Reset()
	require.NoError(t, printCost(&b, "bn3s", 36))
	assert.Contains(t, b.String(), `architecture "bn3s": 13.78 MFLOP per 36×36 window, `)
	assert.Contains(t, b.String(), "a verifier's shape only (its window is 36×36: a scanning network reads 28×28)")
}
