package detect_test

import (
	"image"
	"image/color"
	"math/rand"
	"testing"

	"github.com/fc2conv/fc2conv/detect"
	"github.com/fc2conv/fc2conv/nn"
	"github.com/fc2conv/fc2conv/nn/nntest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// greyFCN: a grey network with a normalisation that is not the identity,
// stride 2, window 6×6.
func greyFCN(t *testing.T) *nn.Network {
	net := &nn.Network{
		Input: nn.InputSpec{Channels: 1, Height: 6, Width: 6, Mean: []float32{0.4}, Std: []float32{0.3}},
		Layers: []nn.Layer{
			nn.NewConv2D("conv1", 1, 3, pair(3, 3), pair(1, 1), pair(0, 0)),
			nn.NewReLU("relu1"),
			nn.NewMaxPool2D("pool1", pair(2, 2), pair(2, 2), pair(0, 0)),
			nn.NewConv2D("head", 3, 2, pair(2, 2), pair(1, 1), pair(0, 0)),
			nn.NewSoftmax("softmax"),
		},
		Positive: 1,
	}
	nntest.Randomize(net, rand.New(rand.NewSource(3)))
	require.NoError(t, net.Validate())
	return net
}

// Each window, normalised and run through the network on its own, scores
// what the heatmap says for its cell, at a scale that resizes the image.
func TestWindowsAreWhatTheNetworkSaw(t *testing.T) {
	net := greyFCN(t)
	d, err := detect.New(net, detect.Options{Class: detect.Class(1), NoFlip: true, Threshold: 0.5, Scales: []float64{0.7}})
	require.NoError(t, err)
	img := randomImage(rand.New(rand.NewSource(4)), 40, 30)
	hm, err := d.Heatmap(img, 0.7)
	require.NoError(t, err)
	var cells [][2]int
	for i := 0; i < hm.Rows; i++ {
		for j := 0; j < hm.Cols; j++ {
			cells = append(cells, [2]int{i, j})
		}
	}
	wins, err := d.Windows(img, hm, cells)
	require.NoError(t, err)
	require.Len(t, wins, len(cells))
	e := nn.NewEngine(net)
	for k, c := range cells {
		x := make([]float32, len(wins[k]))
		for i, v := range wins[k] {
			require.True(t, v >= 0 && v <= 1, "cell %v value %v", c, v)
			x[i] = (v - 0.4) / 0.3
		}
		out, shape, err := e.Forward(x, nn.Shape{C: 1, H: 6, W: 6})
		require.NoError(t, err)
		require.Equal(t, nn.Shape{C: 2, H: 1, W: 1}, shape)
		assert.InDelta(t, hm.At(c[0], c[1]), out[1], 1e-5, "cell %v", c)
	}
}

// One colour, R 200 G 100 B 50: luma 0.299·200 + 0.587·100 + 0.114·50 =
// 124.2, so every pixel of every window is 124.2/255.
func TestWindowsGreyAndErrors(t *testing.T) {
	d, err := detect.New(greyFCN(t), detect.Options{Class: detect.Class(1), NoFlip: true, Threshold: 0.5})
	require.NoError(t, err)
	img := image.NewNRGBA(image.Rect(0, 0, 12, 10))
	for y := 0; y < 10; y++ {
		for x := 0; x < 12; x++ {
			img.SetNRGBA(x, y, color.NRGBA{200, 100, 50, 255})
		}
	}
	hm, err := d.Heatmap(img, 1)
	require.NoError(t, err)
	require.Equal(t, [2]int{3, 4}, [2]int{hm.Rows, hm.Cols})
	wins, err := d.Windows(img, hm, [][2]int{{2, 3}})
	require.NoError(t, err)
	require.Len(t, wins[0], 36)
	for _, v := range wins[0] {
		assert.InDelta(t, 124.2/255, v, 1e-6)
	}

	_, err = d.Windows(img, hm, [][2]int{{3, 0}})
	assert.ErrorContains(t, err, "cell [3 0] outside the 3×4 heatmap")
	other := hm
	other.Step = pair(1, 1)
	_, err = d.Windows(img, other, nil)
	assert.ErrorContains(t, err, "heatmap of step")
	_, err = d.Windows(nil, hm, nil)
	assert.ErrorContains(t, err, "image is nil")
}

// A padded image's window holds the mean pixel where the image ends.
func TestWindowsPadding(t *testing.T) {
	d, err := detect.New(greyFCN(t), detect.Options{Class: detect.Class(1), NoFlip: true, Threshold: 0.5, PadSmall: true})
	require.NoError(t, err)
	img := image.NewNRGBA(image.Rect(0, 0, 4, 5))
	for i := range img.Pix {
		img.Pix[i] = 255
	}
	hm, err := d.Heatmap(img, 1)
	require.NoError(t, err)
	wins, err := d.Windows(img, hm, [][2]int{{0, 0}})
	require.NoError(t, err)
	for y := 0; y < 6; y++ {
		for x := 0; x < 6; x++ {
			want := float32(1)
			if x >= 4 || y >= 5 {
				want = 0.4
			}
			assert.InDelta(t, want, wins[0][y*6+x], 1e-6, "(%d,%d)", x, y)
		}
	}
}
