package backprop

import (
	"math"
	"math/rand"
	"testing"

	"github.com/fc2conv/fc2conv/graph"
	"github.com/fc2conv/fc2conv/nn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// testNets are the layer kinds training meets: 5×5 convolutions and an FC
// head (the shipped members' dressnet), 3×3 stacks with batch norms after
// convolutions and after a dense layer, a padded, strided convolution
// with an odd pool, and padded convolutions at stride 1 (a "wide"
// verifier's), with 5×5 kernels whose edge columns read only padding.
func testNets() map[string]*nn.Network {
	one, two, three, five := nn.Pair{H: 1, W: 1}, nn.Pair{H: 2, W: 2}, nn.Pair{H: 3, W: 3}, nn.Pair{H: 5, W: 5}
	in := func(c, h, w int) nn.InputSpec {
		return nn.InputSpec{Channels: c, Height: h, Width: w, Mean: make([]float32, c), Std: []float32{1, 1, 1}[:c]}
	}
	return map[string]*nn.Network{
		"dressnet": {Input: in(1, 16, 16), Layers: []nn.Layer{
			nn.NewConv2D("conv1", 1, 6, five, one, nn.Pair{}), nn.NewReLU("r1"), nn.NewMaxPool2D("p1", two, two, nn.Pair{}),
			nn.NewConv2D("conv2", 6, 8, three, one, nn.Pair{}), nn.NewReLU("r2"), nn.NewMaxPool2D("p2", two, two, nn.Pair{}),
			nn.NewFlatten("flat", nn.FlattenCHW), nn.NewDense("fc1", 32, 12), nn.NewReLU("r3"), nn.NewDense("fc2", 12, 2), nn.NewSoftmax("sm")}},
		"bn": {Input: in(1, 12, 12), Layers: []nn.Layer{
			nn.NewConv2D("c1", 1, 4, three, one, nn.Pair{}), nn.NewBatchNorm("b1", 4, 1e-5), nn.NewReLU("r1"),
			nn.NewConv2D("c2", 4, 8, three, one, nn.Pair{}), nn.NewBatchNorm("b2", 8, 1e-5), nn.NewReLU("r2"), nn.NewMaxPool2D("p", two, two, nn.Pair{}),
			nn.NewFlatten("flat", nn.FlattenCHW), nn.NewDense("f1", 8*16, 10), nn.NewBatchNorm("b3", 10, 1e-5), nn.NewReLU("r3"),
			nn.NewDense("f2", 10, 3), nn.NewSoftmax("sm")}},
		"strided": {Input: in(3, 11, 13), Layers: []nn.Layer{
			nn.NewConv2D("c", 3, 5, three, two, one), nn.NewReLU("r"), nn.NewMaxPool2D("p", three, three, nn.Pair{}),
			nn.NewFlatten("flat", nn.FlattenCHW), nn.NewDense("f", 5*2*2, 2), nn.NewSoftmax("sm")}},
		"same": {Input: in(2, 7, 3), Layers: []nn.Layer{
			nn.NewConv2D("c1", 2, 4, three, one, one), nn.NewBatchNorm("b1", 4, 1e-5), nn.NewReLU("r1"),
			nn.NewConv2D("c2", 4, 3, five, one, two), nn.NewReLU("r2"),
			nn.NewFlatten("flat", nn.FlattenCHW), nn.NewDense("f", 3*7*3, 2), nn.NewSoftmax("sm")}},
		// A kernel column past the map and its padding: no input to read.
		"narrow": {Input: in(1, 5, 1), Layers: []nn.Layer{
			nn.NewConv2D("c", 1, 2, five, one, two), nn.NewReLU("r"),
			nn.NewFlatten("flat", nn.FlattenCHW), nn.NewDense("f", 2*5*1, 2), nn.NewSoftmax("sm")}},
	}
}

func randomize(rng *rand.Rand, net *nn.Network) {
	for _, l := range net.Layers {
		for _, p := range l.Params() {
			if p.Value == nil {
				continue
			}
			for i := range p.Value.Data {
				switch p.Name {
				case "running_var":
					p.Value.Data[i] = 0.5 + rng.Float32()
				case "weight":
					if _, ok := l.(*nn.BatchNorm); ok {
						p.Value.Data[i] = 0.5 + rng.Float32()
						continue
					}
					fallthrough
				default:
					p.Value.Data[i] = float32(rng.NormFloat64() * 0.4)
				}
			}
		}
	}
}

func clone(net *nn.Network) *nn.Network {
	c := *net
	c.Layers = nil
	for _, l := range net.Layers {
		c.Layers = append(c.Layers, nn.CloneLayer(l))
	}
	return &c
}

// batchFor draws a batch of inputs and soft targets (label smoothing).
func batchFor(rng *rand.Rand, net *nn.Network, batch int) (x, y []float32, classes int) {
	in := nn.Shape{C: net.Input.Channels, H: net.Input.Height, W: net.Input.Width}
	shapes, _ := net.Shapes(in)
	classes = shapes[len(shapes)-1].Size()
	x = make([]float32, batch*in.Size())
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	y = make([]float32, batch*classes)
	for b := 0; b < batch; b++ {
		for k := 0; k < classes; k++ {
			y[b*classes+k] = 0.05 / float32(classes-1)
		}
		y[b*classes+rng.Intn(classes)] = 0.95
	}
	return x, y, classes
}

// gorgoniaStep runs the reference: the graph in training mode, the mean
// cross-entropy of its logits, gorgonia's autodiff. It returns the loss
// and each learnable's gradient by name, and updates the running
// statistics as the training loop does.
func gorgoniaStep(t *testing.T, net *nn.Network, batch int, x, y []float32, classes int) (float64, map[string][]float32) {
	g, err := graph.Build(net, graph.Options{Batch: batch, Training: true})
	require.NoError(t, err)
	in := nn.Shape{C: net.Input.Channels, H: net.Input.Height, W: net.Input.Width}
	require.NoError(t, G.Let(g.Input, tensor.New(tensor.WithShape(batch, in.C, in.H, in.W), tensor.WithBacking(x))))
	yn := G.NewConstant(tensor.New(tensor.WithShape(batch, classes), tensor.WithBacking(y)), G.In(g.G))
	logp, err := G.LogSoftMax(g.Logits)
	require.NoError(t, err)
	prod, err := G.HadamardProd(logp, yn)
	require.NoError(t, err)
	s, err := G.Sum(prod, 1)
	require.NoError(t, err)
	m, err := G.Mean(s)
	require.NoError(t, err)
	loss, err := G.Neg(m)
	require.NoError(t, err)
	_, err = G.Grad(loss, g.Learnables...)
	require.NoError(t, err)
	vm := G.NewTapeMachine(g.G, G.BindDualValues(g.Learnables...))
	defer vm.Close()
	require.NoError(t, vm.RunAll())
	require.NoError(t, g.UpdateRunningStats())
	grads := map[string][]float32{}
	for _, l := range g.Learnables {
		gv, err := l.Grad()
		require.NoError(t, err)
		grads[l.Name()] = append([]float32(nil), gv.Data().([]float32)...)
	}
	return float64(loss.Value().Data().(float32)), grads
}

// The native pass gives gorgonia's loss, gradients and running statistics,
// for every layer kind, over batches that fill several chunks and one
// that does not.
func TestStepMatchesGorgonia(t *testing.T) {
	for name, net := range testNets() {
		for _, batch := range []int{5, 19} {
			rng := rand.New(rand.NewSource(int64(batch)))
			randomize(rng, net)
			x, y, classes := batchFor(rng, net, batch)
			ref := clone(net)
			wantLoss, want := gorgoniaStep(t, ref, batch, x, y, classes)

			mine := clone(net)
			tr, err := New(mine, batch, Options{Threads: 2})
			require.NoError(t, err)
			loss, err := tr.Step(x, y)
			require.NoError(t, err)
			assert.InDelta(t, wantLoss, loss, 1e-5*(1+math.Abs(wantLoss)), "%s batch %d loss", name, batch)
			require.Len(t, tr.Params(), len(want), name)
			for _, p := range tr.Params() {
				w, ok := want[p.Name]
				require.True(t, ok, "%s: gorgonia has no %s", name, p.Name)
				require.Len(t, p.Grad, len(w))
				var scale float64
				for _, v := range w {
					scale = max(scale, math.Abs(float64(v)))
				}
				for i := range w {
					require.InDelta(t, w[i], p.Grad[i], 1e-4*(1+scale), "%s batch %d %s[%d]", name, batch, p.Name, i)
				}
			}
			for i, l := range mine.Layers {
				if bn, ok := l.(*nn.BatchNorm); ok {
					rb := ref.Layers[i].(*nn.BatchNorm)
					assert.InDeltaSlice(t, rb.Mean.Data, bn.Mean.Data, 1e-5, "%s %s running mean", name, bn.Name())
					assert.InDeltaSlice(t, rb.Var.Data, bn.Var.Data, 1e-4, "%s %s running var", name, bn.Name())
				}
			}
		}
	}
}

// The gradients do not depend on the number of threads, bit for bit.
func TestStepIsTheSameOnAnyThreads(t *testing.T) {
	net := testNets()["bn"]
	rng := rand.New(rand.NewSource(3))
	randomize(rng, net)
	x, y, _ := batchFor(rng, net, 37)
	var first [][]float32
	for _, threads := range []int{1, 2, 5} {
		tr, err := New(clone(net), 37, Options{Threads: threads})
		require.NoError(t, err)
		_, err = tr.Step(x, y)
		require.NoError(t, err)
		var got [][]float32
		for _, p := range tr.Params() {
			got = append(got, p.Grad)
		}
		if first == nil {
			first = got
			continue
		}
		require.Equal(t, first, got, "threads %d", threads)
	}
}

// Adam takes gorgonia's AdamSolver's steps exactly, from the same
// gradients, over several iterations (the bias corrections change).
func TestAdamMatchesGorgonia(t *testing.T) {
	rng := rand.New(rand.NewSource(4))
	w0 := make([]float32, 50)
	for i := range w0 {
		w0[i] = float32(rng.NormFloat64())
	}
	mine := append([]float32(nil), w0...)
	ref := append([]float32(nil), w0...)
	g := G.NewGraph()
	node := G.NewVector(g, G.Float32, G.WithShape(len(ref)), G.WithValue(tensor.New(tensor.WithShape(len(ref)), tensor.WithBacking(ref))), G.WithName("w"))
	solver := G.NewAdamSolver(G.WithLearnRate(3e-3))
	adam := NewAdam()
	grad := make([]float32, len(w0))
	for step := 0; step < 4; step++ {
		for i := range grad {
			grad[i] = float32(rng.NormFloat64())
		}
		dv := tensor.New(tensor.WithShape(len(grad)), tensor.WithBacking(append([]float32(nil), grad...)))
		require.NoError(t, solver.Step([]G.ValueGrad{valueGrad{node, dv}}))
		adam.Step([]Param{{Name: "w", Data: mine, Grad: grad}}, 3e-3)
		require.Equal(t, ref, mine, "step %d", step)
	}
	assert.NotEqual(t, w0, mine, "the weights moved")
}

// Weight decay shrinks exactly the convolution and dense weights, by
// lr·WeightDecay of themselves, apart from the gradient: with zero
// gradients Adam itself moves nothing, so only the shrink is left.
func TestAdamWeightDecay(t *testing.T) {
	one := nn.Pair{H: 1, W: 1}
	in := nn.InputSpec{Channels: 1, Height: 2, Width: 2, Mean: []float32{0}, Std: []float32{1}}
	net := &nn.Network{Input: in, Layers: []nn.Layer{
		nn.NewConv2D("c", 1, 2, one, one, nn.Pair{}), nn.NewBatchNorm("bn", 2, 1e-5), nn.NewReLU("r"),
		nn.NewFlatten("f", nn.FlattenCHW), nn.NewDense("d", 8, 2), nn.NewSoftmax("s")}}
	for _, l := range net.Layers {
		for _, p := range l.Params() {
			for i := range p.Value.Data {
				p.Value.Data[i] = 2
			}
		}
	}
	tr, err := New(net, 1, Options{})
	require.NoError(t, err)
	decays := map[string]bool{}
	for _, p := range tr.Params() {
		decays[p.Name] = p.Decays
	}
	assert.Equal(t, map[string]bool{"c.weight": true, "c.bias": false, "bn.weight": false, "bn.bias": false, "d.weight": true, "d.bias": false}, decays)
	adam := NewAdam()
	adam.WeightDecay = 0.5
	adam.Step(tr.Params(), 0.1) // shrink 1 − 0.1·0.5 = 0.95
	for _, p := range tr.Params() {
		want := float32(2)
		if p.Decays {
			want = 1.9
		}
		for _, v := range p.Data {
			assert.InDelta(t, want, v, 1e-6, p.Name)
		}
	}
}

// valueGrad hands gorgonia's solver a node's value with a given gradient.
type valueGrad struct {
	n    *G.Node
	grad tensor.Tensor
}

func (v valueGrad) Value() G.Value         { return v.n.Value() }
func (v valueGrad) Grad() (G.Value, error) { return v.grad, nil }

// Layers training cannot run are refused, naming the layer.
func TestNewRefusesWhatItCannotTrain(t *testing.T) {
	one := nn.Pair{H: 1, W: 1}
	in := nn.InputSpec{Channels: 1, Height: 4, Width: 4, Mean: []float32{0}, Std: []float32{1}}
	_, err := New(&nn.Network{Input: in, Layers: []nn.Layer{nn.NewConv2D("c", 1, 2, one, one, nn.Pair{})}}, 4, Options{})
	assert.ErrorContains(t, err, "softmax")
	net := &nn.Network{Input: in, Layers: []nn.Layer{nn.NewFlatten("f", nn.FlattenHWC), nn.NewDense("d", 16, 2), nn.NewSoftmax("s")}}
	_, err = New(net, 4, Options{})
	assert.ErrorContains(t, err, `layer 0 "f"`)
	net.Layers[0] = nn.NewFlatten("f", nn.FlattenCHW)
	bn := &nn.Network{Input: in, Layers: []nn.Layer{nn.NewFlatten("f", nn.FlattenCHW), nn.NewDense("d", 16, 2), nn.NewBatchNorm("bn", 2, 1e-5), nn.NewSoftmax("s")}}
	_, err = New(bn, 1, Options{})
	assert.ErrorContains(t, err, `layer 2 "bn": one value per channel`)
	tr, err := New(net, 4, Options{})
	require.NoError(t, err)
	_, err = tr.Step(make([]float32, 3), make([]float32, 8))
	assert.ErrorContains(t, err, "want 64 and 8")
}

// BenchmarkStep times one training step (forward, backward, Adam) on a
// batch of 64 windows, natively and through gorgonia's graph, for
// DressNet, the members' bn3s (3×3 stacks with batch norms) and bn3s on
// the shipped verifier's 36×36 windows:
// GOMAXPROCS=1 go test -run XXX -bench Step -count 3 ./backprop
func BenchmarkStep(b *testing.B) {
	one, two, three, five := nn.Pair{H: 1, W: 1}, nn.Pair{H: 2, W: 2}, nn.Pair{H: 3, W: 3}, nn.Pair{H: 5, W: 5}
	in := nn.InputSpec{Channels: 1, Height: 28, Width: 28, Mean: []float32{0.5}, Std: []float32{0.5}}
	cbr := func(name string, i, o int) []nn.Layer {
		return []nn.Layer{nn.NewConv2D(name, i, o, three, one, nn.Pair{}), nn.NewBatchNorm(name+"bn", o, 1e-5), nn.NewReLU(name + "r")}
	}
	pool := func(name string) nn.Layer { return nn.NewMaxPool2D(name, two, two, nn.Pair{}) }
	nets := []struct {
		name string
		net  func() *nn.Network
	}{
		{"dressnet", func() *nn.Network {
			return &nn.Network{Input: in, Layers: []nn.Layer{
				nn.NewConv2D("conv1", 1, 20, five, one, nn.Pair{}), nn.NewReLU("r1"), pool("p1"),
				nn.NewConv2D("conv2", 20, 40, five, one, nn.Pair{}), nn.NewReLU("r2"), pool("p2"),
				nn.NewFlatten("flat", nn.FlattenCHW), nn.NewDense("fc1", 640, 128), nn.NewReLU("r3"), nn.NewDense("fc2", 128, 2), nn.NewSoftmax("sm")}}
		}},
		{"bn3s", func() *nn.Network { // c16,c32,p,c32,p,f128
			l := append(cbr("c1", 1, 16), cbr("c2", 16, 32)...)
			l = append(l, pool("p1"))
			l = append(l, cbr("c3", 32, 32)...)
			l = append(l, pool("p2"), nn.NewFlatten("flat", nn.FlattenCHW), nn.NewDense("f1", 32*5*5, 128), nn.NewBatchNorm("f1bn", 128, 1e-5), nn.NewReLU("f1r"), nn.NewDense("out", 128, 2), nn.NewSoftmax("sm"))
			return &nn.Network{Input: in, Layers: l}
		}},
		{"bn3s36", func() *nn.Network { // the shipped verifier's shape: bn3s on a 36-pixel window
			in36 := in
			in36.Height, in36.Width = 36, 36
			l := append(cbr("c1", 1, 16), cbr("c2", 16, 32)...)
			l = append(l, pool("p1"))
			l = append(l, cbr("c3", 32, 32)...)
			l = append(l, pool("p2"), nn.NewFlatten("flat", nn.FlattenCHW), nn.NewDense("f1", 32*7*7, 128), nn.NewBatchNorm("f1bn", 128, 1e-5), nn.NewReLU("f1r"), nn.NewDense("out", 128, 2), nn.NewSoftmax("sm"))
			return &nn.Network{Input: in36, Layers: l}
		}},
	}
	const batch = 64
	for _, tc := range nets {
		net := tc.net()
		rng := rand.New(rand.NewSource(1))
		randomize(rng, net)
		for _, l := range net.Layers { // weights at He's scale, so the logits stay finite
			var w []float32
			var fanIn int
			switch l := l.(type) {
			case *nn.Conv2D:
				w, fanIn = l.Weight.Data, l.InC*l.Kernel.H*l.Kernel.W
			case *nn.Dense:
				w, fanIn = l.Weight.Data, l.In
			}
			for i := range w {
				w[i] *= float32(math.Sqrt(2/float64(fanIn))) / 0.4
			}
		}
		x, y, classes := batchFor(rng, net, batch)
		b.Run(tc.name+"/native", func(b *testing.B) {
			tr, err := New(clone(net), batch, Options{})
			if err != nil {
				b.Fatal(err)
			}
			adam := NewAdam()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := tr.Step(x, y); err != nil {
					b.Fatal(err)
				}
				adam.Step(tr.Params(), 1e-4)
			}
			b.ReportMetric(float64(batch*b.N)/b.Elapsed().Seconds(), "patches/s")
		})
		b.Run(tc.name+"/gorgonia", func(b *testing.B) {
			graph.UseFastGEMM()
			g, err := graph.Build(clone(net), graph.Options{Batch: batch, Training: true})
			if err != nil {
				b.Fatal(err)
			}
			yn := G.NewConstant(tensor.New(tensor.WithShape(batch, classes), tensor.WithBacking(y)), G.In(g.G))
			logp, _ := G.LogSoftMax(g.Logits)
			prod, _ := G.HadamardProd(logp, yn)
			s, _ := G.Sum(prod, 1)
			m, _ := G.Mean(s)
			loss, _ := G.Neg(m)
			if _, err := G.Grad(loss, g.Learnables...); err != nil {
				b.Fatal(err)
			}
			vm := G.NewTapeMachine(g.G, G.BindDualValues(g.Learnables...))
			defer vm.Close()
			solver := G.NewAdamSolver(G.WithLearnRate(1e-4))
			xt := tensor.New(tensor.WithShape(batch, 1, 28, 28), tensor.WithBacking(x))
			b.ReportAllocs()
			for b.Loop() {
				if err := G.Let(g.Input, xt); err != nil {
					b.Fatal(err)
				}
				if err := vm.RunAll(); err != nil {
					b.Fatal(err)
				}
				if err := g.UpdateRunningStats(); err != nil {
					b.Fatal(err)
				}
				if err := solver.Step(G.NodesToValueGrads(g.Learnables)); err != nil {
					b.Fatal(err)
				}
				vm.Reset()
			}
			b.ReportMetric(float64(batch*b.N)/b.Elapsed().Seconds(), "patches/s")
		})
	}
}

