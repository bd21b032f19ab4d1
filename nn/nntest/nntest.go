// Package nntest builds random networks and inputs for tests and
// benchmarks: the property tests of the converter and the cross-checks of
// the engine against the gorgonia graph.
package nntest

import (
	"fmt"
	"math"
	"math/rand"

	"github.com/fc2conv/fc2conv/nn"
)

// Options steer RandomFC.
type Options struct {
	Padded bool // allow padded convs and pools
	// Grown also allows padding that differs before and after the map,
	// ceil-mode pools and average pools (both divisor rules).
	Grown    bool
	MaxStage int // conv stages, 1..MaxStage (default 3)
	MaxDense int // dense layers, 1..MaxDense (default 3)
	// Residual makes some conv stages ResNet blocks: two convs (3×3 and
	// padded only with Padded), with an identity shortcut or a strided
	// 1×1 conv, then a ReLU.
	Residual bool
	// Concat makes some conv stages Inception modules: two to four paths
	// (the input itself, a 1×1 conv, a 3×3 conv after a 1×1 one, a 3×3
	// max-pool of stride 1 then a 1×1 conv; the 3×3 ones only with
	// Padded) stacked on channels, then a ReLU.
	Concat bool
}

// RandomFC returns a random valid classifier with an FC head: conv stages
// (conv, optional batch norm, ReLU, optional max-pool), a Flatten in a
// random order, 1–MaxDense dense layers, and a sigmoid, softmax or no head.
func RandomFC(rng *rand.Rand, opt Options) *nn.Network {
	if opt.MaxStage == 0 {
		opt.MaxStage = 3
	}
	if opt.MaxDense == 0 {
		opt.MaxDense = 3
	}
	ch := 1 + rng.Intn(3)
	var layers []nn.Layer
	c := ch
	name := func(kind string) string { return fmt.Sprintf("%s%d", kind, len(layers)) }
	pad := func(k int) int {
		if !opt.Padded || rng.Intn(2) == 0 {
			return 0
		}
		return rng.Intn(k/2 + 1)
	}
	stages := 1 + rng.Intn(opt.MaxStage)
	for s := 0; s < stages; s++ {
		if opt.Residual && rng.Intn(2) == 0 {
			var block *nn.Residual
			block, c = residualBlock(rng, name("block"), c, opt.Padded)
			layers = append(layers, block, nn.NewReLU(name("relu")))
			continue
		}
		if opt.Concat && rng.Intn(2) == 0 {
			var block *nn.Concat
			block, c = inceptionBlock(rng, name("mixed"), c, opt.Padded)
			layers = append(layers, block, nn.NewReLU(name("relu")))
			continue
		}
		oc := 1 + rng.Intn(6)
		k := nn.Pair{H: 1 + rng.Intn(4), W: 1 + rng.Intn(4)}
		st := nn.Pair{H: 1 + rng.Intn(2), W: 1 + rng.Intn(2)}
		conv := nn.NewConv2D(name("conv"), c, oc, k, st, nn.Pair{H: pad(k.H), W: pad(k.W)})
		if opt.Grown && rng.Intn(2) == 0 {
			conv.PaddingEnd = &nn.Pair{H: rng.Intn(k.H + 1), W: rng.Intn(k.W + 1)}
		}
		layers = append(layers, conv)
		c = oc
		if rng.Intn(3) == 0 {
			layers = append(layers, nn.NewBatchNorm(name("bn"), c, 1e-5))
		}
		layers = append(layers, nn.NewReLU(name("relu")))
		if rng.Intn(2) == 0 {
			pk := nn.Pair{H: 2 + rng.Intn(2), W: 2 + rng.Intn(2)}
			ps := nn.Pair{H: 1 + rng.Intn(pk.H), W: 1 + rng.Intn(pk.W)}
			pp := nn.Pair{H: pad(pk.H), W: pad(pk.W)}
			if !opt.Grown {
				layers = append(layers, nn.NewMaxPool2D(name("pool"), pk, ps, pp))
				continue
			}
			end := &nn.Pair{H: rng.Intn(pk.H/2 + 1), W: rng.Intn(pk.W/2 + 1)}
			if rng.Intn(3) == 0 {
				end = nil
			}
			ceil := rng.Intn(2) == 0
			if rng.Intn(2) == 0 {
				p := nn.NewMaxPool2D(name("pool"), pk, ps, pp)
				p.PaddingEnd, p.CeilMode = end, ceil
				layers = append(layers, p)
			} else {
				p := nn.NewAvgPool2D(name("pool"), pk, ps, pp, rng.Intn(2) == 0)
				p.PaddingEnd, p.CeilMode = end, ceil
				layers = append(layers, p)
			}
		}
	}
	net := &nn.Network{Input: nn.InputSpec{Channels: ch, Mean: make([]float32, ch), Std: Ones(ch)}, Layers: layers}
	// The smallest window the stack accepts, plus a random margin.
	net.Input.Height = minSide(net, true) + rng.Intn(6)
	net.Input.Width = minSide(net, false) + rng.Intn(6)
	shapes, err := net.Shapes(net.Input.Window())
	if err != nil {
		panic(err) // a bug in this generator
	}
	last := shapes[len(shapes)-1]
	order := nn.FlattenCHW
	if rng.Intn(2) == 0 {
		order = nn.FlattenHWC
	}
	net.Layers = append(net.Layers, nn.NewFlatten("flatten", order))
	in := last.Size()
	dense := 1 + rng.Intn(opt.MaxDense)
	classes := 1 + rng.Intn(4)
	for d := 0; d < dense; d++ {
		out := 2 + rng.Intn(12)
		if d == dense-1 {
			out = classes
		}
		net.Layers = append(net.Layers, nn.NewDense(fmt.Sprintf("fc%d", d), in, out))
		in = out
		if d < dense-1 {
			if rng.Intn(3) == 0 {
				net.Layers = append(net.Layers, nn.NewBatchNorm(fmt.Sprintf("fcbn%d", d), out, 1e-5))
			}
			net.Layers = append(net.Layers, nn.NewReLU(fmt.Sprintf("fcrelu%d", d)))
			if rng.Intn(2) == 0 {
				net.Layers = append(net.Layers, nn.NewDropout(fmt.Sprintf("drop%d", d), 0.5))
			}
		}
	}
	switch {
	case classes >= 2 && rng.Intn(2) == 0:
		net.Layers = append(net.Layers, nn.NewSoftmax("softmax"))
	case rng.Intn(3) > 0:
		net.Layers = append(net.Layers, nn.NewSigmoid("sigmoid"))
	}
	Randomize(net, rng)
	return net
}

