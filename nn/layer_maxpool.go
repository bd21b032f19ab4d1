package nn

import (
	"math"

	"github.com/fc2conv/fc2conv/nn/kernels"
)

// KindMaxPool2D is max pooling.
const KindMaxPool2D Kind = "maxpool2d"

func init() { register(KindMaxPool2D, func() Layer { return &MaxPool2D{} }) }

// MaxPool2D takes the maximum over each window; padded cells never win.
// Padding is before the map (top, left), PaddingEnd after it (bottom,
// right; nil means the same as Padding). CeilMode keeps a last window that
// overhangs the padded map, as PyTorch's and ONNX's ceil_mode do.
type MaxPool2D struct {
	base
	Kernel     Pair  `json:"kernel"`
	Stride     Pair  `json:"stride"`
	Padding    Pair  `json:"padding"`
	PaddingEnd *Pair `json:"padding_end,omitempty"`
	CeilMode   bool  `json:"ceil_mode,omitempty"`
}

// NewMaxPool2D returns a max-pool layer.
func NewMaxPool2D(name string, kernel, stride, padding Pair) *MaxPool2D {
	return &MaxPool2D{base: base{name}, Kernel: kernel, Stride: stride, Padding: padding}
}

// Kind implements Layer.
func (*MaxPool2D) Kind() Kind { return KindMaxPool2D }

// Window implements Windowed.
func (l *MaxPool2D) Window() Window {
	return window(l.Kernel, l.Stride, l.Padding, l.PaddingEnd, l.CeilMode)
}

func (l *MaxPool2D) String() string { return "maxpool " + l.Window().String() }

func (l *MaxPool2D) check() error { return checkPool(l.label(KindMaxPool2D), l.Window()) }

// OutShape implements Layer.
func (l *MaxPool2D) OutShape(in Shape) (Shape, error) {
	return slideShape("maxpool", l.LayerName, l.Window(), in, in.C)
}

// maxPoolKernel pools each channel on its own, the channels shared among
// the engine's threads (a ResNet's stem pool is as slow as a conv on one).
type maxPoolKernel struct {
	w Window
	// call is the pass in progress, kept so that parallel allocates
	// nothing.
	call maxPoolCall
}

type maxPoolCall struct {
	w       Window
	in, out []float32
	is, os  Shape
}

func (l *MaxPool2D) newKernel(kernels.Kernels) kernel { return &maxPoolKernel{w: l.Window()} }

func (*maxPoolKernel) scratch(_, _ Shape) int { return 0 }

func (k *maxPoolKernel) forward(x *exec, in []float32, is Shape, out []float32, os Shape) bool {
	k.call = maxPoolCall{w: k.w, in: in, out: out, is: is, os: os}
	x.parallel(is.C, &k.call)
	return true
}

// run pools channel c.
func (p *maxPoolCall) run(c int, _ []float32) {
	w, is, os := p.w, p.is, p.os
	src := p.in[c*is.H*is.W : (c+1)*is.H*is.W]
	dst := p.out[c*os.H*os.W : (c+1)*os.H*os.W]
	for oy := 0; oy < os.H; oy++ {
		y0 := oy*w.Stride.H - w.Padding.H
		y1 := min(y0+w.Kernel.H, is.H)
		y0 = max(y0, 0)
		for ox := 0; ox < os.W; ox++ {
			x0 := ox*w.Stride.W - w.Padding.W
			x1 := min(x0+w.Kernel.W, is.W)
			x0 = max(x0, 0)
			// The window clipped to the input: padding and a ceil-mode
			// overhang never win.
			m := float32(math.Inf(-1))
			if x1-x0 == 3 { // a ResNet's 3×3 pool: the same maxima, unrolled
				for y := y0; y < y1; y++ {
					r := src[y*is.W+x0 : y*is.W+x0+3]
					m = max(m, r[0], r[1], r[2])
				}
			} else {
				for y := y0; y < y1; y++ {
					for _, v := range src[y*is.W+x0 : y*is.W+x1] {
						m = max(m, v) // NaN wins, as in PyTorch
					}
				}
			}
			dst[oy*os.W+ox] = m
		}
	}
}
