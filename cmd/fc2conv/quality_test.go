package main

import (
	"encoding/json"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/fc2conv/fc2conv/detect"
	"github.com/fc2conv/fc2conv/fmnist"
	"github.com/fc2conv/fc2conv/nn"
	"github.com/fc2conv/fc2conv/onnx"
	"github.com/fc2conv/fc2conv/train"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The architecture, label smoothing and class weight flags are checked
// before any work and named in the errors.
func TestTrainQualityFlagsValidated(t *testing.T) {
	out := filepath.Join(t.TempDir(), "m.safetensors")
	for _, c := range []struct {
		flags []string
		want  string
	}{
		{[]string{"--arch", "c8,p,p,p"}, `fc2conv train: --arch "c8,p,p,p": total stride 8 over 4; only a verifier (--scene-crops above 0) may have that shape` + "\n"},
		{[]string{"--arch", "c8,p,p,p,p"}, `fc2conv train: --arch architecture "c8,p,p,p,p": block 5 "p": total stride 16 over 8` + "\n"},
		{[]string{"--mine-confusable", "2"}, "fc2conv train: --mine-confusable 2 out of range [0,1]\n"},
		{[]string{"--label-smoothing", "0.6"}, "fc2conv train: --label-smoothing 0.6 out of range [0,0.5)\n"},
		{[]string{"--mixup", "11"}, "fc2conv train: --mixup 11 out of range [0,10]\n"},
		{[]string{"--erase", "-0.1"}, "fc2conv train: --erase -0.1 out of range [0,1]\n"},
		{[]string{"--scale-min", "1.3", "--scale-max", "1.2"}, "fc2conv train: --scale-max: fmnist: sampler config: Place.ScaleMin..ScaleMax range [1.3,1.2], want 0.25 < min ≤ max < 1.6\n"},
		{[]string{"--garment-classes", "--trainer", "gorgonia"}, "fc2conv train: --garment-classes needs the native trainer, not \"gorgonia\"\n"},
		{[]string{"--garment-classes", "--init", "a.safetensors"}, "fc2conv train: --garment-classes set for a model loaded from a file; its own outputs decide\n"},
		{[]string{"--trainer", "torch"}, "fc2conv train: --trainer \"torch\" is not one of [native gorgonia]\n"},
		{[]string{"--confusable-weight", "-1"}, "fc2conv train: --confusable-weight: fmnist: sampler config: Mix.NegClass[0] (T-shirt/top) = -1, want a finite weight ≥ 0\n"},
	} {
		code, _, stderr := runCLI(append([]string{"train", "--out", out}, c.flags...)...)
		assert.Equal(t, exitUsage, code, "%v", c.flags)
		assert.Equal(t, c.want, stderr, "%v", c.flags)
	}
}

// calibrate fits a temperature to the shipped FC model on validation
// patches of the tiny subset, writes a model that loads, and draws the
// diagram; it refuses to overwrite without --force.
func TestCalibrateCommand(t *testing.T) {
	dir := t.TempDir()
	out, pngPath := filepath.Join(dir, "cal.safetensors"), filepath.Join(dir, "rel.png")
	src := filepath.Join("..", "..", "models", "dress.safetensors")
	args := []string{"calibrate", "--model", src, "--out", out, "--data", "../../testdata/fmnist", "--photos", "../../testdata/photos",
		"--val-fraction", "0.2", "--val-patches", "200", "--reliability", pngPath}
	code, stdout, stderr := runCLI(args...)
	require.Equal(t, exitOK, code, stderr)
	m := regexp.MustCompile(`temperature ([0-9.]+) on 200 validation patches: NLL [0-9.]+ → [0-9.]+, ECE [0-9.]+ → [0-9.]+\n`).FindStringSubmatch(stdout)
	require.NotNil(t, m, stdout)
	temp, err := strconv.ParseFloat(m[1], 64)
	require.NoError(t, err)
	orig, err := nn.Load(src)
	require.NoError(t, err)
	cal, err := nn.Load(out)
	require.NoError(t, err)
	// The threshold keeps its operating point: logit(new) = logit(old)/T.
	logit := func(p float64) float64 { return math.Log(p / (1 - p)) }
	assert.InDelta(t, logit(orig.Threshold)/temp, logit(cal.Threshold), 1e-3)
	f, err := os.Open(pngPath)
	require.NoError(t, err)
	defer f.Close()
	_, err = png.Decode(f)
	require.NoError(t, err)

	code, _, stderr = runCLI(args...)
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "exists; give --force")

	// --threshold replaces the moved threshold with the one given, and the
	// temperature is the same fit.
	code, stdout2, stderr := runCLI(append(args, "--force", "--threshold", "0.87")...)
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout2, m[0])
	cal2, err := nn.Load(out)
	require.NoError(t, err)
	assert.Equal(t, 0.87, cal2.Threshold)

	code, _, stderr = runCLI(append(args, "--force", "--threshold", "1.5")...)
	assert.Equal(t, exitUsage, code)
	assert.Equal(t, "fc2conv calibrate: --threshold 1.5 out of range [0,1]\n", stderr)
}

