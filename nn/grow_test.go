package nn_test

import (
	"encoding/json"
	"math/rand"
	"os"
	"path/filepath"
	"testing"

	"github.com/fc2conv/fc2conv/nn"
	"github.com/fc2conv/fc2conv/nn/kernels"
	"github.com/fc2conv/fc2conv/nn/nntest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Tests of asymmetric padding (padding_end) and ceil-mode pools.

func pr(h, w int) nn.Pair { return nn.Pair{H: h, W: w} }

func endPad(h, w int) *nn.Pair { return &nn.Pair{H: h, W: w} }

func ceilMax(name string, k, s, p nn.Pair, end *nn.Pair) *nn.MaxPool2D {
	l := nn.NewMaxPool2D(name, k, s, p)
	l.PaddingEnd, l.CeilMode = end, true
	return l
}

func ceilAvg(name string, k, s, p nn.Pair, end *nn.Pair, countPad bool) *nn.AvgPool2D {
	l := nn.NewAvgPool2D(name, k, s, p, countPad)
	l.PaddingEnd, l.CeilMode = end, true
	return l
}

func asymConv(name string, inC, outC int, k, s, p nn.Pair, end *nn.Pair) *nn.Conv2D {
	l := nn.NewConv2D(name, inC, outC, k, s, p)
	l.PaddingEnd = end
	return l
}

// Output widths worked out by hand (the pool ones as PyTorch 1.13 gives
// them for the same settings).
func TestGrownShapes(t *testing.T) {
	row := func(w int) nn.Shape { return nn.Shape{C: 2, H: 1, W: w} }
	cases := []struct {
		name string
		l    nn.Layer
		in   int
		want int
	}{
		{"5 wide, kernel 2 stride 2, floor", nn.NewMaxPool2D("p", pr(1, 2), pr(1, 2), pr(0, 0)), 5, 2},
		{"5 wide, kernel 2 stride 2, ceil: a last half window", ceilMax("p", pr(1, 2), pr(1, 2), pr(0, 0), nil), 5, 3},
		{"4 wide, kernel 2 stride 2, ceil: tiles exactly", ceilMax("p", pr(1, 2), pr(1, 2), pr(0, 0), nil), 4, 2},
		// Padded 1 on both sides the ceil count would be 4, but the 4th
		// window would start in the trailing padding: PyTorch drops it.
		{"5 wide, kernel 2 stride 2 pad 1, ceil", ceilMax("p", pr(1, 2), pr(1, 2), pr(0, 1), nil), 5, 3},
		{"6 wide, kernel 3 stride 2 pad 1, ceil", ceilAvg("p", pr(1, 3), pr(1, 2), pr(0, 1), nil, true), 6, 4},
		{"6 wide, kernel 3 stride 2 pad 1, floor", nn.NewAvgPool2D("p", pr(1, 3), pr(1, 2), pr(0, 1), true), 6, 3},
		{"5 wide, kernel 3 stride 2 pad 1 then 0, ceil", ceilAvg("p", pr(1, 3), pr(1, 2), pr(0, 1), endPad(0, 0), false), 5, 3},
		{"conv 5 wide, kernel 3, pad 0 then 2", asymConv("c", 2, 2, pr(1, 3), pr(1, 1), pr(0, 0), endPad(0, 2)), 5, 5},
		{"conv 5 wide, kernel 3 stride 2, pad 1 then 0", asymConv("c", 2, 2, pr(1, 3), pr(1, 2), pr(0, 1), endPad(0, 0)), 5, 2},
		{"conv 5 wide, kernel 3 stride 2, pad 1 then 2", asymConv("c", 2, 2, pr(1, 3), pr(1, 2), pr(0, 1), endPad(0, 2)), 5, 3},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, err := c.l.OutShape(row(c.in))
			require.NoError(t, err)
			assert.Equal(t, nn.Shape{C: 2, H: 1, W: c.want}, out)
		})
	}
	// The end padding can make room for a window the input alone cannot.
	_, err := nn.NewConv2D("c", 1, 1, pr(1, 4), pr(1, 1), pr(0, 0)).OutShape(row(3))
	assert.Error(t, err)
	conv := asymConv("c", 2, 1, pr(1, 4), pr(1, 1), pr(0, 0), endPad(0, 1))
	out, err := conv.OutShape(row(3))
	require.NoError(t, err)
	assert.Equal(t, nn.Shape{C: 1, H: 1, W: 1}, out)
}

