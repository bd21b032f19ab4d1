package nn_test

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/fc2conv/fc2conv/nn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// avgNet is a fully convolutional network of one padded 3×3 average pool,
// stride 2, over a 2-channel map: the 2×2 window gives 1×1, a 4×4 input 2×2.
func avgNet(countIncludePad bool) *nn.Network {
	return &nn.Network{
		Input: nn.InputSpec{Channels: 2, Height: 2, Width: 2, Mean: []float32{0, 0}, Std: []float32{1, 1}},
		Layers: []nn.Layer{
			nn.NewAvgPool2D("pool", nn.Pair{H: 3, W: 3}, nn.Pair{H: 2, W: 2}, nn.Pair{H: 1, W: 1}, countIncludePad),
		},
	}
}

// Both divisor rules on a 4×4 input worked out by hand. Channel 0 holds
// 1..16 row by row, channel 1 is all 9s:
//
//	 1  2  3  4
//	 5  6  7  8
//	 9 10 11 12
//	13 14 15 16
//
// Output cell (i,j) reads rows 2i−1..2i+1 and columns 2j−1..2j+1; row and
// column −1 are padding. In-bounds cells and their sums:
//
//	(0,0): rows 0–1 × cols 0–1, 4 cells: 1+2+5+6 = 14;        channel 1: 36
//	(0,1): rows 0–1 × cols 1–3, 6 cells: 2+3+4+6+7+8 = 30;    channel 1: 54
//	(1,0): rows 1–3 × cols 0–1, 6 cells: 5+6+9+10+13+14 = 57; channel 1: 54
//	(1,1): rows 1–3 × cols 1–3, 9 cells: 6+7+8+10+11+12+14+15+16 = 99; channel 1: 81
//
// Counting the pads divides by 9 everywhere; not counting them divides by
// the in-bounds count, so an all-9 map stays 9.
func TestAvgPoolHandComputed(t *testing.T) {
	in := []float32{
		1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
		9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9,
	}
	s := nn.Shape{C: 2, H: 4, W: 4}
	for _, tc := range []struct {
		include bool
		want    []float32
	}{
		// 14/9, 30/9, 57/9, 99/9 | 36/9, 54/9, 54/9, 81/9
		{true, []float32{14.0 / 9, 30.0 / 9, 57.0 / 9, 11, 4, 6, 6, 9}},
		// 14/4, 30/6, 57/6, 99/9 | 36/4, 54/6, 54/6, 81/9
		{false, []float32{3.5, 5, 9.5, 11, 9, 9, 9, 9}},
	} {
		net := avgNet(tc.include)
		require.NoError(t, net.Validate())
		out, os, err := nn.NewEngine(net).Forward(in, s)
		require.NoError(t, err)
		assert.Equal(t, nn.Shape{C: 2, H: 2, W: 2}, os)
		assert.InDeltaSlice(t, tc.want, out, 1e-6, "count_include_pad=%v", tc.include)
	}
}

// Saving and loading keeps the kind and every field of the configuration,
// for both divisor rules.
func TestAvgPoolRoundTrip(t *testing.T) {
	net := &nn.Network{
		Input: nn.InputSpec{Channels: 1, Height: 7, Width: 6, Mean: []float32{0.5}, Std: []float32{2}},
		Layers: []nn.Layer{
			nn.NewAvgPool2D("a", nn.Pair{H: 3, W: 2}, nn.Pair{H: 2, W: 1}, nn.Pair{H: 1, W: 1}, false), // 1×4×7
			nn.NewAvgPool2D("b", nn.Pair{H: 4, W: 7}, nn.Pair{H: 1, W: 3}, nn.Pair{}, true),            // 1×1×1
		},
	}
	require.NoError(t, net.Validate())
	path := filepath.Join(t.TempDir(), "avg.safetensors")
	require.NoError(t, net.Save(path))
	got, err := nn.Load(path)
	require.NoError(t, err)
	require.Len(t, got.Layers, 2)
	for i, l := range net.Layers {
		assert.Equal(t, nn.KindAvgPool2D, got.Layers[i].Kind())
		require.IsType(t, &nn.AvgPool2D{}, got.Layers[i])
		assert.Equal(t, *l.(*nn.AvgPool2D), *got.Layers[i].(*nn.AvgPool2D), "layer %d", i)
	}
}

// The entries that gen.py writes for PyTorch's AvgPool2d decode to the
// configuration it was built with (pool1 counts pads, pool2 does not).
func TestAvgPoolFromPyTorchFile(t *testing.T) {
	net, err := nn.Load(filepath.Join("..", "testdata", "torch", "avgpool_padded.safetensors"))
	require.NoError(t, err)
	pools := map[string]nn.AvgPool2D{}
	for _, l := range net.Layers {
		if p, ok := l.(*nn.AvgPool2D); ok {
			pools[p.Name()] = *p
		}
	}
	p := func(h, w int) nn.Pair { return nn.Pair{H: h, W: w} }
	assert.Equal(t, map[string]nn.AvgPool2D{
		"pool1": *nn.NewAvgPool2D("pool1", p(3, 3), p(2, 2), p(1, 1), true),
		"pool2": *nn.NewAvgPool2D("pool2", p(3, 2), p(2, 1), p(1, 1), false),
	}, pools)
}

// Configurations without a meaning are refused, whether built in Go or
// read from a file, with ErrInvalid and the layer's name.
func TestAvgPoolBadConfig(t *testing.T) {
	p := func(h, w int) nn.Pair { return nn.Pair{H: h, W: w} }
	for _, tc := range []struct {
		what string
		pool *nn.AvgPool2D
		edit func(l map[string]any)
		msg  string
	}{
		{"padding over half the kernel", nn.NewAvgPool2D("wide", p(3, 3), p(1, 1), p(1, 2), true),
			func(l map[string]any) { l["padding"] = []int{1, 2} }, "exceeds half the kernel"},
		{"zero stride", nn.NewAvgPool2D("still", p(3, 3), p(0, 1), p(1, 1), false),
			func(l map[string]any) { l["stride"] = []int{0, 1} }, "stride"},
	} {
		t.Run(tc.what, func(t *testing.T) {
			name := tc.pool.Name()
			net := avgNet(true)
			net.Layers[0] = tc.pool
			err := net.Validate()
			require.Error(t, err)
			assert.True(t, errors.Is(err, nn.ErrInvalid), "%v", err)
			assert.ErrorContains(t, err, `avgpool2d "`+name+`"`)
			assert.ErrorContains(t, err, tc.msg)
			_, err = net.Marshal()
			assert.ErrorIs(t, err, nn.ErrInvalid, "saved an invalid layer")

			good := avgNet(true)
			good.Layers[0] = nn.NewAvgPool2D(name, p(3, 3), p(2, 2), p(1, 1), true)
			_, err = nn.Unmarshal(editLayer(t, marshal(t, good), name, tc.edit))
			require.Error(t, err)
			assert.True(t, errors.Is(err, nn.ErrInvalid), "%v", err)
			assert.ErrorContains(t, err, `avgpool2d "`+name+`"`)
			assert.ErrorContains(t, err, tc.msg)
		})
	}
}
