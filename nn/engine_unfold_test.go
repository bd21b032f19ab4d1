package nn

import (
	"fmt"
	"math/rand"
	"testing"

	"github.com/fc2conv/fc2conv/nn/kernels"
	"github.com/stretchr/testify/require"
)

// withUnfold runs f with the engine unfolding convolutions into scratch
// first (explicit), the packed GEMM packing B from the input, or reading
// it in place.
func withUnfold(u unfolding, f func()) {
	old := unfoldWith
	unfoldWith = u
	defer func() { unfoldWith = old }()
	f()
}

var unfoldings = []struct {
	name string
	u    unfolding
}{{"explicit", unfoldExplicit}, {"packed", unfoldPacked}, {"direct", unfoldDirect}}

// unfoldCases are convolutions as the engine meets them: the dress
// member's three (the second and third block diagonal once merged), the
// seed's padded 3×3, a strided one, a ResNet's, and a ReLU and pool fused
// or not; padded ones, which the packed GEMM runs on a zero-padded copy.
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
		{"pair_conv2", Shape{32, 510, 1022}, []Layer{blockConv(rng, 32, 64, 2, three, one, Pair{}), NewReLU("relu"), pool()}}, // today's model: planes 16 bytes past a multiple of 4 KiB
		{"seed_conv3x3", Shape{32, 128, 256}, []Layer{blockConv(rng, 32, 64, 1, three, one, one), NewReLU("relu"), pool()}},
		{"strided", Shape{8, 61, 67}, []Layer{blockConv(rng, 8, 12, 1, three, two, one)}},
		// A padded verifier's ("wide") second convolution, on its own
		// 28×28 window: every row of it meets the padding.
		{"verifier_conv2", Shape{32, 28, 28}, []Layer{blockConv(rng, 32, 32, 1, three, one, one), NewReLU("relu"), pool()}},
		{"asymmetric_pad", Shape{3, 13, 22}, []Layer{asymmetric(blockConv(rng, 3, 6, 1, five, one, two), Pair{0, 1})}},
		// A ResNet-18's 3×3 convolutions on a 512×384 image, unpooled:
		// rows of 128 and 16 columns, where the band runs in wide rows and
		// is copied to the output (plan's crossing).
		{"resnet_layer1", Shape{64, 96, 128}, []Layer{blockConv(rng, 64, 64, 1, three, one, one), NewReLU("relu")}},
		{"resnet_layer4", Shape{256, 12, 16}, []Layer{blockConv(rng, 256, 256, 1, three, one, one)}},
	}
}

// asymmetric gives l the padding end given, PyTorch's "same" for even
// kernels and ONNX's SAME_UPPER/LOWER.
func asymmetric(l *Conv2D, end Pair) *Conv2D {
	l.PaddingEnd = &end
	return l
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

// The packed GEMM's own unfolding, packed or in place, gives the explicit
// unfolding's outputs.
func TestImplicitUnfoldMatchesExplicit(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	for _, tc := range unfoldCases(rng) {
		in := Shape{tc.in.C, min(tc.in.H, 40), min(tc.in.W, 90)} // small, same layers
		e, x := unfoldEngine(t, in, tc.layers)
		var want []float32
		withUnfold(unfoldExplicit, func() {
			out, _, err := e.Forward(x, in)
			require.NoError(t, err)
			want = append([]float32(nil), out...)
		})
		for _, u := range unfoldings[1:] {
			withUnfold(u.u, func() {
				got, _, err := e.Forward(x, in)
				require.NoError(t, err)
				require.Equal(t, len(want), len(got), tc.name)
				for i := range want {
					require.InDelta(t, want[i], got[i], 1e-4, "%s %s element %d", tc.name, u.name, i)
				}
			})
		}
	}
}

// BenchmarkUnfold compares, layer by layer at full scene size on one
// thread, the packed GEMM reading B from an unfolded copy of the input
// (explicit), packing B straight from the input (packed) and reading it
// there in place (direct), in wall and CPU time (the steadier of the two on a shared machine):
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
		for _, u := range unfoldings {
			b.Run(tc.name+"/"+u.name, func(b *testing.B) {
				withUnfold(u.u, func() {
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

// BenchmarkWideRows times unpooled stride-1 convolutions whose output
// rows end inside a panel, with the band in rows as wide as the input's
// wherever plan's rule weighs the edge path at 1, 10 (the engine's) and
// never: GoogLeNet's 3×3 on 96×128, ResNet-18's first stage, and the dress
// pair's last convolution at a small pyramid level and at scale 1.
// GOMAXPROCS=1 go test -run XXX -bench WideRows -count 5 ./nn
func BenchmarkWideRows(b *testing.B) {
	rng := rand.New(rand.NewSource(3))
	one, three, five := Pair{1, 1}, Pair{3, 3}, Pair{5, 5}
	cases := []struct {
		name   string
		in     Shape
		layers []Layer
	}{
		{"googlenet_conv3", Shape{64, 96, 128}, []Layer{blockConv(rng, 64, 192, 1, three, one, one), NewReLU("r")}},
		{"resnet_layer1", Shape{64, 96, 128}, []Layer{blockConv(rng, 64, 64, 1, three, one, one), NewReLU("r")}},
		{"pair_fc_small", Shape{64, 30, 60}, []Layer{blockConv(rng, 64, 256, 1, five, one, Pair{}), NewReLU("r")}},
		{"pair_fc_scale1", Shape{64, 125, 253}, []Layer{blockConv(rng, 64, 256, 1, five, one, Pair{}), NewReLU("r")}},
	}
	for _, tc := range cases {
		for _, w := range []int{1, 10, 0} {
			b.Run(fmt.Sprintf("%s/edge%d", tc.name, w), func(b *testing.B) {
				old := edgeCost
				edgeCost = w
				defer func() { edgeCost = old }()
				e, x := unfoldEngine(b, tc.in, tc.layers) // a plan of its own
				os, err := e.OutShape(tc.in)
				if err != nil {
					b.Fatal(err)
				}
				dst := make([]float32, os.Size())
				cpu0 := cpuTime()
				for b.Loop() {
					if _, err := e.ForwardInto(dst, x, tc.in); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(cpuTime()-cpu0)/1e6/float64(b.N), "cpu-ms/op")
			})
		}
	}
}
