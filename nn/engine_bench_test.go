package nn_test

import (
	"math/rand"
	"testing"

	"github.com/fc2conv/fc2conv/nn"
	"github.com/fc2conv/fc2conv/nn/kernels"
	"github.com/fc2conv/fc2conv/nn/nntest"
)

// seedFCN is the seed's network in converted form: five conv3×3+pool
// stages, then a 4×2 conv (the first FC) and a 1×1 conv.
func seedFCN() *nn.Network {
	var layers []nn.Layer
	c := 3
	one, two, three := nn.Pair{H: 1, W: 1}, nn.Pair{H: 2, W: 2}, nn.Pair{H: 3, W: 3}
	for i, w := range []int{16, 32, 64, 64, 128} {
		n := string(rune('1' + i))
		layers = append(layers, nn.NewConv2D("conv"+n, c, w, three, one, one), nn.NewReLU("relu"+n), nn.NewMaxPool2D("pool"+n, two, two, nn.Pair{}))
		c = w
	}
	layers = append(layers, nn.NewConv2D("fc1", 128, 256, nn.Pair{H: 4, W: 2}, one, nn.Pair{}), nn.NewReLU("fcrelu"),
		nn.NewConv2D("fc2", 256, 1, one, one, nn.Pair{}), nn.NewSigmoid("sigmoid"))
	net := &nn.Network{Input: nn.InputSpec{Channels: 3, Height: 128, Width: 64, Mean: []float32{0, 0, 0}, Std: []float32{1, 1, 1}}, Layers: layers}
	nntest.Randomize(net, rand.New(rand.NewSource(1)))
	return net
}

// One forward pass of the seed FCN over a 1024×512 image (403 windows),
// with each kernel backend, side by side, on GOMAXPROCS threads.
func BenchmarkSeedFCN1024x512(b *testing.B) {
	net := seedFCN()
	in := nn.Shape{C: 3, H: 512, W: 1024}
	x := nntest.Input(rand.New(rand.NewSource(2)), in)
	for _, k := range []struct {
		name string
		k    kernels.Kernels
	}{{"packed", kernels.Packed{}}, {"gonum", kernels.Gonum{}}, {"reference", kernels.Reference{}}} {
		b.Run(k.name, func(b *testing.B) {
			e := nn.NewEngineWith(net, k.k)
			e.SetThreads(0) // GOMAXPROCS: run with GOMAXPROCS=1 for one thread
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, _, err := e.Forward(x, in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkLayers times each layer kind alone on a 32-channel 256×256 map
// (a dense layer on its flattened 8×8 crop), one thread, with allocations:
// what the engine spends per kind, and what fusing a ReLU and pool into a
// convolution saves.
func BenchmarkLayers(b *testing.B) {
	one, two, three := nn.Pair{H: 1, W: 1}, nn.Pair{H: 2, W: 2}, nn.Pair{H: 3, W: 3}
	in := nn.Shape{C: 32, H: 256, W: 256}
	for _, tc := range []struct {
		name   string
		in     nn.Shape
		layers []nn.Layer
	}{
		{"conv3x3", in, []nn.Layer{nn.NewConv2D("c", 32, 32, three, one, one)}},
		{"conv3x3+relu+maxpool", in, []nn.Layer{nn.NewConv2D("c", 32, 32, three, one, one), nn.NewReLU("r"), nn.NewMaxPool2D("m", two, two, nn.Pair{})}},
		{"conv1x1", in, []nn.Layer{nn.NewConv2D("c", 32, 32, one, one, nn.Pair{})}},
		{"maxpool2x2", in, []nn.Layer{nn.NewMaxPool2D("m", two, two, nn.Pair{})}},
		{"avgpool2x2", in, []nn.Layer{nn.NewAvgPool2D("a", two, two, nn.Pair{}, true)}},
		{"relu", in, []nn.Layer{nn.NewReLU("r")}},
		{"batchnorm", in, []nn.Layer{nn.NewBatchNorm("bn", 32, 1e-5)}},
		{"softmax", in, []nn.Layer{nn.NewSoftmax("s")}},
		{"flatten+dense", nn.Shape{C: 32, H: 8, W: 8}, []nn.Layer{nn.NewFlatten("f", nn.FlattenHWC), nn.NewDense("d", 2048, 256)}},
	} {
		net := &nn.Network{Input: nn.InputSpec{Channels: 32, Height: tc.in.H, Width: tc.in.W, Mean: make([]float32, 32), Std: nntest.Ones(32)}, Layers: tc.layers}
		nntest.Randomize(net, rand.New(rand.NewSource(1)))
		x := nntest.Input(rand.New(rand.NewSource(2)), tc.in)
		e := nn.NewEngine(net)
		out, err := e.OutShape(tc.in)
		if err != nil {
			b.Fatal(err)
		}
		dst := make([]float32, out.Size())
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := e.ForwardInto(dst, x, tc.in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
