package convert_test

import (
	"math"
	"math/rand"
	"slices"
	"testing"

	"github.com/fc2conv/fc2conv/convert"
	"github.com/fc2conv/fc2conv/nn"
	"github.com/fc2conv/fc2conv/nn/nntest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// members returns n copies of net with independent random weights.
func members(t *testing.T, net *nn.Network, n int, rng *rand.Rand) []*nn.Network {
	t.Helper()
	b, err := net.Marshal()
	require.NoError(t, err)
	out := []*nn.Network{net}
	for len(out) < n {
		m, err := nn.Unmarshal(b)
		require.NoError(t, err)
		nntest.Randomize(m, rng)
		out = append(out, m)
	}
	return out
}

// meanOfLogits is what an ensemble must compute, done the long way: each
// member without its final activation, the mean of their outputs, then the
// activation over channels at every position.
func meanOfLogits(t *testing.T, nets []*nn.Network, x []float32, s nn.Shape) ([]float32, nn.Shape) {
	t.Helper()
	var sum []float32
	var os nn.Shape
	head := nn.Kind("")
	for _, n := range nets {
		cut := len(n.Layers)
		if k := n.Layers[cut-1].Kind(); k == nn.KindSigmoid || k == nn.KindSoftmax {
			cut, head = cut-1, k
		}
		trunk := &nn.Network{Input: n.Input, Layers: n.Layers[:cut]}
		y, ys, err := nn.NewEngine(trunk).Forward(x, s)
		require.NoError(t, err)
		if sum == nil {
			sum, os = make([]float32, len(y)), ys
		}
		for i, v := range y {
			sum[i] += v / float32(len(nets))
		}
	}
	plane := os.H * os.W
	for p := 0; p < plane; p++ {
		switch head {
		case nn.KindSigmoid:
			for c := 0; c < os.C; c++ {
				sum[c*plane+p] = float32(1 / (1 + math.Exp(-float64(sum[c*plane+p]))))
			}
		case nn.KindSoftmax:
			var z float64
			for c := 0; c < os.C; c++ {
				z += math.Exp(float64(sum[c*plane+p]))
			}
			for c := 0; c < os.C; c++ {
				sum[c*plane+p] = float32(math.Exp(float64(sum[c*plane+p])) / z)
			}
		}
	}
	return sum, os
}

// An ensemble of FC members (channels-first flatten) and the ensemble of
// their converted forms both compute the activation of the mean logits, on
// the window and on larger inputs; converting the FC ensemble gives the
// same as ensembling the converted members.
func TestEnsembleMeansLogits(t *testing.T) {
	fcChecked := 0
	for seed := int64(0); seed < 40; seed++ {
		rng := rand.New(rand.NewSource(seed))
		fc := nntest.RandomFC(rng, nntest.Options{Padded: seed%2 == 0})
		ms := members(t, fc, 2+int(seed%3), rng)
		var fcns []*nn.Network
		for _, m := range ms {
			res, err := convert.Convert(m)
			require.NoError(t, err)
			fcns = append(fcns, res.Network)
		}
		ens, err := convert.Ensemble(fcns...)
		require.NoError(t, err, "seed %d", seed)
		g, err := fcns[0].Geometry()
		require.NoError(t, err)
		ge, err := ens.Geometry()
		require.NoError(t, err)
		assert.Equal(t, g, ge, "seed %d: geometry", seed)

		win := fc.Input.Window()
		big := nn.Shape{C: win.C, H: win.H + 3*g.Stride.H, W: win.W + 2*g.Stride.W}
		for _, s := range []nn.Shape{win, big} {
			x := nntest.Input(rng, s)
			want, ws := meanOfLogits(t, fcns, x, s)
			got, gs, err := nn.NewEngine(ens).Forward(x, s)
			require.NoError(t, err)
			require.Equal(t, ws, gs)
			assert.LessOrEqual(t, nntest.MaxAbsDiff(got, want), tol, "seed %d, input %v", seed, s)
		}

		fcEns, err := convert.Ensemble(ms...)
		if fc.Layers[flattenAt(fc)].(*nn.Flatten).Order == nn.FlattenHWC {
			assert.ErrorIs(t, err, convert.ErrIncompatible, "seed %d", seed)
			continue
		}
		require.NoError(t, err, "seed %d", seed)
		fcChecked++
		x := nntest.Input(rng, win)
		want, _ := meanOfLogits(t, ms, x, win)
		got, _, err := nn.NewEngine(fcEns).Forward(x, win)
		require.NoError(t, err)
		assert.LessOrEqual(t, nntest.MaxAbsDiff(got, want), tol, "seed %d: FC ensemble", seed)
		res, err := convert.Convert(fcEns)
		require.NoError(t, err)
		x = nntest.Input(rng, big)
		a, _, err := nn.NewEngine(res.Network).Forward(x, big)
		require.NoError(t, err)
		b, _, err := nn.NewEngine(ens).Forward(x, big)
		require.NoError(t, err)
		assert.LessOrEqual(t, nntest.MaxAbsDiff(a, b), tol, "seed %d: convert∘ensemble vs ensemble∘convert", seed)
	}
	assert.Greater(t, fcChecked, 5, "too few channels-first members drawn")
}

func TestEnsembleErrors(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	fc := nntest.RandomFC(rng, nntest.Options{})
	_, err := convert.Ensemble(fc)
	assert.ErrorContains(t, err, "1 members, want at least 2")
	_, err = convert.Ensemble(fc, nil)
	assert.ErrorContains(t, err, "member 1 is nil")

	other := nntest.RandomFC(rand.New(rand.NewSource(8)), nntest.Options{})
	_, err = convert.Ensemble(fc, other)
	assert.ErrorIs(t, err, convert.ErrIncompatible)
	assert.ErrorContains(t, err, "member 1 vs member 0")

	// Same layers, but a different input normalisation.
	ms := members(t, fc, 2, rng)
	ms[1].Input.Mean = append([]float32{}, ms[1].Input.Mean...)
	ms[1].Input.Mean[0] += 0.5
	_, err = convert.Ensemble(ms...)
	assert.ErrorIs(t, err, convert.ErrIncompatible)
	assert.ErrorContains(t, err, "inputs differ")

	// A ReLU after the last weighted layer cannot be averaged through.
	relu := &nn.Network{Input: fc.Input, Layers: append(append([]nn.Layer{}, fc.Layers[:len(fc.Layers)-1]...), nn.NewReLU("last"))}
	if fc.Layers[len(fc.Layers)-1].Kind() == nn.KindDense {
		relu.Layers = append(relu.Layers[:len(relu.Layers)-1], fc.Layers[len(fc.Layers)-1], nn.NewReLU("last"))
	}
	_, err = convert.Ensemble(relu, relu)
	assert.ErrorContains(t, err, `layer "last" (relu) after the last weighted layer`)

	// Residual blocks are refused, not copied with member 0's weights.
	var res *nn.Network
	for seed := int64(0); res == nil || !slices.ContainsFunc(res.Layers, func(l nn.Layer) bool { return l.Kind() == nn.KindResidual }); seed++ {
		res = nntest.RandomFC(rand.New(rand.NewSource(seed)), nntest.Options{Residual: true})
	}
	_, err = convert.Ensemble(members(t, res, 2, rng)...)
	assert.ErrorIs(t, err, convert.ErrIncompatible)
	assert.ErrorContains(t, err, "members with blocks are not merged")
}

// Block-diagonal layers grow with the square of the member count; a
// merge past the element limit is refused before anything is allocated.
func TestEnsembleTooLarge(t *testing.T) {
	wide := &nn.Network{
		Input: nn.InputSpec{Channels: 1, Height: 1, Width: 1, Mean: []float32{0}, Std: []float32{1}},
		Layers: []nn.Layer{
			nn.NewDense("fc1", 1, 1<<10),
			nn.NewDense("fc2", 1<<10, 1<<12),
			nn.NewDense("fc3", 1<<12, 2),
		},
	}
	require.NoError(t, wide.Validate())
	ms := make([]*nn.Network, 65) // fc2 merged: 2^18 × 2^16 elements
	for i := range ms {
		ms[i] = wide
	}
	_, err := convert.Ensemble(ms...)
	assert.ErrorContains(t, err, `layer "fc2"`)
	assert.ErrorContains(t, err, "use fewer members")
}

// PReLU has weights: merged members keep their own slopes side by side,
// a slope shared by every channel merges only when the members agree on
// it, and one before any weighted layer must be the same in every member.
func TestEnsemblePReLU(t *testing.T) {
	build := func(first, mid nn.Layer) *nn.Network {
		return &nn.Network{
			Input: nn.InputSpec{Channels: 2, Height: 6, Width: 6, Mean: []float32{0, 0}, Std: []float32{1, 1}},
			Layers: []nn.Layer{first, nn.NewConv2D("conv", 2, 3, nn.Pair{H: 3, W: 3}, nn.Pair{H: 1, W: 1}, nn.Pair{}), mid,
				nn.NewConv2D("head", 3, 2, nn.Pair{H: 4, W: 4}, nn.Pair{H: 1, W: 1}, nn.Pair{}), nn.NewSoftmax("softmax")},
		}
	}
	rng := rand.New(rand.NewSource(5))
	ms := members(t, build(nn.NewReLU("in"), nn.NewPReLU("prelu", 3)), 3, rng)
	ens, err := convert.Ensemble(ms...)
	require.NoError(t, err)
	big := nn.Shape{C: 2, H: 9, W: 8}
	x := nntest.Input(rng, big)
	want, _ := meanOfLogits(t, ms, x, big)
	got, _, err := nn.NewEngine(ens).Forward(x, big)
	require.NoError(t, err)
	assert.LessOrEqual(t, nntest.MaxAbsDiff(got, want), tol, "per-channel slopes")

	shared := members(t, build(nn.NewReLU("in"), nn.NewPReLU("prelu", 1)), 2, rng)
	_, err = convert.Ensemble(shared...)
	assert.ErrorIs(t, err, convert.ErrIncompatible)
	assert.ErrorContains(t, err, `prelu "prelu": the members' shared slopes differ`)
	copy(shared[1].Layers[2].(*nn.PReLU).Slope.Data, shared[0].Layers[2].(*nn.PReLU).Slope.Data)
	ens, err = convert.Ensemble(shared...)
	require.NoError(t, err)
	want, _ = meanOfLogits(t, shared, x, big)
	got, _, err = nn.NewEngine(ens).Forward(x, big)
	require.NoError(t, err)
	assert.LessOrEqual(t, nntest.MaxAbsDiff(got, want), tol, "one shared slope")

	onInput := members(t, build(nn.NewPReLU("in", 2), nn.NewReLU("relu")), 2, rng)
	_, err = convert.Ensemble(onInput...)
	assert.ErrorContains(t, err, `prelu "in": the members' slopes differ on the map they all read`)
}
