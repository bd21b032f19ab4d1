// Package graph builds an nn.Network as a gorgonia expression graph: the
// training path (autodiff and solvers) and the reference forward pass the
// native engine is cross-checked against. Inference (nn's engine, detect,
// scan) never links it.
package graph

import (
	"fmt"
	"math"

	"github.com/fc2conv/fc2conv/nn"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Graph is a network built as a gorgonia expression graph for one batch
// size and input size (gorgonia fixes shapes when the graph is built). It
// is the training path and the reference forward pass that the native
// engine is checked against.
//
// The graph's weight nodes hold the network's own tensors, so a solver
// step updates the Network in place. Max-pool and dropout keep state in
// the graph: use one Graph per goroutine.
type Graph struct {
	G      *G.ExprGraph
	Input  *G.Node // N×C×H×W
	Output *G.Node // N×K for an FC network, N×K×R×Q for a fully convolutional one
	// Logits is the input of the final Sigmoid or Softmax (nil if the
	// network ends otherwise), for numerically stable losses.
	Logits *G.Node
	// Learnables are the conv and dense weights and biases, and in
	// training the batch norms' gamma and beta, in layer order.
	Learnables G.Nodes
	// BatchNorms are the batch norms normalised with batch statistics (in
	// training), in layer order; see UpdateRunningStats.
	BatchNorms []*BatchStats
	momentum   float64
	vm         G.VM
}

// Options control how a Graph is built.
type Options struct {
	Batch  int
	Height int // input height; 0 means the window height
	Width  int // input width; 0 means the window width
	// Training applies dropout and normalises batch norms with the
	// statistics of the batch (learning their gamma and beta) instead of
	// their running statistics.
	Training bool
	// Momentum is the weight of a batch in the batch norms' running
	// statistics (see UpdateRunningStats); 0 means DefaultMomentum.
	Momentum float64
}

// Build builds net as a gorgonia graph. Outside training, batch norms are
// applied with their stored running statistics and are not trained.
func Build(net *nn.Network, opt Options) (gr *Graph, err error) {
	// gorgonia reports some shape errors by panicking; keep them errors.
	defer recoverInto(&err, "graph: build")
	if opt.Batch < 1 {
		return nil, fmt.Errorf("graph: batch %d must be ≥ 1", opt.Batch)
	}
	if !(opt.Momentum >= 0 && opt.Momentum <= 1) {
		return nil, fmt.Errorf("graph: batch norm momentum %v out of range [0,1]", opt.Momentum)
	}
	h, w := opt.Height, opt.Width
	if h == 0 {
		h = net.Input.Height
	}
	if w == 0 {
		w = net.Input.Width
	}
	in := nn.Shape{C: net.Input.Channels, H: h, W: w}
	shapes, err := net.Shapes(in)
	if err != nil {
		return nil, fmt.Errorf("graph: %w", err)
	}
	g := G.NewGraph()
	gr = &Graph{G: g, momentum: opt.Momentum}
	if gr.momentum == 0 {
		gr.momentum = DefaultMomentum
	}
	gr.Input = G.NewTensor(g, G.Float32, 4, G.WithShape(opt.Batch, in.C, in.H, in.W), G.WithName("input"))
	if gr.Output, err = gr.chain(gr.Input, net.Layers, shapes, opt); err != nil {
		return nil, err
	}
	return gr, nil
}

// chain builds layers on x, whose shapes are shapes (shapes[0] is x's).
func (gr *Graph) chain(x *G.Node, layers []nn.Layer, shapes []nn.Shape, opt Options) (*G.Node, error) {
	g := gr.G
	for i, l := range layers {
		is := shapes[i]
		var err error
		switch l := l.(type) {
		case nn.Block:
			x, err = gr.block(x, l, is, opt)
		case *nn.Conv2D:
			wt := gr.learnable(l.Weight, l.Name()+".weight")
			b := gr.learnable(l.Bias, l.Name()+".bias")
			var p []int
			x, p, err = padAsymmetric(x, l.Window(), is, shapes[i+1], 0)
			if err == nil {
				x, err = G.Conv2d(x, wt, tensor.Shape{l.Kernel.H, l.Kernel.W}, p, []int{l.Stride.H, l.Stride.W}, []int{1, 1})
			}
			if err == nil {
				x, err = addChannelwise(x, b, l.OutC)
			}
		case *nn.MaxPool2D:
			// Padding (and a ceil-mode overhang) is -∞, so it never wins.
			var p []int
			x, p, err = padAsymmetric(x, l.Window(), is, shapes[i+1], float32(math.Inf(-1)))
			if err == nil {
				x, err = G.MaxPool2D(x, tensor.Shape{l.Kernel.H, l.Kernel.W}, p, []int{l.Stride.H, l.Stride.W})
			}
		case *nn.AvgPool2D:
			x, err = avgPool(x, l, opt.Batch, is, shapes[i+1])
		case *nn.ReLU:
			x, err = G.Rectify(x)
		case *nn.Flatten:
			if l.Order == nn.FlattenHWC {
				x, err = G.Transpose(x, 0, 2, 3, 1)
			}
			if err == nil {
				x, err = G.Reshape(x, tensor.Shape{opt.Batch, is.Size()})
			}
		case *nn.Dense:
			wt := gr.learnable(l.Weight, l.Name()+".weight")
			b := gr.learnable(l.Bias, l.Name()+".bias")
			var wT *G.Node
			if wT, err = G.Transpose(wt); err == nil {
				if x, err = G.Mul(x, wT); err == nil {
					x, err = G.BroadcastAdd(x, b, nil, []byte{0})
				}
			}
		case *nn.Dropout:
			if opt.Training && l.Rate > 0 {
				x, err = G.Dropout(x, l.Rate)
			}
		case *nn.BatchNorm:
			if opt.Training {
				x, err = gr.batchNorm(x, l)
				break
			}
			scale, shift := l.ScaleShift()
			s, t := vector(g, l.Name()+".scale", scale), vector(g, l.Name()+".shift", shift)
			x, err = mulChannelwise(x, s, l.Features)
			if err == nil {
				x, err = addChannelwise(x, t, l.Features)
			}
		case *nn.LeakyReLU:
			x, err = G.LeakyRelu(x, l.Alpha)
		case *nn.PReLU:
			x, err = prelu(x, l)
		case *nn.ELU:
			x, err = elu(x, l.Alpha)
		case *nn.Tanh:
			x, err = G.Tanh(x)
		case *nn.SiLU:
			var s *G.Node
			if s, err = G.Sigmoid(x); err == nil {
				x, err = G.HadamardProd(x, s)
			}
		case *nn.Clip:
			x, err = clip(x, l.Min, l.Max)
		case *nn.HardSigmoid:
			c := &calc{}
			x = c.clip(c.two(G.Add, c.two(G.Mul, x, k(l.Alpha)), k(l.Beta)), 0, 1)
			err = c.err
		case *nn.Unary:
			x, err = unary(x, l)
		case *nn.LogSoftmax:
			x, err = G.LogSoftMax(x, 1)
		case *nn.Sigmoid:
			gr.Logits = x
			x, err = G.Sigmoid(x)
		case *nn.Softmax:
			gr.Logits = x
			x, err = G.SoftMax(x, 1)
		default:
			err = fmt.Errorf("unsupported kind %s", l.Kind())
		}
		if err != nil {
			return nil, fmt.Errorf("graph: layer %q: %w", l.Name(), err)
		}
		if l.Kind() != nn.KindSigmoid && l.Kind() != nn.KindSoftmax {
			gr.Logits = nil
		}
	}
	return x, nil
}

// block builds each of l's paths on x (x itself for an empty one) and
// joins them: a residual block's two summed, a concatenation's stacked
// on channels.
func (gr *Graph) block(x *G.Node, l nn.Block, is nn.Shape, opt Options) (*G.Node, error) {
	var outs []*G.Node
	for _, ls := range l.Paths() {
		shapes, err := (&nn.Network{Layers: ls}).Shapes(is)
		if err != nil {
			return nil, err
		}
		out, err := gr.chain(x, ls, shapes, opt)
		if err != nil {
			return nil, err
		}
		outs = append(outs, out)
	}
	if l.Kind() == nn.KindConcat {
		return G.Concat(1, outs...)
	}
	return G.Add(outs[0], outs[1])
}

// learnable makes a weight node whose value shares t's storage, so a
// solver step updates the network in place.
func (gr *Graph) learnable(t *nn.Tensor, name string) *G.Node {
	n := G.NodeFromAny(gr.G, tensor.New(tensor.WithShape(t.Shape...), tensor.WithBacking(t.Data)), G.WithName(name))
	gr.Learnables = append(gr.Learnables, n)
	return n
}

// channelPattern reshapes a per-channel vector so that it broadcasts over
// x (N×C or N×C×H×W) and returns the broadcast pattern.
func channelPattern(x, v *G.Node, c int) (*G.Node, []byte, error) {
	if x.Dims() == 2 {
		return v, []byte{0}, nil
	}
	r, err := G.Reshape(v, tensor.Shape{1, c, 1, 1})
	return r, []byte{0, 2, 3}, err
}

func addChannelwise(x, v *G.Node, c int) (*G.Node, error) {
	r, pat, err := channelPattern(x, v, c)
	if err != nil {
		return nil, err
	}
	return G.BroadcastAdd(x, r, nil, pat)
}

func mulChannelwise(x, v *G.Node, c int) (*G.Node, error) {
	r, pat, err := channelPattern(x, v, c)
	if err != nil {
		return nil, err
	}
	return G.BroadcastHadamardProd(x, r, nil, pat)
}

// Forward runs the graph on one batch (N×C×H×W) and returns a copy of the
// output.
func (gr *Graph) Forward(input *tensor.Dense) (out *tensor.Dense, err error) {
	defer recoverInto(&err, "graph: run")
	if gr.vm == nil {
		gr.vm = G.NewTapeMachine(gr.G)
	}
	if err := G.Let(gr.Input, input); err != nil {
		return nil, fmt.Errorf("graph: input: %w", err)
	}
	defer gr.vm.Reset()
	if err := gr.vm.RunAll(); err != nil {
		return nil, fmt.Errorf("graph: run: %w", err)
	}
	return gr.Output.Value().(*tensor.Dense).Clone().(*tensor.Dense), nil
}

// Close releases the graph's machine.
func (gr *Graph) Close() {
	if gr.vm != nil {
		gr.vm.Close()
		gr.vm = nil
	}
}

func recoverInto(err *error, what string) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("%s: %v", what, r)
	}
}