// transpose moves every value of an r×c matrix to (j, i).
func TestTranspose(t *testing.T) {
	for _, sz := range [][2]int{{1, 1}, {3, 5}, {17, 33}, {144, 576}, {64, 1}} {
		r, c := sz[0], sz[1]
		a := make([]float32, r*c)
		for i := range a {
			a[i] = float32(i) + 0.5
		}
		dst := make([]float32, r*c)
		transpose(dst, a, r, c)
		for i := 0; i < r; i++ {
			for j := 0; j < c; j++ {
				if dst[j*r+i] != a[i*c+j] {
					t.Fatalf("%d×%d: dst[%d][%d] = %v, want a[%d][%d] = %v", r, c, j, i, dst[j*r+i], i, j, a[i*c+j])
				}
			}
		}
	}
}

// The 2×2 pooling path picks what the general one picks, the first of
// equal maxima included, on odd sizes (the last row and column dropped).
func TestMaxPool2x2MatchesAny(t *testing.T) {
	is := nn.Shape{C: 3, H: 7, W: 9}
	os := nn.Shape{C: 3, H: 3, W: 4}
	p := &maxPool{l: &nn.MaxPool2D{Kernel: nn.Pair{H: 2, W: 2}, Stride: nn.Pair{H: 2, W: 2}}, is: is, os: os}
	rng := rand.New(rand.NewSource(1))
	x := make([]float32, is.Size())
	for i := range x {
		x[i] = float32(rng.Intn(3)) // many ties
	}
	x[5] = float32(math.NaN())
	y1, y2 := make([]float32, os.Size()), make([]float32, os.Size())
	a1, a2 := make([]int32, os.Size()), make([]int32, os.Size())
	p.forwardAny(x, y1, a1)
	p.forward2x2(x, y2, a2)
	require.Equal(t, a1, a2)
	for i := range y1 {
		require.Equal(t, math.Float32bits(y1[i]), math.Float32bits(y2[i]), "output %d", i)
	}
}

