package nn

import (
	"math/rand"
	"testing"

	"github.com/fc2conv/fc2conv/nn/kernels"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// unfused is an engine that runs every layer on its own, as the engine did
// before convolutions absorbed their ReLU and pool.
func unfused(net *Network) *Engine {
	e := &Engine{net: net, exec: exec{threads: 1}}
	for i, l := range net.Layers {
		e.steps = append(e.steps, step{i, i + 1, l.newKernel(kernels.Reference{})})
	}
	return e
}

func randomize(rng *rand.Rand, layers ...Layer) {
	for _, l := range layers {
		for _, p := range l.Params() {
			for i := range p.Value.Data {
				p.Value.Data[i] = float32(rng.NormFloat64())
			}
		}
	}
}

// Fusing a ReLU and a tiling max-pool into the convolution, and splitting
// its bands over threads, changes nothing: same values bit for bit, on odd
// sizes where the pool drops the last conv row and column, for 1×1 and
// larger kernels, grouped or not.
func TestFusedConvExact(t *testing.T) {
	rng := rand.New(rand.NewSource(5))
	p := func(h, w int) Pair { return Pair{H: h, W: w} }
	for _, tc := range []struct {
		name   string
		layers []Layer
		fused  int // steps expected
	}{
		{"conv relu pool", []Layer{NewConv2D("c", 2, 5, p(3, 3), p(1, 1), p(1, 1)), NewReLU("r"), NewMaxPool2D("m", p(2, 2), p(2, 2), Pair{})}, 1},
		{"conv pool 3×2", []Layer{NewConv2D("c", 2, 4, p(2, 3), p(1, 2), Pair{}), NewMaxPool2D("m", p(3, 2), p(3, 2), Pair{})}, 1},
		{"1×1 relu pool", []Layer{NewConv2D("c", 2, 3, p(1, 1), p(1, 1), Pair{}), NewReLU("r"), NewMaxPool2D("m", p(2, 2), p(2, 2), Pair{})}, 1},
		{"overlapping pool stays apart", []Layer{NewConv2D("c", 2, 3, p(3, 3), p(1, 1), Pair{}), NewReLU("r"), NewMaxPool2D("m", p(3, 3), p(2, 2), Pair{})}, 2},
		{"padded pool stays apart", []Layer{NewConv2D("c", 2, 3, p(3, 3), p(1, 1), Pair{}), NewMaxPool2D("m", p(2, 2), p(2, 2), p(1, 1))}, 2},
		{"grouped", []Layer{NewConv2D("c", 2, 2, p(1, 1), p(1, 1), Pair{}), NewConv2D("g", 2, 4, p(3, 3), p(1, 1), Pair{}), NewReLU("r"), NewMaxPool2D("m", p(2, 2), p(2, 2), Pair{})}, 2},
	} {
		randomize(rng, tc.layers...)
		if g, ok := tc.layers[1].(*Conv2D); ok && tc.name == "grouped" {
			// Block diagonal: output channels 0-1 read input 0, 2-3 input 1.
			for oc := 0; oc < 4; oc++ {
				for j := 0; j < 9; j++ {
					g.Weight.Data[(oc*2+(1-oc/2))*9+j] = 0
				}
			}
		}
		net := &Network{Input: InputSpec{Channels: 2, Height: 6, Width: 6, Mean: []float32{0, 0}, Std: []float32{1, 1}}, Layers: tc.layers}
		for _, s := range []Shape{{2, 6, 6}, {2, 37, 23}, {2, 64, 41}} {
			x := make([]float32, s.Size())
			for i := range x {
				x[i] = float32(rng.NormFloat64())
			}
			want, ws, err := unfused(net).Forward(x, s)
			require.NoError(t, err, tc.name)
			for _, threads := range []int{1, 2, 3} {
				e := NewEngineWith(net, kernels.Reference{})
				require.Len(t, e.steps, tc.fused, tc.name)
				e.SetThreads(threads)
				got, gs, err := e.Forward(x, s)
				require.NoError(t, err, tc.name)
				assert.Equal(t, ws, gs, tc.name)
				assert.Equal(t, want, got, "%s on %v with %d threads", tc.name, s, threads)
			}
		}
	}
}
