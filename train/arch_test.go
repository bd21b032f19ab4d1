package train_test

import (
	"testing"

	"github.com/fc2conv/fc2conv/nn"
	"github.com/fc2conv/fc2conv/train"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The named architectures build, keep the 28×28 grey window, end in the
// two-class softmax, and all but the verifier's "wide" may scan.
func TestNamedArchitectures(t *testing.T) {
	for name := range train.Architectures {
		net, err := train.Architecture(name)
		require.NoError(t, err, name)
		assert.Equal(t, nn.Shape{C: 1, H: 28, W: 28}, net.Input.Window(), name)
		out, err := net.OutShape(net.Input.Window())
		require.NoError(t, err)
		assert.Equal(t, nn.Shape{C: 2, H: 1, W: 1}, out, name)
		assert.Equal(t, nn.KindSoftmax, net.Layers[len(net.Layers)-1].Kind(), name)
		if name == "wide" {
			assert.ErrorContains(t, train.CheckScanning(net), "padded", name)
			continue
		}
		assert.NoError(t, train.CheckScanning(net), name)
	}
}

// A padded block keeps its map's size, worked out by hand: wide's
// 28 →28 →28, pool 14 →14 →14, pool 7 →7, pool 3, so 128·3·3 = 1152
// features; a 5×5 padded block pads by 2.
func TestPaddedArchitecture(t *testing.T) {
	net, err := train.Architecture("wide")
	require.NoError(t, err)
	shapes, err := net.Shapes(net.Input.Window())
	require.NoError(t, err)
	flat := -1
	for i, l := range net.Layers {
		if l.Kind() == nn.KindFlatten {
			flat = i
		}
	}
	require.GreaterOrEqual(t, flat, 0)
	assert.Equal(t, nn.Shape{C: 128, H: 3, W: 3}, shapes[flat])
	g, err := net.Geometry()
	require.NoError(t, err)
	assert.Equal(t, nn.Pair{H: 8, W: 8}, g.Stride)
	assert.ErrorContains(t, train.CheckScanning(net), `layer "conv1" is padded`)

	net, err = train.Architecture("c8k5s,p")
	require.NoError(t, err)
	assert.Equal(t, nn.Pair{H: 2, W: 2}, net.Layers[0].(*nn.Conv2D).Padding)
	// Unpadded, stride 8: fine for a verifier, too sparse to scan.
	net, err = train.Architecture("c8,p,c8,p,c8,p")
	require.NoError(t, err)
	assert.ErrorContains(t, train.CheckScanning(net), "total stride 8 over 4")
}

// A spec's blocks become the layers it says, with the shapes worked out
// by hand: 28 −2→ 26, pool → 13, −4 (5×5) → 9, flatten 16·9·9 = 1296.
func TestArchitectureSpec(t *testing.T) {
	net, err := train.Architecture("c8,p,c16k5,d0.25,f32")
	require.NoError(t, err)
	var kinds []nn.Kind
	for _, l := range net.Layers {
		kinds = append(kinds, l.Kind())
	}
	assert.Equal(t, []nn.Kind{nn.KindConv2D, nn.KindBatchNorm, nn.KindReLU, nn.KindMaxPool2D,
		nn.KindConv2D, nn.KindBatchNorm, nn.KindReLU, nn.KindDropout,
		nn.KindFlatten, nn.KindDense, nn.KindBatchNorm, nn.KindReLU, nn.KindDense, nn.KindSoftmax}, kinds)
	assert.Equal(t, 5, net.Layers[4].(*nn.Conv2D).Kernel.H)
	assert.Equal(t, 16*9*9, net.Layers[9].(*nn.Dense).In)
	assert.Equal(t, 32, net.Layers[12].(*nn.Dense).In)
}

func TestArchitectureRejects(t *testing.T) {
	for spec, msg := range map[string]string{
		"c32,p,p,p,p":         "total stride 16 over 8",
		"c8k4s":               "odd K",
		"c32,,p":              "empty",
		"f16,c8":              "convolution after a dense",
		"c32k11":              "K in [1,9]",
		"x3":                  "unknown block",
		"d1.5":                "R in [0,1)",
		"c8k9,c8k9,c8k9,c8k9": "kernel on a 4×4 map",
	} {
		_, err := train.Architecture(spec)
		assert.ErrorContains(t, err, msg, spec)
	}
}

// The cost of DressNet on its window, counted by hand: conv1 20·24·24
// outputs of 25 multiply-adds, conv2 40·8·8 of 20·25 (pooled to 40·4·4), fc1 640·128,
// fc2 128·2; two FLOPs per multiply-add.
func TestCostOfDressNet(t *testing.T) {
	net := train.DressNet()
	train.InitWeights(net, 1)
	c, err := train.CostOf(net)
	require.NoError(t, err)
	want := int64(2 * (20*24*24*25 + 40*8*8*20*25 + 640*128 + 128*2))
	assert.Equal(t, want, c.Window)
	assert.Equal(t, nn.Pair{H: 4, W: 4}, c.Stride)
	// Converted, the convolutions are shared between positions, so a
	// position costs less than a window but at least its head.
	assert.Less(t, c.Position, c.Window)
	assert.Greater(t, c.Position, int64(2*(40*20*25+640*128+128*2)))
}
