package train

import (
	"bytes"
	"fmt"
	"github.com/fc2conv/fc2conv/detect"
	"image"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/fc2conv/fc2conv/convert"
	"github.com/fc2conv/fc2conv/fmnist"
	"github.com/fc2conv/fc2conv/nn"
	"github.com/fc2conv/fc2conv/nn/nntest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func tinyConfig(t *testing.T) Config {
	cfg := DefaultConfig()
	cfg.DataDir = filepath.Join("..", "testdata", "fmnist")
	cfg.PhotoDir = filepath.Join("..", "testdata", "photos")
	cfg.Out = filepath.Join(t.TempDir(), "tiny.safetensors")
	cfg.Epochs, cfg.Steps, cfg.Batch = 2, 15, 16
	cfg.ValFraction, cfg.ValPatches = 0.2, 100
	cfg.MineFrom, cfg.MineScenes = 1, 2
	return cfg
}

// trainOneEpoch runs cfg for one epoch without mining, writing to a fresh
// file, and returns the config it ran and the model.
func trainOneEpoch(t *testing.T, cfg Config) (Config, *nn.Network) {
	t.Helper()
	cfg.Epochs, cfg.MineFrom = 1, 0
	cfg.Out = filepath.Join(t.TempDir(), "m.safetensors")
	net, _, err := Run(cfg)
	require.NoError(t, err)
	return cfg, net
}

// modelBytes is the model file a run with cfg wrote.
func modelBytes(t *testing.T, cfg Config) []byte {
	t.Helper()
	b, err := os.ReadFile(cfg.Out)
	require.NoError(t, err)
	return b
}

// A few steps on the tiny committed subset lower the loss and write a
// model that loads and converts, on both training paths; the two start
// from the same weights and see the same batches, so their first epochs'
// losses agree closely (their sums run in different orders).
func TestTrainTinyLowersLoss(t *testing.T) {
	var first []float64
	for _, trainer := range Trainers {
		cfg := tinyConfig(t)
		cfg.LR, cfg.Trainer = 3e-3, trainer
		cfg.Out = filepath.Join(t.TempDir(), trainer+".safetensors")
		_, hist, err := Run(cfg)
		require.NoError(t, err, trainer)
		require.Len(t, hist, 2)
		assert.Less(t, hist[1].Loss, hist[0].Loss, "%s: loss must fall: %+v", trainer, hist)
		net, err := nn.Load(cfg.Out)
		require.NoError(t, err)
		_, err = convert.Convert(net)
		require.NoError(t, err)
		first = append(first, hist[0].Loss)
	}
	assert.InDelta(t, first[0], first[1], 1e-3, "first-epoch loss, native against gorgonia")
}

// The same seed gives the same model; resuming from the epoch-1 checkpoint
// continues to a valid model.
func TestTrainDeterministicAndResumable(t *testing.T) {
	a, netA := trainOneEpoch(t, tinyConfig(t))
	_, netB := trainOneEpoch(t, a)
	for i, l := range netA.Layers {
		for k, p := range l.Params() {
			assert.Equal(t, p.Value.Data, netB.Layers[i].Params()[k].Value.Data, "layer %s", l.Name())
		}
	}
	c := a
	c.Epochs, c.Resume = 2, a.Out+".ckpt"
	c.Out = filepath.Join(t.TempDir(), "c.safetensors")
	_, hist, err := Run(c)
	require.NoError(t, err)
	require.Len(t, hist, 2, "history carries the resumed epoch")

	// A checkpoint from a build where MorePhotos was a string resumes too.
	meta := a.Out + ".ckpt.json"
	b, err := os.ReadFile(meta)
	require.NoError(t, err)
	old := bytes.Replace(b, []byte(`"MorePhotos": null`), []byte(`"MorePhotos": ""`), 1)
	require.NotEqual(t, b, old, "the checkpoint records the config")
	require.NoError(t, os.WriteFile(meta, old, 0o644))
	_, hist, err = Run(c)
	require.NoError(t, err)
	require.Len(t, hist, 2)

	// A checkpoint already at the last epoch, and one whose record does
	// not add up, are refused by name.
	done := c
	done.Epochs = 1
	_, _, err = Run(done)
	assert.EqualError(t, err, fmt.Sprintf("train: Config.Epochs 1, but %s is after epoch 1: nothing is left to train", c.Resume))
	bad := bytes.Replace(b, []byte(`"epoch": 1`), []byte(`"epoch": 7`), 1)
	require.NotEqual(t, b, bad, "the checkpoint records its epoch")
	require.NoError(t, os.WriteFile(meta, bad, 0o644))
	_, _, err = Run(c)
	assert.EqualError(t, err, fmt.Sprintf("train: Config.Resume %s.json: after epoch 7 with 1 epochs of history: not a checkpoint train wrote", c.Resume))
}

