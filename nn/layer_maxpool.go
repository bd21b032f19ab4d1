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
// A window's maximum is taken in two passes, each an elementwise maximum
// of whole rows (kernels.MaxInto, in SIMD where the CPU has it): the
// window's input rows into one row of column maxima, then that row
// against itself shifted by 1 … KW−1 columns; a window inside the map then
// reads its maximum at its first column. Windows clipped by the padding
// or a ceil-mode overhang take theirs from the column maxima directly.
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

// scratch holds the column maxima and the window maxima of one row.
func (*maxPoolKernel) scratch(is, _ Shape) int { return 2 * is.W }

func (k *maxPoolKernel) forward(x *exec, in []float32, is Shape, out []float32, os Shape) bool {
	k.call = maxPoolCall{w: k.w, in: in, out: out, is: is, os: os}
	x.parallel(is.C, &k.call)
	return true
}

// run pools channel c. The maxima are Go's max of the window's values
// clipped to the input (padding and an overhang never win, a NaN does);
// their order differs from a plain loop's only in which NaN's payload
// comes out.
func (p *maxPoolCall) run(c int, scratch []float32) {
	w, is, os := p.w, p.is, p.os
	src := p.in[c*is.H*is.W : (c+1)*is.H*is.W]
	dst := p.out[c*os.H*os.W : (c+1)*os.H*os.W]
	cols, wins := scratch[:is.W], scratch[is.W:2*is.W]
	kw := w.Kernel.W
	inside := is.W - kw + 1 // windows that start at 0 … inside−1 lie in the row
	for oy := 0; oy < os.H; oy++ {
		row := dst[oy*os.W : (oy+1)*os.W]
		y0 := oy*w.Stride.H - w.Padding.H
		y1 := min(y0+w.Kernel.H, is.H)
		y0 = max(y0, 0)
		if y1 <= y0 {
			for i := range row {
				row[i] = float32(math.Inf(-1))
			}
			continue
		}
		col := src[y0*is.W : (y0+1)*is.W]
		if y1-y0 > 1 {
			kernels.MaxInto(cols, col, src[(y0+1)*is.W:(y0+2)*is.W])
			for y := y0 + 2; y < y1; y++ {
				kernels.MaxInto(cols, cols, src[y*is.W:(y+1)*is.W])
			}
			col = cols
		}
		win := col
		if kw > 1 && inside > 0 {
			win = wins[:inside]
			kernels.MaxInto(win, col, col[1:])
			for d := 2; d < kw; d++ {
				kernels.MaxInto(win, win, col[d:])
			}
		}
		// Outputs [first, last) have their window inside the row.
		sw, pw := w.Stride.W, w.Padding.W
		first := min((pw+sw-1)/sw, os.W)
		last := first
		if inside > 0 {
			last = max(first, min(os.W, (inside-1+pw)/sw+1))
		}
		if sw == 1 {
			copy(row[first:last], win[first-pw:])
		} else {
			for ox := first; ox < last; ox++ {
				row[ox] = win[ox*sw-pw]
			}
		}
		for ox := 0; ox < len(row); ox++ {
			if ox == first {
				ox = last // the clipped windows: before first and from last on
				if ox == len(row) {
					break
				}
			}
			x0 := ox*sw - pw
			lo := min(max(x0, 0), is.W)
			m := float32(math.Inf(-1))
			for _, v := range col[lo:max(lo, min(x0+kw, is.W))] {
				m = max(m, v)
			}
			row[ox] = m
		}
	}
}
