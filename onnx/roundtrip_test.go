package onnx_test

import (
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fc2conv/fc2conv/convert"
	"github.com/fc2conv/fc2conv/nn"
	"github.com/fc2conv/fc2conv/nn/nntest"
	"github.com/fc2conv/fc2conv/onnx"
)

// Export then import gives back a network with the same outputs, for
// random FC networks (both flatten orders, batch norms, padded convs and
// pools, residual blocks, all heads) and their converted forms on inputs larger than the
// window; the spec, labels and threshold travel in metadata_props.
func TestRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	for i := 0; i < 30; i++ {
		fc := nntest.RandomFC(rng, nntest.Options{Padded: i%2 == 0, Grown: i%3 != 0, Residual: i%4 == 0, Concat: i%4 == 1})
		nntest.Randomize(fc, rng)
		fc.Input.Mean[0], fc.Input.Std[0] = 0.25, 0.5
		fc.Threshold = 0.75
		if i%2 == 1 {
			fc.Input.Context = 1.25
			fc.Views, fc.ViewPool = 27, "min"
		}
		res, err := convert.Convert(fc)
		require.NoError(t, err)
		for _, net := range []*nn.Network{fc, res.Network} {
			b, err := onnx.Marshal(net)
			require.NoError(t, err, "net %d", i)
			back, err := onnx.Decode(b, "", onnx.Options{})
			require.NoError(t, err, "net %d", i)
			assert.Equal(t, net.Input, back.Input, "net %d: input spec", i)
			assert.Equal(t, net.Threshold, back.Threshold)
			assert.Equal(t, net.Views, back.Views)
			assert.Equal(t, net.ViewPool, back.ViewPool)
			assert.Equal(t, net.Positive, back.Positive)
			assert.Equal(t, net.IsFullyConvolutional(), back.IsFullyConvolutional())

			in := net.Input.Window()
			if net.IsFullyConvolutional() {
				in.H, in.W = in.H+5, in.W+3
			}
			x := nntest.Input(rng, in)
			want, ws, err := nn.NewEngine(net).Forward(x, in)
			require.NoError(t, err)
			got, gs, err := nn.NewEngine(back).Forward(x, in)
			require.NoError(t, err)
			assert.Equal(t, ws, gs)
			assert.LessOrEqual(t, nntest.MaxAbsDiff(got, want), 1e-6, "net %d", i)
		}
	}
}

// The export of the shipped-style golden model keeps labels and positive.
func TestExportLabels(t *testing.T) {
	fc, err := nn.Load(filepath.Join("..", "testdata", "torch", "chw_softmax.safetensors"))
	require.NoError(t, err)
	out, err := fc.OutShape(fc.Input.Window())
	require.NoError(t, err)
	fc.Labels = make([]string, out.C)
	for i := range fc.Labels {
		fc.Labels[i] = string(rune('a' + i))
	}
	fc.Positive = out.C - 1
	path := filepath.Join(t.TempDir(), "m.onnx")
	require.NoError(t, onnx.Export(fc, path))
	back, err := onnx.Import(path, onnx.Options{})
	require.NoError(t, err)
	assert.Equal(t, fc.Labels, back.Labels)
	assert.Equal(t, fc.Positive, back.Positive)
	// Options win over metadata.
	back, err = onnx.Import(path, onnx.Options{Mean: []float32{0.5}, Std: []float32{0.25}})
	require.NoError(t, err)
	assert.Equal(t, float32(0.5), back.Input.Mean[0])
	assert.Equal(t, float32(0.25), back.Input.Std[len(back.Input.Std)-1])
}

// ReadModel gives the network Import gives and the very bytes of its file.
func TestReadModelBytes(t *testing.T) {
	fc := nntest.RandomFC(rand.New(rand.NewSource(5)), nntest.Options{})
	p := filepath.Join(t.TempDir(), "m.onnx")
	require.NoError(t, onnx.Export(fc, p))
	want, err := os.ReadFile(p)
	require.NoError(t, err)
	got, b, err := onnx.ReadModel(p, onnx.Options{})
	require.NoError(t, err)
	assert.Equal(t, want, b)
	imported, err := onnx.Import(p, onnx.Options{})
	require.NoError(t, err)
	assert.Equal(t, imported, got)
}

