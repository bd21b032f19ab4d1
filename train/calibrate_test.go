package train_test

import (
	"bytes"
	"image/png"
	"math"
	"math/rand"
	"testing"

	"github.com/fc2conv/fc2conv/nn"
	"github.com/fc2conv/fc2conv/train"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Labels drawn from softmax(z/T) for a known T: the fit finds T again
// (within 5%, several standard errors at this sample size), for two and
// for three classes.
func TestFitTemperatureRecoversKnownTemperature(t *testing.T) {
	for _, c := range []struct {
		temp    float64
		classes int
	}{{2.5, 2}, {0.5, 2}, {1.7, 3}} {
		rng := rand.New(rand.NewSource(int64(c.classes*10) + int64(c.temp*10)))
		const n = 20000
		logits := make([][]float64, n)
		labels := make([]int, n)
		for i := range logits {
			z := make([]float64, c.classes)
			p := make([]float64, c.classes)
			var s float64
			for k := range z {
				z[k] = 4 * rng.NormFloat64()
				p[k] = math.Exp(z[k] / c.temp)
				s += p[k]
			}
			r := rng.Float64() * s
			for labels[i] = 0; labels[i] < c.classes-1 && r >= p[labels[i]]; labels[i]++ {
				r -= p[labels[i]]
			}
			logits[i] = z
		}
		got, err := train.FitTemperature(logits, labels)
		require.NoError(t, err)
		assert.InEpsilon(t, c.temp, got, 0.05, "T = %v, %d classes", c.temp, c.classes)
		// The fitted temperature is a minimum of the NLL.
		nll := train.NLL(logits, labels, got)
		assert.Less(t, nll, train.NLL(logits, labels, got*1.1))
		assert.Less(t, nll, train.NLL(logits, labels, got/1.1))
	}
}

func TestNLLByHand(t *testing.T) {
	// softmax([0, ln 3]) = [1/4, 3/4]; at t = 2, [0, ln 3 / 2] gives
	// [1/(1+√3), √3/(1+√3)].
	z := [][]float64{{0, math.Log(3)}, {0, math.Log(3)}}
	assert.InDelta(t, -(math.Log(0.75)+math.Log(0.25))/2, train.NLL(z, []int{1, 0}, 1), 1e-12)
	assert.InDelta(t, -math.Log(math.Sqrt(3)/(1+math.Sqrt(3))), train.NLL(z[:1], []int{1}, 2), 1e-12)
	_, err := train.FitTemperature(z, []int{1})
	assert.ErrorContains(t, err, "2 logits for 1 labels")
	_, err = train.FitTemperature(z, []int{1, 2})
	assert.ErrorContains(t, err, "label 2 of item 1 out of range")
}

// tinyNet is a dense layer into a two-class softmax on a 1×1×3 window.
func tinyNet() *nn.Network {
	d := nn.NewDense("fc", 3, 2)
	copy(d.Weight.Data, []float32{0.5, -1, 2, 1, 0.25, -0.5})
	copy(d.Bias.Data, []float32{0.1, -0.3})
	return &nn.Network{Input: nn.InputSpec{Channels: 3, Height: 1, Width: 1, Mean: []float32{0, 0, 0}, Std: []float32{1, 1, 1}},
		Layers: []nn.Layer{nn.NewFlatten("flat", nn.FlattenCHW), d, nn.NewSoftmax("softmax")}, Labels: []string{"no", "yes"}, Positive: 1, Threshold: 0.9}
}

// Applying a temperature scales the softmax's inputs by 1/t, and moves a
// stored threshold so that it keeps its operating point: σ(logit(0.9)/2)
// = σ(ln 3) = 0.75.
func TestApplyTemperature(t *testing.T) {
	net := tinyNet()
	x := [][]float32{{1, 2, -1}}
	// Logits by hand: [0.5−2−2+0.1, 1+0.5+0.5−0.3] = [−3.4, 1.7].
	z, err := train.Logits(net, x)
	require.NoError(t, err)
	assert.InDeltaSlice(t, []float64{-3.4, 1.7}, z[0], 1e-6)
	require.NoError(t, train.ApplyTemperature(net, 2))
	assert.InDelta(t, 0.75, net.Threshold, 1e-12)
	out, _, err := nn.NewEngine(net).Forward(x[0], net.Input.Window())
	require.NoError(t, err)
	assert.InDelta(t, 1/(1+math.Exp(-(1.7+3.4)/2)), out[1], 1e-6)
	require.NoError(t, net.Validate())

	assert.ErrorContains(t, train.ApplyTemperature(net, 0), "want finite and > 0")
	net.Layers = net.Layers[:2]
	assert.ErrorContains(t, train.ApplyTemperature(net, 2), "does not end in a softmax")
	_, err = train.Logits(net, x)
	assert.ErrorContains(t, err, "does not end in a softmax")
}

// ECE on hand-made bins (10 bins): 0.05 alone and negative, |0 − 0.05|;
// two at 0.15 with one positive, |0.5 − 0.15|; four at 0.95 with three,
// |0.75 − 0.95|; weighted by 1, 2 and 4 of 7 items.
func TestReliabilityByHand(t *testing.T) {
	scores := []float64{0.05, 0.15, 0.15, 0.95, 0.95, 0.95, 0.95}
	pos := []bool{false, true, false, true, true, false, true}
	r, err := train.NewReliability(scores, pos, 10)
	require.NoError(t, err)
	assert.InDelta(t, (0.05+2*0.35+4*0.2)/7, r.ECE, 1e-12)
	assert.Equal(t, 2, r.Bins[1].Count)
	assert.InDelta(t, 0.5, r.Bins[1].Positive, 1e-12)
	assert.InDelta(t, 0.95, r.Bins[9].MeanScore, 1e-12)
	// A score of exactly 1 is in the last bin, and a perfect fit has no error.
	r, err = train.NewReliability([]float64{1, 0}, []bool{true, false}, 4)
	require.NoError(t, err)
	assert.Equal(t, 1, r.Bins[3].Count)
	assert.Zero(t, r.ECE)
	_, err = train.NewReliability(scores, pos, 0)
	assert.Error(t, err)

	var buf bytes.Buffer
	require.NoError(t, r.WritePNG(&buf, "test"))
	img, err := png.Decode(&buf)
	require.NoError(t, err)
	assert.Equal(t, 480, img.Bounds().Dx())
	// The last bin's bar is full height (fraction positive 1): blue just
	// above the x axis and just below the top.
	for _, y := range []int{438, 42} {
		r, g, b, _ := img.At(400, y).RGBA()
		assert.Equal(t, []uint32{90, 130, 200}, []uint32{r >> 8, g >> 8, b >> 8}, "bar at y %d", y)
	}
}
