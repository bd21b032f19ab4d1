package graph_test

import (
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fc2conv/fc2conv/graph"
	"github.com/fc2conv/fc2conv/nn"
	"github.com/fc2conv/fc2conv/nn/nntest"
)

// The gorgonia reference computes the ONNX activations as the engine
// does, in FC form and converted.
func TestActivationsMatchEngine(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	conv := nn.NewConv2D("conv", 2, 4, nn.Pair{H: 3, W: 3}, nn.Pair{H: 1, W: 1}, nn.Pair{H: 1, W: 1})
	net := &nn.Network{
		Input: nn.InputSpec{Channels: 2, Height: 6, Width: 5, Mean: []float32{0, 0}, Std: []float32{1, 1}},
		Layers: []nn.Layer{conv, nn.NewLeakyReLU("leaky", 0.2), nn.NewClip("relu6", 0, 0.3),
			nn.NewFlatten("flat", nn.FlattenCHW), nn.NewDense("fc", 4*6*5, 3), nn.NewLogSoftmax("logp")},
	}
	for _, v := range matchEngine(t, net, rng) {
		assert.Less(t, v, float32(0), "log-probabilities")
	}
}

// matchEngine randomises net, runs it on a random window in the engine
// and in the gorgonia graph, checks they agree and returns the engine's
// output.
func matchEngine(t *testing.T, net *nn.Network, rng *rand.Rand) []float32 {
	t.Helper()
	nntest.Randomize(net, rng)
	require.NoError(t, net.Validate())
	x := nntest.Input(rng, net.Input.Window())
	want, _, err := nn.NewEngine(net).Forward(x, net.Input.Window())
	require.NoError(t, err)
	got, err := graph.Forward(net, x, net.Input.Window())
	require.NoError(t, err)
	assert.LessOrEqual(t, nntest.MaxAbsDiff(got, want), 1e-5)
	return want
}

// ELU, SiLU, tanh and PReLU, the same way: the gorgonia graph builds ELU and
// PReLU from their parts (relu(x) + alpha·(exp(min(x, 0)) − 1), relu(x) +
// slope·min(x, 0)).
func TestELUTanhPReLUMatchEngine(t *testing.T) {
	rng := rand.New(rand.NewSource(4))
	net := &nn.Network{
		Input: nn.InputSpec{Channels: 2, Height: 6, Width: 5, Mean: []float32{0, 0}, Std: []float32{1, 1}},
		Layers: []nn.Layer{nn.NewConv2D("conv", 2, 4, nn.Pair{H: 3, W: 3}, nn.Pair{H: 1, W: 1}, nn.Pair{H: 1, W: 1}),
			nn.NewELU("elu", 0.7), nn.NewPReLU("prelu", 4), nn.NewSiLU("silu"), nn.NewTanh("tanh"), nn.NewPReLU("shared", 1),
			nn.NewFlatten("flat", nn.FlattenCHW), nn.NewDense("fc", 4*6*5, 3), nn.NewPReLU("prelu2", 3), nn.NewELU("elu2", 1.5)},
	}
	negative := 0
	for _, v := range matchEngine(t, net, rng) {
		assert.Greater(t, v, float32(-1.5), "an ELU with alpha 1.5 stays above -1.5")
		if v < 0 {
			negative++
		}
	}
	assert.Positive(t, negative, "the last ELU's negative branch is reached")
}

// GELU, HardSwish, Softplus, Mish and HardSigmoid: the graph builds each
// from gorgonia's ops (GELU's erf by a polynomial with error ≤ 1.5e-7),
// the engine computes it in float64; they agree from −8 to 8 and where
// eˣ overflows float32.
func TestUnaryMatchEngine(t *testing.T) {
	x := []float32{-95, 95}
	for v := -8.0; v <= 8; v += 0.05 {
		x = append(x, float32(v))
	}
	s := nn.Shape{C: 1, H: 1, W: len(x)}
	for _, l := range []nn.Layer{nn.NewUnary("u", nn.KindGELU), nn.NewUnary("u", nn.KindHardSwish), nn.NewUnary("u", nn.KindSoftplus),
		nn.NewUnary("u", nn.KindMish), nn.NewHardSigmoid("h", 1.0/6, 0.5)} {
		net := &nn.Network{Input: nn.InputSpec{Channels: 1, Height: 1, Width: 1, Mean: []float32{0}, Std: []float32{1}}, Layers: []nn.Layer{l}}
		require.NoError(t, net.Validate())
		want, _, err := nn.NewEngine(net).Forward(append([]float32(nil), x...), s)
		require.NoError(t, err)
		got, err := graph.Forward(net, append([]float32(nil), x...), s)
		require.NoError(t, err, "%s", l)
		assert.LessOrEqual(t, nntest.MaxAbsDiff(got, want), 2e-6, "%s", l)
	}
}
