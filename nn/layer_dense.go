package nn

import (
	"fmt"

	"github.com/fc2conv/fc2conv/nn/kernels"
)

// KindDense is a fully connected layer.
const KindDense Kind = "dense"

func init() { register(KindDense, func() Layer { return &Dense{} }) }

// Dense is y = W·x + b on a vector. Weight is Out×In (PyTorch layout).
type Dense struct {
	base
	In     int     `json:"in_features"`
	Out    int     `json:"out_features"`
	Weight *Tensor `json:"-"`
	Bias   *Tensor `json:"-"`
}

// NewDense returns a zero-initialised fully connected layer.
func NewDense(name string, in, out int) *Dense {
	l := &Dense{base: base{name}, In: in, Out: out}
	l.allocate()
	return l
}

// Kind implements Layer.
func (*Dense) Kind() Kind { return KindDense }

func (l *Dense) String() string { return fmt.Sprintf("dense %d→%d", l.In, l.Out) }

// Params implements Layer.
func (l *Dense) Params() []Param {
	return []Param{
		{"weight", []int{l.Out, l.In}, l.Weight},
		{"bias", []int{l.Out}, l.Bias},
	}
}

func (l *Dense) allocate() { l.Weight, l.Bias = NewTensor(l.Out, l.In), NewTensor(l.Out) }

func (l *Dense) check() error {
	if l.In < 1 || l.Out < 1 || l.In > MaxElements || l.Out > MaxDim {
		return fmt.Errorf("%s: features %d→%d out of range", l.label(KindDense), l.In, l.Out)
	}
	return nil
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

type denseKernel struct {
	l    *Dense
	gemm kernels.Kernels
}

func (l *Dense) newKernel(k kernels.Kernels) kernel { return denseKernel{l, k} }

func (d denseKernel) flops(_, _ Shape) int64 { return 2 * int64(d.l.In) * int64(d.l.Out) }

func (denseKernel) scratch(_, _ Shape) int { return 0 }

// forward computes one vector, or in a batch's head (Engine.ForwardBatch)
// n vectors side by side, an In×1×n map: the bias first, then the product
// added, column by column as for one.
func (d denseKernel) forward(_ *exec, in []float32, is Shape, out []float32, _ Shape) bool {
	n := is.H * is.W
	for o, b := range d.l.Bias.Data {
		row := out[o*n : (o+1)*n]
		for j := range row {
			row[j] = b
		}
	}
	d.gemm.Gemm(d.l.Out, n, d.l.In, d.l.Weight.Data, d.l.In, in, n, out, n)
	return true
}