// --init starts from a model's weights: with a negligible learning rate
// the fine-tuned model stays where it started, far from a fresh one.
// Converted models, missing files and --init with --resume are refused.
func TestTrainInit(t *testing.T) {
	a, netA := trainOneEpoch(t, tinyConfig(t))
	b := a
	b.Init, b.Seed, b.LR = a.Out, 99, 1e-9
	b, netB := trainOneEpoch(t, b)
	fresh := DressNet()
	InitWeights(fresh, 99)
	for i, l := range netA.Layers {
		for k, p := range l.Params() {
			got := netB.Layers[i].Params()[k].Value.Data
			assert.InDeltaSlice(t, p.Value.Data, got, 1e-4, "layer %s starts from --init", l.Name())
			if p.Name == "weight" {
				assert.NotEqual(t, fresh.Layers[i].Params()[k].Value.Data, got, "layer %s", l.Name())
			}
		}
	}

	fcn, err := convert.Convert(netA)
	require.NoError(t, err)
	fcnPath := filepath.Join(t.TempDir(), "fcn.safetensors")
	require.NoError(t, fcn.Network.Save(fcnPath))
	for _, c := range []struct{ init, resume, want string }{
		{fcnPath, "", "fully convolutional"},
		{filepath.Join(t.TempDir(), "missing.safetensors"), "", "train: Config.Init "},
		{a.Out, a.Out + ".ckpt", "given with Config.Resume"},
	} {
		bad := b
		bad.Init, bad.Resume = c.init, c.resume
		_, _, err := Run(bad)
		assert.ErrorContains(t, err, c.want)
	}
}

// --more-photos adds training photographs: the run reads them (a missing
// directory is an error naming the flag) and trains a different model.
func TestTrainMorePhotos(t *testing.T) {
	a, netA := trainOneEpoch(t, tinyConfig(t))
	b := a
	b.MorePhotos = []string{filepath.Join("..", "testdata", "photos-extra")}
	b, netB := trainOneEpoch(t, b)
	fc1 := func(n *nn.Network) []float32 { return n.Layers[7].Params()[0].Value.Data }
	assert.NotEqual(t, fc1(netA), fc1(netB), "other photographs, other patches")

	for _, dirs := range [][]string{{t.TempDir()}, {b.MorePhotos[0], t.TempDir()}} {
		b.MorePhotos = dirs
		_, _, err := Run(b)
		assert.ErrorContains(t, err, "train: Config.MorePhotos "+dirs[len(dirs)-1], "the directory without a SPLIT.txt is named")
		assert.ErrorContains(t, err, "SPLIT.txt")
	}
}

func TestTrainConfigErrors(t *testing.T) {
	cfg := tinyConfig(t)
	cfg.Epochs = 0
	_, _, err := Run(cfg)
	assert.ErrorContains(t, err, "train: Config.Epochs 0 out of range [1,1000]")
	cfg = tinyConfig(t)
	cfg.DataDir = t.TempDir()
	_, _, err = Run(cfg)
	assert.ErrorContains(t, err, "train-images")
	var fe *FieldError
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, "Config.DataDir", fe.Field)
}