// eval classify prints the expected calibration error and draws the
// reliability diagram.
func TestEvalClassifyReliability(t *testing.T) {
	pngPath := filepath.Join(t.TempDir(), "rel.png")
	code, stdout, stderr := runCLI("eval", "classify", "--data", "../../testdata/fmnist", "--reliability", pngPath)
	require.Equal(t, exitOK, code, stderr)
	assert.Regexp(t, `expected calibration error of p\(dress\), 10 bins: 0\.[0-9]{4}\n`, stdout)
	f, err := os.Open(pngPath)
	require.NoError(t, err)
	defer f.Close()
	img, err := png.Decode(f)
	require.NoError(t, err)
	assert.Equal(t, 480, img.Bounds().Dx())
}

// --as-scene scores the items painted and resampled as a scene shows
// them: other scores than the raw items', and says so.
func TestEvalClassifyAsScene(t *testing.T) {
	args := []string{"eval", "classify", "--data", "../../testdata/fmnist"}
	code, raw, stderr := runCLI(append(args, "--json")...)
	require.Equal(t, exitOK, code, stderr)
	code, painted, stderr := runCLI(append(args, "--json", "--as-scene", "2.5")...)
	require.Equal(t, exitOK, code, stderr)
	assert.NotEqual(t, raw, painted)
	assert.NotContains(t, raw, `"as_scene"`)
	assert.Contains(t, painted, `"as_scene": 2.5`)
	code, stdout, stderr := runCLI(append(args, "--as-scene", "2.5")...)
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, "t10k painted at 2.5× as a scene shows them (")
}

// --verifier-views scores each item as a scan's box on it: the title
// says so, the scores move, and flags it cannot use are refused by name.
func TestEvalClassifyVerifierViews(t *testing.T) {
	args := []string{"eval", "classify", "--data", "../../testdata/fmnist", "--threshold", "0.5", "--verifier", "../../models/verifier-fcn.safetensors"}
	code, one, stderr := runCLI(append(args, "--verifier-views", "1")...)
	require.Equal(t, exitOK, code, stderr)
	code, least, stderr := runCLI(append(args, "--verifier-views", "27", "--verifier-pool", "min")...)
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, one, "verifier-fcn.safetensors (one window)")
	assert.Contains(t, least, "verifier-fcn.safetensors (views 27 on black, min)")
	ece := func(out string) string { return regexp.MustCompile(`calibration error.*`).FindString(out) }
	assert.NotEqual(t, ece(one), ece(least), "the least of the views moves the scores")
	// A list averages its members' logits: the verifier with itself is itself.
	list := "../../models/verifier-fcn.safetensors,../../models/verifier-fcn.safetensors"
	code, twice, stderr := runCLI(append(args[:len(args)-1:len(args)-1], list, "--verifier-views", "27", "--verifier-pool", "min")...)
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, twice, "verified by "+list+" (views 27 on black, min)")
	body := func(out string) string { return out[strings.Index(out, "\n"):] } // after the title
	assert.Equal(t, body(least), body(twice))
	code, _, stderr = runCLI(append(args[:len(args)-1:len(args)-1], "embedded,../../models/dress.safetensors")...)
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "--verifier: verifier 2 of 2: it has 2 outputs, the first verifier 11")

	for _, c := range []struct{ flags, msg string }{
		{"--verifier-views 3", "--verifier-views: 3 views: want 1, 5, 7 or 27"},
		{"--verifier-views 1 --verifier-pool min", "--verifier-pool: the min p of one view"},
		{"--verifier-pool median", `--verifier-pool: pool "median"`},
		{"--verifier none --verifier-views 27", "--verifier-views and --verifier-pool: set without a verifier"},
	} {
		code, _, stderr := runCLI(append(args, strings.Fields(c.flags)...)...)
		assert.Equal(t, exitUsage, code, c.flags)
		assert.Contains(t, stderr, c.msg, c.flags)
	}
}

