// Package convert rewrites a classifier with a fully connected head into an
// equivalent fully convolutional network (FCN) and reports its geometry.
//
// The first Dense after the Flatten becomes a convolution whose kernel is
// the incoming feature map; later Dense layers become 1×1 convolutions.
// Dropout disappears, a BatchNorm that follows a Dense or Conv2D is folded
// into its weights (inside blocks too), and Softmax stays a
// softmax over channels.
package convert

import (
	"errors"
	"fmt"

	"github.com/fc2conv/fc2conv/nn"
)

// ErrUnconvertible is wrapped by every error about a network that cannot be
// rewritten.
var ErrUnconvertible = errors.New("cannot convert")

// Step records what became of one source layer, for the conversion table.
type Step struct {
	Layer  string // source layer name
	Kind   nn.Kind
	From   string // FC-form shape, e.g. "dense 512→64"
	To     string // FCN-form filter shape, e.g. "conv 64×32×4×4", or "removed"
	Result string // name of the resulting layer, empty when removed
}

// Result is a converted network with its geometry and conversion table.
type Result struct {
	Network  *nn.Network
	Geometry nn.Geometry
	Steps    []Step
}

// Convert rewrites net (which must be valid) into a fully convolutional
// network. The source network is not modified; weights are copied. A network
// that is already fully convolutional is returned as a copy.
func Convert(net *nn.Network) (*Result, error) {
	if err := net.Validate(); err != nil {
		return nil, fmt.Errorf("convert: %w", err)
	}
	shapes, err := net.Shapes(net.Input.Window())
	if err != nil {
		return nil, fmt.Errorf("convert: %w", err)
	}
	out := &nn.Network{Input: net.Input, Labels: net.Labels, Positive: net.Positive, Threshold: net.Threshold,
		Views: net.Views, ViewPool: net.ViewPool}
	res := &Result{Network: out}
	var flat *nn.Flatten // the Flatten the next Dense reads from, if any
	var flatIn nn.Shape  // the map shape that Flatten saw
	seenFlatten := false
	for i, l := range net.Layers {
		in := shapes[i]
		step := Step{Layer: l.Name(), Kind: l.Kind()}
		switch l := l.(type) {
		case *nn.Flatten:
			if flat != nil {
				return nil, fmt.Errorf("%w: flatten %q: a second flatten has no convolutional form", ErrUnconvertible, l.Name())
			}
			flat, flatIn, seenFlatten = l, in, true
			step.From, step.To = fmt.Sprintf("flatten %v (%s)", in, l.Order), "removed: the next conv reads the map"
		case *nn.Dense:
			if !seenFlatten {
				return nil, fmt.Errorf("%w: dense %q does not follow a spatial flatten; its %v input would not slide", ErrUnconvertible, l.Name(), in)
			}
			conv, err := denseToConv(l, flat, flatIn, in)
			if err != nil {
				return nil, err
			}
			flat = nil
			out.Layers = append(out.Layers, conv)
			step.From = l.String()
			step.To = fmt.Sprintf("conv %d×%d×%d×%d", conv.OutC, conv.InC, conv.Kernel.H, conv.Kernel.W)
			step.Result = conv.Name()
		default:
			var err error
			if out.Layers, err = mapLayer(net.Layers, i, out.Layers, &step); err != nil {
				return nil, err
			}
		}
		res.Steps = append(res.Steps, step)
	}
	if flat != nil {
		return nil, fmt.Errorf("%w: flatten %q is not followed by a dense layer", ErrUnconvertible, flat.Name())
	}
	if err := out.Validate(); err != nil {
		return nil, fmt.Errorf("convert: result: %w", err)
	}
	if res.Geometry, err = out.Geometry(); err != nil {
		return nil, fmt.Errorf("convert: %w", err)
	}
	return res, nil
}

