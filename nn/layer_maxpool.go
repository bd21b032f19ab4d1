package nn

import (
	"fmt"
	"math"

	"github.com/fc2conv/fc2conv/nn/kernels"
)

// KindMaxPool2D is max pooling.
const KindMaxPool2D Kind = "maxpool2d"

func init() { register(KindMaxPool2D, func() Layer { return &MaxPool2D{} }) }

// MaxPool2D takes the maximum over each window (floor mode); padded cells
// never win.
type MaxPool2D struct {
	base
	Kernel  Pair `json:"kernel"`
	Stride  Pair `json:"stride"`
	Padding Pair `json:"padding"`
}

// NewMaxPool2D returns a max-pool layer.
func NewMaxPool2D(name string, kernel, stride, padding Pair) *MaxPool2D {
	return &MaxPool2D{base: base{name}, Kernel: kernel, Stride: stride, Padding: padding}
}

// Kind implements Layer.
func (*MaxPool2D) Kind() Kind { return KindMaxPool2D }

// Window implements Windowed.
func (l *MaxPool2D) Window() Window { return Window{l.Kernel, l.Stride, l.Padding} }

func (l *MaxPool2D) String() string { return "maxpool " + l.Window().String() }

func (l *MaxPool2D) check() error {
	name := l.label(KindMaxPool2D)
	if err := checkWindow(name, l.Window()); err != nil {
		return err
	}
	// As in PyTorch: a window made only of padding would have no maximum.
	if 2*l.Padding.H > l.Kernel.H || 2*l.Padding.W > l.Kernel.W {
		return fmt.Errorf("%s: padding %v exceeds half the kernel %v", name, l.Padding, l.Kernel)
	}
	return nil
}

// OutShape implements Layer.
func (l *MaxPool2D) OutShape(in Shape) (Shape, error) {
	h, w := l.Window().slide(in)
	if h < 1 || w < 1 {
		return Shape{}, l.windowErr("maxpool", l.LayerName, l.Window(), in)
	}
	return Shape{in.C, h, w}, nil
}

type maxPoolKernel struct{ w Window }

func (l *MaxPool2D) newKernel(kernels.Kernels) kernel { return maxPoolKernel{l.Window()} }

func (maxPoolKernel) scratch(_, _ Shape) int { return 0 }

func (k maxPoolKernel) forward(_ *exec, in []float32, is Shape, out []float32, os Shape) bool {
	w := k.w
	for c := 0; c < is.C; c++ {
		src := in[c*is.H*is.W : (c+1)*is.H*is.W]
		dst := out[c*os.H*os.W : (c+1)*os.H*os.W]
		for oy := 0; oy < os.H; oy++ {
			y0 := oy*w.Stride.H - w.Padding.H
			y1 := min(y0+w.Kernel.H, is.H)
			y0 = max(y0, 0)
			for ox := 0; ox < os.W; ox++ {
				x0 := ox*w.Stride.W - w.Padding.W
				x1 := min(x0+w.Kernel.W, is.W)
				x0 = max(x0, 0)
				m := float32(math.Inf(-1))
				for y := y0; y < y1; y++ {
					for _, v := range src[y*is.W+x0 : y*is.W+x1] {
						if v > m {
							m = v
						}
					}
				}
				dst[oy*os.W+ox] = m
			}
		}
	}
	return true
}
