package graph_test

import (
	"fmt"
	"math/rand"
	"path/filepath"
	"testing"

	"github.com/fc2conv/fc2conv/convert"
	"github.com/fc2conv/fc2conv/graph"
	"github.com/fc2conv/fc2conv/nn"
	"github.com/fc2conv/fc2conv/nn/nntest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// avgStack is a classifier whose conv stack has two average pools: a
// multi-channel map, non-square kernels and strides, so that the graph's
// im2col layout (channels × kernel cells) is exercised.
func avgStack(seed int64, first, second *nn.AvgPool2D) *nn.Network {
	net := &nn.Network{
		Input: nn.InputSpec{Channels: 2, Height: 13, Width: 11, Mean: []float32{0, 0}, Std: []float32{1, 1}},
		Layers: []nn.Layer{
			nn.NewConv2D("conv1", 2, 3, nn.Pair{H: 3, W: 2}, nn.Pair{H: 1, W: 1}, nn.Pair{H: 1, W: 0}),
			nn.NewReLU("relu1"),
			first,
			nn.NewConv2D("conv2", 3, 4, nn.Pair{H: 2, W: 2}, nn.Pair{H: 1, W: 1}, nn.Pair{}),
			second,
			nn.NewFlatten("flatten", nn.FlattenCHW),
		},
	}
	shapes, err := net.Shapes(net.Input.Window())
	if err != nil {
		panic(err) // a bug in the configurations below
	}
	net.Layers = append(net.Layers, nn.NewDense("fc", shapes[len(shapes)-1].Size(), 3), nn.NewSoftmax("softmax"))
	nntest.Randomize(net, rand.New(rand.NewSource(seed)))
	return net
}

// The engine and the gorgonia graph agree on average pools without
// padding, with padding counted in the divisor or not, and in ceil mode
// with padding that differs before and after the map, in FC form on the
// window and in converted form on larger inputs.
func TestEngineMatchesGraphAvgPool(t *testing.T) {
	p := func(h, w int) nn.Pair { return nn.Pair{H: h, W: w} }
	cases := []struct{ first, second *nn.AvgPool2D }{
		{nn.NewAvgPool2D("pool1", p(2, 2), p(2, 2), p(0, 0), false), nn.NewAvgPool2D("pool2", p(3, 2), p(1, 2), p(0, 0), true)},
		{nn.NewAvgPool2D("pool1", p(3, 3), p(2, 2), p(1, 1), true), nn.NewAvgPool2D("pool2", p(2, 3), p(1, 1), p(1, 1), true)},
		{nn.NewAvgPool2D("pool1", p(3, 2), p(2, 1), p(1, 0), true), nn.NewAvgPool2D("pool2", p(2, 2), p(1, 1), p(0, 0), false)},
		// Padding left out of the divisor (ONNX's default).
		{nn.NewAvgPool2D("pool1", p(2, 2), p(2, 2), p(0, 0), true), nn.NewAvgPool2D("edges", p(3, 3), p(1, 1), p(1, 0), false)},
		// Ceil mode and padding that differs before and after, both divisor rules.
		{ceilAvg("pool1", p(3, 3), p(2, 2), p(1, 0), p(0, 1), true), ceilAvg("pool2", p(2, 3), p(2, 2), p(0, 1), p(1, 0), false)},
		{ceilAvg("pool1", p(2, 2), p(2, 2), p(0, 0), p(0, 0), true), ceilAvg("pool2", p(3, 2), p(2, 2), p(1, 1), p(1, 1), true)},
	}
	for i, tc := range cases {
		t.Run(fmt.Sprintf("%v, %v", tc.first, tc.second), func(t *testing.T) {
			fc := avgStack(int64(i), tc.first, tc.second)
			require.NoError(t, fc.Validate())
			rng := rand.New(rand.NewSource(int64(100 + i)))
			win := fc.Input.Window()
			x := nntest.Input(rng, win)
			got, _, err := nn.NewEngine(fc).Forward(x, win)
			require.NoError(t, err)
			want, err := graph.Forward(fc, x, win)
			require.NoError(t, err)
			assert.LessOrEqual(t, nntest.MaxAbsDiff(got, want), 1e-5, "FC form on the window")

			res, err := convert.Convert(fc)
			require.NoError(t, err)
			big := nn.Shape{C: win.C, H: win.H + 9, W: win.W + 6}
			x = nntest.Input(rng, big)
			got, gs, err := nn.NewEngine(res.Network).Forward(x, big)
			require.NoError(t, err)
			require.Greater(t, gs.H*gs.W, 1, "the large input must give a map, not one cell")
			want, err = graph.Forward(res.Network, x, big)
			require.NoError(t, err)
			assert.LessOrEqual(t, nntest.MaxAbsDiff(got, want), convert.Tolerance, "converted form on %v", big)
		})
	}
}

// ceilAvg is a ceil-mode average pool padded begin before and end after
// the map.
func ceilAvg(name string, kernel, stride, begin, end nn.Pair, countPad bool) *nn.AvgPool2D {
	l := nn.NewAvgPool2D(name, kernel, stride, begin, countPad)
	l.PaddingEnd, l.CeilMode = &end, true
	return l
}

// The graph reproduces PyTorch itself on the equivalence suite's fixtures
// with average pools, ceil-mode pools and asymmetric padding, independently
// of the engine: both divisor rules, in FC form and converted.
func TestGraphMatchesPyTorch(t *testing.T) {
	for _, name := range []string{"avgpool_unpadded", "avgpool_padded", "asym_pad", "ceil_maxpool", "ceil_avgpool", "grown_mixed"} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join("..", "testdata", "torch")
			fc, err := nn.Load(filepath.Join(dir, name+".safetensors"))
			require.NoError(t, err)
			golden, err := nn.ReadTensors(filepath.Join(dir, name+".golden.safetensors"))
			require.NoError(t, err)
			res, err := convert.Convert(fc)
			require.NoError(t, err)
			for _, c := range []struct {
				net     *nn.Network
				in, out string
			}{{fc, "window_input", "window_output"}, {res.Network, "large_input", "large_output"}} {
				in := golden[c.in]
				require.Len(t, in.Shape, 3)
				got, err := graph.Forward(c.net, in.Data, nn.Shape{C: in.Shape[0], H: in.Shape[1], W: in.Shape[2]})
				require.NoError(t, err)
				assert.LessOrEqual(t, nntest.MaxAbsDiff(got, golden[c.out].Data), convert.Tolerance, "graph vs PyTorch %s", c.out)
			}
		})
	}
}
