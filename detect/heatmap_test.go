package detect_test

import (
	"math/rand"
	"testing"

	"github.com/fc2conv/fc2conv/detect"
	"github.com/fc2conv/fc2conv/nn"
	"github.com/fc2conv/fc2conv/nn/nntest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// For an unpadded network, the stitched heatmap at any step dividing the
// stride, tiled or not, equals the sliding-window loop over crops (without
// Flip, which TestFlipAveragesMirroredCrops covers).
func TestHeatmapEqualsNaiveSlidingWindow(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	net := unpaddedFCN(t, rng)
	img := randomImage(rng, 41, 38) // 41 wide, 38 high
	for _, tc := range []struct {
		step, tile int
		rows, cols int // (38−19)/s+1, (41−18)/s+1
	}{
		{0, 0, 5, 6},     // s = 4: 19/4+1, 23/4+1
		{2, 0, 10, 12},   // 19/2+1, 23/2+1
		{1, 0, 20, 24},   // 19+1, 23+1
		{1, 500, 20, 24}, // tiles of a few cells
		{4, 1, 5, 6},     // one cell per tile
	} {
		opt := detect.Options{}
		opt.Step, opt.MaxTilePixels, opt.NoFlip = tc.step, tc.tile, true
		hm := heatmapAt1(t, net, img, opt)
		s := stepOr4(tc.step)
		assert.Equal(t, pair(s, s), hm.Step)
		require.Equal(t, tc.rows, hm.Rows, "step %d", s)
		require.Equal(t, tc.cols, hm.Cols, "step %d", s)
		rows, cols, want := naive(t, net, img, 1, pair(s, s))
		require.Equal(t, [2]int{rows, cols}, [2]int{hm.Rows, hm.Cols})
		assert.LessOrEqual(t, nntest.MaxAbsDiff(hm.Data, want), 1e-5, "step %d, tile budget %d", s, tc.tile)
	}
}

// Tiling changes nothing, for unpadded and padded networks alike, at full
// and dense steps, down to one cell per tile.
func TestTilingMatchesUntiled(t *testing.T) {
	rng := rand.New(rand.NewSource(2))
	nets := map[string]*nn.Network{"unpadded": unpaddedFCN(t, rng), "padded": paddedFCN(t, rng)}
	img := randomImage(rng, 67, 53)
	for name, net := range nets {
		for _, step := range []int{0, 2} {
			opt := detect.Options{}
			opt.Class, opt.Step = detect.Class(0), step
			want := heatmapAt1(t, net, img, opt)
			for _, budget := range []int{1, 700, 1500} {
				opt.MaxTilePixels = budget
				got := heatmapAt1(t, net, img, opt)
				require.Equal(t, [2]int{want.Rows, want.Cols}, [2]int{got.Rows, got.Cols})
				assert.LessOrEqual(t, nntest.MaxAbsDiff(got.Data, want.Data), 1e-6, "%s net, step %d, budget %d", name, step, budget)
			}
		}
	}
}

// For a padded network at a step below the stride, a cell whose receptive
// field starts inside the shifted run (so it never sees the artificial
// top/left border) equals the network run on a crop that puts the cell on
// its grid with the same context. Cells near the shifted borders are not
// compared: they see padding where the picture has pixels.
func TestPaddedDenseStepInteriorCells(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	net := paddedFCN(t, rng)
	img := randomImage(rng, 45, 40)
	const S, s, reach = 4, 2, 5 // stride, step, padding reach (see paddedFCN)
	opt := detect.Options{}
	opt.Class, opt.Step, opt.NoFlip = detect.Class(0), s, true
	hm := heatmapAt1(t, net, img, opt)
	// Windows of 16 every 2 pixels: (40−16)/2+1 rows, (45−16)/2+1 columns.
	require.Equal(t, [2]int{13, 15}, [2]int{hm.Rows, hm.Cols})

	x, shape, err := detect.Preprocess(img, net.Input)
	require.NoError(t, err)
	e := nn.NewEngine(net)
	const back = 2 // cells of context before the cell: ceil(reach/S)
	compared := 0
	for i := 0; i < hm.Rows; i++ {
		for j := 0; j < hm.Cols; j++ {
			y, xx := i*s, j*s
			dy, dx := (i%(S/s))*s, (j%(S/s))*s // the shift that made this cell
			y0, x0 := y-back*S, xx-back*S
			if y-reach < dy || xx-reach < dx || y0 < 0 || x0 < 0 {
				continue
			}
			cs := nn.Shape{C: 1, H: shape.H - y0, W: shape.W - x0}
			out, os, err := e.Forward(nn.Crop(x, shape, y0, x0, cs.H, cs.W), cs)
			require.NoError(t, err)
			assert.InDelta(t, out[back*os.W+back], hm.At(i, j), 1e-5, "cell (%d,%d)", i, j)
			compared++
		}
	}
	assert.Greater(t, compared, 50)
}

func TestStepMustDivideStride(t *testing.T) {
	net := unpaddedFCN(t, rand.New(rand.NewSource(4)))
	opt := detect.Options{}
	opt.Step = 3
	_, err := detect.New(net, opt)
	assert.ErrorContains(t, err, "step 3 does not divide")
	assert.ErrorContains(t, err, "4×4")
}

// With Flip, every cell is the mean of the network on the crop and on the
// crop mirrored left to right, at any step and tiling.
func TestFlipAveragesMirroredCrops(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	net := unpaddedFCN(t, rng)
	img := randomImage(rng, 43, 37)
	mirrored := randomImage(rng, 43, 37)
	for y := 0; y < 37; y++ {
		for x := 0; x < 43; x++ {
			copy(mirrored.Pix[y*mirrored.Stride+4*(42-x):][:4], img.Pix[y*img.Stride+4*x:][:4])
		}
	}
	for _, tc := range []struct{ step, tile int }{{0, 0}, {2, 0}, {1, 300}} {
		opt := detect.Options{}
		opt.Step, opt.MaxTilePixels, opt.NoFlip = tc.step, tc.tile, false
		hm := heatmapAt1(t, net, img, opt)
		s := stepOr4(tc.step)
		rows, cols, plain := naive(t, net, img, 1, pair(s, s))
		require.Equal(t, [2]int{rows, cols}, [2]int{hm.Rows, hm.Cols})
		// In the mirrored image, the mirror of the window at x starts at
		// 43 − x − 18.
		x, shape, err := detect.Preprocess(mirrored, net.Input)
		require.NoError(t, err)
		e := nn.NewEngine(net)
		want := make([]float32, len(plain))
		for i := 0; i < rows; i++ {
			for j := 0; j < cols; j++ {
				crop := nn.Crop(x, shape, i*s, 43-j*s-18, 19, 18)
				out, _, err := e.Forward(crop, nn.Shape{C: 3, H: 19, W: 18})
				require.NoError(t, err)
				want[i*cols+j] = (plain[i*cols+j] + out[1]) / 2
			}
		}
		assert.LessOrEqual(t, nntest.MaxAbsDiff(hm.Data, want), 1e-5, "step %d tile %d", s, tc.tile)
		assert.Greater(t, nntest.MaxAbsDiff(hm.Data, plain), 1e-3, "flipping must change a random net's scores")
	}
}