// gemms are the engine's numeric kernels: the packed GEMM unfolds a
// convolution's input itself, the others read an explicit im2col band.
var gemms = map[string]kernels.Kernels{"reference": kernels.Reference{}, "gonum": kernels.Gonum{}, "packed": kernels.Packed{}}

// runLayer runs one layer through the engine on a 1×1×W row with each set
// of kernels (not a classifier, so not a valid Network; the engine only
// needs its shapes) and checks the output.
func runLayer(t *testing.T, l nn.Layer, row, want []float32) {
	t.Helper()
	net := &nn.Network{Input: nn.InputSpec{Channels: 1, Height: 1, Width: len(row), Mean: []float32{0}, Std: []float32{1}}, Layers: []nn.Layer{l}}
	for name, k := range gemms {
		out, _, err := nn.NewEngineWith(net, k).Forward(row, nn.Shape{C: 1, H: 1, W: len(row)})
		require.NoError(t, err)
		assert.Equal(t, want, out, name)
	}
}

// Outputs worked out by hand; the average pools' divisors follow PyTorch
// (checked with torch 1.13 on the symmetric ones): counting pads, the
// window clipped to the padded map, never the ceil-mode overhang.
func TestGrownEngineByHand(t *testing.T) {
	five := []float32{1, 2, 3, 4, 5}
	six := []float32{1, 2, 3, 4, 5, 6}
	ones := func(l *nn.Conv2D) *nn.Conv2D {
		for i := range l.Weight.Data {
			l.Weight.Data[i] = 1
		}
		return l
	}
	cases := []struct {
		name string
		l    nn.Layer
		in   []float32
		want []float32
	}{
		{"max, ceil: the half window takes what it has", ceilMax("p", pr(1, 2), pr(1, 2), pr(0, 0), nil), []float32{1, -2, 3, -4, -5}, []float32{1, 3, -5}},
		{"max, ceil, padded: padding never wins", ceilMax("p", pr(1, 2), pr(1, 2), pr(0, 1), nil), []float32{-1, -2, -3, -4, -5}, []float32{-1, -2, -4}},
		{"avg, ceil, pads counted", ceilAvg("p", pr(1, 3), pr(1, 2), pr(0, 1), nil, true), six, []float32{1, 3, 5, 3}},
		{"avg, ceil, pads not counted", ceilAvg("p", pr(1, 3), pr(1, 2), pr(0, 1), nil, false), six, []float32{1.5, 3, 5, 6}},
		{"avg, ceil, pad 1 then 0, pads counted", ceilAvg("p", pr(1, 3), pr(1, 2), pr(0, 1), endPad(0, 0), true), five, []float32{1, 3, 4.5}},
		{"avg, ceil, pad 1 then 0, pads not counted", ceilAvg("p", pr(1, 3), pr(1, 2), pr(0, 1), endPad(0, 0), false), five, []float32{1.5, 3, 4.5}},
		{"avg, floor, pad 0 then 1, pads counted", func() nn.Layer {
			l := nn.NewAvgPool2D("p", pr(1, 2), pr(1, 2), pr(0, 0), true)
			l.PaddingEnd = endPad(0, 1)
			return l
		}(), five, []float32{1.5, 3.5, 2.5}},
		{"conv, pad 0 then 1", ones(asymConv("c", 1, 1, pr(1, 2), pr(1, 1), pr(0, 0), endPad(0, 1))), five, []float32{3, 5, 7, 9, 5}},
		{"conv, pad 1 then 0", ones(asymConv("c", 1, 1, pr(1, 2), pr(1, 1), pr(0, 1), endPad(0, 0))), five, []float32{1, 3, 5, 7, 9}},
		{"conv, stride 2, pad 2 then 1", ones(asymConv("c", 1, 1, pr(1, 3), pr(1, 2), pr(0, 2), endPad(0, 1))), five, []float32{1, 6, 12}},
		{"1×1 conv, pad 0 then 1: not the pointwise shortcut", ones(asymConv("c", 1, 1, pr(1, 1), pr(1, 1), pr(0, 0), endPad(0, 1))), five, []float32{1, 2, 3, 4, 5, 0}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			runLayer(t, c.l, c.in, c.want)
		})
	}
}