// Validate names the Config field at fault, also for the mining and
// sampler settings, and the library's own defaults name no paths.
func TestConfigValidateFields(t *testing.T) {
	d := DefaultConfig()
	assert.Empty(t, d.PhotoDir, "no repository-relative default")
	assert.Empty(t, d.Out)
	assert.EqualError(t, d.Validate(), "train: Config.Out is empty; say where the model goes")
	for _, c := range []struct {
		set   func(*Config)
		field string
		msg   string
	}{
		{func(c *Config) { c.Batch = 0 }, "Config.Batch", "train: Config.Batch 0 out of range [1,4096]"},
		{func(c *Config) { c.ValPatches = -1 }, "Config.ValPatches", "train: Config.ValPatches -1 out of range [0,1048576]"},
		{func(c *Config) { c.MineFrom = -1 }, "Config.MineFrom", "train: Config.MineFrom -1, want ≥ 0 (0: never mine)"},
		{func(c *Config) { c.Init, c.Resume = "a", "b" }, "Config.Init", `train: Config.Init "a" given with Config.Resume; a checkpoint holds its own weights`},
		{func(c *Config) { c.MinePrint = 2 }, "Config.MinePrint", "train: Config.MinePrint 2 out of range [0,1]"},
		{func(c *Config) { c.MineNegIoU = 0.7 }, "Config.MineNegIoU", "train: Config.MineNegIoU 0.7 out of range [0,0.65)"},
		{func(c *Config) { c.MineConfusable = 2 }, "Config.MineConfusable", "train: Config.MineConfusable 2 out of range [0,1]"},
		{func(c *Config) { c.MineItems, c.MineFrom = true, 0 }, "Config.MineItems", "train: Config.MineItems set with Config.MineFrom 0; items are mined in the mining rounds"},
		{func(c *Config) { c.MineCascade, c.MineFrom = "pair.safetensors", 0 }, "Config.MineCascade", "train: Config.MineCascade set with Config.MineFrom 0; the cascade's boxes are mined in the mining rounds"},
		{func(c *Config) { c.MineCascadeWeight = 4 }, "Config.MineCascadeWeight", "train: Config.MineCascadeWeight 4 without Config.MineCascade; it weights the cascade's boxes"},
		{func(c *Config) { c.MineCascade, c.MineFrom, c.MineCascadeWeight = "pair.safetensors", 3, 65 }, "Config.MineCascadeWeight", "train: Config.MineCascadeWeight 65 out of range [0,64]"},
		{func(c *Config) { c.MineCascadeViews = 27 }, "Config.MineCascadeViews", "train: Config.MineCascadeViews 27 without Config.MineCascade; it scores the cascade's boxes"},
		{func(c *Config) { c.MineCascade, c.MineFrom, c.MineCascadeViews = "pair.safetensors", 3, 9 }, "Config.MineCascadeViews", "train: Config.MineCascadeViews 9, want 0, 1, 5, 7 or 27"},
		{func(c *Config) { c.LabelSmoothing = 0.5 }, "Config.LabelSmoothing", "train: Config.LabelSmoothing 0.5 out of range [0,0.5)"},
		{func(c *Config) { c.PhotoVariants = 9 }, "Config.PhotoVariants", "train: Config.PhotoVariants 9 out of range [0,8]"},
		{func(c *Config) { c.Mixup = -0.1 }, "Config.Mixup", "train: Config.Mixup -0.1 out of range [0,10]"},
		{func(c *Config) { c.ScaleSoft = 1 }, "Config.ScaleSoft", "train: Config.ScaleSoft 1 out of range [0,1)"},
		{func(c *Config) { c.EMA = 1 }, "Config.EMA", "train: Config.EMA 1 out of range [0,1)"},
		{func(c *Config) { c.EMA, c.Trainer = 0.999, "gorgonia" }, "Config.EMA", `train: Config.EMA needs the native trainer, not "gorgonia"`},
		{func(c *Config) { c.WeightDecay = 1 }, "Config.WeightDecay", "train: Config.WeightDecay 1 out of range [0,1)"},
		{func(c *Config) { c.WeightDecay, c.Trainer = 0.05, "gorgonia" }, "Config.WeightDecay", `train: Config.WeightDecay needs the native trainer, not "gorgonia"`},
		{func(c *Config) { c.Arch = "c8,q" }, "Config.Arch", `train: Config.Arch architecture "c8,q": block 2 "q": unknown block (want c<N>[k<K>][s], p, f<N> or d<R>)`},
		{func(c *Config) { c.Arch = "wide" }, "Config.Arch", `train: Config.Arch "wide": layer "conv1" is padded: its converted form would not score what its window scores; only a verifier (Mix.SceneCrop above 0) may have that shape`},
		{func(c *Config) { c.Sampler.Crops.Context, c.Sampler.Mix.Raw = 5, 1 }, "Config.Sampler.Crops.Context", "train: Config.Sampler.Crops.Context 5 out of range [1,4]: a model file holds no more"},
		{func(c *Config) { c.Sampler.Crops.Context = 1.5 }, "Config.Sampler.Crops.Context", "train: Config.Sampler.Crops.Context 1.5 needs Mix.Raw 1, not 0: only scene crops, raw items and mined windows show context"},
		{func(c *Config) { c.Sampler.Background.Scene = 2 }, "Config.Sampler", "train: Config.Sampler fmnist: sampler config: Background.Scene = 2, want a fraction in [0,1]"},
		{func(c *Config) { c.Sampler.Crops.Side, c.Sampler.Mix.Raw = 36, 1 }, "Config.Arch", `train: Config.Arch architecture "dressnet": reads 28×28 windows, not 36×36`},
		{func(c *Config) { c.Arch, c.Sampler.Crops.Side, c.Sampler.Mix.Raw = "bn3s", 36, 1 }, "Config.Arch", `train: Config.Arch "bn3s": its window is 36×36: a scanning network reads 28×28; only a verifier (Mix.SceneCrop above 0) may have that shape`},
		{func(c *Config) { c.Arch, c.Sampler.Crops.Side, c.Sampler.Mix.SceneCrop = "bn3s", 36, 0.8 }, "Config.Sampler", "train: Config.Sampler fmnist: sampler config: Crops.Side = 36 needs Mix.Raw 1 or Mix.SceneCrop 1, not 0 and 0.8: only scene crops, raw items and mined windows are cut at another side"},
	} {
		cfg := DefaultConfig()
		cfg.Out = "m.safetensors"
		c.set(&cfg)
		err := cfg.Validate()
		var fe *FieldError
		require.ErrorAs(t, err, &fe, c.field)
		assert.Equal(t, c.field, fe.Field)
		assert.EqualError(t, err, c.msg)
	}
}

