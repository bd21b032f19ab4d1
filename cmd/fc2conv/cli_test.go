package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
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

// leaves lists every runnable command by its full name ("scan",
// "eval detect").
func leaves(prefix string, table map[string]command) []string {
	var names []string
	for n, c := range table {
		if c.subs != nil {
			names = append(names, leaves(prefix+n+" ", c.subs)...)
		} else {
			names = append(names, prefix+n)
		}
	}
	return names
}

// --help and -h print to stdout and exit 0, with examples whose flags
// the command has; "help CMD" prints the same.
func TestHelpOnEveryCommand(t *testing.T) {
	names := leaves("", commands)
	require.Len(t, names, 13, "bench, calibrate, convert, ensemble, eval classify, eval detect, inspect, scan, scenes, serve, train, verifier-list, verify")
	for _, name := range names {
		args := strings.Fields(name)
		code, stdout, stderr := runCLI(append(args, "--help")...)
		assert.Equal(t, exitOK, code, name)
		assert.Empty(t, stderr, name)
		assert.Contains(t, stdout, "usage: fc2conv "+name, name)
		assert.Contains(t, stdout, "\nflags:\n", name)
		_, ex, found := strings.Cut(stdout, "\nexamples:\n")
		require.True(t, found, "%s --help has examples", name)
		assert.Contains(t, ex, "  fc2conv "+name+" ", name)
		for _, line := range strings.Split(strings.TrimSpace(ex), "\n") {
			fields := strings.Fields(line)
			require.Equal(t, "fc2conv", fields[0], "%s: example %q", name, line)
			// Each flag of an example is in the help of the command it runs.
			cmd := fields[1]
			if commands[cmd].subs != nil {
				cmd += " " + fields[2]
			}
			_, cmdHelp, _ := runCLI(append(strings.Fields(cmd), "--help")...)
			for _, f := range fields[2:] {
				if strings.HasPrefix(f, "-") {
					flagName, _, _ := strings.Cut(strings.TrimLeft(f, "-"), "=")
					assert.Regexp(t, "\n  -"+regexp.QuoteMeta(flagName)+"[ \n]", cmdHelp, "%s: example %q: no flag %s", name, line, f)
				}
			}
		}

		code, short, stderr := runCLI(append(args, "-h")...)
		assert.Equal(t, exitOK, code, name)
		assert.Empty(t, stderr, name)
		assert.Equal(t, stdout, short, "%s: -h prints what --help prints", name)
		code, viaHelp, stderr := runCLI(append([]string{"help"}, args...)...)
		assert.Equal(t, exitOK, code, name)
		assert.Empty(t, stderr, name)
		assert.Equal(t, stdout, viaHelp, "help %s prints what %s --help prints", name, name)
	}
}

// A usage error goes to stderr with exit 2, in one line naming the
// command, and points to --help.
func TestUsageErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"convert", "--bogus"}, "fc2conv convert: flag provided but not defined: -bogus\nRun 'fc2conv convert --help' for usage.\n"},
		{[]string{"eval", "detect", "--max-fp", "x"}, "fc2conv eval detect: invalid value \"x\" for flag -max-fp"},
		{[]string{"frobnicate"}, "fc2conv: unknown command \"frobnicate\"\n\nusage: fc2conv COMMAND"},
		{[]string{"eval"}, "fc2conv eval: missing subcommand\n\nusage: fc2conv eval COMMAND"},
		{[]string{"eval", "nosuch"}, "fc2conv eval: unknown command \"nosuch\""},
		{[]string{"help", "nosuch"}, "fc2conv help: unknown command \"nosuch\""},
		{[]string{"help", "eval", "nosuch"}, "fc2conv help: unknown command \"eval nosuch\""},
		{[]string{"help", "scan", "x"}, "fc2conv help: \"scan\" has no subcommand \"x\""},
		{[]string{"version", "x"}, "fc2conv version: unexpected argument \"x\""},
		{nil, "usage: fc2conv COMMAND"},
	} {
		code, stdout, stderr := runCLI(c.args...)
		assert.Equal(t, exitUsage, code, "%q", c.args)
		assert.Empty(t, stdout, "%q", c.args)
		assert.Contains(t, stderr, c.want, "%q", c.args)
	}
}

