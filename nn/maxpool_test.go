package nn_test

import (
	"fmt"
	"math"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fc2conv/fc2conv/nn"
)

// naiveMaxPool is the pool written plainly: each window clipped to the
// input, its values folded with Go's max from −Inf.
func naiveMaxPool(x []float32, s nn.Shape, w nn.Window, os nn.Shape) []float32 {
	out := make([]float32, os.Size())
	for c := 0; c < s.C; c++ {
		for oy := 0; oy < os.H; oy++ {
			for ox := 0; ox < os.W; ox++ {
				m := float32(math.Inf(-1))
				for y := oy*w.Stride.H - w.Padding.H; y < oy*w.Stride.H-w.Padding.H+w.Kernel.H; y++ {
					for xx := ox*w.Stride.W - w.Padding.W; xx < ox*w.Stride.W-w.Padding.W+w.Kernel.W; xx++ {
						if y >= 0 && y < s.H && xx >= 0 && xx < s.W {
							m = max(m, x[(c*s.H+y)*s.W+xx])
						}
					}
				}
				out[(c*os.H+oy)*os.W+ox] = m
			}
		}
	}
	return out
}

// The engine's max pool gives the plain loop's bits on random windows,
// strides, paddings and ceil mode, on maps with both zeros and
// infinities, on one thread and two; a NaN in a window comes out a NaN.
func TestMaxPoolMatchesPlainLoop(t *testing.T) {
	rng := rand.New(rand.NewSource(21))
	negZero := float32(math.Copysign(0, -1))
	for i := 0; i < 200; i++ {
		k := nn.Pair{H: 1 + rng.Intn(4), W: 1 + rng.Intn(4)}
		st := nn.Pair{H: 1 + rng.Intn(3), W: 1 + rng.Intn(3)}
		pad := nn.Pair{H: rng.Intn(k.H/2 + 1), W: rng.Intn(k.W/2 + 1)}
		pool := nn.NewMaxPool2D("m", k, st, pad)
		pool.CeilMode = rng.Intn(2) == 0
		s := nn.Shape{C: 1 + rng.Intn(3), H: k.H + rng.Intn(12), W: k.W + rng.Intn(40)}
		os, err := pool.OutShape(s)
		if err != nil {
			continue
		}
		x := make([]float32, s.Size())
		for j := range x {
			x[j] = float32(rng.NormFloat64())
			switch rng.Intn(12) {
			case 0:
				x[j] = negZero
			case 1:
				x[j] = 0
			case 2:
				x[j] = float32(math.Inf(-1))
			}
		}
		nan := i%4 == 0
		if nan {
			x[rng.Intn(len(x))] = float32(math.NaN())
		}
		want := naiveMaxPool(x, s, pool.Window(), os)
		net := &nn.Network{Layers: []nn.Layer{pool}}
		for _, threads := range []int{1, 2} {
			e := nn.NewEngine(net)
			e.SetThreads(threads)
			got, gs, err := e.Forward(x, s)
			require.NoError(t, err)
			require.Equal(t, os, gs)
			name := fmt.Sprintf("case %d: %v on %v, %d threads", i, pool.Window(), s, threads)
			for j := range want {
				if nan && math.IsNaN(float64(want[j])) {
					require.True(t, math.IsNaN(float64(got[j])), "%s: output %d is not NaN", name, j)
					continue
				}
				require.Equal(t, math.Float32bits(want[j]), math.Float32bits(got[j]), "%s: output %d", name, j)
			}
		}
	}
}

// The stride-1 3×3 pool of an Inception module, by hand: each output is
// the maximum of its clipped 3×3 neighbourhood.
func TestMaxPoolInceptionByHand(t *testing.T) {
	three, one := nn.Pair{H: 3, W: 3}, nn.Pair{H: 1, W: 1}
	net := &nn.Network{Layers: []nn.Layer{nn.NewMaxPool2D("m", three, one, one)}}
	x := []float32{
		1, 0, 0, 0,
		0, 0, 0, 5,
		0, -1, 0, 0,
	}
	got, s, err := nn.NewEngine(net).Forward(x, nn.Shape{C: 1, H: 3, W: 4})
	require.NoError(t, err)
	assert.Equal(t, nn.Shape{C: 1, H: 3, W: 4}, s)
	assert.Equal(t, []float32{
		1, 1, 5, 5,
		1, 1, 5, 5,
		0, 0, 5, 5,
	}, got)
}
