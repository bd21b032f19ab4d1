package nn_test

import (
	"fmt"
	"math"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fc2conv/fc2conv/nn"
	"github.com/fc2conv/fc2conv/nn/nntest"
)

// layerByLayer runs layers one at a time, each through an engine of its
// own (so nothing is fused), a residual block as the sum of its two
// branches run the same way, and a concatenation as its paths' outputs
// appended: the engine's block kernels are held to it.
func layerByLayer(t *testing.T, layers []nn.Layer, x []float32, s nn.Shape) ([]float32, nn.Shape) {
	t.Helper()
	for _, l := range layers {
		if r, ok := l.(*nn.Residual); ok {
			body, bs := layerByLayer(t, r.Body, x, s)
			short, ss := layerByLayer(t, r.Shortcut, x, s)
			require.Equal(t, bs, ss)
			for i := range body {
				body[i] += short[i]
			}
			x, s = body, bs
			continue
		}
		if c, ok := l.(*nn.Concat); ok {
			var stacked []float32
			var out nn.Shape
			for _, p := range c.Branches {
				y, ys := layerByLayer(t, p, x, s)
				stacked = append(stacked, y...)
				out = nn.Shape{C: out.C + ys.C, H: ys.H, W: ys.W}
			}
			x, s = stacked, out
			continue
		}
		one := &nn.Network{Layers: []nn.Layer{l}}
		var err error
		x, s, err = nn.NewEngine(one).Forward(append([]float32(nil), x...), s)
		require.NoError(t, err)
	}
	return x, s
}

// preActivation is a block whose body starts in place (a pre-activation
// ResNet's ReLU first): the shortcut must still read the block's input.
func preActivation() *nn.Network {
	conv := nn.NewConv2D("conv", 1, 1, nn.Pair{H: 1, W: 1}, nn.Pair{H: 1, W: 1}, nn.Pair{})
	conv.Weight.Data[0], conv.Bias.Data[0] = 2, 0.5
	block := nn.NewResidual("block", []nn.Layer{nn.NewReLU("relu"), conv}, nil)
	return &nn.Network{
		Input:  nn.InputSpec{Channels: 1, Height: 1, Width: 2, Mean: []float32{0}, Std: []float32{1}},
		Layers: []nn.Layer{block, nn.NewConv2D("head", 1, 1, nn.Pair{H: 1, W: 2}, nn.Pair{H: 1, W: 1}, nn.Pair{})},
	}
}

func TestResidualKeepsItsInput(t *testing.T) {
	net := preActivation()
	block := net.Layers[0]
	one := &nn.Network{Layers: []nn.Layer{block}}
	got, _, err := nn.NewEngine(one).Forward([]float32{-3, 4}, nn.Shape{C: 1, H: 1, W: 2})
	require.NoError(t, err)
	// x + 2·relu(x) + 0.5: −3 + 0 + 0.5, 4 + 8 + 0.5.
	assert.Equal(t, []float32{-2.5, 12.5}, got)
}

// A ReLU after a block runs inside the block's kernel, with the ReLU
// layer's own values: negatives to zero, a NaN kept.
func TestResidualFusesTheReLUAfterIt(t *testing.T) {
	conv := nn.NewConv2D("conv", 1, 1, nn.Pair{H: 1, W: 1}, nn.Pair{H: 1, W: 1}, nn.Pair{})
	conv.Weight.Data[0] = 1
	net := &nn.Network{
		Input:  nn.InputSpec{Channels: 1, Height: 1, Width: 4, Mean: []float32{0}, Std: []float32{1}},
		Layers: []nn.Layer{nn.NewResidual("block", []nn.Layer{conv}, nil), nn.NewReLU("relu")},
	}
	nan := float32(math.NaN())
	x := []float32{-1, 2, nan, -0.25}
	s := nn.Shape{C: 1, H: 1, W: 4}
	costs, err := nn.NewEngine(net).Profile(x, s)
	require.NoError(t, err)
	require.Len(t, costs, 1, "one step: the block with its ReLU")
	require.Len(t, costs[0].Fused, 1)
	assert.Equal(t, "relu", costs[0].Fused[0].Name())
	got, _, err := nn.NewEngine(net).Forward(x, s)
	require.NoError(t, err)
	assert.Equal(t, []float32{0, 4}, got[:2])
	assert.True(t, math.IsNaN(float64(got[2])))
	assert.Equal(t, float32(0), got[3])
	assert.Equal(t, []float32{-1, 2}, x[:2], "the input is read, not written")
}

// cloned runs a deep copy of net's layers on x.
func cloned(t *testing.T, net *nn.Network, x []float32) []float32 {
	cp := *net
	cp.Layers = nil
	for _, l := range net.Layers {
		cp.Layers = append(cp.Layers, nn.CloneLayer(l))
	}
	out, _, err := nn.NewEngine(&cp).Forward(x, net.Input.Window())
	require.NoError(t, err)
	return out
}

func TestResidualGeometry(t *testing.T) {
	one, two := nn.Pair{H: 1, W: 1}, nn.Pair{H: 2, W: 2}
	three := nn.Pair{H: 3, W: 3}
	body := []nn.Layer{nn.NewConv2D("c1", 1, 2, three, two, one), nn.NewReLU("r"), nn.NewConv2D("c2", 2, 2, three, one, one)}
	short := []nn.Layer{nn.NewConv2D("down", 1, 2, one, two, nn.Pair{})}
	net := &nn.Network{
		Input:  nn.InputSpec{Channels: 1, Height: 8, Width: 8, Mean: []float32{0}, Std: []float32{1}},
		Layers: []nn.Layer{nn.NewResidual("b", body, short), nn.NewFlatten("f", nn.FlattenCHW), nn.NewDense("fc", 32, 2)},
	}
	require.NoError(t, net.Validate())
	g, err := net.Geometry()
	require.NoError(t, err)
	// The body: 3×3 /2 pad 1, then 3×3 /1 pad 1 at stride 2.
	assert.Equal(t, nn.Pair{H: 2, W: 2}, g.Stride)
	assert.Equal(t, nn.Pair{H: 8, W: 8}, g.Field) // the flatten: the whole window
	assert.Equal(t, nn.Pair{H: 3, W: 3}, g.Reach)
	assert.True(t, g.Padded)
}

