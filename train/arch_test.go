package train_test

import (
	"testing"

	"github.com/fc2conv/fc2conv/nn"
	"github.com/fc2conv/fc2conv/train"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The named architectures build, keep the 28×28 grey window and a total
// stride of at most 4, and end in the two-class softmax.
func TestNamedArchitectures(t *testing.T) {
	for name := range train.Architectures {
		net, err := train.Architecture(name)
		require.NoError(t, err, name)
		assert.Equal(t, nn.Shape{C: 1, H: 28, W: 28}, net.Input.Window(), name)
		out, err := net.OutShape(net.Input.Window())
		require.NoError(t, err)
		assert.Equal(t, nn.Shape{C: 2, H: 1, W: 1}, out, name)
		g, err := net.Geometry()
		require.NoError(t, err)
		assert.LessOrEqual(t, g.Stride.H, train.MaxStride, name)
		assert.Equal(t, nn.KindSoftmax, net.Layers[len(net.Layers)-1].Kind(), name)
	}
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
		"c32,p,p,p":           "total stride 8 over 4",
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
