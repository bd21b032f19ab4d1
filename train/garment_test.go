package train

import (
	"github.com/fc2conv/fc2conv/nn"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/fc2conv/fc2conv/convert"
	"github.com/fc2conv/fc2conv/fmnist"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A model trained with GarmentClasses scores the ten garments and "no
// item", dresses positive; it learns (the loss falls), replays byte for
// byte, converts, and calibrates on patches labelled by garment.
func TestTrainGarmentClasses(t *testing.T) {
	cfg := tinyConfig(t)
	cfg.Arch, cfg.GarmentClasses, cfg.LabelSmoothing, cfg.LR = "c4,p,c8,p,f16", true, 0.1, 3e-3
	net, hist, err := Run(cfg)
	require.NoError(t, err)
	require.Len(t, hist, 2)
	assert.Less(t, hist[1].Loss, hist[0].Loss, "loss must fall: %+v", hist)
	assert.Equal(t, GarmentLabels(), net.Labels)
	assert.Equal(t, fmnist.Dress, net.Positive)
	assert.Equal(t, "no item", net.Labels[fmnist.NoItem])
	out, err := net.OutShape(net.Input.Window())
	require.NoError(t, err)
	assert.Equal(t, fmnist.NumClasses+1, out.C)

	first, err := os.ReadFile(cfg.Out)
	require.NoError(t, err)
	_, _, err = Run(cfg)
	require.NoError(t, err)
	again, err := os.ReadFile(cfg.Out)
	require.NoError(t, err)
	assert.Equal(t, first, again, "same seed, same model file")

	res, err := convert.Convert(net)
	require.NoError(t, err)
	rep, err := convert.Verify(net, res.Network, convert.VerifyOptions{Seed: 1})
	require.NoError(t, err)
	assert.LessOrEqual(t, rep.MaxAbs(), convert.Tolerance)

	c, err := Calibrate(net, cfg)
	require.NoError(t, err)
	assert.LessOrEqual(t, c.NLLAfter, c.NLLBefore+1e-9)
	assert.NotEqual(t, 1.0, c.Temperature)

	// Fine-tuning starts from such a model as from a two-class one.
	ft := tinyConfig(t)
	ft.Init, ft.Epochs, ft.MineFrom = cfg.Out, 1, 0
	tuned, _, err := Run(ft)
	require.NoError(t, err)
	assert.Equal(t, GarmentLabels(), tuned.Labels)
}

// A verifier trained with context stores it, in the FC model and its
// converted form, and mines with it.
func TestTrainWithContext(t *testing.T) {
	cfg := tinyConfig(t)
	cfg.Arch, cfg.GarmentClasses = "c4,p,c8,p,f16", true
	cfg.Sampler.Mix.SceneCrop, cfg.Sampler.Mix.Raw, cfg.Sampler.Crops.Context = 0.8, 1, 1.5
	net, hist, err := Run(cfg)
	require.NoError(t, err)
	assert.Equal(t, 1.5, net.Input.Context)
	assert.Positive(t, hist[1].Mined+hist[1].MinedPositives, "mining ran: %+v", hist[1])
	saved, err := nn.Load(cfg.Out)
	require.NoError(t, err)
	assert.Equal(t, 1.5, saved.Input.Context)
	res, err := convert.Convert(saved)
	require.NoError(t, err)
	assert.Equal(t, 1.5, res.Network.Input.Context, "the converted verifier frames the same box")

	// Items are scored as the window shows them: in a black margin.
	items, err := fmnist.Load(cfg.DataDir, "train")
	require.NoError(t, err)
	got, err := Scores(net, items)
	require.NoError(t, err)
	shown, err := items.InContext(1.5)
	require.NoError(t, err)
	net.Input.Context = 0
	want, err := Scores(net, shown)
	require.NoError(t, err)
	bare, err := Scores(net, items)
	require.NoError(t, err)
	assert.Equal(t, want, got)
	assert.NotEqual(t, bare, got)
}

// A verifier with a wider window (Crops.Side 36, context 9/7: a box at
// 28 pixels) is built, trained, mined, saved and converted at that
// window; it scores items at their own pixels in a 4-pixel margin, and
// mines at the scales that bring items of 28 px to that box.
func TestTrainWithAWiderWindow(t *testing.T) {
	cfg := tinyConfig(t)
	cfg.Arch, cfg.GarmentClasses = "c4,p,c8,p,f16", true
	cfg.Sampler.Mix.SceneCrop, cfg.Sampler.Mix.Raw = 0.8, 1
	cfg.Sampler.Crops.Context, cfg.Sampler.Crops.Side = 9.0/7, 36
	net, hist, err := Run(cfg)
	require.NoError(t, err)
	assert.Equal(t, nn.Shape{C: 1, H: 36, W: 36}, net.Input.Window())
	assert.Positive(t, hist[1].Mined+hist[1].MinedPositives, "mining ran: %+v", hist[1])
	assert.Less(t, hist[1].Loss, hist[0].Loss, "loss must fall: %+v", hist)
	saved, err := nn.Load(cfg.Out)
	require.NoError(t, err)
	assert.Equal(t, 36, saved.Input.Width)
	res, err := convert.Convert(saved)
	require.NoError(t, err)
	rep, err := convert.Verify(saved, res.Network, convert.VerifyOptions{Seed: 1})
	require.NoError(t, err)
	assert.LessOrEqual(t, rep.MaxAbs(), convert.Tolerance)

	det, err := mineDetector(saved)
	require.NoError(t, err)
	assert.InDelta(t, 1.0, det.Scales(0, 0)[0], 1e-12, "a 28 px item fills the 28 px box at scale 1")

	items, err := fmnist.Load(cfg.DataDir, "train")
	require.NoError(t, err)
	got, err := Scores(net, items)
	require.NoError(t, err)
	resume := tinyConfig(t)
	resume.Resume = cfg.Out + ".ckpt"
	_, _, err = Run(resume)
	assert.ErrorContains(t, err, "the model reads 36×36 windows, the patches are 28×28")

	_, err = Calibrate(net, tinyConfig(t))
	assert.EqualError(t, err, "train: calibrate: the model reads 36×36 windows, the validation patches are 28×28")

	shown, err := items.InWindow(9.0/7, 36)
	require.NoError(t, err)
	net.Input.Context = 0
	want, err := Scores(net, shown)
	require.NoError(t, err)
	assert.Equal(t, want, got)
}

func TestGarmentClassesConfigErrors(t *testing.T) {
	for _, c := range []struct {
		set func(*Config)
		msg string
	}{
		{func(c *Config) { c.Init = "a.safetensors" }, "train: Config.GarmentClasses set for a model loaded from a file; its own outputs decide"},
		{func(c *Config) { c.Trainer = "gorgonia" }, `train: Config.GarmentClasses needs the native trainer, not "gorgonia"`},
	} {
		cfg := DefaultConfig()
		cfg.Out, cfg.GarmentClasses = "m.safetensors", true
		c.set(&cfg)
		assert.EqualError(t, cfg.Validate(), c.msg)
	}
	net := DressNet()
	net.Layers = net.Layers[:len(net.Layers)-1]
	assert.ErrorContains(t, SetGarmentClasses(net), "does not end in a softmax")
	odd := DressNet()
	odd.Labels = []string{"a", "b", "c"}
	_, err := outputClasses(odd)
	assert.ErrorContains(t, err, "want {not dress, dress} or the garment classes")
}

// positiveProb is the softmax's positive entry; for two classes it is
// exactly the logistic of the logits' difference, as before it counted
// classes.
func TestPositiveProb(t *testing.T) {
	for _, z := range [][]float64{{0.3, -1.7}, {-2, 5}, {40, -40}} {
		for _, temp := range []float64{1, 0.51, 3} {
			assert.Equal(t, 1/(1+math.Exp(-(z[1]-z[0])/temp)), positiveProb(z, 1, temp), "%v at %v", z, temp)
		}
	}
	z := []float64{1, 2, 0.5, 3}
	var sum float64
	for _, v := range z {
		sum += math.Exp(v / 2)
	}
	assert.InDelta(t, math.Exp(2/2.0)/sum, positiveProb(z, 1, 2), 1e-15)
	assert.Equal(t, 0.0, positiveProb([]float64{800, -800}, 1, 1), "no NaN when a term overflows")
}

// The CLI's two-class models still load for fine-tuning, and a model of
// other classes is refused.
func TestLoadInitClasses(t *testing.T) {
	dir := t.TempDir()
	odd := DressNet()
	odd.Labels = []string{"x", "y"}
	odd.Positive = 0
	path := dir + "/odd.safetensors"
	require.NoError(t, odd.Save(path))
	_, err := loadInit(path, fmnist.PatchSize)
	assert.ErrorContains(t, err, "or the garment classes")
	ok := DressNet()
	require.NoError(t, ok.Save(dir+"/ok.safetensors"))
	_, err = loadInit(dir+"/ok.safetensors", fmnist.PatchSize)
	assert.NoError(t, err)
}

// The gorgonia path's loss is two columns wide, so it refuses a garment
// model however it arrives, here as the model to fine-tune.
func TestGorgoniaRefusesGarmentModel(t *testing.T) {
	net := DressNet()
	require.NoError(t, SetGarmentClasses(net))
	InitWeights(net, 1)
	cfg := tinyConfig(t)
	cfg.Init, cfg.Trainer = filepath.Join(t.TempDir(), "g.safetensors"), "gorgonia"
	require.NoError(t, net.Save(cfg.Init))
	_, _, err := Run(cfg)
	assert.EqualError(t, err, "train: Config.Trainer gorgonia trains two-class models only; this one has 11 classes")
}
