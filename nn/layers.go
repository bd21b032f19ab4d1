package nn

import (
	"fmt"

	"gorgonia.org/tensor"
)

// Kind names a layer type. The strings are the "type" field of the model
// file's architecture document.
type Kind string

// The layer kinds a network may hold.
const (
	KindConv2D    Kind = "conv2d"
	KindMaxPool2D Kind = "maxpool2d"
	KindReLU      Kind = "relu"
	KindFlatten   Kind = "flatten"
	KindDense     Kind = "dense"
	KindDropout   Kind = "dropout"
	KindBatchNorm Kind = "batchnorm"
	KindSigmoid   Kind = "sigmoid"
	KindSoftmax   Kind = "softmax"
)

// FlattenOrder is the order in which a Flatten lays a C×H×W map out as a
// vector: CHW as in PyTorch and gorgonia, HWC as in Keras/TensorFlow.
type FlattenOrder string

// The two flatten orders.
const (
	FlattenCHW FlattenOrder = "CHW"
	FlattenHWC FlattenOrder = "HWC"
)

// Param is one named weight tensor of a layer.
type Param struct {
	Name  string // suffix, e.g. "weight"; the file name is layer.Name()+"."+Name
	Shape []int  // the shape the layer's configuration requires
	Value *tensor.Dense
}

// Layer is one step of a network. The set of implementations is closed:
// every layer is one of the types in this package.
type Layer interface {
	// Name is unique within a network and prefixes the layer's tensors.
	Name() string
	Kind() Kind
	// OutShape validates the input shape and returns the output shape.
	OutShape(in Shape) (Shape, error)
	// Params lists the layer's weight tensors, in file order.
	Params() []Param
	sealed()
}

type base struct{ LayerName string }

func (b base) Name() string  { return b.LayerName }
func (base) Params() []Param { return nil }
func (base) sealed()         {}

// Conv2D is a 2-D convolution with symmetric zero padding.
// Weight is OutC×InC×KH×KW (PyTorch layout), Bias is OutC.
type Conv2D struct {
	base
	InC, OutC int
	Kernel    Pair
	Stride    Pair
	Padding   Pair
	Weight    *tensor.Dense
	Bias      *tensor.Dense
}

// Kind implements Layer.
func (*Conv2D) Kind() Kind { return KindConv2D }

// Params implements Layer.
func (l *Conv2D) Params() []Param {
	return []Param{
		{"weight", []int{l.OutC, l.InC, l.Kernel.H, l.Kernel.W}, l.Weight},
		{"bias", []int{l.OutC}, l.Bias},
	}
}

// OutShape implements Layer.
func (l *Conv2D) OutShape(in Shape) (Shape, error) {
	if in.C != l.InC {
		return Shape{}, fmt.Errorf("conv %q: input has %d channels, layer expects %d", l.LayerName, in.C, l.InC)
	}
	h := slideOut(in.H, l.Kernel.H, l.Stride.H, l.Padding.H)
	w := slideOut(in.W, l.Kernel.W, l.Stride.W, l.Padding.W)
	if h < 1 || w < 1 {
		return Shape{}, fmt.Errorf("conv %q: kernel %v with padding %v does not fit a %d×%d input", l.LayerName, l.Kernel, l.Padding, in.H, in.W)
	}
	return Shape{l.OutC, h, w}, nil
}

// MaxPool2D takes the maximum over each window; padded cells never win.
type MaxPool2D struct {
	base
	Kernel  Pair
	Stride  Pair
	Padding Pair
}

// Kind implements Layer.
func (*MaxPool2D) Kind() Kind { return KindMaxPool2D }

// OutShape implements Layer.
func (l *MaxPool2D) OutShape(in Shape) (Shape, error) {
	h := slideOut(in.H, l.Kernel.H, l.Stride.H, l.Padding.H)
	w := slideOut(in.W, l.Kernel.W, l.Stride.W, l.Padding.W)
	if h < 1 || w < 1 {
		return Shape{}, fmt.Errorf("maxpool %q: kernel %v with padding %v does not fit a %d×%d input", l.LayerName, l.Kernel, l.Padding, in.H, in.W)
	}
	return Shape{in.C, h, w}, nil
}

// ReLU is max(x, 0), elementwise.
type ReLU struct{ base }

// Kind implements Layer.
func (*ReLU) Kind() Kind { return KindReLU }