// padAsymmetric pads x (N×C×H×W, one map of shape is, to give os) for
// window w with fill where gorgonia's symmetric padding cannot express it:
// padding that differs before and after the map, or a ceil-mode window
// overhanging it. It returns the node and the padding left to gorgonia.
func padAsymmetric(x *G.Node, w nn.Window, is, os nn.Shape, fill float32) (*G.Node, []int, error) {
	end := trailing(w, is, os)
	if end == w.Padding {
		return x, []int{end.H, end.W}, nil
	}
	x, err := pad(x, w.Padding, end, fill)
	return x, []int{0, 0}, err
}

// trailing is the padding after the map with which a floor-mode window
// gives w's output shape os: w's own, or more for a ceil-mode overhang.
func trailing(w nn.Window, is, os nn.Shape) nn.Pair {
	return nn.Pair{
		H: max(w.PaddingEnd.H, (os.H-1)*w.Stride.H+w.Kernel.H-is.H-w.Padding.H),
		W: max(w.PaddingEnd.W, (os.W-1)*w.Stride.W+w.Kernel.W-is.W-w.Padding.W),
	}
}

// pad surrounds x (N×C×H×W) with fill: begin rows and columns before the
// map, end after it.
func pad(x *G.Node, begin, end nn.Pair, fill float32) (*G.Node, error) {
	var err error
	for _, a := range []struct{ axis, before, after int }{{2, begin.H, end.H}, {3, begin.W, end.W}} {
		parts := make([]*G.Node, 0, 3)
		if a.before > 0 {
			parts = append(parts, filled(x, a.axis, a.before, fill))
		}
		parts = append(parts, x)
		if a.after > 0 {
			parts = append(parts, filled(x, a.axis, a.after, fill))
		}
		if len(parts) > 1 {
			if x, err = G.Concat(a.axis, parts...); err != nil {
				return nil, err
			}
		}
	}
	return x, nil
}

