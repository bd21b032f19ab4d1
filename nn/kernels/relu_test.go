package kernels

import (
	"math"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// AddBiasReLU gives the Go loop's bits for every length, with NaNs, both
// zeros and infinities among the values and as the bias; a NaN comes out
// a NaN (its payload is the hardware's, as in the Go loop's own sum).
func TestAddBiasReLUMatchesTwin(t *testing.T) {
	if reluAsm == nil {
		t.Skip("no assembly ReLU on this CPU")
	}
	rng := rand.New(rand.NewSource(14))
	negZero := float32(math.Copysign(0, -1))
	special := []float32{float32(math.NaN()), math.Float32frombits(0x7fc00123), 0, negZero, float32(math.Inf(1)), float32(math.Inf(-1)), 1e-39}
	for _, b := range []float32{0.5, -0.5, 0, negZero, float32(math.NaN()), float32(math.Inf(-1)), 3} {
		for _, n := range []int{0, 1, 7, 8, 9, 16, 31, 64, 100} {
			x := make([]float32, n)
			for i := range x {
				x[i] = float32(rng.NormFloat64())
				if rng.Intn(5) == 0 {
					x[i] = special[rng.Intn(len(special))]
				}
			}
			want := append([]float32(nil), x...)
			addBiasReLUGo(want, b)
			AddBiasReLU(x, b)
			for i := range x {
				if math.IsNaN(float64(want[i])) {
					require.True(t, math.IsNaN(float64(x[i])), "b=%v n=%d element %d: want NaN, got %v", b, n, i, x[i])
					continue
				}
				require.Equal(t, math.Float32bits(want[i]), math.Float32bits(x[i]), "b=%v n=%d element %d", b, n, i)
			}
		}
	}
}

// The definition, on values worked out by hand.
func TestAddBiasReLUByHand(t *testing.T) {
	x := []float32{-2, -1, 0, 1, 2, 3, 4, 5, -6, 7}
	AddBiasReLU(x, 1.5)
	assert.Equal(t, []float32{0, 0.5, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 0, 8.5}, x)
	nan := []float32{float32(math.NaN()), 1, 1, 1, 1, 1, 1, 1, 1}
	AddBiasReLU(nan, 0)
	assert.True(t, math.IsNaN(float64(nan[0])), "a NaN stays NaN")
}

// ReLUGrad gives its Go twin's bits for every length, with NaNs, both
// zeros and infinities as inputs and as gradients, and leaves din past
// len(in) alone.
func TestReLUGradMatchesTwin(t *testing.T) {
	if reluGradAsm == nil {
		t.Skip("no assembly ReLU gradient on this CPU")
	}
	rng := rand.New(rand.NewSource(16))
	special := []float32{float32(math.NaN()), 0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1)), 1e-39, -1e-39}
	for _, n := range []int{0, 1, 7, 8, 9, 16, 31, 64, 100} {
		in, dout := make([]float32, n), make([]float32, n)
		for i := range in {
			in[i], dout[i] = float32(rng.NormFloat64()), float32(rng.NormFloat64())
			if rng.Intn(4) == 0 {
				in[i] = special[rng.Intn(len(special))]
			}
			if rng.Intn(4) == 0 {
				dout[i] = special[rng.Intn(len(special))]
			}
		}
		want, got := make([]float32, n+1), make([]float32, n+1)
		want[n], got[n] = 7, 7
		reluGradGo(want[:n], in, dout)
		ReLUGrad(got[:n], in, dout)
		for i := range want {
			require.Equal(t, math.Float32bits(want[i]), math.Float32bits(got[i]), "n=%d element %d", n, i)
		}
	}
}
