package fmnist

import (
	"image"
	"math"
	"math/rand"
)

// MaxPhotoVariants bounds WithVariants' k: each variant is a full copy of
// its photograph in memory.
const MaxPhotoVariants = 8

// WithVariants returns photos followed by k varied copies of each (photo 0's
// k copies first): a handful of photographs seen in more ways, as more
// photographs would show them. A copy is turned by 90° (a transpose) half
// of the time, upside down half of the time, and given a gamma drawn
// log-uniform in [0.5, 2]; rng draws every choice, so the same seed gives
// the same copies. k outside [0, MaxPhotoVariants] is clamped.
func WithVariants(rng *rand.Rand, photos []*image.Gray, k int) []*image.Gray {
	k = min(max(k, 0), MaxPhotoVariants)
	out := make([]*image.Gray, 0, len(photos)*(1+k))
	out = append(out, photos...)
	for _, p := range photos {
		for range k {
			out = append(out, variant(p, rng.Intn(2) == 0, rng.Intn(2) == 0, logUniform(rng, 0.5, 2)))
		}
	}
	return out
}

// variant is g transposed if turn, upside down if flip, with gamma applied.
func variant(g *image.Gray, turn, flip bool, gamma float64) *image.Gray {
	var lut [256]uint8
	for i := range lut {
		lut[i] = uint8(math.Round(255 * math.Pow(float64(i)/255, gamma)))
	}
	w, h := g.Rect.Dx(), g.Rect.Dy()
	ow, oh := w, h
	if turn {
		ow, oh = h, w
	}
	out := image.NewGray(image.Rect(0, 0, ow, oh))
	for y := range h {
		row := g.Pix[y*g.Stride : y*g.Stride+w]
		for x, v := range row {
			ox, oy := x, y
			if turn {
				ox, oy = y, x
			}
			if flip {
				oy = oh - 1 - oy
			}
			out.Pix[oy*out.Stride+ox] = lut[v]
		}
	}
	return out
}
