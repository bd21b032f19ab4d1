package fmnist

import (
	"image"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// At k = 1 an item comes back as painted: bright pixels unchanged, dark
// ones (below alphaFull) darker, as their alpha lets the black through.
// Enlarged and brought back, a one-pixel line spreads to its neighbours;
// a solid item keeps its inside. Out-of-range scales are refused.
func TestAsScene(t *testing.T) {
	const n = 28
	line := make([]uint8, n*n)
	solid := make([]uint8, n*n)
	for y := 0; y < n; y++ {
		line[y*n+14] = 200
		line[y*n+3] = 20
		for x := 6; x < 22; x++ {
			solid[y*n+x] = 255
		}
	}
	set := &Set{Rows: n, Cols: n, Images: [][]uint8{line, solid}, Labels: []uint8{Dress, 4}}
	one, err := set.AsScene(1)
	require.NoError(t, err)
	assert.Equal(t, []uint8{Dress, 4}, one.Labels)
	assert.Equal(t, uint8(200), one.Images[0][10*n+14])
	assert.Equal(t, uint8(10), one.Images[0][10*n+3], "20·(20/40): half transparent on black")
	assert.Equal(t, uint8(0), one.Images[0][10*n+13])

	two, err := set.AsScene(2.5)
	require.NoError(t, err)
	assert.Greater(t, two.Images[0][10*n+13], uint8(20), "the line spreads")
	assert.Less(t, two.Images[0][10*n+14], uint8(200), "and loses its peak")
	assert.Equal(t, uint8(255), two.Images[1][14*n+14], "a solid inside stays")
	assert.Equal(t, line[10*n+14], uint8(200), "the set is not changed")

	for _, k := range []float64{0.5, 9, -1, math.NaN()} {
		_, err := set.AsScene(k)
		assert.Error(t, err, "k %v", k)
	}
}

// InContext shows each item in the middle of a black margin: at k = 2 a
// white item fills the middle half, exactly, since the resample halves.
func TestInContext(t *testing.T) {
	white := make([]uint8, 28*28)
	for i := range white {
		white[i] = 255
	}
	set := &Set{Rows: 28, Cols: 28, Labels: []uint8{3}, Images: [][]uint8{white}}
	same, err := set.InContext(1)
	require.NoError(t, err)
	require.Same(t, set, same, "k = 1 is the set itself")

	got, err := set.InContext(2)
	require.NoError(t, err)
	require.Equal(t, []uint8{3}, got.Labels)
	require.Equal(t, 255, int(white[0]), "the input is left alone")
	for y := range 28 {
		for x := range 28 {
			v := got.Images[0][y*28+x]
			switch {
			case x >= 8 && x < 20 && y >= 8 && y < 20:
				require.Equal(t, uint8(255), v, "(%d, %d) inside", x, y)
			case x < 6 || x >= 22 || y < 6 || y >= 22:
				require.Equal(t, uint8(0), v, "(%d, %d) in the margin", x, y)
			}
		}
	}
	_, err = set.InContext(9)
	require.ErrorContains(t, err, "context 9 out of range")
}

func TestOnBlack(t *testing.T) {
	item := make([]uint8, 3*2) // 2 rows of 3
	for i := range item {
		item[i] = uint8(10 * (i + 1))
	}
	set := &Set{Rows: 2, Cols: 3, Labels: []uint8{3}, Images: [][]uint8{item}}
	img, box := set.OnBlack(0, 4)
	require.Equal(t, image.Rect(0, 0, 11, 10), img.Bounds())
	assert.Equal(t, [4]float64{4, 4, 7, 6}, box)
	for y := range 10 {
		for x := range 11 {
			want := uint8(0)
			if x >= 4 && x < 7 && y >= 4 && y < 6 {
				want = item[(y-4)*3+x-4]
			}
			require.Equal(t, want, img.GrayAt(x, y).Y, "(%d, %d)", x, y)
		}
	}
}

// A 36-pixel window with context 9/7 shows a 28×28 item at its own
// pixels in a 4-pixel black margin; at 28 it is InContext.
func TestInWindow(t *testing.T) {
	item := make([]uint8, 28*28)
	for i := range item {
		item[i] = uint8(i % 251)
	}
	set := &Set{Rows: 28, Cols: 28, Labels: []uint8{6}, Images: [][]uint8{item}}
	got, err := set.InWindow(9.0/7, 36)
	require.NoError(t, err)
	require.Equal(t, 36, got.Rows)
	require.Equal(t, 36, got.Cols)
	require.Equal(t, []uint8{6}, got.Labels)
	for y := range 36 {
		for x := range 36 {
			want := uint8(0)
			if x >= 4 && x < 32 && y >= 4 && y < 32 {
				want = item[(y-4)*28+x-4]
			}
			require.Equal(t, want, got.Images[0][y*36+x], "(%d, %d)", x, y)
		}
	}
	at28, err := set.InWindow(9.0/7, 28)
	require.NoError(t, err)
	ctx, err := set.InContext(9.0 / 7)
	require.NoError(t, err)
	require.Equal(t, ctx, at28)
	_, err = (&Set{Rows: 28, Cols: 27}).InWindow(1, 36)
	require.ErrorContains(t, err, "want square")
	_, err = set.InWindow(1, 0)
	require.ErrorContains(t, err, "window side 0")
}