func TestAUC(t *testing.T) {
	// Perfect ranking, reversed ranking, and a hand count: positives at
	// 0.8 and 0.4, negatives at 0.6 and 0.2 → pairs won 1+1+0+1 of 4.
	assert.InDelta(t, 1.0, AUC([]float64{0.9, 0.8, 0.1}, []bool{true, true, false}), 1e-12)
	assert.InDelta(t, 0.0, AUC([]float64{0.1, 0.2, 0.9}, []bool{true, true, false}), 1e-12)
	assert.InDelta(t, 0.75, AUC([]float64{0.8, 0.6, 0.4, 0.2}, []bool{true, false, true, false}), 1e-12)
	assert.InDelta(t, 0.5, AUC([]float64{0.5, 0.5}, []bool{true, false}), 1e-12)
}

func TestEvaluateCounts(t *testing.T) {
	set := &fmnist.Set{Labels: []uint8{fmnist.Dress, fmnist.Dress, 6, 0}}
	m := Evaluate([]float64{0.9, 0.2, 0.7, 0.1}, set, 0.5)
	assert.Equal(t, [4]int{1, 1, 1, 1}, [4]int{m.TP, m.FN, m.FP, m.TN})
	assert.InDelta(t, 0.5, m.Accuracy, 1e-12)
	assert.InDelta(t, 1.0, m.CalledDress[6], 1e-12) // the shirt was called a dress
	assert.InDelta(t, 0.5, m.CalledDress[fmnist.Dress], 1e-12)
}

func TestLearnRateSchedule(t *testing.T) {
	assert.InDelta(t, 1e-3, LearnRate(1e-3, 0, 10), 1e-15)
	assert.InDelta(t, 5e-5, LearnRate(1e-3, 9, 10), 1e-15)
	assert.InDelta(t, 1e-3*(0.05+0.95*0.5), LearnRate(1e-3, 2, 5), 1e-15) // halfway
	assert.Equal(t, 1e-3, LearnRate(1e-3, 0, 1))
}