func TestResidualRefused(t *testing.T) {
	one, two := nn.Pair{H: 1, W: 1}, nn.Pair{H: 2, W: 2}
	conv := func(name string, stride nn.Pair) nn.Layer {
		return nn.NewConv2D(name, 1, 1, one, stride, nn.Pair{})
	}
	spec := nn.InputSpec{Channels: 1, Height: 4, Width: 4, Mean: []float32{0}, Std: []float32{1}}
	head := func() []nn.Layer { return []nn.Layer{nn.NewFlatten("f", nn.FlattenCHW), nn.NewDense("fc", 16, 2)} }
	for _, c := range []struct {
		block nn.Layer
		want  string
	}{
		{nn.NewResidual("b", nil, nil), "the body has no layers"},
		{nn.NewResidual("b", []nn.Layer{conv("c", two)}, []nn.Layer{conv("d", one)}), "stride 2×2 differs from the shortcut's 1×1"},
		{nn.NewResidual("b", []nn.Layer{conv("c", one), nn.NewFlatten("g", nn.FlattenCHW)}, nil), `flatten "g" inside a block`},
		{nn.NewResidual("b", []nn.Layer{conv("f", one)}, nil), `name "f" is empty or repeated`},
		{nn.NewResidual("b", []nn.Layer{nn.NewConv2D("c", 1, 2, one, one, nn.Pair{})}, nil), "the body gives 2×4×4 and the shortcut 1×4×4"},
	} {
		net := &nn.Network{Input: spec, Layers: append([]nn.Layer{c.block}, head()...)}
		assert.ErrorContains(t, net.Validate(), c.want)
	}
	// Blocks nested past MaxNesting.
	var l nn.Layer = conv("c", one)
	for i := range nn.MaxNesting + 1 {
		l = nn.NewResidual("b"+string(rune('a'+i)), []nn.Layer{l}, nil)
	}
	net := &nn.Network{Input: spec, Layers: append([]nn.Layer{l}, head()...)}
	assert.ErrorContains(t, net.Validate(), "nested 9 deep, at most 8")
}

// A model file whose architecture nests blocks past the bound is refused
// before its layers are decoded, and so is one that nests them within it
// but past what Validate allows.
func TestResidualDeepDocumentRefused(t *testing.T) {
	good, err := preActivation().Marshal()
	require.NoError(t, err)
	nest := func(depth int) []byte {
		return editArch(t, good, func(arch map[string]any) {
			layers := arch["layers"].([]any)
			block := layers[0].(map[string]any)
			body := block["body"]
			for i := range depth {
				body = []any{map[string]any{"type": "residual", "name": fmt.Sprintf("n%d", i), "body": body}}
			}
			block["body"] = body
		})
	}
	_, err = nn.Unmarshal(nest(0))
	require.NoError(t, err)
	_, err = nn.Unmarshal(nest(40))
	assert.ErrorContains(t, err, "blocks nested more than 8 deep")
	_, err = nn.Unmarshal(nest(nn.MaxNesting))
	assert.ErrorContains(t, err, "nested 9 deep, at most 8")
	_, err = nn.Unmarshal(editLayer(t, good, "block", func(l map[string]any) { l["extra"] = 1 }))
	assert.ErrorContains(t, err, `unknown field "extra"`)
}

// The layer bound counts the layers inside blocks.
func TestResidualCountsItsLayers(t *testing.T) {
	var body []nn.Layer
	for i := range nn.MaxLayers {
		body = append(body, nn.NewReLU(fmt.Sprintf("r%d", i)))
	}
	net := preActivation()
	net.Layers = append([]nn.Layer{nn.NewResidual("long", body, nil)}, net.Layers...)
	assert.ErrorContains(t, net.Validate(), "more than 1024 layers, counting those inside blocks")
}

// After the map has shrunk to 1×1, ForwardBatch runs the layers on the
// batch side by side; a residual block there whose branch reads its
// neighbours (a padded 3×3 conv) must run item by item, and one of 1×1
// convs may run batched: both give ForwardInto's bits.
func TestResidualInBatchHead(t *testing.T) {
	rng := rand.New(rand.NewSource(9))
	one, three := nn.Pair{H: 1, W: 1}, nn.Pair{H: 3, W: 3}
	for _, k := range []nn.Pair{three, one} {
		pad := nn.Pair{H: k.H / 2, W: k.W / 2}
		net := &nn.Network{
			Input: nn.InputSpec{Channels: 2, Height: 4, Width: 4, Mean: []float32{0, 0}, Std: []float32{1, 1}},
			Layers: []nn.Layer{
				nn.NewConv2D("fc1", 2, 5, nn.Pair{H: 4, W: 4}, one, nn.Pair{}), nn.NewReLU("r"),
				nn.NewResidual("block", []nn.Layer{nn.NewConv2D("c", 5, 5, k, one, pad), nn.NewReLU("br")}, nil),
				nn.NewConv2D("fc2", 5, 3, one, one, nn.Pair{}), nn.NewSoftmax("softmax"),
			},
		}
		nntest.Randomize(net, rng)
		require.NoError(t, net.Validate())
		checkBatch(t, net, net.Input.Window(), 6, 1, rng, fmt.Sprintf("a block of %v convs in the head", k))
	}
}