// fc2conv help, --help and -h print the top-level usage to stdout; with
// no arguments at all it goes to stderr (exit 2, above).
func TestTopLevelHelp(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"--help"}, {"-h"}} {
		code, stdout, stderr := runCLI(args...)
		assert.Equal(t, exitOK, code, args)
		assert.Empty(t, stderr, args)
		assert.True(t, strings.HasPrefix(stdout, "usage: fc2conv COMMAND"), "%v: %s", args, stdout)
		for name := range commands {
			assert.Regexp(t, "\n  "+name+" +[a-z]", stdout, "%v lists %s", args, name)
		}
		assert.Contains(t, stdout, "\n  help ")
		assert.Contains(t, stdout, "\n  version ")
		assert.Contains(t, stdout, "examples:\n  fc2conv scan ")
	}
	// A command with subcommands lists them.
	for _, args := range [][]string{{"help", "eval"}, {"eval", "--help"}, {"--help", "eval"}} {
		code, stdout, stderr := runCLI(args...)
		assert.Equal(t, exitOK, code, args)
		assert.Empty(t, stderr, args)
		assert.True(t, strings.HasPrefix(stdout, "usage: fc2conv eval COMMAND"), "%v: %s", args, stdout)
		assert.Regexp(t, `\n  classify +dress vs rest`, stdout, args)
		assert.Regexp(t, `\n  detect +AP@0.5`, stdout, args)
	}
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

	// --threshold is stored in the ensemble and carried into its
	// converted form.
	thr := filepath.Join(dir, "thr.safetensors")
	code, _, stderr = runCLI("ensemble", "--threshold", "0.75", "-o", thr, src, src)
	require.Equal(t, exitOK, code, stderr)
	m, err := nn.Load(thr)
	require.NoError(t, err)
	assert.Equal(t, 0.75, m.Threshold)
	code, _, stderr = runCLI("ensemble", "--threshold", "1.5", "-o", thr, src, src)
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "--threshold 1.5 out of range [0,1]")

	fresh := filepath.Join(dir, "fresh.safetensors")
	code, _, stderr = runCLI("ensemble", "-o", fresh, src)
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "at least two")
	code, _, stderr = runCLI("ensemble", "-o", fresh, src, fcn)
	assert.Equal(t, exitFail, code)
	assert.Contains(t, stderr, src+" is FC and "+fcn+" is fully convolutional; members must all be FC or all fully convolutional")
	code, _, stderr = runCLI("ensemble", "-o", fresh, src, "/nonexistent.safetensors")
	assert.Equal(t, exitFail, code)
	assert.Contains(t, stderr, "/nonexistent.safetensors")
	_, err = os.Stat(fresh)
	assert.True(t, os.IsNotExist(err), "a failed ensemble writes nothing")
}

