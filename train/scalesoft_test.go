package train

import (
	"math"
	"testing"

	"github.com/fc2conv/fc2conv/fmnist"
	"github.com/stretchr/testify/assert"
)

// A dress inside the half pyramid step keeps its whole target; past it
// the target falls linearly in log size to 1−ScaleSoft at the range's
// ends, and stays there beyond them.
func TestDressTarget(t *testing.T) {
	c := DefaultConfig()
	c.ScaleSoft = 0.5
	c.Sampler.Place.ScaleMin, c.Sampler.Place.ScaleMax = 0.8, 1.25
	half := math.Sqrt(1.25) // 1.118: the detector's levels are 1.25 apart
	for _, tc := range []struct{ scale, want float64 }{
		{1, 1}, {1.1, 1}, {0.9, 1}, {half, 1}, {1 / half, 1},
		{1.25, 0.5}, {0.8, 0.5}, {1.4, 0.5}, {0.7, 0.5},
		{math.Sqrt(half * 1.25), 0.75},                       // half way up, in log size
		{math.Sqrt(0.8 / half), 0.75},                        // half way down
		{math.Pow(half, 0.75) * math.Pow(1.25, 0.25), 0.875}, // a quarter of the way up
	} {
		assert.InDelta(t, tc.want, c.dressTarget(tc.scale), 1e-9, "scale %v", tc.scale)
	}
	// With the range inside the half step nothing is softened.
	c.Sampler.Place.ScaleMin, c.Sampler.Place.ScaleMax = 0.9, 1.1
	assert.Equal(t, 1.0, c.dressTarget(1.1))
}

// soften moves a share of one class's target onto another, the sum kept.
func TestSoften(t *testing.T) {
	y := []float32{0.05, 0.95}
	soften(y, 1, 0, 0.5)
	assert.InDelta(t, 0.525, y[0], 1e-7)
	assert.InDelta(t, 0.475, y[1], 1e-7)
	y = make([]float32, fmnist.NoItem+1)
	targets(y, fmnist.Dress, 0)
	soften(y, dressLabel(len(y)), noDressLabel(len(y)), 0.75)
	assert.InDelta(t, 0.75, y[fmnist.Dress], 1e-7)
	assert.InDelta(t, 0.25, y[fmnist.NoItem], 1e-7)
	assert.Equal(t, 1, dressLabel(2))
	assert.Equal(t, 0, noDressLabel(2))
}

// ScaleSoft reaches the training targets: the same seed with and without
// it gives different models, and 0 is the run without it.
func TestTrainScaleSoftChangesTheModel(t *testing.T) {
	cfg := tinyConfig(t)
	cfg.Arch = "c4,p,c8,p,f16"
	cfg.Sampler.Place.ScaleMin, cfg.Sampler.Place.ScaleMax = 0.8, 1.25
	plain, _ := trainOneEpoch(t, cfg)
	cfg.ScaleSoft = 0
	zero, _ := trainOneEpoch(t, cfg)
	cfg.ScaleSoft = 0.5
	soft, _ := trainOneEpoch(t, cfg)
	assert.Equal(t, modelBytes(t, plain), modelBytes(t, zero), "ScaleSoft 0 is off")
	assert.NotEqual(t, modelBytes(t, plain), modelBytes(t, soft), "ScaleSoft 0.5 changes the targets")
}