// Every set of kernels gives the same on random networks with asymmetric
// padding, ceil-mode and average pools.
func TestGrownKernelsAgree(t *testing.T) {
	for seed := int64(0); seed < 20; seed++ {
		rng := rand.New(rand.NewSource(seed))
		net := nntest.RandomFC(rng, nntest.Options{Padded: true, Grown: true})
		win := net.Input.Window()
		x := nntest.Input(rng, win)
		want, _, err := nn.NewEngineWith(net, kernels.Reference{}).Forward(x, win)
		require.NoError(t, err)
		for name, k := range gemms {
			got, _, err := nn.NewEngineWith(net, k).Forward(x, win)
			require.NoError(t, err)
			assert.LessOrEqual(t, nntest.MaxAbsDiff(got, want), 1e-5, "seed %d, %s", seed, name)
		}
	}
}

// A ceil-mode or asymmetrically padded max-pool after a conv and ReLU is
// not fused into the convolution (whose fused pool tiles the map in floor
// mode); a plain one still is, and both give the layer-by-layer result.
func TestGrownPoolNotFused(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	for _, c := range []struct {
		pool  *nn.MaxPool2D
		fused bool
	}{
		{nn.NewMaxPool2D("pool", pr(2, 2), pr(2, 2), pr(0, 0)), true},
		{ceilMax("pool", pr(2, 2), pr(2, 2), pr(0, 0), nil), false},
		{ceilMax("pool", pr(2, 2), pr(2, 2), pr(0, 0), endPad(0, 0)), false},
		{func() *nn.MaxPool2D {
			l := nn.NewMaxPool2D("pool", pr(2, 2), pr(2, 2), pr(0, 0))
			l.PaddingEnd = endPad(1, 0)
			return l
		}(), false},
	} {
		net := &nn.Network{Input: nn.InputSpec{Channels: 1, Height: 9, Width: 7, Mean: []float32{0}, Std: []float32{1}},
			Layers: []nn.Layer{nn.NewConv2D("conv", 1, 3, pr(3, 3), pr(1, 1), pr(1, 1)), nn.NewReLU("relu"), c.pool}}
		nntest.Randomize(net, rng)
		win := net.Input.Window()
		x := nntest.Input(rng, win)
		costs, err := nn.NewEngine(net).Profile(x, win)
		require.NoError(t, err)
		assert.Equal(t, c.fused, len(costs) == 1, "%v fused", c.pool)
		got, gs, err := nn.NewEngine(net).Forward(x, win)
		require.NoError(t, err)
		// Layer by layer: each layer its own network.
		y, s := x, win
		for _, l := range net.Layers {
			step := &nn.Network{Input: nn.InputSpec{Channels: s.C, Height: s.H, Width: s.W, Mean: make([]float32, s.C), Std: nntest.Ones(s.C)}, Layers: []nn.Layer{l}}
			y, s, err = nn.NewEngine(step).Forward(y, s)
			require.NoError(t, err)
		}
		assert.Equal(t, s, gs)
		assert.Equal(t, y, got, "%v", c.pool)
	}
}

// grownNet has every new setting: an asymmetrically padded conv, a
// ceil-mode max-pool padded on one side and a ceil-mode average pool.
func grownNet() *nn.Network {
	net := &nn.Network{
		Input: nn.InputSpec{Channels: 2, Height: 11, Width: 9, Mean: []float32{0.5, 0.5}, Std: []float32{0.25, 0.25}},
		Layers: []nn.Layer{
			asymConv("conv1", 2, 3, pr(3, 3), pr(1, 1), pr(0, 1), endPad(2, 0)), // 3×11×8
			nn.NewReLU("relu1"),
			ceilMax("pool1", pr(2, 2), pr(2, 2), pr(1, 0), endPad(0, 1)), // 3×6×4: a 5th column would start in the end padding
			ceilAvg("pool2", pr(2, 3), pr(2, 2), pr(1, 1), nil, false),   // 3×4×3
			nn.NewFlatten("flat", nn.FlattenCHW),
			nn.NewDense("fc", 36, 2),
			nn.NewSoftmax("softmax"),
		},
	}
	nntest.Randomize(net, rand.New(rand.NewSource(5)))
	return net
}