// residualBlock is a ResNet block on c channels named name: conv, batch
// norm or not, ReLU, conv, batch norm or not; an identity shortcut, or a
// 1×1 conv (and batch norm or not) where the stride or channels change.
// Unless padded, the convs are 1×1, which need no padding to keep the
// two branches' shapes equal. It returns the block and its output
// channels.
func residualBlock(rng *rand.Rand, name string, c int, padded bool) (*nn.Residual, int) {
	oc := c
	if rng.Intn(2) == 0 {
		oc = 1 + rng.Intn(6)
	}
	k := 1
	if padded {
		k += 2 * rng.Intn(2)
	}
	kp := nn.Pair{H: k, W: k}
	st := nn.Pair{H: 1 + rng.Intn(2), W: 1 + rng.Intn(2)}
	pad := nn.Pair{H: k / 2, W: k / 2}
	bn := func(layers []nn.Layer, n string, ch int) []nn.Layer {
		if rng.Intn(2) == 0 {
			return layers
		}
		return append(layers, nn.NewBatchNorm(n, ch, 1e-5))
	}
	body := []nn.Layer{nn.NewConv2D(name+"_conv1", c, oc, kp, st, pad)}
	body = bn(body, name+"_bn1", oc)
	body = append(body, nn.NewReLU(name+"_relu1"), nn.NewConv2D(name+"_conv2", oc, oc, kp, nn.Pair{H: 1, W: 1}, pad))
	body = bn(body, name+"_bn2", oc)
	var short []nn.Layer
	if oc != c || st != (nn.Pair{H: 1, W: 1}) {
		short = bn([]nn.Layer{nn.NewConv2D(name+"_down", c, oc, nn.Pair{H: 1, W: 1}, st, nn.Pair{})}, name+"_downbn", oc)
	}
	return nn.NewResidual(name, body, short), oc
}