// OutShape implements Layer.
func (*ReLU) OutShape(in Shape) (Shape, error) { return in, nil }

// Sigmoid is 1/(1+e^-x), elementwise.
type Sigmoid struct{ base }

// Kind implements Layer.
func (*Sigmoid) Kind() Kind { return KindSigmoid }

// OutShape implements Layer.
func (*Sigmoid) OutShape(in Shape) (Shape, error) { return in, nil }

// Softmax normalises over the channel axis at every spatial position. On a
// vector (C×1×1) that is the ordinary softmax over classes.
type Softmax struct{ base }

// Kind implements Layer.
func (*Softmax) Kind() Kind { return KindSoftmax }

// OutShape implements Layer.
func (*Softmax) OutShape(in Shape) (Shape, error) { return in, nil }

// Dropout is the identity at inference; Rate is kept for training.
type Dropout struct {
	base
	Rate float64
}

// Kind implements Layer.
func (*Dropout) Kind() Kind { return KindDropout }

// OutShape implements Layer.
func (*Dropout) OutShape(in Shape) (Shape, error) { return in, nil }

// Flatten turns a C×H×W map into a (C·H·W)×1×1 vector in the given order.
type Flatten struct {
	base
	Order FlattenOrder
}

// Kind implements Layer.
func (*Flatten) Kind() Kind { return KindFlatten }

// OutShape implements Layer.
func (l *Flatten) OutShape(in Shape) (Shape, error) {
	if l.Order != FlattenCHW && l.Order != FlattenHWC {
		return Shape{}, fmt.Errorf("flatten %q: unknown order %q (want CHW or HWC)", l.LayerName, l.Order)
	}
	return Shape{in.Size(), 1, 1}, nil
}

// Dense is y = W·x + b on a vector. Weight is Out×In (PyTorch layout).
type Dense struct {
	base
	In, Out int
	Weight  *tensor.Dense
	Bias    *tensor.Dense
}

// Kind implements Layer.
func (*Dense) Kind() Kind { return KindDense }

// Params implements Layer.
func (l *Dense) Params() []Param {
	return []Param{
		{"weight", []int{l.Out, l.In}, l.Weight},
		{"bias", []int{l.Out}, l.Bias},
	}
}

// OutShape implements Layer.
func (l *Dense) OutShape(in Shape) (Shape, error) {
	if in.H != 1 || in.W != 1 {
		return Shape{}, fmt.Errorf("dense %q: input is a %v map, not a vector; a dense layer must follow a Flatten", l.LayerName, in)
	}
	if in.C != l.In {
		return Shape{}, fmt.Errorf("dense %q: input has %d features, layer expects %d", l.LayerName, in.C, l.In)
	}
	return Shape{l.Out, 1, 1}, nil
}

// BatchNorm normalises each channel with its inference statistics:
// y = (x − mean)/sqrt(var + eps)·gamma + beta.
type BatchNorm struct {
	base
	Features int
	Eps      float64
	Gamma    *tensor.Dense // "weight" in PyTorch
	Beta     *tensor.Dense // "bias"
	Mean     *tensor.Dense // "running_mean"
	Var      *tensor.Dense // "running_var"
}

// Kind implements Layer.
func (*BatchNorm) Kind() Kind { return KindBatchNorm }

// Params implements Layer.
func (l *BatchNorm) Params() []Param {
	s := []int{l.Features}
	return []Param{{"weight", s, l.Gamma}, {"bias", s, l.Beta}, {"running_mean", s, l.Mean}, {"running_var", s, l.Var}}
}

// OutShape implements Layer.
func (l *BatchNorm) OutShape(in Shape) (Shape, error) {
	if in.C != l.Features {
		return Shape{}, fmt.Errorf("batchnorm %q: input has %d channels, layer expects %d", l.LayerName, in.C, l.Features)
	}
	return in, nil
}

// ScaleShift returns the per-channel affine form of the normalisation:
// y = scale·x + shift.
func (l *BatchNorm) ScaleShift() (scale, shift []float32) {
	g, b, m, v := f32(l.Gamma), f32(l.Beta), f32(l.Mean), f32(l.Var)
	scale = make([]float32, l.Features)
	shift = make([]float32, l.Features)
	for c := range scale {
		s := float64(g[c]) / sqrt64(float64(v[c])+l.Eps)
		scale[c] = float32(s)
		shift[c] = float32(float64(b[c]) - float64(m[c])*s)
	}
	return scale, shift
}
