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

const tol = convert.Tolerance

func randomPair(t *testing.T, seed int64, padded bool) (*nn.Network, *convert.Result) {
	t.Helper()
	rng := rand.New(rand.NewSource(seed))
	// A third of the networks hold residual blocks.
	fc := nntest.RandomFC(rng, nntest.Options{Padded: padded, Residual: seed%3 == 0, Concat: seed%3 == 1})
	res, err := convert.Convert(fc)
	require.NoError(t, err, "seed %d", seed)
	require.True(t, res.Network.IsFullyConvolutional(), "seed %d", seed)
	return fc, res
}

func flattenAt(n *nn.Network) int {
	for i, l := range n.Layers {
		if l.Kind() == nn.KindFlatten {
			return i
		}
	}
	return -1
}

// Suite 1 and 4: on window-sized input the FC output equals the FCN's 1×1
// output, over random architectures (kernels, strides, pools, padding,
// flatten order, 1–3 dense layers, sigmoid/softmax/no head).
func TestWindowEquivalence(t *testing.T) {
	for seed := int64(0); seed < 80; seed++ {
		fc, res := randomPair(t, seed, seed%2 == 0)
		rng := rand.New(rand.NewSource(seed + 1000))
		win := fc.Input.Window()
		for k := 0; k < 3; k++ {
			x := nntest.Input(rng, win)
			want, ws, err := nn.NewEngine(fc).Forward(x, win)
			require.NoError(t, err)
			got, gs, err := nn.NewEngine(res.Network).Forward(x, win)
			require.NoError(t, err)
			assert.Equal(t, nn.Shape{C: ws.C, H: 1, W: 1}, gs, "seed %d", seed)
			assert.LessOrEqual(t, nntest.MaxAbsDiff(got, want), tol, "seed %d", seed)
		}
	}
}

// Suite 2: on a large input, any padding, FCN cell (i,j) equals the FC
// head applied to the (i,j) crop of the conv stack's feature map.
func TestLargeInputFeatureCrops(t *testing.T) {
	for seed := int64(0); seed < 40; seed++ {
		fc, res := randomPair(t, seed, true)
		rng := rand.New(rand.NewSource(seed + 2000))
		split := flattenAt(fc)
		stack := &nn.Network{Input: fc.Input, Layers: fc.Layers[:split]}
		head := &nn.Network{Input: fc.Input, Layers: fc.Layers[split:]}
		winFeat, err := stack.OutShape(fc.Input.Window())
		require.NoError(t, err)
		big := nn.Shape{C: fc.Input.Channels, H: fc.Input.Height + 5 + rng.Intn(20), W: fc.Input.Width + 5 + rng.Intn(20)}
		x := nntest.Input(rng, big)
		heat, hs, err := nn.NewEngine(res.Network).Forward(x, big)
		require.NoError(t, err)
		feat, fs, err := nn.NewEngine(stack).Forward(x, big)
		require.NoError(t, err)
		require.Equal(t, fs.H-winFeat.H+1, hs.H, "seed %d: heatmap rows", seed)
		require.Equal(t, fs.W-winFeat.W+1, hs.W, "seed %d: heatmap cols", seed)
		for i := 0; i < hs.H; i++ {
			for j := 0; j < hs.W; j++ {
				want, _, err := nn.NewEngine(head).Forward(nn.Crop(feat, fs, i, j, winFeat.H, winFeat.W), winFeat)
				require.NoError(t, err)
				got := nn.Crop(heat, hs, i, j, 1, 1)
				require.LessOrEqual(t, nntest.MaxAbsDiff(got, want), tol, "seed %d cell (%d,%d)", seed, i, j)
			}
		}
	}
}