// The activations ONNX brings (PRelu shared and per channel, Elu, Tanh,
// SiLU as Sigmoid and Mul) come back from their own export as the same
// layers with the same outputs, in FC form and converted.
func TestRoundTripActivations(t *testing.T) {
	rng := rand.New(rand.NewSource(11))
	fc := &nn.Network{
		Input: nn.InputSpec{Channels: 2, Height: 8, Width: 8, Mean: []float32{0, 0}, Std: []float32{1, 1}},
		Layers: []nn.Layer{
			nn.NewConv2D("conv", 2, 3, nn.Pair{H: 3, W: 3}, nn.Pair{H: 1, W: 1}, nn.Pair{}), nn.NewPReLU("prelu", 3),
			nn.NewSiLU("silu"), nn.NewELU("elu", 0.3), nn.NewPReLU("shared", 1), nn.NewTanh("tanh"),
			nn.NewUnary("gelu", nn.KindGELU), nn.NewUnary("hswish", nn.KindHardSwish), nn.NewUnary("mish", nn.KindMish),
			nn.NewFlatten("flat", nn.FlattenCHW), nn.NewDense("fc", 3*6*6, 4), nn.NewPReLU("prelu2", 4), nn.NewSiLU("silu2"),
			nn.NewUnary("softplus", nn.KindSoftplus), nn.NewDense("out", 4, 2), nn.NewHardSigmoid("hsig", 0.3, 0.4),
		},
	}
	nntest.Randomize(fc, rng)
	res, err := convert.Convert(fc)
	require.NoError(t, err)
	for _, net := range []*nn.Network{fc, res.Network} {
		b, err := onnx.Marshal(net)
		require.NoError(t, err)
		back, err := onnx.Decode(b, "", onnx.Options{})
		require.NoError(t, err)
		var kinds, backKinds []nn.Kind
		for _, l := range net.Layers {
			kinds = append(kinds, l.Kind())
		}
		for _, l := range back.Layers {
			backKinds = append(backKinds, l.Kind())
		}
		assert.Equal(t, kinds, backKinds)
		in := nn.Shape{C: 2, H: 13, W: 11}
		if !net.IsFullyConvolutional() {
			in = net.Input.Window()
		}
		x := nntest.Input(rng, in)
		want, _, err := nn.NewEngine(net).Forward(x, in)
		require.NoError(t, err)
		got, _, err := nn.NewEngine(back).Forward(x, in)
		require.NoError(t, err)
		assert.LessOrEqual(t, nntest.MaxAbsDiff(got, want), 1e-6, "as TestRoundTrip")
	}
}

// Blocks inside blocks come back from their own export nested as they
// were, with the same outputs.
func TestRoundTripNestedResidual(t *testing.T) {
	one, three := nn.Pair{H: 1, W: 1}, nn.Pair{H: 3, W: 3}
	var block nn.Layer = nn.NewConv2D("c0", 2, 2, three, one, one)
	for d := 1; d <= nn.MaxNesting; d++ {
		body := []nn.Layer{nn.NewReLU(fmt.Sprintf("r%d", d)), block}
		var short []nn.Layer
		if d%2 == 0 {
			short = []nn.Layer{nn.NewConv2D(fmt.Sprintf("s%d", d), 2, 2, one, one, nn.Pair{})}
		}
		block = nn.NewResidual(fmt.Sprintf("b%d", d), body, short)
	}
	net := &nn.Network{
		Input:  nn.InputSpec{Channels: 2, Height: 5, Width: 4, Mean: []float32{0, 0}, Std: []float32{1, 1}},
		Layers: []nn.Layer{block, nn.NewFlatten("flat", nn.FlattenCHW), nn.NewDense("fc", 2*5*4, 2)},
	}
	back := roundTrip(t, net, rand.New(rand.NewSource(3)))
	depth := 0
	for l := back.Layers[0]; l != nil; depth++ {
		r, ok := l.(*nn.Residual)
		if !ok {
			break
		}
		l = r.Body[len(r.Body)-1]
	}
	assert.Equal(t, nn.MaxNesting, depth, "blocks nested in the import")
}

// roundTrip randomizes net's weights, exports it and imports it back,
// checks that both give the same outputs on a random window, and
// returns the import.
func roundTrip(t *testing.T, net *nn.Network, rng *rand.Rand) *nn.Network {
	t.Helper()
	nntest.Randomize(net, rng)
	b, err := onnx.Marshal(net)
	require.NoError(t, err)
	back, err := onnx.Decode(b, "", onnx.Options{})
	require.NoError(t, err)
	x := nntest.Input(rng, net.Input.Window())
	want, _, err := nn.NewEngine(net).Forward(x, net.Input.Window())
	require.NoError(t, err)
	got, _, err := nn.NewEngine(back).Forward(x, net.Input.Window())
	require.NoError(t, err)
	assert.LessOrEqual(t, nntest.MaxAbsDiff(got, want), 1e-6)
	return back
}

// A concatenation of MaxPaths paths, one the input itself, comes back
// from its export with its paths in order.
func TestRoundTripWidestConcat(t *testing.T) {
	one := nn.Pair{H: 1, W: 1}
	paths := [][]nn.Layer{nil}
	for i := 1; i < nn.MaxPaths; i++ {
		paths = append(paths, []nn.Layer{nn.NewConv2D(fmt.Sprintf("p%d", i), 1, 1, one, one, nn.Pair{})})
	}
	net := &nn.Network{
		Input:  nn.InputSpec{Channels: 1, Height: 3, Width: 2, Mean: []float32{0}, Std: []float32{1}},
		Layers: []nn.Layer{nn.NewConcat("wide", paths...), nn.NewFlatten("flat", nn.FlattenCHW), nn.NewDense("fc", nn.MaxPaths*3*2, 2)},
	}
	back := roundTrip(t, net, rand.New(rand.NewSource(4)))
	c, ok := back.Layers[0].(*nn.Concat)
	require.True(t, ok, "%T", back.Layers[0])
	require.Len(t, c.Branches, nn.MaxPaths)
	assert.Empty(t, c.Branches[0], "the identity path first")
	assert.Equal(t, "p63", c.Branches[63][0].Name())
}