// filled is a constant shaped like x except n long along axis, holding v.
func filled(x *G.Node, axis, n int, v float32) *G.Node {
	shape := x.Shape().Clone()
	shape[axis] = n
	data := make([]float32, shape.TotalSize())
	for i := range data {
		data[i] = v
	}
	return G.NewConstant(tensor.New(tensor.WithShape(shape...), tensor.WithBacking(data)), G.In(x.Graph()))
}

// avgPool sums im2col's patches of the padded map and divides each by the
// number of cells it counts: gorgonia has no average pool. The count comes
// from a mask of the padded map: 1 on the input, and on the padding when it
// counts; 0 on a ceil-mode overhang, which never counts (as in PyTorch).
func avgPool(x *G.Node, l *nn.AvgPool2D, batch int, is, out nn.Shape) (*G.Node, error) {
	w := l.Window()
	end := trailing(w, is, out)
	x, err := pad(x, w.Padding, end, 0)
	if err != nil {
		return nil, err
	}
	ph, pw := is.H+w.Padding.H+end.H, is.W+w.Padding.W+end.W
	mask := make([]float32, ph*pw)
	for y := 0; y < ph; y++ {
		for xx := 0; xx < pw; xx++ {
			inY := y >= w.Padding.H && y < w.Padding.H+is.H
			inX := xx >= w.Padding.W && xx < w.Padding.W+is.W
			padY := y < w.Padding.H+is.H+w.PaddingEnd.H
			padX := xx < w.Padding.W+is.W+w.PaddingEnd.W
			if (inY && inX) || (l.CountIncludePad && padY && padX) {
				mask[y*pw+xx] = 1
			}
		}
	}
	recip := make([]float32, out.H*out.W)
	for oy := range out.H {
		for ox := range out.W {
			var n float32
			for ky := range l.Kernel.H {
				row := mask[(oy*l.Stride.H+ky)*pw+ox*l.Stride.W:]
				for _, m := range row[:l.Kernel.W] {
					n += m
				}
			}
			recip[oy*out.W+ox] = 1 / n
		}
	}
	cols, err := G.Im2Col(x, tensor.Shape{l.Kernel.H, l.Kernel.W}, tensor.Shape{0, 0}, tensor.Shape{l.Stride.H, l.Stride.W}, tensor.Shape{1, 1})
	if err != nil {
		return nil, err
	}
	// N×OH×OW×(C·KH·KW) → N×OH×OW×C×(KH·KW), summed over the window.
	cols, err = G.Reshape(cols, tensor.Shape{batch, out.H, out.W, out.C, l.Kernel.H * l.Kernel.W})
	if err != nil {
		return nil, err
	}
	sum, err := G.Sum(cols, 4)
	if err != nil {
		return nil, err
	}
	r := G.NewConstant(tensor.New(tensor.WithShape(1, out.H, out.W, 1), tensor.WithBacking(recip)), G.In(x.Graph()))
	m, err := G.BroadcastHadamardProd(sum, r, nil, []byte{0, 3})
	if err != nil {
		return nil, err
	}
	return G.Transpose(m, 0, 3, 1, 2)
}