// Suite 3: for unpadded networks FCN cell (i,j) equals the whole FC network
// on the image crop at (j·S, i·S): the naive sliding window.
func TestLargeInputSlidingWindow(t *testing.T) {
	for seed := int64(0); seed < 40; seed++ {
		fc, res := randomPair(t, seed, false)
		rng := rand.New(rand.NewSource(seed + 3000))
		g := res.Geometry
		require.False(t, g.Padded)
		win := fc.Input.Window()
		big := nn.Shape{C: win.C, H: win.H + g.Stride.H*rng.Intn(5) + rng.Intn(3), W: win.W + g.Stride.W*rng.Intn(5) + rng.Intn(3)}
		x := nntest.Input(rng, big)
		heat, hs, err := nn.NewEngine(res.Network).Forward(x, big)
		require.NoError(t, err)
		// One cell per receptive-field position. When the trained window has
		// pixels the network never reads (pooling floors them away), the last
		// cells' windows may overhang the image in those pixels only.
		assert.Equal(t, (big.H-g.Field.H)/g.Stride.H+1, hs.H, "seed %d rows", seed)
		assert.Equal(t, (big.W-g.Field.W)/g.Stride.W+1, hs.W, "seed %d cols", seed)
		assert.GreaterOrEqual(t, hs.H, (big.H-win.H)/g.Stride.H+1, "seed %d rows", seed)
		assert.GreaterOrEqual(t, hs.W, (big.W-win.W)/g.Stride.W+1, "seed %d cols", seed)
		fcEngine := nn.NewEngine(fc)
		for i := 0; i < hs.H; i++ {
			for j := 0; j < hs.W; j++ {
				box := g.CellBox(i, j)
				if int(box.Y2) > big.H || int(box.X2) > big.W {
					continue
				}
				crop := nn.Crop(x, big, int(box.Y1), int(box.X1), win.H, win.W)
				want, _, err := fcEngine.Forward(crop, win)
				require.NoError(t, err)
				got := nn.Crop(heat, hs, i, j, 1, 1)
				require.LessOrEqual(t, nntest.MaxAbsDiff(got, want), tol, "seed %d cell (%d,%d)", seed, i, j)
			}
		}
	}
}

// seedNet is the seed's architecture: a 64×128 RGB window, five conv3×3 +
// pool stages down to 128×4×2, then FC 1024→256→1 and a sigmoid.
func seedNet() *nn.Network {
	var layers []nn.Layer
	c := 3
	for i, w := range []int{16, 32, 64, 64, 128} {
		layers = append(layers,
			nn.NewConv2D(name("conv", i), c, w, nn.Pair{H: 3, W: 3}, nn.Pair{H: 1, W: 1}, nn.Pair{H: 1, W: 1}),
			nn.NewReLU(name("relu", i)),
			nn.NewMaxPool2D(name("pool", i), nn.Pair{H: 2, W: 2}, nn.Pair{H: 2, W: 2}, nn.Pair{}))
		c = w
	}
	layers = append(layers, nn.NewFlatten("flatten", nn.FlattenCHW), nn.NewDense("fc1", 1024, 256), nn.NewReLU("fcrelu"), nn.NewDense("fc2", 256, 1), nn.NewSigmoid("sigmoid"))
	return &nn.Network{Input: nn.InputSpec{Channels: 3, Height: 128, Width: 64, Mean: []float32{0, 0, 0}, Std: []float32{1, 1, 1}}, Layers: layers}
}

func name(p string, i int) string { return p + string(rune('1'+i)) }

// The seed's own geometry: reduction 32, and a 1024×512 image gives 32×16
// feature units and 31×13 = 403 windows.
func TestSeedGeometry(t *testing.T) {
	fc := seedNet()
	nntest.Randomize(fc, rand.New(rand.NewSource(1)))
	res, err := convert.Convert(fc)
	require.NoError(t, err)
	g := res.Geometry
	assert.Equal(t, nn.Pair{H: 32, W: 32}, g.Stride)
	assert.Equal(t, nn.Pair{H: 128, W: 64}, g.Window)
	assert.True(t, g.Padded)
	stack := &nn.Network{Input: fc.Input, Layers: fc.Layers[:flattenAt(fc)]}
	units, err := stack.OutShape(nn.Shape{C: 3, H: 512, W: 1024})
	require.NoError(t, err)
	assert.Equal(t, nn.Shape{C: 128, H: 16, W: 32}, units)
	rows, cols, err := res.Network.GridSize(512, 1024)
	require.NoError(t, err)
	assert.Equal(t, 13, rows)
	assert.Equal(t, 31, cols)
	assert.Equal(t, 403, rows*cols)
	// The first dense became a 4×2 conv over 128 channels.
	fc1 := res.Network.Layers[len(res.Network.Layers)-4].(*nn.Conv2D)
	assert.Equal(t, nn.Pair{H: 4, W: 2}, fc1.Kernel)
	assert.Equal(t, 128, fc1.InC)
	assert.Equal(t, nn.Box{X1: 64, Y1: 32, X2: 128, Y2: 160}, g.CellBox(1, 2))
}

