package fmnist

import (
	"image"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestVariantTurnsFlipsAndMapsLevels(t *testing.T) {
	// 3 wide, 2 high: rows {0, 255, 128}, {64, 32, 16}
	g := image.NewGray(image.Rect(0, 0, 3, 2))
	copy(g.Pix, []uint8{0, 255, 128, 64, 32, 16})

	same := variant(g, false, false, 1)
	assert.Equal(t, g.Pix, same.Pix)

	turned := variant(g, true, false, 1)
	require.Equal(t, image.Rect(0, 0, 2, 3), turned.Rect)
	assert.Equal(t, []uint8{0, 64, 255, 32, 128, 16}, turned.Pix, "transpose: column x becomes row x")

	flipped := variant(g, false, true, 1)
	assert.Equal(t, []uint8{64, 32, 16, 0, 255, 128}, flipped.Pix)

	both := variant(g, true, true, 1)
	assert.Equal(t, []uint8{128, 16, 255, 32, 0, 64}, both.Pix)

	dark := variant(g, false, false, 2) // (v/255)² · 255
	assert.Equal(t, []uint8{0, 255, 64, 16, 4, 1}, dark.Pix)
}

func TestWithVariantsKeepsOriginalsFirstAndIsSeeded(t *testing.T) {
	a := image.NewGray(image.Rect(0, 0, 4, 2))
	b := image.NewGray(image.Rect(0, 0, 2, 2))
	for i := range a.Pix {
		a.Pix[i] = uint8(30 * i)
	}
	photos := []*image.Gray{a, b}

	assert.Len(t, WithVariants(rand.New(rand.NewSource(1)), photos, 0), 2)
	one := WithVariants(rand.New(rand.NewSource(1)), photos, 3)
	two := WithVariants(rand.New(rand.NewSource(1)), photos, 3)
	require.Len(t, one, 8)
	assert.Same(t, a, one[0])
	assert.Same(t, b, one[1])
	for i := range one {
		assert.Equal(t, two[i].Pix, one[i].Pix, "photo %d: same seed, same copy", i)
	}
	for _, v := range one[2:5] { // a's copies: 4×2 or 2×4, with a's pixel count
		assert.Equal(t, 8, len(v.Pix))
	}
	assert.Len(t, WithVariants(rand.New(rand.NewSource(1)), photos, 100), 2*(1+MaxPhotoVariants))
}