// constantNet scores every window p(dress) = sigmoid(logit).
func constantNet(logit float32) *nn.Network {
	net := DressNet()
	for _, l := range net.Layers {
		if d, ok := l.(*nn.Dense); ok && d.Name() == "fc2" {
			d.Bias.Data[1] = logit
		}
	}
	return net
}

// With a net that calls everything a dress, mining finds only negatives;
// with one that calls nothing a dress, only positives, and those show a
// garment in the middle of the window.
func TestMineHardExamples(t *testing.T) {
	items, photos := mineData(t)

	all, err := MineHardExamples(constantNet(4), items, photos, 1, MineOptions{Scenes: 3})
	require.NoError(t, err)
	assert.Empty(t, all.Positives)
	assert.Len(t, all.Negatives, 3*minePerScene, "every window away from dresses qualifies")

	// Dead-leaves scenes need no photographs, and give other windows.
	leaves, err := MineHardExamples(constantNet(4), items, nil, 1, MineOptions{Scenes: 3, Leaves: 1})
	require.NoError(t, err)
	require.Len(t, leaves.Negatives, 3*minePerScene)
	assert.NotEqual(t, all.Negatives[0], leaves.Negatives[0])

	// So do pages of synthetic print.
	pages, err := MineHardExamples(constantNet(4), items, nil, 1, MineOptions{Scenes: 3, Print: 1})
	require.NoError(t, err)
	require.Len(t, pages.Negatives, 3*minePerScene)
	assert.NotEqual(t, leaves.Negatives[0], pages.Negatives[0])
	blocky, err := MineHardExamples(constantNet(4), items, nil, 1, MineOptions{Scenes: 3, Print: 1, PrintBlocky: 1})
	require.NoError(t, err)
	require.Len(t, blocky.Negatives, 3*minePerScene)
	assert.NotEqual(t, pages.Negatives[0], blocky.Negatives[0])

	none, err := MineHardExamples(constantNet(-4), items, photos, 1, MineOptions{Scenes: 3})
	require.NoError(t, err)
	assert.Empty(t, none.Negatives)
	require.NotEmpty(t, none.Positives)
	assert.LessOrEqual(t, len(none.Positives), 3*minePerScene)
	for i, p := range none.Positives {
		require.Len(t, p, fmnist.PatchLen)
		var centre, border float64
		for y := 0; y < 28; y++ {
			for x := 0; x < 28; x++ {
				v := float64(p[y*28+x])
				switch {
				case x >= 10 && x < 18 && y >= 8 && y < 20:
					centre += v / 96
				case x < 2 || x >= 26:
					border += v / 112
				}
			}
		}
		// Items are pasted light-on-dark or dark-on-light; either way the
		// centre differs from the side margins.
		assert.Greater(t, abs(centre-border), 0.02, "positive %d has no garment in the middle", i)
	}
}

// A window on part of a larger dress (IoU 0.3 to 0.5) is a negative only
// when asked for; windows framing a dress well never are.
func TestMineKind(t *testing.T) {
	assert.Equal(t, mineNegative, mineKind(0.9, 0.1, 0.3))
	assert.Equal(t, mineNone, mineKind(0.9, 0.4, 0.3))
	assert.Equal(t, mineNegative, mineKind(0.9, 0.4, 0.45))
	assert.Equal(t, mineNone, mineKind(0.9, 0.6, 0.45))
	assert.Equal(t, mineNone, mineKind(0.2, 0.1, 0.45), "a low score on the background is no mistake")
	assert.Equal(t, minePositive, mineKind(0.2, 0.7, 0.45))
	assert.Equal(t, mineNone, mineKind(0.7, 0.7, 0.45))

	_, err := MineHardExamples(constantNet(4), nil, nil, 1, MineOptions{Scenes: 1, NegativeIoU: 0.7})
	assert.EqualError(t, err, "train: MineOptions.NegativeIoU 0.7 out of range [0,0.65)")
	_, err = MineHardExamples(constantNet(4), nil, nil, 1, MineOptions{Scenes: 1, Print: 1.5})
	assert.EqualError(t, err, "train: MineOptions.Print 1.5 out of range [0,1]")
	_, err = MineHardExamples(constantNet(4), nil, nil, 1, MineOptions{Scenes: 1, Print: 1, PrintBlocky: -1})
	assert.EqualError(t, err, "train: MineOptions.PrintBlocky -1 out of range [0,1]")
}

