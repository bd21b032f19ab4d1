package nn

import (
	"github.com/fc2conv/fc2conv/nn/kernels"
)

// KindAvgPool2D is average pooling.
const KindAvgPool2D Kind = "avgpool2d"

func init() { register(KindAvgPool2D, func() Layer { return &AvgPool2D{} }) }

// AvgPool2D averages each window. Padding is before the map (top, left),
// PaddingEnd after it (bottom, right; nil means the same as Padding).
// Padded cells read as zero; CountIncludePad says whether they count in
// the divisor (PyTorch's default, count_include_pad=True) or not (ONNX
// AveragePool's default). CeilMode keeps a last window that overhangs the
// padded map; as in PyTorch, the overhang never counts in the divisor.
type AvgPool2D struct {
	base
	Kernel          Pair  `json:"kernel"`
	Stride          Pair  `json:"stride"`
	Padding         Pair  `json:"padding"`
	PaddingEnd      *Pair `json:"padding_end,omitempty"`
	CeilMode        bool  `json:"ceil_mode,omitempty"`
	CountIncludePad bool  `json:"count_include_pad"`
}

// NewAvgPool2D returns an average-pool layer.
func NewAvgPool2D(name string, kernel, stride, padding Pair, countIncludePad bool) *AvgPool2D {
	return &AvgPool2D{base: base{name}, Kernel: kernel, Stride: stride, Padding: padding, CountIncludePad: countIncludePad}
}

// Kind implements Layer.
func (*AvgPool2D) Kind() Kind { return KindAvgPool2D }

// Window implements Windowed.
func (l *AvgPool2D) Window() Window {
	return window(l.Kernel, l.Stride, l.Padding, l.PaddingEnd, l.CeilMode)
}

func (l *AvgPool2D) String() string {
	s := "avgpool " + l.Window().String()
	if l.Window().Padded() && !l.CountIncludePad {
		s += " (pads not counted)"
	}
	return s
}

func (l *AvgPool2D) check() error { return checkPool(l.label(KindAvgPool2D), l.Window()) }

// OutShape implements Layer.
func (l *AvgPool2D) OutShape(in Shape) (Shape, error) {
	return slideShape("avgpool", l.LayerName, l.Window(), in, in.C)
}

type avgPoolKernel struct {
	w          Window
	includePad bool
}

func (l *AvgPool2D) newKernel(kernels.Kernels) kernel {
	return avgPoolKernel{l.Window(), l.CountIncludePad}
}

func (avgPoolKernel) scratch(_, _ Shape) int { return 0 }

func (k avgPoolKernel) forward(_ *exec, in []float32, is Shape, out []float32, os Shape) bool {
	w := k.w
	for c := 0; c < is.C; c++ {
		src := in[c*is.H*is.W : (c+1)*is.H*is.W]
		dst := out[c*os.H*os.W : (c+1)*os.H*os.W]
		for oy := 0; oy < os.H; oy++ {
			y0 := oy*w.Stride.H - w.Padding.H
			// Counting pads, the divisor is the window clipped to the
			// padded map (a ceil-mode overhang does not count, as in
			// PyTorch); otherwise the window clipped to the input.
			ph := min(y0+w.Kernel.H, is.H+w.PaddingEnd.H) - y0
			y1 := min(y0+w.Kernel.H, is.H)
			y0 = max(y0, 0)
			for ox := 0; ox < os.W; ox++ {
				x0 := ox*w.Stride.W - w.Padding.W
				pw := min(x0+w.Kernel.W, is.W+w.PaddingEnd.W) - x0
				x1 := min(x0+w.Kernel.W, is.W)
				x0 = max(x0, 0)
				var sum float32
				for y := y0; y < y1; y++ {
					for _, v := range src[y*is.W+x0 : y*is.W+x1] {
						sum += v
					}
				}
				n := float32(ph * pw)
				if !k.includePad {
					n = float32((y1 - y0) * (x1 - x0))
				}
				dst[oy*os.W+ox] = sum / n
			}
		}
	}
	return true
}
