// Package graph builds an nn.Network as a gorgonia expression graph: the
// training path (autodiff and solvers) and the reference forward pass the
// native engine is cross-checked against. Inference (nn's engine, detect,
// scan) never links it.
package graph

import (
	"fmt"

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
	// Learnables are the conv and dense weights and biases, in layer order.
	Learnables G.Nodes
	vm         G.VM
}

// Options control how a Graph is built.
type Options struct {
	Batch    int
	Height   int  // input height; 0 means the window height
	Width    int  // input width; 0 means the window width
	Training bool // apply dropout
}

// Build builds net as a gorgonia graph. Batch norms are applied with
// their stored inference statistics and are not trained.
func Build(net *nn.Network, opt Options) (gr *Graph, err error) {
	// gorgonia reports some shape errors by panicking; keep them errors.
	defer recoverInto(&err, "graph: build")
	if opt.Batch < 1 {
		return nil, fmt.Errorf("graph: batch %d must be ≥ 1", opt.Batch)
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
	gr = &Graph{G: g}
	gr.Input = G.NewTensor(g, G.Float32, 4, G.WithShape(opt.Batch, in.C, in.H, in.W), G.WithName("input"))
	x := gr.Input
	for i, l := range net.Layers {
		is := shapes[i]
		var err error
		switch l := l.(type) {
		case *nn.Conv2D:
			wt := gr.learnable(l.Weight, l.Name()+".weight")
			b := gr.learnable(l.Bias, l.Name()+".bias")
			x, err = G.Conv2d(x, wt, tensor.Shape{l.Kernel.H, l.Kernel.W}, []int{l.Padding.H, l.Padding.W}, []int{l.Stride.H, l.Stride.W}, []int{1, 1})
			if err == nil {
				x, err = addChannelwise(x, b, l.OutC)
			}
		case *nn.MaxPool2D:
			x, err = G.MaxPool2D(x, tensor.Shape{l.Kernel.H, l.Kernel.W}, []int{l.Padding.H, l.Padding.W}, []int{l.Stride.H, l.Stride.W})
		case *nn.AvgPool2D:
			x, err = avgPool(x, l, opt.Batch, shapes[i+1])
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
			scale, shift := l.ScaleShift()
			s := G.NewTensor(g, G.Float32, 1, G.WithShape(l.Features), G.WithValue(tensor.New(tensor.WithShape(l.Features), tensor.WithBacking(scale))), G.WithName(l.Name()+".scale"))
			t := G.NewTensor(g, G.Float32, 1, G.WithShape(l.Features), G.WithValue(tensor.New(tensor.WithShape(l.Features), tensor.WithBacking(shift))), G.WithName(l.Name()+".shift"))
			x, err = mulChannelwise(x, s, l.Features)
			if err == nil {
				x, err = addChannelwise(x, t, l.Features)
			}
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
	gr.Output = x
	return gr, nil
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

// avgPool averages im2col's patches: gorgonia has no average pool. Padding
// enters the patches as zeros, so only PyTorch's count_include_pad form
// (or no padding) is expressible this way.
func avgPool(x *G.Node, l *nn.AvgPool2D, batch int, out nn.Shape) (*G.Node, error) {
	if l.Padding != (nn.Pair{}) && !l.CountIncludePad {
		return nil, fmt.Errorf("average pooling with padding that does not count has no gorgonia form")
	}
	cols, err := G.Im2Col(x, tensor.Shape{l.Kernel.H, l.Kernel.W}, tensor.Shape{l.Padding.H, l.Padding.W}, tensor.Shape{l.Stride.H, l.Stride.W}, tensor.Shape{1, 1})
	if err != nil {
		return nil, err
	}
	// N×OH×OW×(C·KH·KW) → N×OH×OW×C×(KH·KW), mean over the window.
	cols, err = G.Reshape(cols, tensor.Shape{batch, out.H, out.W, out.C, l.Kernel.H * l.Kernel.W})
	if err != nil {
		return nil, err
	}
	m, err := G.Mean(cols, 4)
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
