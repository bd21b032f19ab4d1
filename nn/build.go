package nn

import (
	"math"

	"gorgonia.org/tensor"
)

// Constructors allocate zeroed weights of the right shape. Sizes are the
// caller's responsibility here; the model file loader validates its input
// before it calls them.

func zeros(shape ...int) *tensor.Dense {
	return tensor.New(tensor.WithShape(shape...), tensor.Of(tensor.Float32))
}

// NewConv2D returns a zero-initialised convolution.
func NewConv2D(name string, inC, outC int, kernel, stride, padding Pair) *Conv2D {
	return &Conv2D{base: base{name}, InC: inC, OutC: outC, Kernel: kernel, Stride: stride, Padding: padding,
		Weight: zeros(outC, inC, kernel.H, kernel.W), Bias: zeros(outC)}
}

// NewMaxPool2D returns a max-pool layer.
func NewMaxPool2D(name string, kernel, stride, padding Pair) *MaxPool2D {
	return &MaxPool2D{base: base{name}, Kernel: kernel, Stride: stride, Padding: padding}
}

// NewDense returns a zero-initialised fully connected layer.
func NewDense(name string, in, out int) *Dense {
	return &Dense{base: base{name}, In: in, Out: out, Weight: zeros(out, in), Bias: zeros(out)}
}

// NewBatchNorm returns an identity batch norm (gamma 1, beta 0, mean 0, var 1).
func NewBatchNorm(name string, features int, eps float64) *BatchNorm {
	l := &BatchNorm{base: base{name}, Features: features, Eps: eps,
		Gamma: zeros(features), Beta: zeros(features), Mean: zeros(features), Var: zeros(features)}
	fill(f32(l.Gamma), 1)
	fill(f32(l.Var), 1)
	return l
}

// NewFlatten returns a flatten layer with the given order.
func NewFlatten(name string, order FlattenOrder) *Flatten {
	return &Flatten{base: base{name}, Order: order}
}

// NewReLU returns a ReLU layer.
func NewReLU(name string) *ReLU { return &ReLU{base{name}} }

// NewSigmoid returns a sigmoid layer.
func NewSigmoid(name string) *Sigmoid { return &Sigmoid{base{name}} }

// NewSoftmax returns a softmax-over-channels layer.
func NewSoftmax(name string) *Softmax { return &Softmax{base{name}} }

// NewDropout returns a dropout layer (identity at inference).
func NewDropout(name string, rate float64) *Dropout { return &Dropout{base{name}, rate} }

// f32 is the backing slice of a float32 tensor.
func f32(t *tensor.Dense) []float32 { return t.Data().([]float32) }

// F32 exposes the backing slice of a float32 weight tensor.
func F32(t *tensor.Dense) []float32 { return f32(t) }

func fill(s []float32, v float32) {
	for i := range s {
		s[i] = v
	}
}

func sqrt64(x float64) float64 { return math.Sqrt(x) }