// verifierPs with views: the item sits where its box says. A verifier
// with no context sees the box's own view pixel for pixel, as training
// saw the item, so that p lies between the least and the largest of
// the views' (unmirrored), for every item.
func TestVerifierPsFramesTheItem(t *testing.T) {
	ver, err := nn.Load("../../models/verifier-fcn.safetensors")
	require.NoError(t, err)
	ver.Input.Context = 0
	set, err := fmnist.Load("../../testdata/fmnist", "t10k")
	require.NoError(t, err)
	one, err := train.Scores(ver, set)
	require.NoError(t, err)
	opt := detect.Options{Verifier: ver, VerifierViews: 27, NoFlip: true}
	opt.VerifierPool = detect.PoolMin
	least, err := verifierPs(opt, set, io.Discard)
	require.NoError(t, err)
	opt.VerifierPool = detect.PoolMax
	largest, err := verifierPs(opt, set, io.Discard)
	require.NoError(t, err)
	spread := 0.0
	for i := range one {
		require.LessOrEqual(t, least[i], one[i]+1e-6, "item %d", i)
		require.GreaterOrEqual(t, largest[i], one[i]-1e-6, "item %d", i)
		spread = max(spread, largest[i]-least[i])
	}
	assert.Greater(t, spread, 0.01, "the views differ")
}

