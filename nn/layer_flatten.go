package nn

import (
	"fmt"

	"github.com/fc2conv/fc2conv/nn/kernels"
)

// KindFlatten turns a map into a vector.
const KindFlatten Kind = "flatten"

func init() { register(KindFlatten, func() Layer { return &Flatten{} }) }

// FlattenOrder is the order in which a Flatten lays a C×H×W map out as a
// vector: CHW as in PyTorch and gorgonia, HWC as in Keras/TensorFlow.
type FlattenOrder string

// The two flatten orders.
const (
	FlattenCHW FlattenOrder = "CHW"
	FlattenHWC FlattenOrder = "HWC"
)

// Flatten turns a C×H×W map into a (C·H·W)×1×1 vector in the given order.
type Flatten struct {
	base
	Order FlattenOrder `json:"order"`
}

// NewFlatten returns a flatten layer with the given order.
func NewFlatten(name string, order FlattenOrder) *Flatten {
	return &Flatten{base: base{name}, Order: order}
}

// Kind implements Layer.
func (*Flatten) Kind() Kind { return KindFlatten }

func (l *Flatten) String() string { return fmt.Sprintf("flatten (%s)", l.Order) }

func (l *Flatten) check() error {
	if l.Order != FlattenCHW && l.Order != FlattenHWC {
		return fmt.Errorf("%s: unknown order %q (want CHW or HWC)", l.label(KindFlatten), l.Order)
	}
	return nil
}

// OutShape implements Layer.
func (l *Flatten) OutShape(in Shape) (Shape, error) {
	if err := l.check(); err != nil {
		return Shape{}, err
	}
	return Shape{in.Size(), 1, 1}, nil
}

type hwcKernel struct{}

func (l *Flatten) newKernel(kernels.Kernels) kernel {
	if l.Order == FlattenHWC {
		return hwcKernel{}
	}
	// CHW is the engine's own layout: the map already is the vector.
	return inPlace(func([]float32, Shape) {})
}

func (hwcKernel) scratch(_, _ Shape) int { return 0 }

// forward writes the C×H×W map as an HWC-ordered vector.
func (hwcKernel) forward(_ *exec, in []float32, s Shape, out []float32, _ Shape) bool {
	plane := s.H * s.W
	for c := 0; c < s.C; c++ {
		for p := 0; p < plane; p++ {
			out[p*s.C+c] = in[c*plane+p]
		}
	}
	return true
}