// mapLayer converts src[i], a layer that works on maps, onto out, the
// converted layers so far, and records what became of it in step: a
// dropout is removed, a batch norm right after a convolution is folded
// into it, a block (residual or concatenation) is converted path by
// path, and every other kind works on maps of any size as it is.
func mapLayer(src []nn.Layer, i int, out []nn.Layer, step *Step) ([]nn.Layer, error) {
	switch l := src[i].(type) {
	case *nn.Dropout:
		step.From, step.To = "dropout", "removed: identity at inference"
		return out, nil
	case *nn.BatchNorm:
		if prev := lastConv(out); prev != nil && foldable(src, i) {
			if err := foldBatchNorm(prev, l); err != nil {
				return nil, err
			}
			step.From, step.To = l.String(), "folded into "+prev.Name()
			return out, nil
		}
		step.To = "batchnorm over channels"
	case nn.Block:
		paths := make([][]nn.Layer, len(l.Paths()))
		for b, ls := range l.Paths() {
			for j := range ls {
				var sub Step
				var err error
				if paths[b], err = mapLayer(ls, j, paths[b], &sub); err != nil {
					return nil, err
				}
			}
		}
		block := l.WithPaths(paths)
		step.From, step.To, step.Result = l.String(), block.String(), block.Name()
		return append(out, block), nil
	}
	cp := nn.CloneLayer(src[i])
	step.From, step.Result = src[i].String(), cp.Name()
	if step.To == "" {
		step.To = cp.String()
	}
	return append(out, cp), nil
}

// foldable reports whether the batch norm at index i directly follows a
// Dense or Conv2D (possibly with a Dropout between, which disappears).
func foldable(layers []nn.Layer, i int) bool {
	for j := i - 1; j >= 0; j-- {
		switch layers[j].Kind() {
		case nn.KindDropout:
			continue
		case nn.KindDense, nn.KindConv2D:
			return true
		}
		return false
	}
	return false
}

func lastConv(layers []nn.Layer) *nn.Conv2D {
	if len(layers) == 0 {
		return nil
	}
	c, _ := layers[len(layers)-1].(*nn.Conv2D)
	return c
}

// denseToConv builds the convolution equivalent to d. After a Flatten the
// kernel covers the whole incoming map; otherwise d reads a vector and
// becomes 1×1.
func denseToConv(d *nn.Dense, flat *nn.Flatten, mapShape, in nn.Shape) (*nn.Conv2D, error) {
	one := nn.Pair{H: 1, W: 1}
	if flat == nil {
		if in.H != 1 || in.W != 1 {
			return nil, fmt.Errorf("%w: dense %q does not follow a spatial flatten (its input is a %v map)", ErrUnconvertible, d.Name(), in)
		}
		conv := nn.NewConv2D(d.Name(), d.In, d.Out, one, one, nn.Pair{})
		copy(conv.Weight.Data, d.Weight.Data)
		copy(conv.Bias.Data, d.Bias.Data)
		return conv, nil
	}
	if mapShape.Size() != d.In {
		return nil, fmt.Errorf("%w: dense %q expects %d features, flatten %q gives %v = %d", ErrUnconvertible, d.Name(), d.In, flat.Name(), mapShape, mapShape.Size())
	}
	c, h, w := mapShape.C, mapShape.H, mapShape.W
	conv := nn.NewConv2D(d.Name(), c, d.Out, nn.Pair{H: h, W: w}, one, nn.Pair{})
	src, dst := d.Weight.Data, conv.Weight.Data
	switch flat.Order {
	case nn.FlattenCHW:
		// Row o of W is already laid out C×H×W: the filter is a reshape.
		copy(dst, src)
	case nn.FlattenHWC:
		// Row o is laid out H×W×C: permute each row into C×H×W.
		for o := 0; o < d.Out; o++ {
			row, f := src[o*d.In:(o+1)*d.In], dst[o*d.In:(o+1)*d.In]
			for ch := 0; ch < c; ch++ {
				for p := 0; p < h*w; p++ {
					f[ch*h*w+p] = row[p*c+ch]
				}
			}
		}
	default:
		return nil, fmt.Errorf("%w: flatten %q has unknown order %q", ErrUnconvertible, flat.Name(), flat.Order)
	}
	copy(conv.Bias.Data, d.Bias.Data)
	return conv, nil
}

// foldBatchNorm rewrites conv so that it also applies bn:
// W' = W·scale[o], b' = b·scale[o] + shift[o].
func foldBatchNorm(conv *nn.Conv2D, bn *nn.BatchNorm) error {
	if bn.Features != conv.OutC {
		return fmt.Errorf("%w: batchnorm %q has %d features, %q gives %d", ErrUnconvertible, bn.Name(), bn.Features, conv.Name(), conv.OutC)
	}
	scale, shift := bn.ScaleShift()
	w, b := conv.Weight.Data, conv.Bias.Data
	per := len(w) / conv.OutC
	for o := 0; o < conv.OutC; o++ {
		for k := o * per; k < (o+1)*per; k++ {
			w[k] *= scale[o]
		}
		b[o] = b[o]*scale[o] + shift[o]
	}
	return nil
}
