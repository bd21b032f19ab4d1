package fmnist_test

import (
	"image"
	"math"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fc2conv/fc2conv/fmnist"
)

// Dead leaves are deterministic per seed, span the grey range, and are
// made of smooth shapes with sharp borders: about half of neighbouring
// pixels are nearly equal, a few percent differ a lot.
func TestLeaves(t *testing.T) {
	a := fmnist.Leaves(rand.New(rand.NewSource(5)), 256, 128, 32)
	b := fmnist.Leaves(rand.New(rand.NewSource(5)), 256, 128, 32)
	c := fmnist.Leaves(rand.New(rand.NewSource(6)), 256, 128, 32)
	require.Equal(t, image.Rect(0, 0, 256, 128), a.Rect)
	assert.Equal(t, a.Pix, b.Pix, "same seed, same image")
	assert.NotEqual(t, a.Pix, c.Pix)

	lo, hi := 255, 0
	flat, edges, pairs := 0, 0, 0
	for y := 0; y < 128; y++ {
		for x := 0; x < 256; x++ {
			v := int(a.Pix[y*a.Stride+x])
			lo, hi = min(lo, v), max(hi, v)
			if x == 0 {
				continue
			}
			d := v - int(a.Pix[y*a.Stride+x-1])
			d = max(d, -d)
			pairs++
			if d <= 8 {
				flat++
			}
			if d >= 50 {
				edges++
			}
		}
	}
	assert.Less(t, lo, 40)
	assert.Greater(t, hi, 215)
	assert.Greater(t, float64(flat)/float64(pairs), 0.4, "shapes are smooth inside")
	assert.Greater(t, float64(edges)/float64(pairs), 0.01, "shapes have sharp borders")

	assertRefusesBadSizes(t, fmnist.Leaves)
}

// assertRefusesBadSizes checks that a synthetic-photograph generator
// returns an empty image for sizes out of range.
func assertRefusesBadSizes(t *testing.T, gen func(rng *rand.Rand, w, h int, size float64) *image.Gray) {
	t.Helper()
	for _, wh := range [][2]int{{0, 5}, {5, -1}, {fmnist.MaxSceneSide + 1, 5}} {
		assert.Zero(t, gen(rand.New(rand.NewSource(1)), wh[0], wh[1], 8).Rect.Dx(), "size %v", wh)
	}
	for _, size := range []float64{0, -3, math.NaN(), math.Inf(1)} {
		assert.Zero(t, gen(rand.New(rand.NewSource(1)), 8, 8, size).Rect.Dx(), "feature size %v", size)
	}
}

// backgroundOnly is a sampler config that draws bare backgrounds without
// jitter: every sample is a pure-background negative.
func backgroundOnly() fmnist.SamplerConfig {
	cfg := fmnist.DefaultSamplerConfig()
	cfg.Mix.Positive, cfg.Background.Black, cfg.Background.Photo, cfg.Background.Invert, cfg.Place.Neighbour = 0, 0, 1, 0, 0
	cfg.Mix.NegOther, cfg.Mix.NegBackground, cfg.Mix.NegOffCentre, cfg.Mix.NegScale = 0, 1, 0, 0
	cfg.Jitter.Contrast, cfg.Jitter.Brightness, cfg.Jitter.Noise = 0, 0, 0
	return cfg
}

// On a photo that is a left-to-right ramp, unvaried crops always change
// along x; with PhotoVary some are turned and change along y, and the
// gamma moves their mean grey.
func TestSamplerPhotoVary(t *testing.T) {
	items := loadTiny(t, "train")
	ramp := image.NewGray(image.Rect(0, 0, 256, 256))
	for y := 0; y < 256; y++ {
		for x := 0; x < 256; x++ {
			ramp.Pix[y*ramp.Stride+x] = uint8(x)
		}
	}
	count := func(vary float64) (turned, plain int) {
		cfg := backgroundOnly()
		cfg.Background.PhotoVary = vary
		patches, _ := draw(mustSampler(t, items, []*image.Gray{ramp}, cfg), 200)
		for _, p := range patches {
			dx := math.Abs(float64(p[13*28+27] - p[13*28]))
			dy := math.Abs(float64(p[27*28+13] - p[13]))
			switch {
			case dy > 2*dx:
				turned++
			case dx > 2*dy:
				plain++
			}
		}
		return turned, plain
	}
	turned, plain := count(0)
	assert.Zero(t, turned)
	assert.Equal(t, 200, plain)
	turned, plain = count(1)
	assert.Greater(t, turned, 60, "about half turned")
	assert.Greater(t, plain, 60)

	cfg := backgroundOnly()
	cfg.Background.PhotoVary = 1.5
	_, err := fmnist.NewSamplerWith(items, []*image.Gray{ramp}, 1, cfg)
	assert.ErrorContains(t, err, "PhotoVary")
	cfg.Background.PhotoVary, cfg.Background.Leaves = 0, -0.1
	_, err = fmnist.NewSamplerWith(items, []*image.Gray{ramp}, 1, cfg)
	assert.ErrorContains(t, err, "Leaves")
}

// With Leaves, synthetic backgrounds are dead leaves: opaque shapes
// whose borders are sharp steps, where additive clutter mostly blends;
// so many more neighbouring pixels differ by over 0.2.
func TestSamplerLeaves(t *testing.T) {
	items := loadTiny(t, "train")
	edgeShare := func(leaves float64) float64 {
		cfg := backgroundOnly()
		cfg.Background.Photo, cfg.Background.Leaves = 0, leaves
		patches, _ := draw(mustSampler(t, items, nil, cfg), 400)
		edges, pairs := 0, 0
		for _, p := range patches {
			for i := 1; i < len(p); i++ {
				if i%28 != 0 {
					pairs++
					if math.Abs(float64(p[i]-p[i-1])) > 0.2 {
						edges++
					}
				}
			}
		}
		return float64(edges) / float64(pairs)
	}
	clutter, leaves := edgeShare(0), edgeShare(1)
	assert.Greater(t, leaves, 2*clutter, "leaves %.3f vs clutter %.3f", leaves, clutter)
}
