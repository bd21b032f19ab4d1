package train

import (
	"math"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Beta(a, a) has mean 1/2 and variance 1/(4(2a+1)); the sampler must match
// both for a below 1 (the boosted path) and above.
func TestBetaSampleMoments(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	for _, a := range []float64{0.2, 0.4, 1, 2.5} {
		const n = 40000
		var sum, sq float64
		for range n {
			v := betaSample(rng, a)
			require.True(t, v >= 0 && v <= 1, "a %v: %v outside [0,1]", a, v)
			sum += v
			sq += v * v
		}
		mean := sum / n
		variance := sq/n - mean*mean
		want := 1 / (4 * (2*a + 1))
		assert.InDelta(t, 0.5, mean, 0.01, "mean, a %v", a)
		assert.InDelta(t, want, variance, 0.05*want, "variance, a %v", a)
	}
}

// blend mixes windows and targets by the same weight, each with its
// partner's original (not already blended) values.
func TestBlend(t *testing.T) {
	const dim = 3
	xs := []float32{1, 1, 1, 10, 20, 30, 0, 0, 4}
	ys := []float32{1, 0, 0, 1, 0.5, 0.5}
	partner := []int{1, 0, 2}
	lambda := []float32{0.25, 0.5, 0.75}
	blend(xs, ys, make([]float32, 9), make([]float32, 6), dim, 2, partner, lambda)
	assert.Equal(t, []float32{
		0.25*1 + 0.75*10, 0.25*1 + 0.75*20, 0.25*1 + 0.75*30,
		0.5*10 + 0.5*1, 0.5*20 + 0.5*1, 0.5*30 + 0.5*1,
		0, 0, 4, // its own partner: unchanged
	}, xs)
	assert.Equal(t, []float32{0.25, 0.75, 0.5, 0.5, 0.5, 0.5}, ys)
}

// A mixer draws a permutation of the batch, keeps each target pair a
// distribution, and replays exactly from its seed.
func TestMixerIsAPermutationAndReplays(t *testing.T) {
	run := func() ([]float32, []int) {
		m := newMixer(0.4, 7, 8, 2, 2)
		xs := make([]float32, 16)
		ys := make([]float32, 16)
		for b := range 8 {
			xs[b*2], xs[b*2+1] = float32(b), float32(-b)
			ys[b*2+b%2] = 1
		}
		m.mix(xs, ys)
		for b := range 8 {
			assert.InDelta(t, 1, ys[b*2]+ys[b*2+1], 1e-6)
			assert.InDelta(t, 0, xs[b*2]+xs[b*2+1], 1e-5, "both pixels blended by the same weight")
		}
		return xs, append([]int(nil), m.partner...)
	}
	xs1, p1 := run()
	xs2, p2 := run()
	assert.Equal(t, xs1, xs2)
	assert.Equal(t, p1, p2)
	seen := make([]bool, 8)
	for _, p := range p1 {
		seen[p] = true
	}
	assert.NotContains(t, seen, false, "partners %v are not a permutation", p1)
	assert.False(t, math.IsNaN(float64(xs1[0])))
}