// inceptionBlock is an Inception module on c channels named name, of two
// to four distinct paths drawn from: the input itself, a 1×1 conv (and
// batch norm or not), and with padded a 1×1 then a padded 3×3 conv, and a
// padded 3×3 max-pool of stride 1 then a 1×1 conv. It returns the block
// and its output channels.
func inceptionBlock(rng *rand.Rand, name string, c int, padded bool) (*nn.Concat, int) {
	one, three := nn.Pair{H: 1, W: 1}, nn.Pair{H: 3, W: 3}
	conv := func(n string, in, k int) (*nn.Conv2D, int) {
		oc := 1 + rng.Intn(4)
		kp := nn.Pair{H: k, W: k}
		return nn.NewConv2D(n, in, oc, kp, one, nn.Pair{H: k / 2, W: k / 2}), oc
	}
	kinds := []int{0, 1}
	if padded {
		kinds = append(kinds, 2, 3)
	}
	rng.Shuffle(len(kinds), func(i, j int) { kinds[i], kinds[j] = kinds[j], kinds[i] })
	kinds = kinds[:2+rng.Intn(len(kinds)-1)]
	var paths [][]nn.Layer
	out := 0
	for i, kind := range kinds {
		p := fmt.Sprintf("%s_p%d", name, i)
		switch kind {
		case 0:
			paths = append(paths, nil)
			out += c
		case 1:
			cv, oc := conv(p+"_1x1", c, 1)
			path := []nn.Layer{cv}
			if rng.Intn(2) == 0 {
				path = append(path, nn.NewBatchNorm(p+"_bn", oc, 1e-5))
			}
			paths = append(paths, path)
			out += oc
		case 2:
			reduce, mid := conv(p+"_reduce", c, 1)
			cv, oc := conv(p+"_3x3", mid, 3)
			paths = append(paths, []nn.Layer{reduce, nn.NewReLU(p + "_relu"), cv})
			out += oc
		case 3:
			cv, oc := conv(p+"_proj", c, 1)
			paths = append(paths, []nn.Layer{nn.NewMaxPool2D(p+"_pool", three, one, one), cv})
			out += oc
		}
	}
	return nn.NewConcat(name, paths...), out
}

// minSide finds the smallest input height (or width) the layers accept.
func minSide(net *nn.Network, height bool) int {
	for n := 1; n < 1024; n++ {
		s := nn.Shape{C: net.Input.Channels, H: 1024, W: 1024}
		if height {
			s.H = n
		} else {
			s.W = n
		}
		if _, err := net.Shapes(s); err == nil {
			return n
		}
	}
	panic("nntest: no input side up to 1024 fits the random stack") // a generator bug
}

// Randomize fills every weight with values scaled to keep activations in a
// useful range, and gives batch norms non-trivial statistics.
func Randomize(net *nn.Network, rng *rand.Rand) { randomize(net.Layers, rng) }

func randomize(layers []nn.Layer, rng *rand.Rand) {
	for _, l := range layers {
		switch l := l.(type) {
		case nn.Block:
			randomize(l.Sublayers(), rng)
		case *nn.Conv2D:
			a := 1.5 / math.Sqrt(float64(l.InC*l.Kernel.H*l.Kernel.W))
			uniform(rng, l.Weight.Data, a)
			uniform(rng, l.Bias.Data, 0.1)
		case *nn.Dense:
			a := 1.5 / math.Sqrt(float64(l.In))
			uniform(rng, l.Weight.Data, a)
			uniform(rng, l.Bias.Data, 0.1)
		case *nn.BatchNorm:
			for i := range l.Gamma.Data {
				l.Gamma.Data[i] = float32(0.5 + rng.Float64())
				l.Beta.Data[i] = float32(rng.NormFloat64() * 0.2)
				l.Mean.Data[i] = float32(rng.NormFloat64() * 0.3)
				l.Var.Data[i] = float32(0.5 + rng.Float64())
			}
		case *nn.PReLU:
			for i := range l.Slope.Data {
				l.Slope.Data[i] = float32(0.05 + 0.4*rng.Float64())
			}
		}
	}
}

func uniform(rng *rand.Rand, s []float32, a float64) {
	for i := range s {
		s[i] = float32((2*rng.Float64() - 1) * a)
	}
}

// Ones is n ones: the standard deviations of an unnormalised input.
func Ones(n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = 1
	}
	return s
}

// Input returns a random C×H×W input with values in [-1, 1).
func Input(rng *rand.Rand, s nn.Shape) []float32 {
	v := make([]float32, s.Size())
	uniform(rng, v, 1)
	return v
}

// MaxAbsDiff is the largest |a[i] − b[i]|; it is +Inf when lengths differ.
func MaxAbsDiff(a, b []float32) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	var m float64
	for i := range a {
		m = math.Max(m, math.Abs(float64(a[i])-float64(b[i])))
	}
	return m
}
