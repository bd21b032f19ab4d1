package kernels

import (
	"math"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// MaxInto gives its Go twin's bits for every length, with both zeros,
// equal values, infinities and NaNs of several payloads among the values,
// into a third slice and into a itself.
func TestMaxIntoMatchesTwin(t *testing.T) {
	if maxIntoAsm == nil {
		t.Skip("no assembly MaxInto on this CPU")
	}
	rng := rand.New(rand.NewSource(15))
	negZero := float32(math.Copysign(0, -1))
	special := []float32{0, negZero, 1, -1, float32(math.Inf(1)), float32(math.Inf(-1)), 1e-39}
	for _, withNaN := range []bool{false, true} {
		for _, n := range []int{0, 1, 7, 8, 9, 16, 31, 64, 100} {
			a, b := make([]float32, n), make([]float32, n)
			for i := range a {
				a[i], b[i] = float32(rng.NormFloat64()), float32(rng.NormFloat64())
				if rng.Intn(3) == 0 {
					a[i], b[i] = special[rng.Intn(len(special))], special[rng.Intn(len(special))]
				}
			}
			if withNaN && n > 0 { // NaNs of two payloads, alone and together
				a[rng.Intn(n)] = math.Float32frombits(0x7fc00123)
				b[rng.Intn(n)] = math.Float32frombits(0xffc00456)
				i := rng.Intn(n)
				a[i], b[i] = math.Float32frombits(0x7fc00789), math.Float32frombits(0x7fc00abc)
			}
			want := make([]float32, n)
			maxIntoGo(want, a, b)
			got := make([]float32, n)
			MaxInto(got, a, b)
			in := append([]float32(nil), a...)
			MaxInto(in, in, b) // in place
			for i := range want {
				require.Equal(t, math.Float32bits(want[i]), math.Float32bits(got[i]), "n=%d element %d: max(%v, %v)", n, i, a[i], b[i])
				require.Equal(t, math.Float32bits(want[i]), math.Float32bits(in[i]), "n=%d element %d in place", n, i)
			}
		}
	}
}

// The maxima by hand, on every backend: +0 beats −0 in either order.
func TestMaxIntoByHand(t *testing.T) {
	negZero := float32(math.Copysign(0, -1))
	a := []float32{1, -2, negZero, 0, 5, 5, -1, 3, negZero}
	b := []float32{2, -3, 0, negZero, 5, float32(math.Inf(-1)), -1, -3, negZero}
	got := make([]float32, len(a))
	MaxInto(got, a, b)
	assert.Equal(t, []float32{2, -2, 0, 0, 5, 5, -1, 3, 0}, got)
	for i := 2; i <= 3; i++ {
		assert.False(t, math.Signbit(float64(got[i])), "element %d: +0", i)
	}
	assert.True(t, math.Signbit(float64(got[8])), "max(−0, −0) is −0")
	assert.Panics(t, func() { MaxInto(got, a[:3], b) })
}
