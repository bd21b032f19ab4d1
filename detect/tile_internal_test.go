package detect

import (
	"testing"

	"github.com/fc2conv/fc2conv/nn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSpan(t *testing.T) {
	// Unpadded, S 4, field 8: cells [3,6) read [12, 5·4+8); the first and
	// last tiles reach the borders.
	t0, t1 := span(3, 6, 10, 44, 4, 8, 0)
	assert.Equal(t, [2]int{12, 28}, [2]int{t0, t1})
	t0, t1 = span(0, 3, 10, 44, 4, 8, 0)
	assert.Equal(t, [2]int{0, 16}, [2]int{t0, t1})
	t0, t1 = span(6, 10, 10, 44, 4, 8, 0)
	assert.Equal(t, [2]int{24, 44}, [2]int{t0, t1})
	// Padded, field 24 reaching back 5: cell 3 reads from 12−5 = 7, rounded
	// down to the grid: 4; cell 5 reads up to 20−5+24 = 39.
	t0, t1 = span(3, 6, 10, 60, 4, 24, 5)
	assert.Equal(t, [2]int{4, 39}, [2]int{t0, t1})
}

func TestTileCellsHalveUnderBudget(t *testing.T) {
	conv := nn.NewConv2D("conv", 1, 1, nn.Pair{H: 8, W: 8}, nn.Pair{H: 4, W: 4}, nn.Pair{})
	net := &nn.Network{
		Input:  nn.InputSpec{Channels: 1, Height: 8, Width: 8, Mean: []float32{0}, Std: []float32{1}},
		Layers: []nn.Layer{conv},
	}
	opt := Options{}
	opt.MaxTilePixels = 1000
	d, err := New(net, opt)
	require.NoError(t, err)
	assert.Equal(t, nn.Pair{}, d.geo.Reach)
	// Tile input bound (t−1)·4 + 8 + 4: 10 cells need 48 px a side
	// (2304 px²); 5×10 cells 28×48 = 1344; 5×5 cells 28×28 = 784 ≤ 1000.
	tr, tc := d.tileCells(10, 10)
	assert.Equal(t, [2]int{5, 5}, [2]int{tr, tc})
	d.opt.MaxTilePixels = 1
	tr, tc = d.tileCells(10, 10)
	assert.Equal(t, [2]int{1, 1}, [2]int{tr, tc}, "a budget below one cell still makes progress")
	d.opt.MaxTilePixels = DefaultMaxTilePixels
	tr, tc = d.tileCells(10, 10)
	assert.Equal(t, [2]int{10, 10}, [2]int{tr, tc}, "small images run whole")
}
