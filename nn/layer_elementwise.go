package nn

import (
	"fmt"
	"math"

	"github.com/fc2conv/fc2conv/nn/kernels"
)

// The layers without configuration or weights that keep the shape.
const (
	KindReLU    Kind = "relu"
	KindSigmoid Kind = "sigmoid"
	KindSoftmax Kind = "softmax"
	KindDropout Kind = "dropout"
)

func init() {
	register(KindReLU, func() Layer { return &ReLU{} })
	register(KindSigmoid, func() Layer { return &Sigmoid{} })
	register(KindSoftmax, func() Layer { return &Softmax{} })
	register(KindDropout, func() Layer { return &Dropout{} })
}

// inPlace is a kernel that transforms the activation where it is.
type inPlace func(x []float32, s Shape)

func (inPlace) scratch(_, _ Shape) int { return 0 }

func (f inPlace) forward(_ *exec, in []float32, is Shape, _ []float32, _ Shape) bool {
	f(in, is)
	return false
}

// ReLU is max(x, 0), elementwise.
type ReLU struct{ base }

// NewReLU returns a ReLU layer.
func NewReLU(name string) *ReLU { return &ReLU{base{name}} }

// Kind implements Layer.
func (*ReLU) Kind() Kind { return KindReLU }

// OutShape implements Layer.
func (*ReLU) OutShape(in Shape) (Shape, error) { return in, nil }

func (*ReLU) String() string { return string(KindReLU) }

func (*ReLU) newKernel(kernels.Kernels) kernel {
	return inPlace(func(x []float32, _ Shape) {
		for j, v := range x {
			if v < 0 {
				x[j] = 0
			}
		}
	})
}

// Sigmoid is 1/(1+e^-x), elementwise.
type Sigmoid struct{ base }

// NewSigmoid returns a sigmoid layer.
func NewSigmoid(name string) *Sigmoid { return &Sigmoid{base{name}} }

// Kind implements Layer.
func (*Sigmoid) Kind() Kind { return KindSigmoid }

// OutShape implements Layer.
func (*Sigmoid) OutShape(in Shape) (Shape, error) { return in, nil }

func (*Sigmoid) String() string { return string(KindSigmoid) }

func (*Sigmoid) newKernel(kernels.Kernels) kernel {
	return inPlace(func(x []float32, _ Shape) {
		for j, v := range x {
			x[j] = float32(1 / (1 + math.Exp(-float64(v))))
		}
	})
}

// Softmax normalises over the channel axis at every spatial position. On a
// vector (C×1×1) that is the ordinary softmax over classes.
type Softmax struct{ base }

// NewSoftmax returns a softmax-over-channels layer.
func NewSoftmax(name string) *Softmax { return &Softmax{base{name}} }

// Kind implements Layer.
func (*Softmax) Kind() Kind { return KindSoftmax }

// OutShape implements Layer.
func (*Softmax) OutShape(in Shape) (Shape, error) { return in, nil }

func (*Softmax) String() string { return "softmax over channels" }

func (*Softmax) newKernel(kernels.Kernels) kernel { return inPlace(softmaxChannels) }

// SoftmaxChannels normalises x, a map of shape s, over channels at each
// position, to the bits a Softmax layer gives: for code that holds a
// network's logits and needs its probabilities too.
func SoftmaxChannels(x []float32, s Shape) { softmaxChannels(x, s) }

// softmaxChannels normalises over channels at each spatial position.
func softmaxChannels(x []float32, s Shape) {
	plane := s.H * s.W
	for p := 0; p < plane; p++ {
		m := float32(math.Inf(-1))
		for c := 0; c < s.C; c++ {
			m = max(m, x[c*plane+p])
		}
		var sum float64
		for c := 0; c < s.C; c++ {
			v := math.Exp(float64(x[c*plane+p] - m))
			x[c*plane+p] = float32(v)
			sum += v
		}
		for c := 0; c < s.C; c++ {
			x[c*plane+p] = float32(float64(x[c*plane+p]) / sum)
		}
	}
}

// Dropout is the identity at inference; Rate is kept for training.
type Dropout struct {
	base
	Rate float64 `json:"rate,omitempty"`
}

// NewDropout returns a dropout layer (identity at inference).
func NewDropout(name string, rate float64) *Dropout { return &Dropout{base{name}, rate} }

// Kind implements Layer.
func (*Dropout) Kind() Kind { return KindDropout }

// OutShape implements Layer.
func (*Dropout) OutShape(in Shape) (Shape, error) { return in, nil }

func (l *Dropout) String() string { return fmt.Sprintf("dropout %g", l.Rate) }

func (l *Dropout) check() error {
	if !(l.Rate >= 0 && l.Rate < 1) {
		return fmt.Errorf("%s: rate %v out of range [0,1)", l.label(KindDropout), l.Rate)
	}
	return nil
}

func (*Dropout) newKernel(kernels.Kernels) kernel { return inPlace(func([]float32, Shape) {}) }
