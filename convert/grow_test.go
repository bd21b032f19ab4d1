package convert_test

import (
	"math/rand"
	"testing"

	"github.com/fc2conv/fc2conv/convert"
	"github.com/fc2conv/fc2conv/nn"
	"github.com/fc2conv/fc2conv/nn/nntest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Random classifiers with asymmetric padding, ceil-mode and average pools
// convert: the FCN equals the FC network on the window, and Verify finds
// every cell of larger inputs equal to the head on its feature-map crop
// (and, where nothing pads or overhangs, to the FC network on its image
// crop).
func TestGrownConvert(t *testing.T) {
	sliding := 0
	for seed := int64(0); seed < 30; seed++ {
		fc := nntest.RandomFC(rand.New(rand.NewSource(seed)), nntest.Options{Padded: seed%3 != 0, Grown: true})
		res, err := convert.Convert(fc)
		require.NoError(t, err, "seed %d", seed)
		rep, err := convert.Verify(fc, res.Network, convert.VerifyOptions{Seed: seed})
		require.NoError(t, err, "seed %d", seed)
		for _, c := range rep.Checks {
			assert.Positive(t, c.Cases, "seed %d: %s", seed, c.Name)
			assert.LessOrEqual(t, c.MaxAbs, tol, "seed %d: %s", seed, c.Name)
			if c.Name == "sliding window" {
				sliding++
			}
		}
	}
	assert.Positive(t, sliding, "no random network was checked against the sliding window")
}

// Cell (i, j) stands for the image window at (j·S, i·S): put a window-sized
// crop at that place in an otherwise black image and the cell equals the
// FC network on the crop. The network pads only where black pixels and
// padding agree: its padded conv reads zeros either way, its bias is
// negative so the black surround stays 0 after the ReLU, and the ceil-mode
// max-pool's overhang then meets 0s that never beat the ReLU's outputs.
func TestGrownCellsMapToImage(t *testing.T) {
	p := func(h, w int) nn.Pair { return nn.Pair{H: h, W: w} }
	conv := nn.NewConv2D("conv1", 1, 3, p(3, 3), p(1, 1), p(1, 0))
	conv.PaddingEnd = &nn.Pair{H: 0, W: 2}
	pool := nn.NewMaxPool2D("pool1", p(2, 2), p(2, 2), p(0, 0))
	pool.CeilMode = true
	fc := &nn.Network{
		Input: nn.InputSpec{Channels: 1, Height: 11, Width: 9, Mean: []float32{0}, Std: []float32{1}},
		Layers: []nn.Layer{
			conv, nn.NewReLU("relu1"), pool, // 3×10×9 → 3×5×5, the last column a half window
			nn.NewConv2D("conv2", 3, 2, p(2, 2), p(1, 1), p(0, 0)), nn.NewReLU("relu2"), // 2×4×4
			nn.NewFlatten("flat", nn.FlattenHWC), nn.NewDense("fc", 32, 1), nn.NewSigmoid("sigmoid"),
		},
	}
	rng := rand.New(rand.NewSource(3))
	nntest.Randomize(fc, rng)
	for i := range conv.Bias.Data {
		conv.Bias.Data[i] = -0.05 - 0.1*float32(i)
	}
	res, err := convert.Convert(fc)
	require.NoError(t, err)
	g := res.Geometry
	assert.True(t, g.Padded)
	assert.Equal(t, p(2, 2), g.Stride)
	assert.Equal(t, p(1, 0), g.Reach)
	win := fc.Input.Window()
	crop := make([]float32, win.Size())
	for k := range crop {
		crop[k] = rng.Float32() // non-negative, like pixels
	}
	want, _, err := nn.NewEngine(fc).Forward(crop, win)
	require.NoError(t, err)
	big := nn.Shape{C: 1, H: win.H + 8, W: win.W + 10}
	rows, cols, err := res.Network.GridSize(big.H, big.W)
	require.NoError(t, err)
	checked := 0
	for _, cell := range [][2]int{{0, 0}, {1, 3}, {4, 5}, {2, 0}} {
		i, j := cell[0], cell[1]
		box := g.CellBox(i, j)
		require.Less(t, i, rows)
		require.Less(t, j, cols)
		require.LessOrEqual(t, int(box.Y2), big.H)
		require.LessOrEqual(t, int(box.X2), big.W)
		img := make([]float32, big.Size())
		for y := 0; y < win.H; y++ {
			copy(img[(int(box.Y1)+y)*big.W+int(box.X1):], crop[y*win.W:(y+1)*win.W])
		}
		heat, hs, err := nn.NewEngine(res.Network).Forward(img, big)
		require.NoError(t, err)
		got := nn.Crop(heat, hs, i, j, 1, 1)
		assert.LessOrEqual(t, nntest.MaxAbsDiff(got, want), tol, "cell (%d,%d) at %v", i, j, box)
		// A neighbouring cell sees another window: the test can fail.
		other := nn.Crop(heat, hs, (i+1)%rows, j, 1, 1)
		assert.Greater(t, nntest.MaxAbsDiff(other, want), 1e-4, "cell (%d,%d)", (i+1)%rows, j)
		checked++
	}
	assert.Equal(t, 4, checked)
}

// Merged ensembles keep each conv's trailing padding and each pool's ceil
// mode: the ensemble of converted members with such layers computes the
// activation of their mean logits, on the window and on larger inputs.
func TestGrownEnsemble(t *testing.T) {
	for seed := int64(0); seed < 15; seed++ {
		rng := rand.New(rand.NewSource(seed))
		fc := nntest.RandomFC(rng, nntest.Options{Padded: true, Grown: true})
		var fcns []*nn.Network
		for _, m := range members(t, fc, 2, rng) {
			res, err := convert.Convert(m)
			require.NoError(t, err)
			fcns = append(fcns, res.Network)
		}
		ens, err := convert.Ensemble(fcns...)
		require.NoError(t, err, "seed %d", seed)
		win := fc.Input.Window()
		for _, s := range []nn.Shape{win, {C: win.C, H: win.H + 5, W: win.W + 7}} {
			x := nntest.Input(rng, s)
			want, ws := meanOfLogits(t, fcns, x, s)
			got, gs, err := nn.NewEngine(ens).Forward(x, s)
			require.NoError(t, err)
			require.Equal(t, ws, gs)
			assert.LessOrEqual(t, nntest.MaxAbsDiff(got, want), tol, "seed %d, input %v", seed, s)
		}
	}
}
