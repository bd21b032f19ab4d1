package graph_test

import (
	"math"
	"math/rand"
	"testing"

	"github.com/fc2conv/fc2conv/graph"
	"github.com/fc2conv/fc2conv/nn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

func randomFill(rng *rand.Rand, s []float32, lo, hi float64) {
	for i := range s {
		s[i] = float32(lo + (hi-lo)*rng.Float64())
	}
}

// bnOnly is a network of one batch norm over a 2×3×3 input, with random
// gamma, beta and running statistics.
func bnOnly(rng *rand.Rand) (*nn.Network, *nn.BatchNorm) {
	bn := nn.NewBatchNorm("bn", 2, 1e-3)
	randomFill(rng, bn.Gamma.Data, 0.5, 2)
	randomFill(rng, bn.Beta.Data, -1, 1)
	randomFill(rng, bn.Mean.Data, -1, 1)
	randomFill(rng, bn.Var.Data, 0.5, 2)
	net := &nn.Network{Input: nn.InputSpec{Channels: 2, Height: 3, Width: 3, Mean: []float32{0, 0}, Std: []float32{1, 1}},
		Layers: []nn.Layer{bn}}
	return net, bn
}

// In training a batch norm normalises with the batch's own mean and biased
// variance, and its running statistics then move by momentum towards the
// batch's mean and unbiased variance; both computed here by hand.
func TestBatchNormTrainingForwardAndRunningStats(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	net, bn := bnOnly(rng)
	const n, c, hw = 4, 2, 9
	x := make([]float32, n*c*hw)
	randomFill(rng, x, -3, 5)
	oldMean := append([]float32(nil), bn.Mean.Data...)
	oldVar := append([]float32(nil), bn.Var.Data...)

	g, err := graph.Build(net, graph.Options{Batch: n, Training: true, Momentum: 0.25})
	require.NoError(t, err)
	defer g.Close()
	out, err := g.Forward(tensor.New(tensor.WithShape(n, c, 3, 3), tensor.WithBacking(append([]float32(nil), x...))))
	require.NoError(t, err)
	got := out.Data().([]float32)
	require.NoError(t, g.UpdateRunningStats())

	for ch := range c {
		var sum, sq float64
		for i := range n {
			for k := range hw {
				sum += float64(x[(i*c+ch)*hw+k])
			}
		}
		mean := sum / (n * hw)
		for i := range n {
			for k := range hw {
				d := float64(x[(i*c+ch)*hw+k]) - mean
				sq += d * d
			}
		}
		biased := sq / (n * hw)
		for i := range n {
			for k := range hw {
				at := (i*c+ch)*hw + k
				want := (float64(x[at])-mean)/math.Sqrt(biased+1e-3)*float64(bn.Gamma.Data[ch]) + float64(bn.Beta.Data[ch])
				assert.InDelta(t, want, got[at], 1e-4, "channel %d item %d cell %d", ch, i, k)
			}
		}
		assert.InDelta(t, 0.75*float64(oldMean[ch])+0.25*mean, bn.Mean.Data[ch], 1e-5, "running mean %d", ch)
		assert.InDelta(t, 0.75*float64(oldVar[ch])+0.25*sq/(n*hw-1), bn.Var.Data[ch], 1e-4, "running var %d", ch)
	}

	// Outside training the same layer is the affine of its (new) running
	// statistics.
	ref, err := graph.Forward(net, x[:c*hw], nn.Shape{C: c, H: 3, W: 3})
	require.NoError(t, err)
	for ch := range c {
		for k := range hw {
			v := float64(x[ch*hw+k])
			want := (v-float64(bn.Mean.Data[ch]))/math.Sqrt(float64(bn.Var.Data[ch])+1e-3)*float64(bn.Gamma.Data[ch]) + float64(bn.Beta.Data[ch])
			assert.InDelta(t, want, ref[ch*hw+k], 1e-4)
		}
	}
}

func TestUpdateRunningStatsBeforeRun(t *testing.T) {
	net, _ := bnOnly(rand.New(rand.NewSource(1)))
	g, err := graph.Build(net, graph.Options{Batch: 2, Training: true})
	require.NoError(t, err)
	defer g.Close()
	assert.ErrorContains(t, g.UpdateRunningStats(), "run the graph first")
	_, err = graph.Build(net, graph.Options{Batch: 2, Training: true, Momentum: 1.5})
	assert.ErrorContains(t, err, "momentum")
	// After a dense layer a batch of one has one value per feature.
	fc := &nn.Network{Input: nn.InputSpec{Channels: 1, Height: 1, Width: 2, Mean: []float32{0}, Std: []float32{1}},
		Layers: []nn.Layer{nn.NewFlatten("flat", nn.FlattenCHW), nn.NewDense("fc", 2, 3), nn.NewBatchNorm("bn", 3, 1e-5)}}
	_, err = graph.Build(fc, graph.Options{Batch: 1, Training: true})
	assert.ErrorContains(t, err, `graph: layer "bn": one value per channel in a batch`)
	_, err = graph.Build(fc, graph.Options{Batch: 1})
	assert.NoError(t, err, "outside training the running statistics serve")
}

// bnNet is conv → batch norm → ReLU → flatten → dense → batch norm (over
// features) → dense: both forms of batch norm, between trained layers.
func bnNet(rng *rand.Rand) *nn.Network {
	one := nn.Pair{H: 1, W: 1}
	conv := nn.NewConv2D("conv", 2, 3, nn.Pair{H: 2, W: 2}, one, nn.Pair{})
	bn1 := nn.NewBatchNorm("bn1", 3, 1e-5)
	fc1 := nn.NewDense("fc1", 3*3*3, 4)
	bn2 := nn.NewBatchNorm("bn2", 4, 1e-5)
	fc2 := nn.NewDense("fc2", 4, 2)
	for _, s := range [][]float32{conv.Weight.Data, conv.Bias.Data, fc1.Weight.Data, fc1.Bias.Data, fc2.Weight.Data, fc2.Bias.Data} {
		randomFill(rng, s, -0.7, 0.7)
	}
	for _, bn := range []*nn.BatchNorm{bn1, bn2} {
		randomFill(rng, bn.Gamma.Data, 0.5, 1.5)
		randomFill(rng, bn.Beta.Data, -0.5, 0.5)
	}
	return &nn.Network{Input: nn.InputSpec{Channels: 2, Height: 4, Width: 4, Mean: []float32{0, 0}, Std: []float32{1, 1}},
		Layers: []nn.Layer{conv, bn1, nn.NewReLU("relu"), nn.NewFlatten("flat", nn.FlattenCHW), fc1, bn2, fc2}}
}

// The gradients of a loss through trained batch norms match central
// differences of the loss, for the weights before, inside and after them.
// The batch statistics depend on every weight before the norm, so this
// checks the whole of the normalisation's backward pass.
func TestBatchNormGradientsMatchCentralDifferences(t *testing.T) {
	rng := rand.New(rand.NewSource(5))
	net := bnNet(rng)
	const n = 5
	x := make([]float32, n*2*4*4)
	randomFill(rng, x, -1, 1)
	r := make([]float32, n*2)
	randomFill(rng, r, -1, 1)

	g, err := graph.Build(net, graph.Options{Batch: n, Training: true})
	require.NoError(t, err)
	require.Len(t, g.Learnables, 10, "conv, fc1, fc2 weights and biases, and both batch norms' gamma and beta")
	require.NoError(t, G.Let(g.Input, tensor.New(tensor.WithShape(n, 2, 4, 4), tensor.WithBacking(x))))
	rn := G.NewConstant(tensor.New(tensor.WithShape(n, 2), tensor.WithBacking(r)), G.In(g.G))
	prod, err := G.HadamardProd(g.Output, rn)
	require.NoError(t, err)
	loss, err := G.Sum(prod)
	require.NoError(t, err)
	_, err = G.Grad(loss, g.Learnables...)
	require.NoError(t, err)
	vm := G.NewTapeMachine(g.G, G.BindDualValues(g.Learnables...))
	defer vm.Close()
	run := func() float64 {
		require.NoError(t, vm.RunAll())
		v := float64(loss.Value().Data().(float32))
		vm.Reset()
		return v
	}
	run()
	grads := make([][]float32, len(g.Learnables))
	for i, l := range g.Learnables {
		gv, err := l.Grad()
		require.NoError(t, err)
		grads[i] = append([]float32(nil), gv.Data().([]float32)...)
	}
	const h = 1e-3
	for i, l := range g.Learnables {
		w := l.Value().Data().([]float32) // shares the network's storage
		for k := range w {
			old := w[k]
			w[k] = old + h
			up := run()
			w[k] = old - h
			down := run()
			w[k] = old
			num := (up - down) / (2 * h)
			assert.InDelta(t, num, grads[i][k], 2e-3+2e-2*math.Abs(num), "%s[%d]", l.Name(), k)
		}
	}
}

// Batch norms of different widths in one graph keep their own eps: a
// vector constant of eps per norm was once merged by gorgonia (it hashes
// constants by their elided printed value) and the run failed.
func TestBatchNormsOfDifferentWidths(t *testing.T) {
	one := nn.Pair{H: 1, W: 1}
	net := &nn.Network{Input: nn.InputSpec{Channels: 1, Height: 3, Width: 3, Mean: []float32{0}, Std: []float32{1}},
		Layers: []nn.Layer{
			nn.NewConv2D("c1", 1, 32, one, one, nn.Pair{}), nn.NewBatchNorm("bn1", 32, 1e-5),
			nn.NewConv2D("c2", 32, 64, one, one, nn.Pair{}), nn.NewBatchNorm("bn2", 64, 1e-5),
		}}
	rng := rand.New(rand.NewSource(2))
	for _, l := range net.Layers {
		if c, ok := l.(*nn.Conv2D); ok {
			randomFill(rng, c.Weight.Data, -1, 1)
		}
	}
	g, err := graph.Build(net, graph.Options{Batch: 2, Training: true})
	require.NoError(t, err)
	defer g.Close()
	x := make([]float32, 2*9)
	randomFill(rng, x, -1, 1)
	out, err := g.Forward(tensor.New(tensor.WithShape(2, 1, 3, 3), tensor.WithBacking(x)))
	require.NoError(t, err)
	// Normalised with gamma 1 and beta 0, every channel has mean 0.
	y := out.Data().([]float32)
	for c := range 64 {
		var s float64
		for i := range 2 {
			for k := range 9 {
				s += float64(y[(i*64+c)*9+k])
			}
		}
		assert.InDelta(t, 0, s/18, 1e-4, "channel %d", c)
	}
}