// --verifier scores an item sqrt(model's p × verifier's p): the model as
// its own verifier changes no score, and a verifier that calls
// everything a dress (p = 1) leaves sqrt of the model's. Its threshold is
// the default.
func TestEvalClassifyVerifier(t *testing.T) {
	args := []string{"eval", "classify", "--data", "../../testdata/fmnist", "--threshold", "0.5"}
	code, alone, stderr := runCLI(append(args, "--verifier", "none")...)
	require.Equal(t, exitOK, code, stderr)
	code, self, stderr := runCLI(append(args, "--verifier", "../../models/dress-fcn.safetensors")...)
	require.Equal(t, exitOK, code, stderr)
	body := func(out string) string { return out[strings.Index(out, "\n"):] } // after the title
	assert.Equal(t, body(alone), body(self))
	// p^(1−w)·p^w is p for any weight.
	code, weighted, stderr := runCLI(append(args, "--verifier", "../../models/dress-fcn.safetensors", "--verifier-weight", "0.8")...)
	require.Equal(t, exitOK, code, stderr)
	assert.Equal(t, body(alone), body(weighted))
	code, _, stderr = runCLI(append(args, "--verifier-weight", "1")...)
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "--verifier-weight 1 out of range (0,1)")
	code, _, stderr = runCLI(append(args, "--verifier", "none", "--verifier-weight", "0.8")...)
	assert.Equal(t, exitUsage, code, "a weight with nothing to weigh is refused, as scan refuses it")
	assert.Contains(t, stderr, "--verifier-weight: set without a verifier")
	assert.Contains(t, weighted, "verified by ../../models/dress-fcn.safetensors (one window, weight 0.8)", "the title names the weight")

	fc, err := nn.Load("../../models/dress.safetensors")
	require.NoError(t, err)
	last := fc.Layers[len(fc.Layers)-2].(*nn.Dense) // before the softmax
	for i := range last.Weight.Data {
		last.Weight.Data[i] = 0
	}
	for i := range last.Bias.Data {
		last.Bias.Data[i] = -100
	}
	last.Bias.Data[fc.Positive] = 100
	fc.Threshold = 0.7
	yes := filepath.Join(t.TempDir(), "yes.safetensors")
	require.NoError(t, fc.Save(yes))
	code, stdout, stderr := runCLI("eval", "classify", "--data", "../../testdata/fmnist", "--verifier", yes)
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, "verified by "+yes)
	assert.Contains(t, stdout, "dress vs rest at p ≥ 0.70", "the verifier's threshold")
	fc.Threshold = 0
	unset := filepath.Join(t.TempDir(), "unset.safetensors")
	require.NoError(t, fc.Save(unset))
	code, out, stderr := runCLI("eval", "classify", "--data", "../../testdata/fmnist", "--verifier", unset)
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, out, "dress vs rest at p ≥ 0.84", "a verifier with no threshold: the model's, as scan takes it")
	// sqrt is monotone: the ranking, and so the AUC, is the model's.
	auc := func(out string) string { return out[strings.Index(out, "AUC"):][:10] }
	code, plain, stderr := runCLI("eval", "classify", "--data", "../../testdata/fmnist", "--verifier", "none")
	require.Equal(t, exitOK, code, stderr)
	assert.Equal(t, auc(plain), auc(stdout))
	assert.NotEqual(t, plain, stdout)

	code, _, stderr = runCLI("eval", "classify", "--data", "../../testdata/fmnist", "--verifier", logitsModel(t))
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "fc2conv eval classify: --verifier ")
	assert.Contains(t, stderr, "want a softmax or sigmoid")
}

// --split val scores the train items that training with the same split
// seed and fraction held out, not t10k and not the whole train file.
func TestEvalClassifyValSplit(t *testing.T) {
	all, err := fmnist.Load("../../testdata/fmnist", "train")
	require.NoError(t, err)
	for _, seed := range []string{"1", "5"} {
		s, _ := strconv.ParseInt(seed, 10, 64)
		_, val := all.Split(0.3, s)
		code, stdout, stderr := runCLI("eval", "classify", "--data", "../../testdata/fmnist", "--split", "val", "--split-seed", seed, "--val-fraction", "0.3", "--json")
		require.Equal(t, exitOK, code, stderr)
		var m struct {
			Items int `json:"items"`
			TP    int `json:"tp"`
			FN    int `json:"fn"`
		}
		require.NoError(t, json.Unmarshal([]byte(stdout), &m), stdout)
		assert.Equal(t, val.Len(), m.Items, "seed %s", seed)
		assert.Equal(t, val.Count(fmnist.Dress), m.TP+m.FN, "seed %s: dresses among the held-out items", seed)
		assert.Less(t, m.Items, all.Len())
	}
}

