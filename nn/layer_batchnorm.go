package nn

import (
	"fmt"
	"math"

	"github.com/fc2conv/fc2conv/nn/kernels"
)

// KindBatchNorm is batch normalisation with inference statistics.
const KindBatchNorm Kind = "batchnorm"

func init() { register(KindBatchNorm, func() Layer { return &BatchNorm{} }) }

// BatchNorm normalises each channel with its inference statistics:
// y = (x − mean)/sqrt(var + eps)·gamma + beta.
type BatchNorm struct {
	base
	Features int     `json:"num_features"`
	Eps      float64 `json:"eps,omitempty"`
	Gamma    *Tensor `json:"-"` // "weight" in PyTorch
	Beta     *Tensor `json:"-"` // "bias"
	Mean     *Tensor `json:"-"` // "running_mean"
	Var      *Tensor `json:"-"` // "running_var"
}

// NewBatchNorm returns an identity batch norm (gamma 1, beta 0, mean 0, var 1).
func NewBatchNorm(name string, features int, eps float64) *BatchNorm {
	l := &BatchNorm{base: base{name}, Features: features, Eps: eps}
	l.allocate()
	l.Gamma.Fill(1)
	l.Var.Fill(1)
	return l
}

// Kind implements Layer.
func (*BatchNorm) Kind() Kind { return KindBatchNorm }

func (l *BatchNorm) String() string { return fmt.Sprintf("batchnorm %d", l.Features) }

// Params implements Layer.
func (l *BatchNorm) Params() []Param {
	s := []int{l.Features}
	return []Param{{"weight", s, l.Gamma}, {"bias", s, l.Beta}, {"running_mean", s, l.Mean}, {"running_var", s, l.Var}}
}

func (l *BatchNorm) allocate() {
	l.Gamma, l.Beta, l.Mean, l.Var = NewTensor(l.Features), NewTensor(l.Features), NewTensor(l.Features), NewTensor(l.Features)
}

func (l *BatchNorm) check() error {
	name := l.label(KindBatchNorm)
	if l.Features < 1 || l.Features > MaxElements {
		return fmt.Errorf("%s: %d features out of range", name, l.Features)
	}
	if !(l.Eps >= 0) || math.IsInf(l.Eps, 0) {
		return fmt.Errorf("%s: eps %v must be finite and ≥ 0", name, l.Eps)
	}
	return nil
}

// checkWeights refuses statistics that normalise to a non-finite scale.
func (l *BatchNorm) checkWeights() error {
	name := l.label(KindBatchNorm)
	for i, v := range l.Var.Data {
		if float64(v)+l.Eps <= 0 {
			return fmt.Errorf("%s: running_var[%d] + eps = %v, must be > 0", name, i, float64(v)+l.Eps)
		}
	}
	// A tiny eps over a zero variance overflows float32.
	scale, shift := l.ScaleShift()
	for c := range scale {
		if !finite(scale[c]) || !finite(shift[c]) {
			return fmt.Errorf("%s: channel %d normalises to a non-finite scale (variance %v, eps %v)", name, c, l.Var.Data[c], l.Eps)
		}
	}
	return nil
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
	g, b, m, v := l.Gamma.Data, l.Beta.Data, l.Mean.Data, l.Var.Data
	scale = make([]float32, l.Features)
	shift = make([]float32, l.Features)
	for c := range scale {
		s := float64(g[c]) / math.Sqrt(float64(v[c])+l.Eps)
		scale[c] = float32(s)
		shift[c] = float32(float64(b[c]) - float64(m[c])*s)
	}
	return scale, shift
}

func (l *BatchNorm) newKernel(kernels.Kernels) kernel {
	scale, shift := l.ScaleShift()
	return inPlace(func(x []float32, s Shape) {
		plane := s.H * s.W
		for c := 0; c < s.C; c++ {
			ch := x[c*plane : (c+1)*plane]
			for i, v := range ch {
				ch[i] = v*scale[c] + shift[c]
			}
		}
	})
}