// A model file with the new fields round-trips, and the fields appear in
// its architecture under their documented names.
func TestGrownModelFileRoundTrip(t *testing.T) {
	net := grownNet()
	require.NoError(t, net.Validate())
	b, err := net.Marshal()
	require.NoError(t, err)
	got, err := nn.Unmarshal(b)
	require.NoError(t, err)
	assertSameNetwork(t, net, got, rand.New(rand.NewSource(1)))
	again, err := got.Marshal()
	require.NoError(t, err)
	assert.Equal(t, b, again)

	layers := archLayers(t, b)
	assert.Equal(t, []any{float64(2), float64(0)}, layers[0]["padding_end"])
	assert.Equal(t, []any{float64(0), float64(1)}, layers[2]["padding_end"])
	assert.Equal(t, true, layers[2]["ceil_mode"])
	assert.NotContains(t, layers[3], "padding_end", "symmetric padding is written as before")
	assert.Equal(t, true, layers[3]["ceil_mode"])
	for i, l := range got.Layers {
		assert.True(t, nn.SameConfig(l, net.Layers[i]), "layer %d", i)
	}
	// Configurations differing only in the new fields differ.
	assert.False(t, nn.SameConfig(nn.NewMaxPool2D("a", pr(2, 2), pr(2, 2), pr(0, 0)), ceilMax("b", pr(2, 2), pr(2, 2), pr(0, 0), nil)))
	assert.False(t, nn.SameConfig(nn.NewConv2D("a", 1, 1, pr(2, 2), pr(1, 1), pr(0, 0)), asymConv("b", 1, 1, pr(2, 2), pr(1, 1), pr(0, 0), endPad(1, 0))))
	c := nn.CloneLayer(net.Layers[2]).(*nn.MaxPool2D)
	assert.Equal(t, endPad(0, 1), c.PaddingEnd)
	assert.True(t, c.CeilMode)
}

func archLayers(t *testing.T, b []byte) []map[string]any {
	t.Helper()
	f := parseFile(t, b)
	var arch struct {
		Layers []map[string]any `json:"layers"`
	}
	require.NoError(t, json.Unmarshal([]byte(f.meta(t)[nn.MetadataKey].(string)), &arch))
	return arch.Layers
}

// Files written before these fields existed load as before and are written
// back with the same layer entries: no new key appears.
func TestGrownOldFilesUnchanged(t *testing.T) {
	for _, name := range []string{"chw_softmax", "avgpool_padded", "hwc_keras"} {
		path := filepath.Join("..", "testdata", "torch", name+".safetensors")
		net, err := nn.Load(path)
		require.NoError(t, err)
		b, err := os.ReadFile(path)
		require.NoError(t, err)
		again, err := net.Marshal()
		require.NoError(t, err)
		want, got := archLayers(t, b), archLayers(t, again)
		assert.Equal(t, want, got, name)
		for _, l := range net.Layers {
			if w, ok := l.(nn.Windowed); ok {
				win := w.Window()
				assert.Equal(t, win.Padding, win.PaddingEnd, "%s: %s", name, l.Name())
				assert.False(t, win.Ceil, "%s: %s", name, l.Name())
			}
		}
	}
}