// --baseline scores the same items with a second model, --bootstrap adds
// intervals; a model against itself differs by exactly 0 on every
// resample, and the AUC's interval holds its median.
func TestEvalClassifyBaselineBootstrap(t *testing.T) {
	args := []string{"eval", "classify", "--data", "../../testdata/fmnist", "--verifier", "none", "--baseline", "../../models/dress-fcn.safetensors", "--bootstrap", "200"}
	code, stdout, stderr := runCLI(args...)
	require.Equal(t, exitOK, code, stderr)
	assert.Regexp(t, `baseline \.\./\.\./models/dress-fcn\.safetensors: AUC 0\.[0-9]{4}; this model − baseline: AUC \+0\.0000\n`, stdout)
	assert.Contains(t, stdout, "  this model − baseline, AUC: +0.0000 [+0.0000, +0.0000]; AUC higher in 0.0% of resamples\n")

	code, out, stderr := runCLI(append(args, "--json")...)
	require.Equal(t, exitOK, code, stderr)
	var m struct {
		AUC         float64  `json:"auc"`
		BaselineAUC *float64 `json:"baseline_auc"`
		Bootstrap   struct {
			Resamples int        `json:"resamples"`
			AUC       [3]float64 `json:"auc"`
			Baseline  *struct {
				Difference [3]float64 `json:"auc_difference"`
			} `json:"against_baseline"`
		} `json:"bootstrap"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &m), out)
	require.NotNil(t, m.BaselineAUC)
	assert.Equal(t, m.AUC, *m.BaselineAUC)
	assert.Equal(t, 200, m.Bootstrap.Resamples)
	q := m.Bootstrap.AUC
	assert.True(t, q[1] <= q[0] && q[0] <= q[2] && q[1] < q[2], "median %v within [%v, %v], and the items vary", q[0], q[1], q[2])
	require.NotNil(t, m.Bootstrap.Baseline)
	assert.Equal(t, [3]float64{}, m.Bootstrap.Baseline.Difference)

	code, _, stderr = runCLI("eval", "classify", "--data", "../../testdata/fmnist", "--bootstrap", "-1")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "--bootstrap -1: want 0 (off) to")
	code, _, stderr = runCLI("eval", "classify", "--data", "../../testdata/fmnist", "--baseline", filepath.Join(t.TempDir(), "none.safetensors"))
	assert.Equal(t, exitFail, code)
	assert.Contains(t, stderr, "fc2conv eval classify: --baseline: ")
}

// --baseline-verifier puts a second stage behind the baseline, which
// without --baseline is --model itself: the model alone against the model
// verified by the embedded verifier has, as its baseline, the AUC that
// --verifier embedded reports.
func TestEvalClassifyBaselineVerifier(t *testing.T) {
	aucOn := func(split string) func(args ...string) (model float64, baseline *float64) {
		return func(args ...string) (float64, *float64) {
			t.Helper()
			code, out, stderr := runCLI(append([]string{"eval", "classify", "--data", "../../testdata/fmnist", "--split", split, "--json"}, args...)...)
			require.Equal(t, exitOK, code, stderr)
			var m struct {
				AUC         float64  `json:"auc"`
				BaselineAUC *float64 `json:"baseline_auc"`
			}
			require.NoError(t, json.Unmarshal([]byte(out), &m), out)
			return m.AUC, m.BaselineAUC
		}
	}
	// The fixture's few items: a verifier may leave one split ranked as
	// the pair ranks it, and which one depends on the verifier shipped,
	// so the test takes the first split it reorders.
	var auc func(args ...string) (float64, *float64)
	var alone, verified float64
	for _, split := range []string{"train", "t10k"} {
		auc = aucOn(split)
		var none *float64
		alone, none = auc("--verifier", "none")
		assert.Nil(t, none)
		if verified, _ = auc("--verifier", "embedded"); verified != alone {
			break
		}
	}
	require.NotEqual(t, alone, verified, "the embedded verifier changes the ranking of the fixture's train or t10k items")
	model, baseline := auc("--verifier", "none", "--baseline-verifier", "embedded")
	assert.Equal(t, alone, model)
	require.NotNil(t, baseline)
	assert.Equal(t, verified, *baseline)
	// The FC file stores no views (convert adds them), so as a baseline
	// verifier, scored by its own, it is shown one.
	verifiedOnce, _ := auc("--verifier", "embedded", "--verifier-views", "1")
	_, baseline = auc("--verifier", "none", "--baseline", "../../models/dress-fcn.safetensors", "--baseline-verifier", "../../models/verifier.safetensors")
	require.NotNil(t, baseline)
	assert.InDelta(t, verifiedOnce, *baseline, 1e-4, "the converted pair behind the verifier's file")

	// A verifier that ranks by brightness alone moves the training items'
	// ranking with its weight, whatever ships, so a baseline that matches
	// the heavy weight's and not the default's took it.
	auc = aucOn("train")
	bright := brightnessVerifier(t)
	even, _ := auc("--verifier", bright)
	heavy, _ := auc("--verifier", bright, "--verifier-weight", "0.8")
	require.NotEqual(t, even, heavy)
	_, baseline = auc("--verifier", "none", "--baseline-verifier", bright, "--verifier-weight", "0.8")
	require.NotNil(t, baseline)
	assert.Equal(t, heavy, *baseline, "--verifier-weight applies to the baseline's verifier")

	code, stdout, stderr := runCLI("eval", "classify", "--data", "../../testdata/fmnist", "--baseline-verifier", "embedded")
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, "baseline --model verified by embedded: AUC ")
	assert.Contains(t, stdout, "this model − baseline: AUC +0.0000\n", "the defaults against themselves")

	for _, c := range []struct {
		file, want string
		code       int
	}{
		{"none", "--baseline-verifier none: leave the flag out", exitUsage},
		{filepath.Join(t.TempDir(), "none.safetensors"), "fc2conv eval classify: --baseline-verifier: ", exitFail},
	} {
		code, _, stderr = runCLI("eval", "classify", "--data", "../../testdata/fmnist", "--baseline-verifier", c.file)
		assert.Equal(t, c.code, code, c.file)
		assert.Contains(t, stderr, c.want)
	}
}

// brightnessVerifier saves a verifier of the items' 28×28 window whose
// p(dress) is softmax(0.01·Σ normalised pixels): a ranking by brightness,
// unlike any trained model's, and returns its path.
func brightnessVerifier(t *testing.T) string {
	t.Helper()
	const side = 28
	dense := nn.NewDense("fc", side*side, 2)
	for i := range side * side {
		dense.Weight.Data[side*side+i] = 0.01 // row 1: dress
	}
	net := &nn.Network{
		Input:    nn.InputSpec{Channels: 1, Height: side, Width: side, Mean: []float32{0.5}, Std: []float32{0.5}},
		Layers:   []nn.Layer{nn.NewFlatten("flat", nn.FlattenCHW), dense, nn.NewSoftmax("softmax")},
		Positive: 1,
	}
	require.NoError(t, net.Validate())
	path := filepath.Join(t.TempDir(), "bright.safetensors")
	require.NoError(t, net.Save(path))
	return path
}

// An ONNX export of a model scores the items as the model does, as --model
// and as --baseline; the ONNX-only flags are refused for a model of ours.
func TestEvalClassifyONNX(t *testing.T) {
	net, err := nn.Load("../../models/dress.safetensors")
	require.NoError(t, err)
	exported := filepath.Join(t.TempDir(), "dress.onnx")
	require.NoError(t, onnx.Export(net, exported))
	args := []string{"eval", "classify", "--data", "../../testdata/fmnist", "--verifier", "none"}
	body := func(out string) string { return out[strings.Index(out, "\n"):] } // after the title
	code, ours, stderr := runCLI(append(args, "--model", "../../models/dress.safetensors")...)
	require.Equal(t, exitOK, code, stderr)
	code, theirs, stderr := runCLI(append(args, "--model", exported)...)
	require.Equal(t, exitOK, code, stderr)
	assert.Equal(t, body(ours), body(theirs))
	assert.Contains(t, theirs, exported+" on ")

	code, out, stderr := runCLI(append(args, "--model", exported, "--baseline", "../../models/dress.safetensors")...)
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, out, "this model − baseline: AUC +0.0000", "the same model: no difference")

	code, _, stderr = runCLI(append(args, "--model", "../../models/dress.safetensors", "--positive", "3")...)
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "--positive is for an ONNX model; ../../models/dress.safetensors records its own")
}
