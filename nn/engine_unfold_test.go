package nn

import (
	"fmt"
	"math/rand"
	"testing"

	"github.com/fc2conv/fc2conv/nn/kernels"
	"github.com/stretchr/testify/require"
)

// withUnfold runs f with the packed GEMM unfolding convolutions itself
// (implicit) or the engine unfolding them into scratch first.
func withUnfold(implicit bool, f func()) {
	old := implicitUnfold
	implicitUnfold = implicit
	defer func() { implicitUnfold = old }()
	f()
}

// unfoldCases are convolutions as the engine meets them: the dress
// member's three (the second and third block diagonal once merged), the
// seed's padded 3×3, a strided one, and a ReLU and pool fused or not.
func unfoldCases(rng *rand.Rand) []struct {
	name   string
	in     Shape
	layers []Layer
} {
	one, two, three, four, five := Pair{1, 1}, Pair{2, 2}, Pair{3, 3}, Pair{4, 4}, Pair{5, 5}
	pool := func() Layer { return NewMaxPool2D("pool", two, two, Pair{}) }
	return []struct {
		name   string
		in     Shape
		layers []Layer
	}{
		{"dress_conv1", Shape{1, 512, 1024}, []Layer{blockConv(rng, 1, 40, 1, five, one, Pair{}), NewReLU("relu"), pool()}},
		{"dress_conv2", Shape{40, 254, 510}, []Layer{blockConv(rng, 40, 80, 2, five, one, Pair{}), NewReLU("relu"), pool()}},
		{"dress_fc1", Shape{80, 125, 253}, []Layer{blockConv(rng, 80, 256, 2, four, one, Pair{}), NewReLU("relu")}},
		{"seed_conv3x3", Shape{32, 128, 256}, []Layer{blockConv(rng, 32, 64, 1, three, one, one), NewReLU("relu"), pool()}},
		{"strided", Shape{8, 61, 67}, []Layer{blockConv(rng, 8, 12, 1, three, two, one)}},
	}
}

func unfoldEngine(t testing.TB, in Shape, layers []Layer) (*Engine, []float32) {
	net := &Network{Input: InputSpec{Channels: in.C, Height: in.H, Width: in.W, Mean: make([]float32, in.C), Std: make([]float32, in.C)}, Layers: layers}
	for i := range net.Input.Std {
		net.Input.Std[i] = 1
	}
	e := NewEngineWith(net, kernels.Packed{})
	e.SetThreads(1)
	x := make([]float32, in.Size())
	rng := rand.New(rand.NewSource(9))
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	return e, x
}

// The packed GEMM's own unfolding gives the explicit unfolding's outputs.
func TestImplicitUnfoldMatchesExplicit(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	for _, tc := range unfoldCases(rng) {
		in := Shape{tc.in.C, min(tc.in.H, 40), min(tc.in.W, 90)} // small, same layers
		e, x := unfoldEngine(t, in, tc.layers)
		var want, got []float32
		withUnfold(false, func() {
			out, _, err := e.Forward(x, in)
			require.NoError(t, err)
			want = append([]float32(nil), out...)
		})
		withUnfold(true, func() {
			out, _, err := e.Forward(x, in)
			require.NoError(t, err)
			got = out
		})
		require.Equal(t, len(want), len(got), tc.name)
		for i := range want {
			require.InDelta(t, want[i], got[i], 1e-4, "%s element %d", tc.name, i)
		}
	}
}

// BenchmarkUnfold compares, layer by layer at full scene size on one
// thread, the packed GEMM reading B from an unfolded copy of the input
// (explicit) with it packing B straight from the input (implicit), in
// wall and CPU time (the steadier of the two on a shared machine):
// GOMAXPROCS=1 go test -run XXX -bench Unfold -count 5 ./nn
func BenchmarkUnfold(b *testing.B) {
	rng := rand.New(rand.NewSource(3))
	for _, tc := range unfoldCases(rng) {
		e, x := unfoldEngine(b, tc.in, tc.layers)
		os, err := e.OutShape(tc.in)
		if err != nil {
			b.Fatal(err)
		}
		dst := make([]float32, os.Size())
		for _, implicit := range []bool{false, true} {
			b.Run(fmt.Sprintf("%s/implicit=%v", tc.name, implicit), func(b *testing.B) {
				withUnfold(implicit, func() {
					b.ReportAllocs()
					cpu0 := cpuTime()
					for b.Loop() {
						if _, err := e.ForwardInto(dst, x, tc.in); err != nil {
							b.Fatal(err)
						}
					}
					b.ReportMetric(float64(cpuTime()-cpu0)/1e6/float64(b.N), "cpu-ms/op")
				})
			})
		}
	}
}
