package fmnist

import (
	"image"
	"math"

	"github.com/disintegration/imaging"
)

// resized is img resampled to w×h grey bytes (row-major), the bytes
// imaging.Resize(img, w, h, imaging.Linear) gives in each colour channel:
// the detector's pyramid resamples that way, so windows cut for training
// must too. imaging works on four channels, with opaque alpha weighting
// each tap, and starts goroutines on every call; training calls it for
// every window it paints, several percent of a verifier's training.
// This does one channel with the same float64 operations in the same
// order, so every byte is imaging's (TestResizedIsImagings).
func resized(img *image.Gray, w, h int) []uint8 {
	sw, sh := img.Rect.Dx(), img.Rect.Dy()
	if w <= 0 || h <= 0 || sw <= 0 || sh <= 0 {
		return nil
	}
	src := make([]uint8, sw*sh) // img's pixels, packed from its origin
	for y := range sh {
		i := img.PixOffset(img.Rect.Min.X, img.Rect.Min.Y+y)
		copy(src[y*sw:(y+1)*sw], img.Pix[i:i+sw])
	}
	if sw != w {
		src = resizeRows(src, sw, sh, w)
	}
	if sh != h {
		src = resizeColumns(src, w, sh, h)
	}
	return src
}

// tap is one source pixel of an output pixel and its weight.
type tap struct {
	index  int
	weight float64
}

// linearTaps are imaging's weights for resampling srcSize pixels to
// dstSize with its linear filter, computed as imaging computes them.
func linearTaps(dstSize, srcSize int) [][]tap {
	du := float64(srcSize) / float64(dstSize)
	scale := max(du, 1)
	ru := math.Ceil(scale * imaging.Linear.Support)
	out := make([][]tap, dstSize)
	all := make([]tap, 0, dstSize*(2*int(ru)+1)) // every row's taps, in one allocation
	for v := range dstSize {
		fu := (float64(v)+0.5)*du - 0.5
		begin := max(int(math.Ceil(fu-ru)), 0)
		end := min(int(math.Floor(fu+ru)), srcSize-1)
		taps := all[len(all):]
		var sum float64
		for u := begin; u <= end; u++ {
			if wt := imaging.Linear.Kernel((float64(u) - fu) / scale); wt != 0 {
				sum += wt
				taps = append(taps, tap{u, wt})
			}
		}
		if sum != 0 {
			for i := range taps {
				taps[i].weight /= sum
			}
		}
		out[v] = taps
		all = all[:len(all)+len(taps)]
	}
	return out
}

// opaque is the alpha imaging weights every tap of a grey image by.
const opaque = 255

// resample is one output pixel as imaging makes it: each tap weighted by
// its alpha, the sum divided by the summed weights, rounded and clamped.
// Tap i reads src[offset+i·stride].
func resample(taps []tap, src []uint8, offset, stride int) uint8 {
	var v, a float64
	for _, t := range taps {
		aw := float64(opaque) * t.weight
		v += float64(src[offset+t.index*stride]) * aw
		a += aw
	}
	if a == 0 { // no taps; never for the linear filter, whose nearest tap weighs > 0
		return 0
	}
	return clampByte(v * (1 / a))
}

// clampByte rounds as imaging's clamp does.
func clampByte(x float64) uint8 {
	v := int64(x + 0.5)
	if v > 255 {
		return 255
	}
	if v > 0 {
		return uint8(v)
	}
	return 0
}

// resizeRows resamples each of the h rows of src (w wide) to dw.
func resizeRows(src []uint8, w, h, dw int) []uint8 {
	taps := linearTaps(dw, w)
	out := make([]uint8, dw*h)
	for y := range h {
		for x, t := range taps {
			out[y*dw+x] = resample(t, src, y*w, 1)
		}
	}
	return out
}

// resizeColumns resamples each of the w columns of src (h tall) to dh.
func resizeColumns(src []uint8, w, h, dh int) []uint8 {
	taps := linearTaps(dh, h)
	out := make([]uint8, w*dh)
	for x := range w {
		for y, t := range taps {
			out[y*w+x] = resample(t, src, x, w)
		}
	}
	return out
}