func abs(v float64) float64 { return max(v, -v) }

// The item split follows SplitSeed when set, else Seed, so members of an
// ensemble trained with different seeds can hold out the same items.
func TestSplitSeed(t *testing.T) {
	assert.Equal(t, int64(3), Config{Seed: 3}.splitSeed())
	assert.Equal(t, int64(5), Config{Seed: 3, SplitSeed: 5}.splitSeed())
}

// A fresh architecture with batch norms trains on the tiny subset: the
// running statistics leave their initial (0, 1), the model saves, loads
// and converts (batch norms folded into the convolutions), and the
// converted form agrees with the FC form on the window.
func TestTrainArchWithBatchNorm(t *testing.T) {
	cfg := tinyConfig(t)
	cfg.Arch, cfg.LabelSmoothing = "c4,p,c8,p,f16", 0.1
	cfg.Sampler.Mix.NegClass = fmnist.ConfusableWeights(3)
	cfg, net := trainOneEpoch(t, cfg)
	bns := 0
	for _, l := range net.Layers {
		if bn, ok := l.(*nn.BatchNorm); ok {
			bns++
			assert.NotEqual(t, make([]float32, bn.Features), bn.Mean.Data, "%s running mean", bn.Name())
			assert.NotEqual(t, nntest.Ones(bn.Features), bn.Var.Data, "%s running var", bn.Name())
			assert.NotEqual(t, nntest.Ones(bn.Features), bn.Gamma.Data, "%s gamma", bn.Name())
		}
	}
	assert.Equal(t, 3, bns)
	// The same seed gives the same file, byte for byte.
	cfg2, _ := trainOneEpoch(t, cfg)
	assert.Equal(t, modelBytes(t, cfg), modelBytes(t, cfg2), "same seed, same model file")
	loaded, err := nn.Load(cfg.Out)
	require.NoError(t, err)
	res, err := convert.Convert(loaded)
	require.NoError(t, err)
	for _, l := range res.Network.Layers {
		assert.NotEqual(t, nn.KindBatchNorm, l.Kind(), "folded")
	}
	rep, err := convert.Verify(loaded, res.Network, convert.VerifyOptions{Seed: 1})
	require.NoError(t, err)
	assert.LessOrEqual(t, rep.MaxAbs(), convert.Tolerance)
}

// Mixup changes what a run learns and replays byte for byte from its
// seed; without it a run writes the same file as before the option.
func TestTrainMixup(t *testing.T) {
	base := tinyConfig(t)
	plain, _ := trainOneEpoch(t, base)
	base.Mixup = 0.4
	mixed, _ := trainOneEpoch(t, base)
	again, _ := trainOneEpoch(t, base)
	assert.Equal(t, modelBytes(t, mixed), modelBytes(t, again), "same seed, same model file")
	assert.NotEqual(t, modelBytes(t, plain), modelBytes(t, mixed), "mixup changed nothing")
}