// TestOutputNotOverwritten: convert and ensemble, like train and
// calibrate, refuse an existing -o unless --force is given, so a slip
// of -o cannot replace a shipped model; the file is left as it was.
func TestOutputNotOverwritten(t *testing.T) {
	src := filepath.Join("..", "..", "testdata", "torch", "chw_softmax.safetensors")
	dir := t.TempDir()
	out := filepath.Join(dir, "keep.safetensors")
	require.NoError(t, os.WriteFile(out, []byte("precious"), 0o644))
	for _, args := range [][]string{
		{"convert", src, "-o", out},
		{"ensemble", "-o", out, src, src},
	} {
		code, _, stderr := runCLI(args...)
		assert.Equal(t, exitUsage, code, args)
		assert.Equal(t, "fc2conv "+args[0]+": -o "+out+" exists; give --force to overwrite it or another -o\n", stderr)
		b, err := os.ReadFile(out)
		require.NoError(t, err)
		assert.Equal(t, "precious", string(b), "%v left the file alone", args)

		code, _, stderr = runCLI(append(args, "--force")...)
		assert.Equal(t, exitOK, code, stderr)
		_, err = nn.Load(out)
		assert.NoError(t, err, "%v --force wrote a model", args)
		require.NoError(t, os.WriteFile(out, []byte("precious"), 0o644))
	}
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
		{[]string{"--crop-context", "0.5", "--raw", "1"}, true, "--crop-context: fmnist: sampler config: Crops.Context = 0.5"},
		{[]string{"--crop-context", "1.5"}, false, "--crop-context 1.5 needs --raw 1, not 0"},
		{[]string{"--crop-window", "20", "--raw", "1"}, true, "--crop-window: fmnist: sampler config: Crops.Side = 20, want 0 or in [28, 112] pixels"},
		{[]string{"--crop-window", "36"}, true, "--crop-window: fmnist: sampler config: Crops.Side = 36 needs Mix.Raw 1 or Mix.SceneCrop 1"},
		{[]string{"--crop-window", "36", "--arch", "bn3s", "--raw", "1"}, false, `--arch "bn3s": its window is 36×36: a scanning network reads 28×28; only a verifier (--scene-crops above 0) may have that shape`},
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

func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"--version"}, {"version"}, {"-version"}} {
		code, stdout, stderr := runCLI(args...)
		assert.Equal(t, exitOK, code, args)
		assert.Empty(t, stderr, args)
		// A test binary records no module version or revision.
		assert.Equal(t, "fc2conv (devel), "+runtime.Version()+"\n", stdout, args)
	}
	stamped := &debug.BuildInfo{GoVersion: "go1.99.1", Main: debug.Module{Version: "v1.2.3"},
		Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "6a23a42c"}, {Key: "vcs.modified", Value: "true"}}}
	assert.Equal(t, "fc2conv v1.2.3, revision 6a23a42c (modified), go1.99.1", version(stamped, true))
	stamped.Settings[1].Value = "false"
	assert.Equal(t, "fc2conv v1.2.3, revision 6a23a42c, go1.99.1", version(stamped, true))
	assert.Equal(t, "fc2conv (devel), go1.99.1", version(&debug.BuildInfo{GoVersion: "go1.99.1", Main: debug.Module{Version: "(devel)"}}, true))
	assert.Equal(t, "fc2conv (devel), "+runtime.Version(), version(nil, false))
}

