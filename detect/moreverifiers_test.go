package detect_test

import (
	"math"
	"math/rand"
	"testing"

	"github.com/fc2conv/fc2conv/convert"
	"github.com/fc2conv/fc2conv/detect"
	"github.com/fc2conv/fc2conv/nn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// randomDenseVerifier is an FC classifier with random weights on a
// side×side grey window, with classes outputs and last its last layer.
func randomDenseVerifier(t *testing.T, rng *rand.Rand, side, classes int, last nn.Layer) *nn.Network {
	t.Helper()
	dense := nn.NewDense("fc", side*side, classes)
	for i := range dense.Weight.Data {
		dense.Weight.Data[i] = float32(rng.NormFloat64() * 0.1)
	}
	for i := range dense.Bias.Data {
		dense.Bias.Data[i] = float32(rng.NormFloat64())
	}
	net := &nn.Network{
		Input:    nn.InputSpec{Channels: 1, Height: side, Width: side, Mean: []float32{0.5}, Std: []float32{0.25}},
		Layers:   []nn.Layer{nn.NewFlatten("flat", nn.FlattenCHW), dense, last},
		Positive: classes - 1,
	}
	require.NoError(t, net.Validate())
	return net
}

func boxScores(t *testing.T, opt detect.Options, boxes [][4]float64) []float64 {
	t.Helper()
	bv, err := detect.NewBoxVerifier(opt)
	require.NoError(t, err)
	ps, err := bv.Scores(randomImage(rand.New(rand.NewSource(7)), 64, 48), boxes)
	require.NoError(t, err)
	return ps
}

var someBoxes = [][4]float64{{13.5, 9.25, 37.5, 33.25}, {0, 0, 20, 30}, {40, 20, 63, 47}}

// TestMoreVerifiersAreAnEnsemble: verifiers of one window averaged by
// MoreVerifiers score every box as the ensemble file convert.Ensemble
// makes of them, over every view, pool and mirror.
func TestMoreVerifiersAreAnEnsemble(t *testing.T) {
	rng := rand.New(rand.NewSource(11))
	for _, c := range []struct {
		name    string
		classes int
		last    func() nn.Layer
	}{
		{"softmax of 3", 3, func() nn.Layer { return nn.NewSoftmax("softmax") }},
		{"sigmoid of 1", 1, func() nn.Layer { return nn.NewSigmoid("sigmoid") }},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := randomDenseVerifier(t, rng, 12, c.classes, c.last())
			b := randomDenseVerifier(t, rng, 12, c.classes, c.last())
			e := randomDenseVerifier(t, rng, 12, c.classes, c.last())
			ens, err := convert.Ensemble(a, b, e)
			require.NoError(t, err)
			for _, pool := range []detect.Pool{detect.PoolMean, detect.PoolMin, detect.PoolMax} {
				got := boxScores(t, detect.Options{Verifier: a, MoreVerifiers: []*nn.Network{b, e}, VerifierViews: 27, VerifierPool: pool}, someBoxes)
				want := boxScores(t, detect.Options{Verifier: ens, VerifierViews: 27, VerifierPool: pool}, someBoxes)
				require.InDeltaSlice(t, want, got, 1e-5, "pool %v", pool)
				alone := boxScores(t, detect.Options{Verifier: a, VerifierViews: 27, VerifierPool: pool}, someBoxes)
				assert.NotEqual(t, alone, got, "the others count")
			}
		})
	}
}

// TestMoreVerifiersOfOtherWindows: each verifier is shown the box at its
// own window and context, and for two classes the mean of the logits is
// the mean of each one's log-odds.
func TestMoreVerifiersOfOtherWindows(t *testing.T) {
	rng := rand.New(rand.NewSource(12))
	a := randomDenseVerifier(t, rng, 12, 2, nn.NewSoftmax("softmax"))
	b := randomDenseVerifier(t, rng, 20, 2, nn.NewSoftmax("softmax"))
	b.Input.Context = 1.3
	pa := boxScores(t, detect.Options{Verifier: a, NoFlip: true}, someBoxes)
	pb := boxScores(t, detect.Options{Verifier: b, NoFlip: true}, someBoxes)
	got := boxScores(t, detect.Options{Verifier: a, MoreVerifiers: []*nn.Network{b}, NoFlip: true}, someBoxes)
	logit := func(p float64) float64 { return math.Log(p / (1 - p)) }
	for i := range someBoxes {
		want := 1 / (1 + math.Exp(-(logit(pa[i])+logit(pb[i]))/2))
		assert.InDelta(t, want, got[i], 1e-5, "box %d (a %v, b %v)", i, pa[i], pb[i])
	}
}

