package detect_test

import (
	"math/rand"
	"testing"

	"github.com/fc2conv/fc2conv/detect"
	"github.com/fc2conv/fc2conv/nn"
	"github.com/fc2conv/fc2conv/nn/nntest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// grownFCN pads its convs differently before and after the map and has
// ceil-mode pools whose last window overhangs the 17×15 window.
func grownFCN(t testing.TB, rng *rand.Rand) *nn.Network {
	conv1 := nn.NewConv2D("conv1", 3, 4, pair(3, 3), pair(1, 1), pair(1, 0)) // 4×16×15
	conv1.PaddingEnd = &nn.Pair{H: 0, W: 2}
	pool1 := nn.NewMaxPool2D("pool1", pair(2, 2), pair(2, 2), pair(0, 0)) // 4×8×8
	pool1.CeilMode = true
	conv2 := nn.NewConv2D("conv2", 4, 4, pair(3, 3), pair(1, 1), pair(0, 1)) // 4×7×7
	conv2.PaddingEnd = &nn.Pair{H: 1, W: 0}
	pool2 := nn.NewAvgPool2D("pool2", pair(2, 2), pair(2, 2), pair(0, 0), true) // 4×4×4
	pool2.CeilMode = true
	net := &nn.Network{
		Input: spec(3, 17, 15),
		Layers: []nn.Layer{conv1, nn.NewReLU("relu1"), pool1, conv2, nn.NewReLU("relu2"), pool2,
			nn.NewConv2D("head", 4, 2, pair(4, 4), pair(1, 1), pair(0, 0)), nn.NewSigmoid("sigmoid")},
		Positive: 1,
	}
	nntest.Randomize(net, rng)
	require.NoError(t, net.Validate())
	return net
}

// With asymmetric padding and ceil-mode pools, the heatmap at the stride is
// the network's own output on the whole picture, and tiling, down to one
// cell per tile, changes nothing.
func TestGrownHeatmapAndTiling(t *testing.T) {
	rng := rand.New(rand.NewSource(4))
	net := grownFCN(t, rng)
	g, err := net.Geometry()
	require.NoError(t, err)
	require.Equal(t, pair(4, 4), g.Stride)
	require.True(t, g.Padded)
	img := randomImage(rng, 61, 50)
	opt := detect.Options{}
	opt.Class, opt.NoFlip = detect.Class(1), true
	want := heatmapAt1(t, net, img, opt)
	// One cell per window inside the picture.
	require.Equal(t, [2]int{(50-17)/4 + 1, (61-15)/4 + 1}, [2]int{want.Rows, want.Cols})
	x, shape, err := detect.Preprocess(img, net.Input)
	require.NoError(t, err)
	out, os, err := nn.NewEngine(net).Forward(x, shape)
	require.NoError(t, err)
	require.GreaterOrEqual(t, os.H, want.Rows)
	require.GreaterOrEqual(t, os.W, want.Cols)
	for i := 0; i < want.Rows; i++ {
		row := out[os.H*os.W+i*os.W : os.H*os.W+i*os.W+want.Cols]
		assert.LessOrEqual(t, nntest.MaxAbsDiff(want.Data[i*want.Cols:(i+1)*want.Cols], row), 1e-6, "row %d", i)
	}
	for _, step := range []int{0, 2} {
		opt.Step = step
		opt.MaxTilePixels = 0
		full := heatmapAt1(t, net, img, opt)
		for _, budget := range []int{1, 700, 1500} {
			opt.MaxTilePixels = budget
			got := heatmapAt1(t, net, img, opt)
			require.Equal(t, [2]int{full.Rows, full.Cols}, [2]int{got.Rows, got.Cols})
			assert.LessOrEqual(t, nntest.MaxAbsDiff(got.Data, full.Data), 1e-6, "step %d, budget %d", step, budget)
		}
	}
}

// An Inception module whose first path is a 1×1 conv and whose widest
// reads 5×5 around each cell (a padded conv after a padded pool), in a
// residual block: tiling, down to one cell per tile, changes nothing,
// since the geometry's field spans the widest path, not the first.
func TestBlockHeatmapTiling(t *testing.T) {
	rng := rand.New(rand.NewSource(5))
	one, three := pair(1, 1), pair(3, 3)
	mixed := nn.NewConcat("mixed",
		[]nn.Layer{nn.NewConv2D("m1x1", 4, 2, one, one, pair(0, 0))},
		[]nn.Layer{nn.NewMaxPool2D("mpool", three, one, one), nn.NewConv2D("m3x3", 4, 2, three, one, one)},
		nil)
	net := &nn.Network{
		Input: spec(3, 12, 12),
		Layers: []nn.Layer{
			nn.NewConv2D("stem", 3, 4, three, pair(2, 2), one), nn.NewReLU("relu1"), // 4×6×6
			nn.NewResidual("block", []nn.Layer{mixed, nn.NewReLU("mrelu"), nn.NewConv2D("proj", 8, 4, one, one, pair(0, 0))}, nil),
			nn.NewConv2D("head", 4, 2, pair(6, 6), one, pair(0, 0)), nn.NewSigmoid("sigmoid"),
		},
		Positive: 1,
	}
	nntest.Randomize(net, rng)
	require.NoError(t, net.Validate())
	g, err := net.Geometry()
	require.NoError(t, err)
	// The 3×3 path (pool then conv, each padded by 1 at stride 2) reaches
	// 1 + 2 + 2 pixels back; the 1×1 path only the stem's 1.
	require.Equal(t, pair(5, 5), g.Reach)
	img := randomImage(rng, 70, 45)
	opt := detect.Options{}
	opt.Class, opt.NoFlip = detect.Class(1), true
	full := heatmapAt1(t, net, img, opt)
	for _, budget := range []int{1, 400, 900} {
		opt.MaxTilePixels = budget
		got := heatmapAt1(t, net, img, opt)
		require.Equal(t, [2]int{full.Rows, full.Cols}, [2]int{got.Rows, got.Cols})
		assert.LessOrEqual(t, nntest.MaxAbsDiff(got.Data, full.Data), 1e-6, "budget %d", budget)
	}
}
