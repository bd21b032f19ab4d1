package fmnist

import (
	"image"
	"math/rand"
	"testing"

	"github.com/disintegration/imaging"
	"github.com/stretchr/testify/require"
)

// imagingGray is what training resampled with before resized: imaging's
// linear filter, one channel read back.
func imagingGray(img image.Image, w, h int) []uint8 {
	small := imaging.Resize(img, w, h, imaging.Linear)
	out := make([]uint8, w*h)
	for y := range h {
		for x := range w {
			out[y*w+x] = small.Pix[y*small.Stride+4*x]
		}
	}
	return out
}

// Every byte is imaging's: shrinking and growing on either axis, equal
// sizes, one-pixel images, and sub-images whose origin is not (0, 0).
func TestResizedIsImagings(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	sizes := [][4]int{{28, 28, 28, 28}, {1, 1, 28, 28}, {28, 28, 1, 1}, {36, 36, 28, 28}, {29, 83, 28, 28},
		{200, 90, 28, 28}, {13, 17, 28, 28}, {28, 40, 28, 28}, {40, 28, 28, 28}, {97, 3, 5, 64}}
	for range 200 {
		sizes = append(sizes, [4]int{1 + rng.Intn(160), 1 + rng.Intn(160), 1 + rng.Intn(60), 1 + rng.Intn(60)})
	}
	for _, s := range sizes {
		whole := image.NewGray(image.Rect(0, 0, s[0]+7, s[1]+5))
		for i := range whole.Pix {
			whole.Pix[i] = uint8(rng.Intn(256))
		}
		if rng.Intn(4) == 0 { // flat and saturated runs, where rounding sits on a half
			for i := range whole.Pix {
				whole.Pix[i] = []uint8{0, 255, 128, 127}[i/7%4]
			}
		}
		img := whole.SubImage(image.Rect(3, 2, 3+s[0], 2+s[1])).(*image.Gray)
		require.Equal(t, imagingGray(img, s[2], s[3]), resized(img, s[2], s[3]), "%d×%d to %d×%d", s[0], s[1], s[2], s[3])
	}
	require.Nil(t, resized(image.NewGray(image.Rect(0, 0, 0, 4)), 28, 28), "an empty image")
}

func BenchmarkResized(b *testing.B) {
	img := image.NewGray(image.Rect(0, 0, 47, 47))
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 7)
	}
	b.Run("imaging", func(b *testing.B) {
		for b.Loop() {
			imagingGray(img, Side, Side)
		}
	})
	b.Run("resized", func(b *testing.B) {
		for b.Loop() {
			resized(img, Side, Side)
		}
	})
}

