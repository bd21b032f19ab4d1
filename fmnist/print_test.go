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

// Print is deterministic per seed and two-toned: nearly every pixel is
// the paper's grey or the ink's, with a real share of ink (letters), and
// the ink runs in horizontal lines, so some rows hold none of it.
func TestPrint(t *testing.T) {
	a := fmnist.Print(rand.New(rand.NewSource(3)), 320, 160, 24)
	b := fmnist.Print(rand.New(rand.NewSource(3)), 320, 160, 24)
	c := fmnist.Print(rand.New(rand.NewSource(4)), 320, 160, 24)
	require.Equal(t, image.Rect(0, 0, 320, 160), a.Rect)
	assert.Equal(t, a.Pix, b.Pix, "same seed, same page")
	assert.NotEqual(t, a.Pix, c.Pix)

	var hist [256]int
	for _, v := range a.Pix {
		hist[v]++
	}
	paper := 0
	for v, n := range hist {
		if n > hist[paper] {
			paper = v
		}
	}
	far, total := 0, len(a.Pix)
	for _, v := range a.Pix {
		if math.Abs(float64(v)-float64(paper)) > 60 {
			far++
		}
	}
	assert.Greater(t, float64(hist[paper])/float64(total), 0.4, "paper dominates")
	assert.Greater(t, float64(far)/float64(total), 0.05, "letters cover part of the page")
	assert.Less(t, float64(far)/float64(total), 0.6)

	blankRows := 0
	for y := 0; y < 160; y++ {
		ink := false
		for x := 0; x < 320; x++ {
			if math.Abs(float64(a.Pix[y*a.Stride+x])-float64(paper)) > 60 {
				ink = true
				break
			}
		}
		if !ink {
			blankRows++
		}
	}
	assert.Greater(t, blankRows, 3, "space between lines")

	assertRefusesBadSizes(t, fmnist.Print)
	// Letters too small to advance end their line instead of looping.
	tiny := fmnist.Print(rand.New(rand.NewSource(1)), 64, 32, 1e-6)
	assert.Equal(t, image.Rect(0, 0, 64, 32), tiny.Rect)
}

// With Print, backgrounds are print whatever the photos: on a flat grey
// photo every patch would be one grey, while print patches are two-toned
// (some show only paper, between lines or letters, so not all of them).
// Print off leaves the photo crops as they were.
func TestSamplerPrint(t *testing.T) {
	items := loadTiny(t, "train")
	flat := image.NewGray(image.Rect(0, 0, 128, 128))
	for i := range flat.Pix {
		flat.Pix[i] = 128
	}
	toned := func(print float64) int {
		cfg := backgroundOnly()
		cfg.Background.Print = print
		patches, _ := draw(mustSampler(t, items, []*image.Gray{flat}, cfg), 200)
		n := 0
		for _, p := range patches {
			lo, hi := p[0], p[0]
			for _, v := range p {
				lo, hi = min(lo, v), max(hi, v)
			}
			if hi-lo > 0.25 {
				n++
			}
		}
		return n
	}
	assert.Zero(t, toned(0))
	assert.Greater(t, toned(1), 100)

	cfg := backgroundOnly()
	cfg.Background.Print = 1.2
	_, err := fmnist.NewSamplerWith(items, []*image.Gray{flat}, 1, cfg)
	assert.ErrorContains(t, err, "Print")
}

// BlockyPrint is deterministic and binarised: two greys only, where
// Print's antialiased letters have many. Its pages are magnified k times
// (k = 1 to 3) by nearest neighbour, so on some seeds every pixel repeats
// the top-left pixel of its 2×2 or 3×3 block.
func TestBlockyPrint(t *testing.T) {
	a := fmnist.BlockyPrint(rand.New(rand.NewSource(3)), 320, 160, 24)
	b := fmnist.BlockyPrint(rand.New(rand.NewSource(3)), 320, 160, 24)
	require.Equal(t, image.Rect(0, 0, 320, 160), a.Rect)
	assert.Equal(t, a.Pix, b.Pix, "same seed, same page")

	assert.Equal(t, 2, distinct(a.Pix), "ink and paper only")
	assert.Greater(t, distinct(fmnist.Print(rand.New(rand.NewSource(3)), 320, 160, 24).Pix), 10, "antialiased")

	stepped := map[int]bool{}
	for seed := int64(1); seed <= 12; seed++ {
		g := fmnist.BlockyPrint(rand.New(rand.NewSource(seed)), 90, 60, 12)
		for k := 3; k >= 1; k-- {
			if repeatsBlocks(g, k) {
				stepped[k] = true
				break
			}
		}
	}
	assert.True(t, stepped[2] && stepped[3], "pages magnified 2 and 3 times, got %v", stepped)
	assert.True(t, stepped[1], "and pages at full resolution, got %v", stepped)

	assertRefusesBadSizes(t, fmnist.BlockyPrint)
	tiny := fmnist.BlockyPrint(rand.New(rand.NewSource(1)), 64, 32, 1e-6)
	assert.Equal(t, image.Rect(0, 0, 64, 32), tiny.Rect)
}

// distinct counts the different values in vs.
func distinct[T comparable](vs []T) int {
	seen := map[T]bool{}
	for _, v := range vs {
		seen[v] = true
	}
	return len(seen)
}

// repeatsBlocks reports whether every pixel of g equals the top-left pixel
// of its k×k block.
func repeatsBlocks(g *image.Gray, k int) bool {
	b := g.Bounds()
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			if g.Pix[y*g.Stride+x] != g.Pix[(y-y%k)*g.Stride+x-x%k] {
				return false
			}
		}
	}
	return true
}

// PrintBlocky turns the print backgrounds binarised: on a flat photo with
// Print always on, every patch then holds at most two greys, while
// antialiased print gives patches with more. Without Print it draws no
// randomness, so the patches are those of a sampler without it.
func TestSamplerPrintBlocky(t *testing.T) {
	items := loadTiny(t, "train")
	flat := image.NewGray(image.Rect(0, 0, 128, 128))
	for i := range flat.Pix {
		flat.Pix[i] = 128
	}
	patches := func(print, blocky float64) [][]float32 {
		cfg := backgroundOnly()
		cfg.Background.Scene, cfg.Background.Print, cfg.Background.PrintBlocky = 0, print, blocky
		p, _ := draw(mustSampler(t, items, []*image.Gray{flat}, cfg), 100)
		return p
	}
	manyGreys := func(ps [][]float32) int {
		n := 0
		for _, p := range ps {
			if distinct(p) > 2 {
				n++
			}
		}
		return n
	}
	assert.Zero(t, manyGreys(patches(1, 1)))
	assert.Greater(t, manyGreys(patches(1, 0)), 50)
	assert.Equal(t, patches(0, 0), patches(0, 1), "no print, no change")

	cfg := backgroundOnly()
	cfg.Background.PrintBlocky = -0.1
	_, err := fmnist.NewSamplerWith(items, []*image.Gray{flat}, 1, cfg)
	assert.ErrorContains(t, err, "PrintBlocky")
}
