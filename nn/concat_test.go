package nn_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fc2conv/fc2conv/nn"
)

// An identity path is copied, in order: the input's channels come where
// the path stands.
func TestConcatStacksInOrder(t *testing.T) {
	one := nn.Pair{H: 1, W: 1}
	double := nn.NewConv2D("double", 1, 1, one, one, nn.Pair{})
	double.Weight.Data[0] = 2
	neg := nn.NewConv2D("neg", 1, 2, one, one, nn.Pair{})
	neg.Weight.Data[0], neg.Weight.Data[1], neg.Bias.Data[1] = -1, 1, 10
	block := nn.NewConcat("mixed", []nn.Layer{double}, nil, []nn.Layer{nn.NewReLU("r"), neg})
	net := &nn.Network{Layers: []nn.Layer{block}}
	x := []float32{-3, 4}
	got, s, err := nn.NewEngine(net).Forward(x, nn.Shape{C: 1, H: 1, W: 2})
	require.NoError(t, err)
	assert.Equal(t, nn.Shape{C: 4, H: 1, W: 2}, s)
	// 2x; x; −relu(x); relu(x) + 10
	assert.Equal(t, []float32{-6, 8, -3, 4, 0, -4, 10, 14}, got)
	assert.Equal(t, []float32{-3, 4}, x, "the input is read, not written")
}

// The block's field spans its widest path's; the stride is the paths'.
func TestConcatGeometry(t *testing.T) {
	one, three, five := nn.Pair{H: 1, W: 1}, nn.Pair{H: 3, W: 3}, nn.Pair{H: 5, W: 5}
	block := nn.NewConcat("m",
		[]nn.Layer{nn.NewConv2D("a", 1, 2, one, one, nn.Pair{})},
		[]nn.Layer{nn.NewConv2D("b", 1, 2, five, one, nn.Pair{H: 2, W: 2})},
		[]nn.Layer{nn.NewMaxPool2D("p", three, one, one)})
	net := &nn.Network{
		Input:  nn.InputSpec{Channels: 1, Height: 6, Width: 6, Mean: []float32{0}, Std: []float32{1}},
		Layers: []nn.Layer{block, nn.NewConv2D("c", 5, 2, nn.Pair{H: 6, W: 6}, one, nn.Pair{})},
	}
	require.NoError(t, net.Validate())
	g, err := net.Geometry()
	require.NoError(t, err)
	assert.Equal(t, nn.Pair{H: 1, W: 1}, g.Stride)
	assert.Equal(t, nn.Pair{H: 2, W: 2}, g.Reach)   // the 5×5 path's padding
	assert.Equal(t, nn.Pair{H: 10, W: 10}, g.Field) // 5, then the 6×6 after the block
	assert.True(t, g.Padded)
}

func TestConcatRefused(t *testing.T) {
	one, two := nn.Pair{H: 1, W: 1}, nn.Pair{H: 2, W: 2}
	conv := func(name string, stride nn.Pair) nn.Layer {
		return nn.NewConv2D(name, 1, 1, one, stride, nn.Pair{})
	}
	spec := nn.InputSpec{Channels: 1, Height: 4, Width: 4, Mean: []float32{0}, Std: []float32{1}}
	for _, c := range []struct {
		block nn.Layer
		want  string
	}{
		{nn.NewConcat("m", []nn.Layer{conv("c", one)}), "1 paths, want 2 to 64"},
		{nn.NewConcat("m", []nn.Layer{conv("c", two)}, []nn.Layer{conv("d", one)}), "path 0's stride 2×2 differs from another path's 1×1"},
		{nn.NewConcat("m", nil, []nn.Layer{nn.NewConv2D("c", 1, 1, two, one, nn.Pair{})}), "on 1×4×4 path 0 gives 4×4 and path 1 3×3"},
		{nn.NewConcat("m", nil, []nn.Layer{conv("c", one), nn.NewFlatten("g", nn.FlattenCHW)}), `flatten "g" inside a block`},
		{nn.NewConcat("m", nil, []nn.Layer{conv("m", one)}), `name "m" is empty or repeated`},
	} {
		net := &nn.Network{Input: spec, Layers: []nn.Layer{c.block, nn.NewConv2D("head", 2, 1, nn.Pair{H: 4, W: 4}, one, nn.Pair{})}}
		assert.ErrorContains(t, net.Validate(), c.want)
	}
	// Concatenations and residual blocks nested past MaxNesting, together.
	var l nn.Layer = conv("c", one)
	for i := range nn.MaxNesting + 1 {
		name := fmt.Sprintf("b%d", i)
		if i%2 == 0 {
			l = nn.NewConcat(name, []nn.Layer{l}, nil)
		} else {
			l = nn.NewResidual(name, []nn.Layer{l}, nil)
		}
	}
	net := &nn.Network{Input: spec, Layers: []nn.Layer{l}}
	assert.ErrorContains(t, net.Validate(), "nested 9 deep, at most 8")
}

