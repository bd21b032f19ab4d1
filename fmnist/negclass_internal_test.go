package fmnist

import (
	"math"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// classSet has 3 items of every class, so item-uniform draws would give
// every class the same share.
func classSet() *Set {
	s := &Set{Rows: 2, Cols: 2}
	for c := range NumClasses {
		for range 3 {
			s.Images = append(s.Images, make([]byte, 4))
			s.Labels = append(s.Labels, byte(c))
		}
	}
	return s
}

// With Mix.NegClass set, the other-garment negatives' classes come in the
// proportions of the weights: counted over n draws, each class's count is
// within 4.5 binomial standard deviations of n·w/Σw (a false alarm about
// once in 10⁵ runs per class, and the seed is fixed anyway).
func TestNegClassWeightsSetClassFrequencies(t *testing.T) {
	cfg := DefaultSamplerConfig()
	cfg.Mix.NegClass = ConfusableWeights(3)
	cfg.Mix.NegClass[8] = 0 // no bags at all
	s, err := NewSamplerWith(classSet(), nil, 1, cfg)
	require.NoError(t, err)
	const n = 20000
	var count [NumClasses]int
	for range n {
		pool := s.otherPool()
		require.NotEmpty(t, pool)
		c := s.items.Labels[pool[0]]
		for _, i := range pool {
			require.Equal(t, c, s.items.Labels[i], "a pool holds one class")
		}
		count[c]++
	}
	// Weights: 3 for classes 0, 2, 4, 6; 1 for 1, 5, 7, 9; 0 for dress and bag.
	total := 4*3.0 + 4*1.0
	for c := range NumClasses {
		p := cfg.Mix.NegClass[c] / total
		sd := math.Sqrt(n * p * (1 - p))
		assert.InDelta(t, n*p, float64(count[c]), 4.5*sd+1e-9, "class %d (%s): %d of %d", c, ClassNames[c], count[c], n)
	}
	assert.Zero(t, count[Dress])
	assert.Zero(t, count[8])
}

// Unweighted, the pool is every other item and no random number is drawn,
// so samplers without weights give the same patches as before.
func TestNegClassUnweightedDrawsNothing(t *testing.T) {
	s, err := NewSamplerWith(classSet(), nil, 7, DefaultSamplerConfig())
	require.NoError(t, err)
	assert.Len(t, s.otherPool(), 27)
	assert.Equal(t, rand.New(rand.NewSource(7)).Int63(), s.rng.Int63())
}

func TestNegClassValidate(t *testing.T) {
	cfg := DefaultSamplerConfig()
	cfg.Mix.NegClass[Dress] = 1
	assert.ErrorContains(t, cfg.Validate(), "want 0")
	cfg.Mix.NegClass[Dress] = 0
	cfg.Mix.NegClass[6] = math.Inf(1)
	assert.ErrorContains(t, cfg.Validate(), "Mix.NegClass[6] (")
	cfg.Mix.NegClass[6] = -1
	var ce *ConfigError
	require.ErrorAs(t, cfg.Validate(), &ce)
	assert.Equal(t, "Mix.NegClass", ce.Field)
}