// A boolean flag takes a following true or false as its value, as users
// expect of "--flip false"; anything else after it stays positional.
func TestFlagsFirstBoolValues(t *testing.T) {
	newSet := func() (*flag.FlagSet, *bool, *bool, *string) {
		fs := flag.NewFlagSet("scan", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		return fs, fs.Bool("flip", true, ""), fs.Bool("quiet", false, ""), fs.String("out", "", "")
	}
	for _, c := range []struct {
		args        []string
		flip, quiet bool
		out         string
		pos         []string
	}{
		{[]string{"--flip", "false", "x.png"}, false, false, "", []string{"x.png"}},
		{[]string{"x.png", "--flip", "FALSE"}, false, false, "", []string{"x.png"}},
		{[]string{"--flip=false", "x.png"}, false, false, "", []string{"x.png"}},
		{[]string{"-flip=false", "false"}, false, false, "", []string{"false"}},
		{[]string{"--quiet", "true", "--flip", "True", "x.png"}, true, true, "", []string{"x.png"}},
		{[]string{"--quiet", "x.png", "y.png"}, true, true, "", []string{"x.png", "y.png"}},
		{[]string{"--quiet", "1", "f"}, true, true, "", []string{"1", "f"}},
		{[]string{"--flip", "--", "false"}, true, false, "", []string{"false"}},
		{[]string{"--quiet", "--out", "false", "x.png"}, true, true, "false", []string{"x.png"}},
		{[]string{"x.png", "--quiet"}, true, true, "", []string{"x.png"}},
	} {
		fs, flip, quiet, out := newSet()
		require.NoError(t, fs.Parse(flagsFirst(fs, c.args)), "%q", c.args)
		assert.Equal(t, c.flip, *flip, "%q: --flip", c.args)
		assert.Equal(t, c.quiet, *quiet, "%q: --quiet", c.args)
		assert.Equal(t, c.out, *out, "%q: --out", c.args)
		assert.Equal(t, c.pos, fs.Args(), "%q: positional", c.args)
	}
	// Through a command: --flip false is no file to scan, so scan says it
	// has no path, not that it cannot read "false".
	code, _, stderr := runCLI("scan", "--flip", "false")
	assert.Equal(t, exitUsage, code)
	assert.NotContains(t, stderr, "false")
}

// convert refuses an already converted model up front, naming the file,
// and writes nothing.
func TestConvertRefusesConvertedModel(t *testing.T) {
	src := filepath.Join("..", "..", "testdata", "torch", "chw_softmax.safetensors")
	dir := t.TempDir()
	fcn, again := filepath.Join(dir, "fcn.safetensors"), filepath.Join(dir, "again.safetensors")
	code, _, stderr := runCLI("convert", src, "-o", fcn)
	require.Equal(t, exitOK, code, stderr)
	code, stdout, stderr := runCLI("convert", fcn, "-o", again)
	assert.Equal(t, exitFail, code)
	assert.Empty(t, stdout)
	assert.Equal(t, "fc2conv convert: "+fcn+" is already fully convolutional; nothing to convert (use 'fc2conv verify' to check it)\n", stderr)
	assert.NoFileExists(t, again)
}

// Errors of convert, verify and ensemble name the flag or the file at
// fault; usage errors exit 2 before any work, and nothing is written.
func TestModelCommandErrorsNameTheirFlag(t *testing.T) {
	torch := filepath.Join("..", "..", "testdata", "torch")
	src, keras := filepath.Join(torch, "chw_softmax.safetensors"), filepath.Join(torch, "hwc_keras.safetensors")
	dir := t.TempDir()
	out := filepath.Join(dir, "out.safetensors")
	fcn := filepath.Join(dir, "fcn.safetensors")
	code, _, stderr := runCLI("convert", src, "-o", fcn)
	require.Equal(t, exitOK, code, stderr)
	// The same input by another name is still the input.
	srcAgain := filepath.Join(torch, "..", "torch", "chw_softmax.safetensors")

	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"convert", src}, exitUsage, "fc2conv convert: missing -o OUT"},
		{[]string{"convert", "-o", out}, exitUsage, "fc2conv convert: need exactly one input model, got 0 arguments"},
		{[]string{"convert", src, keras, "-o", out}, exitUsage, "got 2 arguments"},
		{[]string{"convert", src, "-o", dir}, exitUsage, "fc2conv convert: -o " + dir + " is a directory"},
		{[]string{"convert", src, "-o", filepath.Join(dir, "no", "x.safetensors")}, exitFail, "fc2conv convert: -o " + filepath.Join(dir, "no", "x.safetensors") + ": "},
		{[]string{"convert", src, "-o", srcAgain}, exitUsage, "fc2conv convert: -o " + srcAgain + " is also an input"},
		{[]string{"convert", src, "-o", out, "--threshold", "-0.5"}, exitUsage, "fc2conv convert: --threshold -0.5 out of range [0,1]"},
		{[]string{"convert", src, "-o", out, "--threshold", "1.5"}, exitUsage, "--threshold 1.5 out of range"},
		{[]string{"convert", src, "-o", out, "--threshold", "NaN"}, exitUsage, "--threshold NaN out of range"},
		{[]string{"convert", filepath.Join(dir, "missing.safetensors"), "-o", out}, exitFail, "missing.safetensors"},
		{[]string{"verify", src, "--fc", src}, exitFail, "fc2conv verify: --fc is for a fully convolutional MODEL, and " + src + " is an FC model"},
		{[]string{"verify", fcn, "--fc", fcn}, exitFail, "fc2conv verify: --fc " + fcn + " is fully convolutional"},
		{[]string{"verify", fcn, "--fc", keras}, exitFail, "fc2conv verify: --fc " + keras + " takes a 2×12×12 (C×H×W) window and " + fcn + " a 1×16×12 one"},
		{[]string{"verify", fcn, "--fc", filepath.Join(dir, "missing.safetensors")}, exitFail, "fc2conv verify: --fc: "},
		{[]string{"verify", src, "--large", "-1"}, exitUsage, "fc2conv verify: --large -1 out of range [1,100]"},
		{[]string{"verify", src, "--large", "0"}, exitUsage, "--large 0 out of range"},
		{[]string{"verify", src, "--windows", "-1"}, exitUsage, "fc2conv verify: --windows -1 out of range [1,10000]"},
		{[]string{"verify", src, keras}, exitUsage, "fc2conv verify: need exactly one model, got 2 arguments"},
		{[]string{"ensemble", src, src}, exitUsage, "fc2conv ensemble: missing -o OUT"},
		{[]string{"ensemble", "-o", dir, src, src}, exitUsage, "fc2conv ensemble: -o " + dir + " is a directory"},
		{[]string{"ensemble", "-o", srcAgain, src, src}, exitUsage, "fc2conv ensemble: -o " + srcAgain + " is also an input"},
		{[]string{"ensemble", "-o", out, src, keras}, exitFail, "  member 0: " + src + "\n  member 1: " + keras + "\n"},
	} {
		code, stdout, stderr := runCLI(c.args...)
		assert.Equal(t, c.code, code, "%q: %s", c.args, stderr)
		assert.Empty(t, stdout, "%q", c.args)
		assert.Contains(t, stderr, c.want, "%q", c.args)
		assert.NoFileExists(t, out, "%q", c.args)
	}

	// A threshold in range is stored.
	code, _, stderr = runCLI("convert", src, "-o", out, "--threshold", "0.7")
	require.Equal(t, exitOK, code, stderr)
	m, err := nn.Load(out)
	require.NoError(t, err)
	assert.Equal(t, 0.7, m.Threshold)
}

