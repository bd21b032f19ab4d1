package nn

import (
	"fmt"
	"math"

	"github.com/fc2conv/fc2conv/nn/kernels"
)

// The parameterless activations of newer networks, each a function of
// one value: GELU (the exact one, with erf), HardSwish (MobileNetV3's),
// Softplus and Mish. They share the type Unary; Kind tells them apart.
const (
	KindGELU      Kind = "gelu"
	KindHardSwish Kind = "hardswish"
	KindSoftplus  Kind = "softplus"
	KindMish      Kind = "mish"
)

// unaryFuncs computes each kind in float64, the result rounded once.
var unaryFuncs = map[Kind]func(float64) float64{
	// 0.5·x·(1 + erf(x/√2)), written with erfc so that large negative x
	// do not cancel to 0 early.
	KindGELU:      func(x float64) float64 { return 0.5 * x * math.Erfc(-x/math.Sqrt2) },
	KindHardSwish: func(x float64) float64 { return x * min(max(x+3, 0), 6) / 6 },
	KindSoftplus:  softplus,
	KindMish:      func(x float64) float64 { return x * math.Tanh(softplus(x)) },
}

// softplus is log(1 + eˣ), without overflow.
func softplus(x float64) float64 { return max(x, 0) + math.Log1p(math.Exp(-math.Abs(x))) }

func init() {
	for k := range unaryFuncs {
		register(k, func() Layer { return &Unary{kind: k} })
	}
}

// Unary applies its kind's function to every value.
type Unary struct {
	base
	kind Kind
}

// NewUnary returns a layer of one of the kinds above (Validate refuses
// any other).
func NewUnary(name string, kind Kind) *Unary { return &Unary{base: base{name}, kind: kind} }

// Kind implements Layer.
func (l *Unary) Kind() Kind { return l.kind }

// OutShape implements Layer.
func (*Unary) OutShape(in Shape) (Shape, error) { return in, nil }

func (l *Unary) String() string { return string(l.kind) }

func (l *Unary) check() error {
	if unaryFuncs[l.kind] == nil {
		return fmt.Errorf("unary %q: unknown function %q", l.LayerName, l.kind)
	}
	return nil
}

func (l *Unary) newKernel(kernels.Kernels) kernel {
	f := unaryFuncs[l.kind]
	return inPlace(func(x []float32, _ Shape) {
		for j, v := range x {
			x[j] = float32(f(float64(v)))
		}
	})
}
