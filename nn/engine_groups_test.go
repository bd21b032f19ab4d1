package nn

import (
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// blockConv is a conv whose weights are block diagonal in g groups, with
// random values inside the blocks.
func blockConv(rng *rand.Rand, inC, outC, g int, k, stride, pad Pair) *Conv2D {
	l := NewConv2D("conv", inC, outC, k, stride, pad)
	w := l.Weight.Data
	kk := k.H * k.W
	for oc := 0; oc < outC; oc++ {
		grp := oc / (outC / g)
		for ic := grp * inC / g; ic < (grp+1)*inC/g; ic++ {
			for j := 0; j < kk; j++ {
				w[(oc*inC+ic)*kk+j] = float32(rng.NormFloat64())
			}
		}
	}
	for i := range l.Bias.Data {
		l.Bias.Data[i] = float32(rng.NormFloat64())
	}
	return l
}

func TestConvGroupsDetected(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	three := Pair{H: 3, W: 3}
	one := Pair{H: 1, W: 1}
	assert.Equal(t, 2, convGroups(blockConv(rng, 4, 6, 2, three, one, one)))
	assert.Equal(t, 3, convGroups(blockConv(rng, 6, 9, 3, one, one, Pair{})))
	assert.Equal(t, 1, convGroups(blockConv(rng, 4, 6, 1, three, one, one)))
	// 4 groups are also 2 groups; the largest wins.
	assert.Equal(t, 4, convGroups(blockConv(rng, 8, 8, 4, three, one, one)))
	// One weight outside the blocks makes it dense.
	l := blockConv(rng, 4, 4, 2, three, one, one)
	l.Weight.Data[0*4*9+3*9+4] = 0.5 // output 0 reads input 3
	assert.Equal(t, 1, convGroups(l))
}

// The grouped products give what the full product gives, for kernels
// with and without im2col, padding and stride.
func TestGroupedConvMatchesDense(t *testing.T) {
	rng := rand.New(rand.NewSource(2))
	for _, tc := range []struct {
		inC, outC, g   int
		k, stride, pad Pair
	}{
		{4, 6, 2, Pair{H: 3, W: 3}, Pair{H: 1, W: 1}, Pair{H: 1, W: 1}},
		{6, 9, 3, Pair{H: 1, W: 1}, Pair{H: 1, W: 1}, Pair{}},
		{8, 4, 2, Pair{H: 4, W: 2}, Pair{H: 2, W: 1}, Pair{}},
	} {
		l := blockConv(rng, tc.inC, tc.outC, tc.g, tc.k, tc.stride, tc.pad)
		// A dense 1×1 conv first, since inputs have at most 4 channels.
		pre := blockConv(rng, 2, tc.inC, 1, Pair{H: 1, W: 1}, Pair{H: 1, W: 1}, Pair{})
		pre.LayerName = "pre"
		net := &Network{Input: InputSpec{Channels: 2, Height: tc.k.H - 2*tc.pad.H, Width: tc.k.W - 2*tc.pad.W, Mean: make([]float32, 2), Std: ones32(2)},
			Layers: []Layer{pre, l}}
		require.NoError(t, net.Validate())
		in := make([]float32, 2*13*11)
		for i := range in {
			in[i] = float32(rng.NormFloat64())
		}
		s := Shape{C: 2, H: 13, W: 11}
		grouped := NewEngine(net)
		require.Equal(t, tc.g, grouped.steps[1].k.(*convKernel).groups)
		got, _, err := grouped.Forward(in, s)
		require.NoError(t, err)
		got = append([]float32{}, got...)
		dense := NewEngine(net)
		dense.steps[1].k.(*convKernel).setGroups(1)
		want, _, err := dense.Forward(in, s)
		require.NoError(t, err)
		for i := range want {
			require.InDelta(t, want[i], got[i], 1e-4, "case %+v, output %d", tc, i)
		}
	}
}

func ones32(n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = 1
	}
	return s
}