// Calibrate fits a temperature on the validation patches Run draws, lowers
// their NLL (or keeps it), and divides the model's logits by it.
func TestCalibrate(t *testing.T) {
	cfg, net := trainOneEpoch(t, tinyConfig(t))
	_, valSet, photos, err := cfg.data()
	require.NoError(t, err)
	xs, _, err := cfg.valPatches(valSet, photos, 2)
	require.NoError(t, err)
	before, err := Logits(net, xs)
	require.NoError(t, err)
	img := image.NewGray(image.Rect(0, 0, 61, 47))
	rng := rand.New(rand.NewSource(3))
	for i := range img.Pix {
		img.Pix[i] = uint8(rng.Intn(256))
	}
	heat := func() detect.Heatmap {
		res, err := convert.Convert(net)
		require.NoError(t, err)
		d, err := detect.New(res.Network, detect.Options{Class: detect.Class(1), NoFlip: true})
		require.NoError(t, err)
		h, err := d.Heatmap(img, 1)
		require.NoError(t, err)
		return h
	}
	hBefore := heat()
	var log strings.Builder
	cfg.Log = &log
	c, err := Calibrate(net, cfg)
	require.NoError(t, err)
	assert.Equal(t, cfg.ValPatches, c.Patches)
	assert.LessOrEqual(t, c.NLLAfter, c.NLLBefore)
	assert.InDelta(t, c.ECEAfter, c.After.ECE, 0)
	assert.Contains(t, log.String(), "temperature ")
	after, err := Logits(net, xs)
	require.NoError(t, err)
	for i := range before {
		for k := range before[i] {
			assert.InDelta(t, before[i][k]/c.Temperature, after[i][k], 1e-4*(1+math.Abs(before[i][k])))
		}
	}
	// The detector's heatmap applies it: p' = σ(logit(p)/T) in every cell.
	hAfter := heat()
	require.Equal(t, len(hBefore.Data), len(hAfter.Data))
	for i, p := range hBefore.Data {
		l := math.Log(float64(p) / (1 - float64(p)))
		assert.InDelta(t, 1/(1+math.Exp(-l/c.Temperature)), hAfter.Data[i], 2e-5, "cell %d", i)
	}
	cfg.ValPatches = 0
	_, err = Calibrate(net, cfg)
	assert.ErrorContains(t, err, "Config.ValPatches 0")
}

// Config.Calibrate runs the same fit at the end of training; its NLL and
// ECE before the fit are the last epoch's validation figures, the same
// patches and weights.
func TestTrainCalibrates(t *testing.T) {
	cfg := tinyConfig(t)
	cfg.Calibrate, cfg.Epochs, cfg.MineFrom = true, 1, 0
	var log strings.Builder
	cfg.Log = &log
	_, hist, err := Run(cfg)
	require.NoError(t, err)
	m := regexp.MustCompile(`temperature [0-9.]+ on 100 validation patches: NLL ([0-9.]+) → [0-9.]+, ECE ([0-9.]+) → `).FindStringSubmatch(log.String())
	require.NotNil(t, m, log.String())
	assert.Equal(t, m[1], fmt.Sprintf("%.4f", hist[0].ValNLL))
	assert.Equal(t, m[2], fmt.Sprintf("%.4f", hist[0].ValECE))
	assert.Greater(t, hist[0].ValNLL, 0.0)
	assert.Contains(t, log.String(), fmt.Sprintf("val patches acc %.4f NLL %.4f ECE %.4f", hist[0].ValAcc, hist[0].ValNLL, hist[0].ValECE))
}

// The epoch's validation reads its accuracy from the logits' softmax: it
// must call every patch as a second pass through the softmax would.
func TestLogitsAccuracyIsAccuracy(t *testing.T) {
	cfg, net := trainOneEpoch(t, tinyConfig(t))
	_, valSet, photos, err := cfg.data()
	require.NoError(t, err)
	xs, ys, err := cfg.valPatches(valSet, photos, 2)
	require.NoError(t, err)
	require.NotEmpty(t, xs)
	z, err := Logits(net, xs)
	require.NoError(t, err)
	for i := range xs {
		require.Equal(t, Accuracy(net, xs[i:i+1], ys[i:i+1]), logitsAccuracy(z[i:i+1], ys[i:i+1], net.Positive), "patch %d", i)
	}
	assert.Equal(t, Accuracy(net, xs, ys), logitsAccuracy(z, ys, net.Positive))
	// A tie is p = 0.5 exactly: not called positive.
	assert.Equal(t, 1.0, logitsAccuracy([][]float64{{0.25, 0.25}}, []int{0}, 1))
	assert.Equal(t, 0.0, logitsAccuracy([][]float64{{0.25, 0.25}}, []int{1}, 1))
	assert.Equal(t, 0.5, logitsAccuracy([][]float64{{-3, 2}, {2, -3}}, []int{0, 0}, 1))
}