// A model file with more paths than MaxPaths is refused before they are
// decoded.
func TestConcatTooManyPathsRefused(t *testing.T) {
	one := nn.Pair{H: 1, W: 1}
	net := &nn.Network{
		Input: nn.InputSpec{Channels: 1, Height: 2, Width: 2, Mean: []float32{0}, Std: []float32{1}},
		Layers: []nn.Layer{
			nn.NewConcat("m", nil, []nn.Layer{nn.NewConv2D("c", 1, 1, one, one, nn.Pair{})}),
			nn.NewConv2D("head", 2, 2, nn.Pair{H: 2, W: 2}, one, nn.Pair{}),
		},
	}
	good, err := net.Marshal()
	require.NoError(t, err)
	_, err = nn.Unmarshal(good)
	require.NoError(t, err)
	many := editLayer(t, good, "m", func(l map[string]any) {
		paths := l["branches"].([]any)
		for len(paths) <= nn.MaxPaths {
			paths = append(paths, []any{})
		}
		l["branches"] = paths
	})
	_, err = nn.Unmarshal(many)
	assert.ErrorContains(t, err, `concat "m": 65 paths, at most 64`)
}

// Profile times a block's paths step by step, nested blocks too, within
// the block's own time.
func TestProfileTimesPaths(t *testing.T) {
	one, three := nn.Pair{H: 1, W: 1}, nn.Pair{H: 3, W: 3}
	inner := nn.NewResidual("inner", []nn.Layer{nn.NewConv2D("ic", 2, 2, three, one, one)}, nil)
	block := nn.NewConcat("mixed",
		[]nn.Layer{nn.NewConv2D("a", 2, 3, one, one, nn.Pair{}), nn.NewReLU("ar")},
		nil,
		[]nn.Layer{inner, nn.NewReLU("ir"), nn.NewConv2D("b", 2, 1, three, one, one)})
	net := &nn.Network{Layers: []nn.Layer{nn.NewConv2D("stem", 1, 2, three, one, one), block}}
	s := nn.Shape{C: 1, H: 40, W: 50}
	costs, err := nn.NewEngine(net).Profile(make([]float32, s.Size()), s)
	require.NoError(t, err)
	require.Len(t, costs, 2)
	assert.Nil(t, costs[0].Paths, "a conv has no paths")
	paths := costs[1].Paths
	require.Len(t, paths, 3)
	require.Len(t, paths[0], 1, "the 1×1 conv with its ReLU fused")
	assert.Equal(t, "a", paths[0][0].Layer.Name())
	assert.Equal(t, "ar", paths[0][0].Fused[0].Name())
	assert.Equal(t, int64(2*2*3*40*50), paths[0][0].FLOPs)
	assert.Empty(t, paths[1], "the identity")
	require.Len(t, paths[2], 2, "the block with its ReLU, then the conv")
	assert.Equal(t, "inner", paths[2][0].Layer.Name())
	require.Len(t, paths[2][0].Paths, 2)
	assert.Equal(t, "ic", paths[2][0].Paths[0][0].Layer.Name())
	var sum time.Duration
	for _, p := range paths {
		for _, c := range p {
			assert.Positive(t, c.Time, c.Layer.Name())
			sum += c.Time
		}
	}
	assert.LessOrEqual(t, sum, costs[1].Time)
}
