package nn_test

import (
	"math/rand"
	"testing"

	"github.com/fc2conv/fc2conv/nn"
	"github.com/fc2conv/fc2conv/nn/kernels"
	"github.com/fc2conv/fc2conv/nn/nntest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A hand-computed case pins the engine's semantics independently of both
// implementations: a 2×2 conv, max-pool with padding, dense and sigmoid.
func TestEngineHandComputed(t *testing.T) {
	conv := nn.NewConv2D("conv", 1, 1, nn.Pair{H: 2, W: 2}, nn.Pair{H: 1, W: 1}, nn.Pair{})
	copy(conv.Weight.Data, []float32{1, 0, 0, -1}) // x[y][x] − x[y+1][x+1]
	conv.Bias.Data[0] = 0.5
	dense := nn.NewDense("fc", 4, 2)
	copy(dense.Weight.Data, []float32{1, 1, 1, 1, 1, -1, 0, 0})
	net := &nn.Network{
		Input:  nn.InputSpec{Channels: 1, Height: 3, Width: 3, Mean: []float32{0}, Std: []float32{1}},
		Layers: []nn.Layer{conv, nn.NewReLU("relu"), nn.NewFlatten("flat", nn.FlattenHWC), dense},
	}
	require.NoError(t, net.Validate())
	// input 1..9: every conv output is a − (a+4) + 0.5 = −3.5 → ReLU 0,
	// except we set the bottom-right to make one positive.
	in := []float32{1, 2, 3, 4, 5, 6, 7, 8, -9}
	// conv: [1−5, 2−6; 4−8, 5+9] + .5 = [−3.5, −3.5; −3.5, 14.5] → relu [0,0;0,14.5]
	out, shape, err := nn.NewEngine(net).Forward(in, net.Input.Window())
	require.NoError(t, err)
	assert.Equal(t, nn.Shape{C: 2, H: 1, W: 1}, shape)
	assert.InDeltaSlice(t, []float32{14.5, 0}, out, 1e-6)
}

func TestEngineRejectsBadInput(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	net := nntest.RandomFC(rng, nntest.Options{})
	e := nn.NewEngine(net)
	_, _, err := e.Forward(make([]float32, 3), net.Input.Window())
	assert.ErrorContains(t, err, "needs")
	// An FC network accepts only its window.
	big := nn.Shape{C: net.Input.Channels, H: net.Input.Height + 7, W: net.Input.Width}
	_, _, err = e.Forward(make([]float32, big.Size()), big)
	assert.ErrorContains(t, err, "dense")
	out, err := e.OutShape(net.Input.Window())
	require.NoError(t, err)
	_, err = e.ForwardInto(make([]float32, out.Size()-1), make([]float32, net.Input.Window().Size()), net.Input.Window())
	assert.ErrorContains(t, err, "output buffer holds")
}

// The engine gives the same answer whichever kernels it uses.
func TestEngineKernelsAgree(t *testing.T) {
	for seed := int64(100); seed < 110; seed++ {
		rng := rand.New(rand.NewSource(seed))
		net := nntest.RandomFC(rng, nntest.Options{Padded: true})
		x := nntest.Input(rng, net.Input.Window())
		a, _, err := nn.NewEngineWith(net, kernels.Reference{}).Forward(x, net.Input.Window())
		require.NoError(t, err)
		for _, k := range []kernels.Kernels{kernels.Gonum{}, kernels.Packed{}} {
			b, _, err := nn.NewEngineWith(net, k).Forward(x, net.Input.Window())
			require.NoError(t, err)
			assert.LessOrEqual(t, nntest.MaxAbsDiff(a, b), 1e-5, "seed %d, %T", seed, k)
		}
	}
}

// An input whose activations would exceed the bound is refused before
// anything is allocated.
func TestEngineBoundsActivations(t *testing.T) {
	conv := nn.NewConv2D("conv", 1, 128, nn.Pair{H: 1, W: 1}, nn.Pair{H: 1, W: 1}, nn.Pair{})
	net := &nn.Network{Input: nn.InputSpec{Channels: 1, Height: 1, Width: 1, Mean: []float32{0}, Std: []float32{1}}, Layers: []nn.Layer{conv}}
	huge := nn.Shape{C: 1, H: 1 << 12, W: 1 << 12} // 128 channels × 2^24 > 2^30
	_, _, err := nn.NewEngine(net).Forward(make([]float32, huge.Size()), huge)
	assert.ErrorContains(t, err, "tile the input")
}

func TestValidateRejectsOverflowingBatchNorm(t *testing.T) {
	bn := nn.NewBatchNorm("bn", 1, 1e-300)
	bn.Var.Data[0] = 0
	net := &nn.Network{Input: nn.InputSpec{Channels: 1, Height: 1, Width: 1, Mean: []float32{0}, Std: []float32{1}}, Layers: []nn.Layer{bn}}
	err := net.Validate()
	require.Error(t, err)
	assert.ErrorIs(t, err, nn.ErrInvalid)
	assert.Contains(t, err.Error(), `batchnorm "bn": channel 0 normalises to a non-finite scale`)
}

// Profile reports every step with its shapes and the products' FLOPs,
// worked out by hand: a 2×1×3×3 conv on 6×5 gives 2×4×3 outputs of 9
// multiply-adds, the dense 24→3 reads 24 inputs per output.
func TestEngineProfile(t *testing.T) {
	conv := nn.NewConv2D("conv", 1, 2, nn.Pair{H: 3, W: 3}, nn.Pair{H: 1, W: 1}, nn.Pair{})
	net := &nn.Network{
		Input:  nn.InputSpec{Channels: 1, Height: 6, Width: 5, Mean: []float32{0}, Std: []float32{1}},
		Layers: []nn.Layer{conv, nn.NewReLU("relu"), nn.NewFlatten("flat", nn.FlattenCHW), nn.NewDense("fc", 24, 3)},
	}
	require.NoError(t, net.Validate())
	costs, err := nn.NewEngine(net).Profile(make([]float32, 30), net.Input.Window())
	require.NoError(t, err)
	require.Len(t, costs, 3, "the ReLU runs inside the convolution")
	assert.Equal(t, "conv", costs[0].Layer.Name())
	require.Len(t, costs[0].Fused, 1)
	assert.Equal(t, "relu", costs[0].Fused[0].Name())
	assert.Equal(t, nn.Shape{C: 2, H: 4, W: 3}, costs[0].Out)
	assert.Equal(t, int64(2*9*24), costs[0].FLOPs)
	assert.Equal(t, int64(0), costs[1].FLOPs)
	assert.Equal(t, int64(2*24*3), costs[2].FLOPs)
	_, err = nn.NewEngine(net).Profile(make([]float32, 3), net.Input.Window())
	assert.ErrorContains(t, err, "needs")
}

// Once an engine has seen an input size, ForwardInto on one thread
// allocates nothing: buffers, shapes and the kernels' per-call state are
// kept, and weights were packed when the engine was made.
func TestForwardIntoAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	rng := rand.New(rand.NewSource(3))
	conv := nn.NewConv2D("c", 1, 8, nn.Pair{H: 3, W: 3}, nn.Pair{H: 1, W: 1}, nn.Pair{H: 1, W: 1})
	net := &nn.Network{
		Input: nn.InputSpec{Channels: 1, Height: 8, Width: 8, Mean: []float32{0}, Std: []float32{1}},
		Layers: []nn.Layer{conv, nn.NewReLU("r"), nn.NewMaxPool2D("m", nn.Pair{H: 2, W: 2}, nn.Pair{H: 2, W: 2}, nn.Pair{}),
			nn.NewConv2D("head", 8, 2, nn.Pair{H: 4, W: 4}, nn.Pair{H: 1, W: 1}, nn.Pair{}), nn.NewSoftmax("s")},
	}
	nntest.Randomize(net, rng)
	assertWarmPassAllocatesNothing(t, net, nn.Shape{C: 1, H: 64, W: 96}, rng)
}

// assertWarmPassAllocatesNothing runs net once on a random input of shape
// in, then checks that further passes of that size allocate nothing.
func assertWarmPassAllocatesNothing(t *testing.T, net *nn.Network, in nn.Shape, rng *rand.Rand) {
	t.Helper()
	x := nntest.Input(rng, in)
	e := nn.NewEngine(net)
	out, err := e.OutShape(in)
	require.NoError(t, err)
	dst := make([]float32, out.Size())
	_, err = e.ForwardInto(dst, x, in)
	require.NoError(t, err)
	allocs := testing.AllocsPerRun(20, func() {
		if _, err := e.ForwardInto(dst, x, in); err != nil {
			t.Fatal(err)
		}
	})
	assert.Zero(t, allocs)
}