// TestMoreVerifiersThreshold: the first verifier's stored threshold is
// its own, not the ensemble's, and applies only when it is alone.
func TestMoreVerifiersThreshold(t *testing.T) {
	img := blackWithSquare(40, 32, 12, 20, 8)
	logit := float32(math.Log(0.64 / 0.36))
	detections := func(opt detect.Options) int {
		d, err := detect.New(squareFCN(t), opt)
		require.NoError(t, err)
		res, err := d.Detect(img)
		require.NoError(t, err)
		return len(res.Detections)
	}
	strict := brightnessVerifier(t, 0, logit, 0.85) // scores 0.8, under its threshold
	assert.Zero(t, detections(detect.Options{Verifier: strict}))
	assert.Equal(t, 1, detections(detect.Options{Verifier: strict, MoreVerifiers: []*nn.Network{brightnessVerifier(t, 0, logit, 0)}}),
		"with another verifier the detector's default threshold applies")
}

func TestMoreVerifiersErrors(t *testing.T) {
	rng := rand.New(rand.NewSource(13))
	two := randomDenseVerifier(t, rng, 12, 2, nn.NewSoftmax("softmax"))
	three := randomDenseVerifier(t, rng, 12, 3, nn.NewSoftmax("softmax"))
	sigmoid := randomDenseVerifier(t, rng, 12, 2, nn.NewSigmoid("sigmoid"))
	labelled := func(labels ...string) *nn.Network {
		n := randomDenseVerifier(t, rng, 12, 2, nn.NewSoftmax("softmax"))
		n.Labels = labels
		return n
	}
	positive0 := randomDenseVerifier(t, rng, 12, 2, nn.NewSoftmax("softmax"))
	positive0.Positive = 0
	noSoftmax := randomDenseVerifier(t, rng, 12, 2, nn.NewSoftmax("softmax"))
	noSoftmax.Layers = noSoftmax.Layers[:2]
	assertOptionErrors(t, []optionErrorCase{
		{"without a verifier", "MoreVerifiers", "set without a verifier", detect.Options{MoreVerifiers: []*nn.Network{two}}},
		{"nil", "MoreVerifiers", "verifier 2 of 2: it is nil", detect.Options{Verifier: two, MoreVerifiers: []*nn.Network{nil}}},
		{"outputs", "MoreVerifiers", "verifier 3 of 3: it has 3 outputs, the first verifier 2", detect.Options{Verifier: two, MoreVerifiers: []*nn.Network{two, three}}},
		{"last layer", "MoreVerifiers", "verifier 2 of 2: it ends in a sigmoid, the first verifier in a softmax", detect.Options{Verifier: two, MoreVerifiers: []*nn.Network{sigmoid}}},
		{"positive", "MoreVerifiers", "its positive class is 0, the first verifier's 1", detect.Options{Verifier: two, MoreVerifiers: []*nn.Network{positive0}}},
		{"labels", "MoreVerifiers", `its labels ["a" "c"] are not the first verifier's ["a" "b"]`, detect.Options{Verifier: labelled("a", "b"), MoreVerifiers: []*nn.Network{labelled("a", "c")}}},
		{"logits", "MoreVerifiers", `verifier 2 of 2: its last layer "fc" is a dense`, detect.Options{Verifier: two, MoreVerifiers: []*nn.Network{noSoftmax}}},
		{"class", "Verifier", "class 2 out of range", detect.Options{Verifier: two, MoreVerifiers: []*nn.Network{two}, VerifierClass: detect.Class(2)}},
		{"the first of several", "Verifier", `verifier 1 of 2: its last layer "fc" is a dense`, detect.Options{Verifier: noSoftmax, MoreVerifiers: []*nn.Network{two}}},
	})
}
