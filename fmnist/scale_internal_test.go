package fmnist

import (
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestScaleIoU(t *testing.T) {
	for _, c := range []struct {
		k     float64
		shift [2]float64
		want  float64
	}{
		{1, [2]float64{0, 0}, 1},
		{2, [2]float64{0, 0}, 0.25},   // window inside a 56 px box
		{0.5, [2]float64{0, 0}, 0.25}, // 14 px box inside the window
		{1, [2]float64{14, 0}, 392.0 / 1176},
		{2, [2]float64{14, 14}, 0.25}, // still inside: the dress box spans ±28
		{1, [2]float64{28, 0}, 0},
	} {
		assert.InDelta(t, c.want, scaleIoU(c.k, c.shift), 1e-12, "k %v shift %v", c.k, c.shift)
	}
}

// nestedScale's dresses overlap the window below ScaleIoU, are too small
// and too large in about equal numbers, and stay nested: big enough
// dresses always cover the window's centre.
func TestNestedScale(t *testing.T) {
	s := &Sampler{rng: rand.New(rand.NewSource(3)), cfg: DefaultSamplerConfig()}
	s.cfg.Place.ScaleIoU = 0.45
	small, large := 0, 0
	for i := 0; i < 2000; i++ {
		k, shift := s.nestedScale()
		require.Less(t, scaleIoU(k, shift), 0.45, "draw %d: k %v shift %v", i, k, shift)
		require.True(t, k >= 0.4 && k < 2.5, "k %v", k)
		if k < 1 {
			small++
			continue
		}
		large++
		half := k * PatchSize / 2
		assert.True(t, shift[0]-half <= 0 && shift[0]+half >= 0 && shift[1]-half <= 0 && shift[1]+half >= 0,
			"draw %d: a %.2f× dress shifted %v misses the window centre", i, k, shift)
	}
	assert.InDelta(t, 0.5, float64(small)/2000, 0.1)
	assert.Positive(t, large)
}
