package train

import (
	"math"
	"math/rand"
	"runtime"
	"testing"

	"github.com/fc2conv/fc2conv/nn"
	"github.com/fc2conv/fc2conv/nn/nntest"
	"github.com/stretchr/testify/require"
)

// forwardEach hands over, in order, each window's output as a forward
// pass of it alone gives it, to the bit, over several batches shared by
// several goroutines; and forwardInputs refuses a window of the wrong
// size, naming it.
func TestForwardEachMatchesForward(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(3))
	rng := rand.New(rand.NewSource(8))
	net := nntest.RandomFC(rng, nntest.Options{Padded: true})
	win := net.Input.Window()
	n := 2*evalBatch + 17
	xs := make([][]float32, n)
	for i := range xs {
		xs[i] = nntest.Input(rng, win)
	}
	e := nn.NewEngine(net)
	next := 0
	err := forwardInputs(net, xs, func(i int, y []float32) {
		require.Equal(t, next, i, "in order")
		next++
		want, _, err := e.Forward(xs[i], win)
		require.NoError(t, err)
		require.Len(t, y, len(want))
		for k := range y {
			require.Equal(t, math.Float32bits(want[k]), math.Float32bits(y[k]), "window %d output %d", i, k)
		}
	})
	require.NoError(t, err)
	require.Equal(t, n, next)

	xs[300] = xs[300][1:]
	err = forwardInputs(net, xs, func(int, []float32) { t.Fatal("called on a refused set") })
	require.ErrorContains(t, err, "input 300 holds")
}
