package graph_test

import (
	"math"
	"math/rand"
	"testing"

	"github.com/fc2conv/fc2conv/graph"
	"github.com/fc2conv/fc2conv/nn"
	"github.com/fc2conv/fc2conv/nn/nntest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// The graph trains through asymmetric padding and ceil-mode pools: the
// gradient of the summed output with respect to the first conv's weights
// matches central differences of the engine's forward pass.
func TestGrownGradients(t *testing.T) {
	p := func(h, w int) nn.Pair { return nn.Pair{H: h, W: w} }
	conv := nn.NewConv2D("conv1", 2, 3, p(3, 3), p(1, 1), p(0, 1))
	conv.PaddingEnd = &nn.Pair{H: 2, W: 0}
	mp := nn.NewMaxPool2D("pool1", p(2, 2), p(2, 2), p(1, 0))
	mp.PaddingEnd, mp.CeilMode = &nn.Pair{H: 0, W: 1}, true
	ap := nn.NewAvgPool2D("pool2", p(2, 3), p(2, 2), p(1, 1), false)
	ap.CeilMode = true
	net := &nn.Network{
		Input: nn.InputSpec{Channels: 2, Height: 11, Width: 9, Mean: []float32{0, 0}, Std: []float32{1, 1}},
		Layers: []nn.Layer{conv, nn.NewReLU("relu1"), mp, ap, nn.NewFlatten("flat", nn.FlattenCHW),
			nn.NewDense("fc", 36, 1), nn.NewSigmoid("sigmoid")},
	}
	rng := rand.New(rand.NewSource(8))
	nntest.Randomize(net, rng)
	require.NoError(t, net.Validate())
	win := net.Input.Window()
	x := nntest.Input(rng, win)

	g, err := graph.Build(net, graph.Options{Batch: 1})
	require.NoError(t, err)
	cost, err := G.Sum(g.Output)
	require.NoError(t, err)
	_, err = G.Grad(cost, g.Learnables...)
	require.NoError(t, err)
	vm := G.NewTapeMachine(g.G, G.BindDualValues(g.Learnables...))
	defer vm.Close()
	require.NoError(t, G.Let(g.Input, tensor.New(tensor.WithShape(1, win.C, win.H, win.W), tensor.WithBacking(append([]float32(nil), x...)))))
	require.NoError(t, vm.RunAll())
	gv, err := g.Learnables[0].Grad()
	require.NoError(t, err)
	grad := gv.Data().([]float32)

	f := func() float64 {
		y, _, err := nn.NewEngine(net).Forward(x, win)
		require.NoError(t, err)
		return float64(y[0])
	}
	const h = 1e-3 // small enough that no max or ReLU switches side
	nonzero := 0
	for _, k := range []int{0, 5, 13, 22, 31, 40, 53} {
		w := conv.Weight.Data
		orig := w[k]
		w[k] = orig + h
		up := f()
		w[k] = orig - h
		down := f()
		w[k] = orig
		num := (up - down) / (2 * h)
		assert.InDelta(t, num, float64(grad[k]), 1e-3+1e-2*math.Abs(num), "weight %d", k)
		if math.Abs(num) > 1e-4 {
			nonzero++
		}
	}
	assert.Positive(t, nonzero, "every checked gradient is zero")
}