// Bad settings are refused naming the layer and the field.
func TestGrownValidation(t *testing.T) {
	net := func(l nn.Layer) *nn.Network {
		return &nn.Network{Input: nn.InputSpec{Channels: 1, Height: 8, Width: 8, Mean: []float32{0}, Std: []float32{1}}, Layers: []nn.Layer{l}}
	}
	cases := []struct {
		l    nn.Layer
		want []string
	}{
		{asymConv("c", 1, 1, pr(3, 3), pr(1, 1), pr(0, 0), endPad(-1, 0)), []string{`conv2d "c"`, "padding_end -1×0 out of range"}},
		{asymConv("c", 1, 1, pr(3, 3), pr(1, 1), pr(0, 0), endPad(0, nn.MaxKernel+1)), []string{`conv2d "c"`, "padding_end"}},
		{ceilMax("mp", pr(2, 2), pr(2, 2), pr(0, 0), endPad(2, 0)), []string{`maxpool2d "mp"`, "padding_end 2×0 exceeds half the kernel 2×2"}},
		{ceilAvg("ap", pr(3, 3), pr(1, 1), pr(0, 0), endPad(0, 2), true), []string{`avgpool2d "ap"`, "padding_end 0×2 exceeds half the kernel 3×3"}},
		{ceilAvg("ap", pr(3, 3), pr(1, 1), pr(2, 0), endPad(0, 0), true), []string{`avgpool2d "ap"`, "padding 2×0 exceeds half the kernel"}},
	}
	for _, c := range cases {
		err := net(c.l).Validate()
		require.Error(t, err, "%v", c.l)
		assert.ErrorIs(t, err, nn.ErrInvalid)
		for _, w := range c.want {
			assert.ErrorContains(t, err, w)
		}
	}

	// In the file: a padding_end of three values, a ceil_mode on a conv.
	good, err := grownNet().Marshal()
	require.NoError(t, err)
	_, err = nn.Unmarshal(editLayer(t, good, "pool1", func(l map[string]any) { l["padding_end"] = []int{1, 0, 1} }))
	assert.ErrorIs(t, err, nn.ErrInvalid)
	assert.ErrorContains(t, err, "padding_end [1 0 1]")
	_, err = nn.Unmarshal(editLayer(t, good, "conv1", func(l map[string]any) { l["ceil_mode"] = true }))
	assert.ErrorIs(t, err, nn.ErrFormat)
	assert.ErrorContains(t, err, `unknown field "ceil_mode"`)
}

// Geometry: only the leading padding reaches back; trailing padding, or a
// ceil-mode pool overhanging on the window, marks the network padded.
func TestGrownGeometry(t *testing.T) {
	in := nn.InputSpec{Channels: 1, Height: 9, Width: 8, Mean: []float32{0}, Std: []float32{1}}
	g, err := (&nn.Network{Input: in, Layers: []nn.Layer{
		asymConv("c1", 1, 1, pr(3, 3), pr(1, 1), pr(0, 0), endPad(2, 2)), // 9×8 → 9×8
		ceilMax("p1", pr(2, 2), pr(2, 2), pr(1, 0), endPad(0, 1)),        // → 5×5 (reach 1 row)
		asymConv("c2", 1, 1, pr(3, 3), pr(1, 1), pr(0, 2), endPad(0, 0)), // reach 2·2 cols
	}}).Geometry()
	require.NoError(t, err)
	assert.Equal(t, pr(1, 4), g.Reach)
	assert.Equal(t, pr(2, 2), g.Stride)
	assert.Equal(t, pr(1+2+1+4, 1+2+1+4), g.Field)
	assert.True(t, g.Padded)

	// Only trailing padding: no reach, but padded.
	g, err = (&nn.Network{Input: in, Layers: []nn.Layer{asymConv("c", 1, 1, pr(3, 3), pr(1, 1), pr(0, 0), endPad(0, 1))}}).Geometry()
	require.NoError(t, err)
	assert.Equal(t, pr(0, 0), g.Reach)
	assert.True(t, g.Padded)

	// Ceil mode: padded when the last window overhangs the 9-row window,
	// not when the windows tile it.
	for _, c := range []struct {
		h      int
		padded bool
	}{{9, true}, {8, false}} {
		in.Height = c.h
		g, err = (&nn.Network{Input: in, Layers: []nn.Layer{ceilMax("p", pr(2, 2), pr(2, 2), pr(0, 0), nil)}}).Geometry()
		require.NoError(t, err)
		assert.Equal(t, c.padded, g.Padded, "height %d", c.h)
		assert.Equal(t, pr(0, 0), g.Reach)
	}
}