// Forward is the reference forward pass of net on one C×H×W input: a graph
// built for that size, run once.
func Forward(net *nn.Network, x []float32, s nn.Shape) ([]float32, error) {
	g, err := Build(net, Options{Batch: 1, Height: s.H, Width: s.W})
	if err != nil {
		return nil, err
	}
	defer g.Close()
	out, err := g.Forward(tensor.New(tensor.WithShape(1, s.C, s.H, s.W), tensor.WithBacking(append([]float32(nil), x...))))
	if err != nil {
		return nil, err
	}
	return out.Data().([]float32), nil
}

// vector is a constant vector node named name, backed by v.
func vector(g *G.ExprGraph, name string, v []float32) *G.Node {
	return G.NewTensor(g, G.Float32, 1, G.WithShape(len(v)), G.WithValue(tensor.New(tensor.WithShape(len(v)), tensor.WithBacking(v))), G.WithName(name))
}

// parts splits x into relu(x) and min(x, 0), the latter as −relu(−x):
// the pieces PReLU and ELU are made of.
func parts(x *G.Node) (pos, neg *G.Node, err error) {
	pos, err = G.Rectify(x)
	if err == nil {
		neg, err = G.Neg(x)
	}
	if err == nil {
		neg, err = G.Rectify(neg)
	}
	if err == nil {
		neg, err = G.Neg(neg)
	}
	return pos, neg, err
}

// prelu is relu(x) + slope·min(x, 0), the slope one for every channel or
// one per channel.
func prelu(x *G.Node, l *nn.PReLU) (*G.Node, error) {
	pos, neg, err := parts(x)
	if err == nil && l.Channels == 1 {
		neg, err = G.Mul(neg, G.NewConstant(l.Slope.Data[0]))
	} else if err == nil {
		s := vector(x.Graph(), l.Name()+".slope", append([]float32(nil), l.Slope.Data...))
		neg, err = mulChannelwise(neg, s, l.Channels)
	}
	if err == nil {
		pos, err = G.Add(pos, neg)
	}
	return pos, err
}

// elu is relu(x) + alpha·(exp(min(x, 0)) − 1).
func elu(x *G.Node, alpha float64) (*G.Node, error) {
	pos, neg, err := parts(x)
	if err == nil {
		neg, err = G.Exp(neg)
	}
	if err == nil {
		neg, err = G.Sub(neg, G.NewConstant(float32(1)))
	}
	if err == nil {
		neg, err = G.Mul(neg, G.NewConstant(float32(alpha)))
	}
	if err == nil {
		pos, err = G.Add(pos, neg)
	}
	return pos, err
}

// clip is lo + relu(x-lo) - relu(x-hi): min(max(x, lo), hi) from ops
// gorgonia differentiates.
func clip(x *G.Node, lo, hi float64) (*G.Node, error) {
	l, h := G.NewConstant(float32(lo)), G.NewConstant(float32(hi))
	a, err := G.Sub(x, l)
	if err == nil {
		a, err = G.Rectify(a)
	}
	var b *G.Node
	if err == nil {
		b, err = G.Sub(x, h)
	}
	if err == nil {
		b, err = G.Rectify(b)
	}
	if err == nil {
		a, err = G.Sub(a, b)
	}
	if err == nil {
		a, err = G.Add(a, l)
	}
	return a, err
}
