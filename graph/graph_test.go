package graph_test

import (
	"math/rand"
	"testing"

	"github.com/fc2conv/fc2conv/convert"
	"github.com/fc2conv/fc2conv/graph"
	"github.com/fc2conv/fc2conv/nn"
	"github.com/fc2conv/fc2conv/nn/nntest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The native engine and the gorgonia graph are independent
// implementations; they must agree on every random network.
func TestEngineMatchesGraph(t *testing.T) {
	for seed := int64(0); seed < 40; seed++ {
		rng := rand.New(rand.NewSource(seed))
		net := nntest.RandomFC(rng, nntest.Options{Padded: seed%2 == 0, Residual: seed%3 == 0, Concat: seed%3 == 1})
		require.NoError(t, net.Validate(), "seed %d", seed)
		win := net.Input.Window()
		x := nntest.Input(rng, win)

		got, _, err := nn.NewEngine(net).Forward(x, win)
		require.NoError(t, err, "seed %d", seed)

		want, err := graph.Forward(net, x, win)
		require.NoError(t, err, "seed %d", seed)

		assert.LessOrEqual(t, nntest.MaxAbsDiff(got, want), 1e-5, "seed %d: engine vs gorgonia", seed)
	}
}

// The gorgonia graph and the native engine agree on converted networks at
// sizes other than the window.
func TestConvertedGraphMatchesEngine(t *testing.T) {
	for seed := int64(0); seed < 20; seed++ {
		fc := nntest.RandomFC(rand.New(rand.NewSource(seed)), nntest.Options{Padded: seed%2 == 1, Residual: seed%3 == 0, Concat: seed%3 == 2})
		res, err := convert.Convert(fc)
		require.NoError(t, err, "seed %d", seed)
		rng := rand.New(rand.NewSource(seed + 4000))
		big := nn.Shape{C: fc.Input.Channels, H: fc.Input.Height + rng.Intn(9), W: fc.Input.Width + rng.Intn(9)}
		x := nntest.Input(rng, big)
		got, _, err := nn.NewEngine(res.Network).Forward(x, big)
		require.NoError(t, err)
		want, err := graph.Forward(res.Network, x, big)
		require.NoError(t, err)
		assert.LessOrEqual(t, nntest.MaxAbsDiff(got, want), convert.Tolerance, "seed %d", seed)
	}
}

// Without the FC form, Verify still checks the FCN against a reference
// forward pass (here gorgonia) and against itself on crops.
func TestVerifyConvertedOnly(t *testing.T) {
	res, err := convert.Convert(nntest.RandomFC(rand.New(rand.NewSource(11)), nntest.Options{Padded: true}))
	require.NoError(t, err)
	rep, err := convert.Verify(nil, res.Network, convert.VerifyOptions{Seed: 2, Reference: graph.Forward})
	require.NoError(t, err)
	assert.LessOrEqual(t, rep.MaxAbs(), convert.Tolerance)
	assert.Equal(t, "window (engine vs reference)", rep.Checks[0].Name)
}

// The same on random networks with asymmetric padding, ceil-mode pools and
// average pools: FC form on the window, converted form on larger inputs.
func TestEngineMatchesGraphGrown(t *testing.T) {
	for seed := int64(0); seed < 30; seed++ {
		rng := rand.New(rand.NewSource(seed))
		fc := nntest.RandomFC(rng, nntest.Options{Padded: seed%3 != 0, Grown: true})
		require.NoError(t, fc.Validate(), "seed %d", seed)
		win := fc.Input.Window()
		x := nntest.Input(rng, win)
		got, _, err := nn.NewEngine(fc).Forward(x, win)
		require.NoError(t, err, "seed %d", seed)
		want, err := graph.Forward(fc, x, win)
		require.NoError(t, err, "seed %d", seed)
		assert.LessOrEqual(t, nntest.MaxAbsDiff(got, want), 1e-5, "seed %d: engine vs gorgonia", seed)

		res, err := convert.Convert(fc)
		require.NoError(t, err, "seed %d", seed)
		big := nn.Shape{C: win.C, H: win.H + rng.Intn(9), W: win.W + rng.Intn(9)}
		x = nntest.Input(rng, big)
		got, _, err = nn.NewEngine(res.Network).Forward(x, big)
		require.NoError(t, err)
		want, err = graph.Forward(res.Network, x, big)
		require.NoError(t, err)
		assert.LessOrEqual(t, nntest.MaxAbsDiff(got, want), convert.Tolerance, "seed %d: converted on %v", seed, big)
	}
}