// scenes, eval classify and eval detect name the flag at fault, refuse
// stray arguments, and need no repository-relative default to start.
func TestEvalAndScenesErrorsNameTheirFlag(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing")
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"scenes", "--out", dir, "extra"}, exitUsage, `unexpected argument "extra"`},
		{[]string{"scenes"}, exitUsage, "missing --out DIR"},
		{[]string{"scenes", "--out", dir, "--width", "10"}, exitUsage, "--width 10 out of range"},
		{[]string{"scenes", "--out", dir, "--height", "100000"}, exitUsage, "--height 100000 out of range"},
		{[]string{"scenes", "--out", dir, "--n", "0"}, exitUsage, "--n 0 out of range"},
		{[]string{"scenes", "--out", dir, "--photo-split", "test"}, exitUsage, `--photo-split "test"`},
		{[]string{"scenes", "--out", dir, "--data", missing}, exitFail, "fc2conv scenes: --data: "},
		{[]string{"eval", "classify", "model.safetensors"}, exitUsage, `unexpected argument "model.safetensors"`},
		{[]string{"eval", "classify", "--split", "test"}, exitUsage, `--split "test": want t10k, val or train`},
		{[]string{"eval", "classify", "--split-seed", "2"}, exitUsage, "choose the held-out items of --split val, not of --split t10k"},
		{[]string{"eval", "classify", "--split", "val", "--val-fraction", "1"}, exitUsage, "--val-fraction 1 out of range (0,1)"},
		{[]string{"eval", "classify", "--threshold", "2"}, exitUsage, "--threshold 2 out of range"},
		{[]string{"eval", "classify", "--as-scene", "0.5"}, exitUsage, "--as-scene 0.5 out of range [1,8] (0: raw items)"},
		{[]string{"eval", "classify", "--model", missing}, exitFail, "fc2conv eval classify: --model: "},
		{[]string{"eval", "classify", "--data", missing}, exitFail, "fc2conv eval classify: --data: "},
		{[]string{"eval", "detect", "--truth", missing, "--scan", missing}, exitFail, "fc2conv eval detect: --truth: "},
		{[]string{"eval", "detect", "--truth", missing}, exitUsage, "need --truth FILE and --scan FILE"},
	} {
		code, _, stderr := runCLI(tc.args...)
		assert.Equal(t, tc.code, code, "%v: %s", tc.args, stderr)
		assert.Contains(t, stderr, tc.want, "%v", tc.args)
	}
}

