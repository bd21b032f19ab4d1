package graph_test

import (
	"fmt"
	"math/rand"
	"testing"

	"github.com/fc2conv/fc2conv/graph"
	"github.com/fc2conv/fc2conv/nn"
	"github.com/fc2conv/fc2conv/nn/nntest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gorgonia.org/tensor"
)

// A graph built for a training-sized batch gives, item by item, what the
// engine gives: the padding constants of grown networks (asymmetric pads,
// ceil-mode overhangs) are per batch shape, and gorgonia merges constants
// whose printed (elided, for large ones) values agree.
func TestBatchedGraphMatchesEngineGrown(t *testing.T) {
	for seed := int64(0); seed < 12; seed++ {
		rng := rand.New(rand.NewSource(seed))
		net := nntest.RandomFC(rng, nntest.Options{Padded: true, Grown: true})
		batchedMatchesEngine(t, rng, net, 1e-5, fmt.Sprintf("seed %d", seed))
	}
}

// batchedMatchesEngine runs a batch of 32 random windows through net's
// graph at once and checks each item against the engine within tol.
func batchedMatchesEngine(t *testing.T, rng *rand.Rand, net *nn.Network, tol float64, what string) {
	t.Helper()
	win := net.Input.Window()
	const n = 32
	x := make([]float32, 0, n*win.Size())
	for range n {
		x = append(x, nntest.Input(rng, win)...)
	}
	g, err := graph.Build(net, graph.Options{Batch: n})
	require.NoError(t, err, what)
	defer g.Close()
	out, err := g.Forward(tensor.New(tensor.WithShape(n, win.C, win.H, win.W), tensor.WithBacking(append([]float32(nil), x...))))
	require.NoError(t, err, what)
	got := out.Data().([]float32)
	e := nn.NewEngine(net)
	k := len(got) / n
	for i := range n {
		want, _, err := e.Forward(x[i*win.Size():(i+1)*win.Size()], win)
		require.NoError(t, err, what)
		assert.LessOrEqual(t, nntest.MaxAbsDiff(want, got[i*k:(i+1)*k]), tol, "%s item %d", what, i)
	}
}

// The same with wide maps and a wide batch, where gorgonia elides the
// printed padding constants: padding 1 before and 2 after.
func TestBatchedGraphMatchesEngineWidePadding(t *testing.T) {
	rng := rand.New(rand.NewSource(9))
	one, three := nn.Pair{H: 1, W: 1}, nn.Pair{H: 3, W: 3}
	c1 := nn.NewConv2D("c1", 1, 32, three, one, one)
	c1.PaddingEnd = &nn.Pair{H: 2, W: 2}
	c2 := nn.NewConv2D("c2", 32, 32, three, one, one)
	c2.PaddingEnd = &nn.Pair{H: 2, W: 2}
	d := nn.NewDense("fc", 32*14*14, 2)
	net := &nn.Network{Input: nn.InputSpec{Channels: 1, Height: 12, Width: 12, Mean: []float32{0}, Std: []float32{1}},
		Layers: []nn.Layer{c1, nn.NewReLU("r1"), c2, nn.NewFlatten("flat", nn.FlattenCHW), d}}
	nntest.Randomize(net, rng)
	require.NoError(t, net.Validate())
	batchedMatchesEngine(t, rng, net, 1e-4, "wide padding")
}