func TestConvertErrors(t *testing.T) {
	spec := nn.InputSpec{Channels: 1, Height: 8, Width: 8, Mean: []float32{0}, Std: []float32{1}}
	conv := func() *nn.Conv2D {
		return nn.NewConv2D("conv", 1, 2, nn.Pair{H: 8, W: 8}, nn.Pair{H: 1, W: 1}, nn.Pair{})
	}
	cases := []struct {
		name   string
		layers []nn.Layer
		want   string
	}{
		{"dense without flatten", []nn.Layer{conv(), nn.NewDense("fc", 2, 1)}, `dense "fc" does not follow a spatial flatten`},
		{"flatten without dense", []nn.Layer{conv(), nn.NewFlatten("flat", nn.FlattenCHW)}, `flatten "flat" is not followed by a dense layer`},
		{"window does not fit", []nn.Layer{nn.NewConv2D("big", 1, 2, nn.Pair{H: 9, W: 3}, nn.Pair{H: 1, W: 1}, nn.Pair{}), nn.NewFlatten("flat", nn.FlattenCHW), nn.NewDense("fc", 2, 1)}, `conv "big": kernel 9×3`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := convert.Convert(&nn.Network{Input: spec, Layers: tc.layers})
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

// Verify reports tiny errors for a faithful conversion and large ones when
// a weight is tampered with, so it can fail.
func TestVerifyDetectsTampering(t *testing.T) {
	for _, padded := range []bool{false, true} {
		fc, res := randomPair(t, 7, padded)
		rep, err := convert.Verify(fc, res.Network, convert.VerifyOptions{Seed: 1})
		require.NoError(t, err)
		assert.LessOrEqual(t, rep.MaxAbs(), tol)
		names := []string{}
		for _, c := range rep.Checks {
			names = append(names, c.Name)
			assert.Positive(t, c.Cases, c.Name)
		}
		if !padded {
			assert.Contains(t, names, "sliding window")
		}
		// Tamper with the converted head's first filter.
		start, err := convert.HeadStart(res.Network)
		require.NoError(t, err)
		w := res.Network.Layers[start].(*nn.Conv2D).Weight.Data
		w[0] += 0.5
		rep, err = convert.Verify(fc, res.Network, convert.VerifyOptions{Seed: 1})
		require.NoError(t, err)
		assert.Greater(t, rep.MaxAbs(), 1e-3, "tampering must show")
	}
}

// A residual block is converted branch by branch: its batch norms fold
// into the convolutions before them, and its outputs stay the FC form's.
func TestResidualBlocksConvert(t *testing.T) {
	folded := 0
	for seed := int64(0); seed < 40; seed++ {
		rng := rand.New(rand.NewSource(seed))
		fc := nntest.RandomFC(rng, nntest.Options{Padded: true, Residual: true})
		res, err := convert.Convert(fc)
		require.NoError(t, err, "seed %d", seed)
		byName := map[string]nn.Layer{}
		for _, l := range fc.Layers {
			byName[l.Name()] = l
		}
		for _, l := range res.Network.Layers {
			block, ok := l.(*nn.Residual)
			if !ok {
				continue
			}
			src := byName[block.Name()].(*nn.Residual)
			before, after := kinds(src.Sublayers()), kinds(block.Sublayers())
			assert.Equal(t, before[nn.KindConv2D], after[nn.KindConv2D], "seed %d", seed)
			assert.Zero(t, after[nn.KindBatchNorm], "seed %d: a batch norm left in %q", seed, block.Name())
			folded += before[nn.KindBatchNorm]
		}
		win := fc.Input.Window()
		x := nntest.Input(rng, win)
		want, _, err := nn.NewEngine(fc).Forward(x, win)
		require.NoError(t, err)
		got, _, err := nn.NewEngine(res.Network).Forward(x, win)
		require.NoError(t, err)
		assert.LessOrEqual(t, nntest.MaxAbsDiff(got, want), tol, "seed %d", seed)
	}
	assert.Positive(t, folded, "no block held a batch norm")
}

func kinds(ls []nn.Layer) map[nn.Kind]int {
	m := map[nn.Kind]int{}
	for _, l := range ls {
		m[l.Kind()]++
	}
	return m
}
