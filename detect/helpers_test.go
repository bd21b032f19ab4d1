package detect_test

import (
	"image"
	"image/color"
	"math/rand"
	"testing"

	"github.com/fc2conv/fc2conv/detect"
	"github.com/fc2conv/fc2conv/nn"
	"github.com/fc2conv/fc2conv/nn/nntest"
	"github.com/stretchr/testify/require"
)

func pair(h, w int) nn.Pair { return nn.Pair{H: h, W: w} }

func spec(ch, h, w int) nn.InputSpec {
	s := nn.InputSpec{Channels: ch, Height: h, Width: w}
	for c := 0; c < ch; c++ {
		s.Mean = append(s.Mean, 0)
		s.Std = append(s.Std, 1)
	}
	return s
}

// unpaddedFCN: two conv/ReLU/pool stages and a 3×3 head with two classes.
// Stride 4×4; receptive field 1+2+1+2·2+1·2+2·4 = 18 on both axes. The
// window is one pixel taller than the field (19×18) so that the margin
// the floor-mode pooling ignores is exercised.
func unpaddedFCN(t testing.TB, rng *rand.Rand) *nn.Network {
	net := &nn.Network{
		Input: spec(3, 19, 18),
		Layers: []nn.Layer{
			nn.NewConv2D("conv1", 3, 4, pair(3, 3), pair(1, 1), pair(0, 0)),
			nn.NewReLU("relu1"),
			nn.NewMaxPool2D("pool1", pair(2, 2), pair(2, 2), pair(0, 0)),
			nn.NewConv2D("conv2", 4, 4, pair(3, 3), pair(1, 1), pair(0, 0)),
			nn.NewReLU("relu2"),
			nn.NewMaxPool2D("pool2", pair(2, 2), pair(2, 2), pair(0, 0)),
			nn.NewConv2D("head", 4, 2, pair(3, 3), pair(1, 1), pair(0, 0)),
			nn.NewSigmoid("sigmoid"),
		},
		Positive: 1,
	}
	nntest.Randomize(net, rng)
	require.NoError(t, net.Validate())
	return net
}

// paddedFCN: padded convs and a padded pool; stride 4×4, window 16×16.
// Field 1+2+1+2·2+2·2+3·4 = 24, reaching back 1 + 1·2 + 1·2 = 5 pixels.
func paddedFCN(t testing.TB, rng *rand.Rand) *nn.Network {
	net := &nn.Network{
		Input: spec(1, 16, 16),
		Layers: []nn.Layer{
			nn.NewConv2D("conv1", 1, 3, pair(3, 3), pair(1, 1), pair(1, 1)),
			nn.NewReLU("relu1"),
			nn.NewMaxPool2D("pool1", pair(2, 2), pair(2, 2), pair(0, 0)),
			nn.NewConv2D("conv2", 3, 3, pair(3, 3), pair(1, 1), pair(1, 1)),
			nn.NewReLU("relu2"),
			nn.NewMaxPool2D("pool2", pair(3, 3), pair(2, 2), pair(1, 1)),
			nn.NewConv2D("head", 3, 1, pair(4, 4), pair(1, 1), pair(0, 0)),
			nn.NewSigmoid("sigmoid"),
		},
	}
	nntest.Randomize(net, rng)
	require.NoError(t, net.Validate())
	g, err := net.Geometry()
	require.NoError(t, err)
	require.Equal(t, pair(24, 24), g.Field)
	require.True(t, g.Padded)
	return net
}

// squareFCN scores how bright an 8×8 window is: one 8×8 convolution of
// stride 4 with all weights 1 and bias −16, then a sigmoid. Inputs are grey
// with mean 0.5 and std 1, so a white pixel counts +0.5, a black one −0.5
// and padding 0: an all-white window scores sigmoid(16) ≈ 1, a half-white
// one sigmoid(−16) ≈ 0.
func squareFCN(t *testing.T) *nn.Network {
	conv := nn.NewConv2D("conv", 1, 1, pair(8, 8), pair(4, 4), pair(0, 0))
	for i := range conv.Weight.Data {
		conv.Weight.Data[i] = 1
	}
	conv.Bias.Data[0] = -16
	net := &nn.Network{
		Input:  nn.InputSpec{Channels: 1, Height: 8, Width: 8, Mean: []float32{0.5}, Std: []float32{1}},
		Layers: []nn.Layer{conv, nn.NewSigmoid("sigmoid")},
	}
	if t != nil {
		require.NoError(t, net.Validate())
	}
	return net
}

// blackWithSquare is a w×h black image with a white s×s square at (x, y).
func blackWithSquare(w, h, x, y, s int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for py := 0; py < h; py++ {
		for px := 0; px < w; px++ {
			c := color.NRGBA{0, 0, 0, 255}
			if px >= x && px < x+s && py >= y && py < y+s {
				c = color.NRGBA{255, 255, 255, 255}
			}
			img.SetNRGBA(px, py, c)
		}
	}
	return img
}

func randomImage(rng *rand.Rand, w, h int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	rng.Read(img.Pix)
	for i := 3; i < len(img.Pix); i += 4 {
		img.Pix[i] = 255
	}
	return img
}

// heatmapAt1 is the heatmap of img at scale 1 under opt.
func heatmapAt1(t *testing.T, net *nn.Network, img image.Image, opt detect.Options) detect.Heatmap {
	t.Helper()
	d, err := detect.New(net, opt)
	require.NoError(t, err)
	hm, err := d.Heatmap(img, 1)
	require.NoError(t, err)
	return hm
}

// stepOr4 is the step a test network with stride 4 scans at: Options.Step,
// or the stride when it is 0.
func stepOr4(step int) int {
	if step == 0 {
		return 4
	}
	return step
}

// naive evaluates the network on every window-sized crop at (i·s, j·s)
// that fits the image, one forward pass per crop.
func naive(t *testing.T, net *nn.Network, img image.Image, class int, s nn.Pair) (rows, cols int, data []float32) {
	x, shape, err := detect.Preprocess(img, net.Input)
	require.NoError(t, err)
	win := net.Input.Window()
	e := nn.NewEngine(net)
	rows = (shape.H-win.H)/s.H + 1
	cols = (shape.W-win.W)/s.W + 1
	for i := 0; i < rows; i++ {
		for j := 0; j < cols; j++ {
			crop := nn.Crop(x, shape, i*s.H, j*s.W, win.H, win.W)
			out, os, err := e.Forward(crop, win)
			require.NoError(t, err)
			require.Equal(t, 1, os.H*os.W)
			data = append(data, out[class])
		}
	}
	return rows, cols, data
}