// relu's backward passes dout where the input is positive and +0
// elsewhere, bit for bit (-0 and NaN gradients included).
func TestReluBackwardBits(t *testing.T) {
	nan := float32(math.NaN())
	negZero := float32(math.Copysign(0, -1))
	in := []float32{1, -1, 0, negZero, nan, 2, 3}
	dout := []float32{negZero, 5, 6, 7, 8, nan, -2}
	din := make([]float32, len(in))
	relu{}.backward(nil, in, nil, dout, din)
	want := []float32{negZero, 0, 0, 0, 0, nan, -2}
	for i := range want {
		assert.Equal(t, math.Float32bits(want[i]), math.Float32bits(din[i]), "element %d", i)
	}
}

// The forward pass is max(v, 0) to the bit, at lengths the assembly
// takes in blocks of eight and the rest: +0 for −0, a NaN stays a NaN.
func TestReluForwardBits(t *testing.T) {
	nan := float32(math.NaN())
	negZero := float32(math.Copysign(0, -1))
	special := []float32{1, -1, 0, negZero, nan, float32(math.Inf(1)), float32(math.Inf(-1)), 1e-39, -1e-39}
	for _, n := range []int{1, 8, 9, 19} {
		in := make([]float32, n)
		for i := range in {
			in[i] = special[(i*5+n)%len(special)]
		}
		out := make([]float32, n)
		relu{}.forward(nil, in, out)
		for i, v := range in {
			want := float32(0)
			if v > 0 || v != v {
				want = v
			}
			if v != v {
				assert.True(t, out[i] != out[i], "n=%d element %d: want NaN, got %v", n, i, out[i])
				continue
			}
			assert.Equal(t, math.Float32bits(want), math.Float32bits(out[i]), "n=%d element %d (%v)", n, i, v)
		}
	}
}