// convert --verifier-views and --verifier-pool store how a detector is to
// show the converted verifier each box; inspect shows them, and scan
// uses them unless its own flags say otherwise, naming only those in
// records.
func TestConvertStoresVerifierViews(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join("..", "..", "models", "verifier.safetensors")
	out := filepath.Join(dir, "v27.safetensors")
	code, _, stderr := runCLI("convert", src, "-o", out, "--threshold", "0.4", "--verifier-views", "27", "--verifier-pool", "min")
	require.Equal(t, exitOK, code, stderr)
	net, err := nn.Load(out)
	require.NoError(t, err)
	assert.Equal(t, 27, net.Views)
	assert.Equal(t, "min", net.ViewPool)
	assert.Equal(t, 0.4, net.Threshold)
	code, stdout, stderr := runCLI("inspect", out)
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, "as a verifier: 27 views of each box, pooled by min (chosen with the threshold)\n")
	code, stdout, stderr = runCLI("inspect", filepath.Join("..", "..", "testdata", "torch", "chw_softmax.safetensors"))
	require.Equal(t, exitOK, code, stderr)
	assert.NotContains(t, stdout, "as a verifier")

	scene := filepath.Join("..", "..", "testdata", "samples", "scene_000.png")
	scanWith := func(flags ...string) (model, dets string) {
		t.Helper()
		args := append([]string{"--quiet", "--scales", "0.5", "--threshold", "0.2"}, flags...)
		code, stdout, stderr := scanCLI(append(args, scene)...)
		require.Equal(t, exitOK, code, stderr)
		var rec struct{ Model string }
		require.NoError(t, json.Unmarshal([]byte(strings.SplitN(stdout, "\n", 2)[0]), &rec))
		return rec.Model, fmt.Sprintf("%s", detectionsOf(t, stdout))
	}
	plain := filepath.Join(dir, "plain.safetensors") // stores no views
	code, _, stderr = runCLI("convert", src, "-o", plain)
	require.Equal(t, exitOK, code, stderr)
	model, want := scanWith("--verifier", plain, "--verifier-views", "27", "--verifier-pool", "min")
	assert.True(t, strings.HasSuffix(model, "plain.safetensors(views 27, min)"), model)
	model, got := scanWith("--verifier", out)
	assert.Equal(t, want, got, "the stored views and pool are the defaults")
	assert.True(t, strings.HasSuffix(model, "v27.safetensors"), model)
	_, alone := scanWith("--verifier", plain)
	model, got = scanWith("--verifier", out, "--verifier-views", "1")
	assert.Equal(t, alone, got, "the flags win")
	assert.True(t, strings.HasSuffix(model, "v27.safetensors(views 1, mean)"), model)
	model, _ = scanWith("--verifier", out, "--verifier-pool", "max")
	assert.True(t, strings.HasSuffix(model, "v27.safetensors(max)"), model)

	for _, c := range []struct{ flags, msg string }{
		{"--verifier-views 3", "--verifier-views: 3 views: want 1, 5, 7 or 27"},
		{"--verifier-pool min", "--verifier-pool: the min p of one view is its mean"},
		{"--verifier-pool median", `--verifier-pool: pool "median": want mean, max or min`},
	} {
		code, _, stderr := runCLI(append([]string{"convert", src, "-o", filepath.Join(dir, "bad.safetensors")}, strings.Fields(c.flags)...)...)
		assert.Equal(t, exitUsage, code, c.flags)
		assert.Contains(t, stderr, "fc2conv convert: "+c.msg, c.flags)
	}
}
