package train

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// rectangleOf returns the bounding box of the pixels that are no longer
// -1 and how many there are.
func rectangleOf(x []float32, side int) (top, left, h, w, changed int) {
	top, left = side, side
	bottom, right := -1, -1
	for i, v := range x {
		if v == -1 {
			continue
		}
		changed++
		y, c := i/side, i%side
		top, left = min(top, y), min(left, c)
		bottom, right = max(bottom, y), max(right, c)
	}
	return top, left, bottom - top + 1, right - left + 1, changed
}

// An eraser erases a share p of the windows, each with one solid
// rectangle of noise in [0,1] whose area and aspect stay in the paper's
// ranges (up to rounding to whole pixels).
func TestEraserRectangles(t *testing.T) {
	const side, n = 28, 20000
	e := newEraser(0.5, 3, 0, side)
	x := make([]float32, side*side)
	var erased int
	var sum float64
	var pixels int
	for range n {
		for i := range x {
			x[i] = -1
		}
		did := e.erase(x)
		_, _, h, w, changed := rectangleOf(x, side)
		if !did {
			require.Zero(t, changed, "a window left whole was changed")
			continue
		}
		erased++
		require.Equal(t, h*w, changed, "erased pixels are not one solid %d×%d rectangle", h, w)
		area := float64(changed) / (side * side)
		require.True(t, area >= 0.015 && area <= 0.43, "area %.3f of the window", area)
		ratio := float64(h) / float64(w)
		require.True(t, ratio >= 0.25 && ratio <= 4, "aspect %d/%d", h, w)
		for _, v := range x {
			if v != -1 {
				require.True(t, v >= 0 && v < 1, "fill %v outside [0,1)", v)
				sum += float64(v)
				pixels++
			}
		}
	}
	assert.InDelta(t, 0.5, float64(erased)/n, 0.015, "share of windows erased")
	assert.InDelta(t, 0.5, sum/float64(pixels), 0.01, "mean of the noise")
}

// p 0 never erases; the same seed and epoch erase the same windows the
// same way, and another epoch differently.
func TestEraserReplays(t *testing.T) {
	run := func(p float64, epoch int) []float32 {
		e := newEraser(p, 7, epoch, 28)
		out := make([]float32, 0, 50*784)
		for range 50 {
			x := make([]float32, 784)
			e.erase(x)
			out = append(out, x...)
		}
		return out
	}
	assert.Equal(t, make([]float32, 50*784), run(0, 0), "p 0 changed a window")
	assert.Equal(t, run(0.5, 2), run(0.5, 2))
	assert.NotEqual(t, run(0.5, 2), run(0.5, 3))
}
