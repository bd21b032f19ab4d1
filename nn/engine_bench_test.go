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
