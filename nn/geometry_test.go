package nn_test

import (
	"testing"

	"github.com/fc2conv/fc2conv/nn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Reach, field and stride of a padded stack, worked out by hand; the
// average pool counts like any other sliding window.
func TestGeometryReach(t *testing.T) {
	p := func(h, w int) nn.Pair { return nn.Pair{H: h, W: w} }
	net := &nn.Network{
		Input: nn.InputSpec{Channels: 1, Height: 40, Width: 40, Mean: []float32{0}, Std: []float32{1}},
		Layers: []nn.Layer{
			nn.NewConv2D("c1", 1, 1, p(3, 3), p(1, 1), p(1, 0)),    // reaches 1 row back
			nn.NewMaxPool2D("p1", p(2, 2), p(2, 2), p(0, 0)),       // stride 2
			nn.NewConv2D("c2", 1, 1, p(3, 5), p(1, 1), p(1, 2)),    // 1·2 rows, 2·2 cols
			nn.NewAvgPool2D("p2", p(3, 3), p(2, 2), p(1, 1), true), // 1·2, 1·2
			nn.NewConv2D("head", 1, 1, p(4, 4), p(1, 1), p(0, 0)),  // stride 4, no pad
		}}
	g, err := net.Geometry()
	require.NoError(t, err)
	assert.Equal(t, p(1+2+2, 0+4+2), g.Reach)
	assert.Equal(t, p(4, 4), g.Stride)
	// 1 +2·1 +1·1 +2·2 +2·2 +3·4 rows; 1 +2 +1 +4·2 +2·2 +3·4 cols.
	assert.Equal(t, p(1+2+1+4+4+12, 1+2+1+8+4+12), g.Field)
	assert.True(t, g.Padded)
}
