package nn

import (
	"fmt"

	"github.com/fc2conv/fc2conv/nn/kernels"
)

// KindConv2D is a 2-D convolution.
const KindConv2D Kind = "conv2d"

func init() { register(KindConv2D, func() Layer { return &Conv2D{} }) }

// Conv2D is a 2-D convolution with symmetric zero padding.
// Weight is OutC×InC×KH×KW (PyTorch layout), Bias is OutC.
type Conv2D struct {
	base
	InC     int     `json:"in_channels"`
	OutC    int     `json:"out_channels"`
	Kernel  Pair    `json:"kernel"`
	Stride  Pair    `json:"stride"`
	Padding Pair    `json:"padding"`
	Weight  *Tensor `json:"-"`
	Bias    *Tensor `json:"-"`
}

// NewConv2D returns a zero-initialised convolution.
func NewConv2D(name string, inC, outC int, kernel, stride, padding Pair) *Conv2D {
	l := &Conv2D{base: base{name}, InC: inC, OutC: outC, Kernel: kernel, Stride: stride, Padding: padding}
	l.allocate()
	return l
}

// Kind implements Layer.
func (*Conv2D) Kind() Kind { return KindConv2D }

// Window implements Windowed.
func (l *Conv2D) Window() Window { return Window{l.Kernel, l.Stride, l.Padding} }

func (l *Conv2D) String() string {
	return fmt.Sprintf("conv %d×%d×%d×%d /%v pad %v", l.OutC, l.InC, l.Kernel.H, l.Kernel.W, l.Stride, l.Padding)
}

// Params implements Layer.
func (l *Conv2D) Params() []Param {
	return []Param{
		{"weight", []int{l.OutC, l.InC, l.Kernel.H, l.Kernel.W}, l.Weight},
		{"bias", []int{l.OutC}, l.Bias},
	}
}

func (l *Conv2D) allocate() {
	l.Weight, l.Bias = NewTensor(l.OutC, l.InC, l.Kernel.H, l.Kernel.W), NewTensor(l.OutC)
}

func (l *Conv2D) check() error {
	name := l.label(KindConv2D)
	if l.InC < 1 || l.OutC < 1 || l.InC > MaxDim || l.OutC > MaxDim {
		return fmt.Errorf("%s: channels %d→%d out of range [1,%d]", name, l.InC, l.OutC, MaxDim)
	}
	return checkWindow(name, l.Window())
}

// OutShape implements Layer.
func (l *Conv2D) OutShape(in Shape) (Shape, error) {
	if in.C != l.InC {
		return Shape{}, fmt.Errorf("conv %q: input has %d channels, layer expects %d", l.LayerName, in.C, l.InC)
	}
	h, w := l.Window().slide(in)
	if h < 1 || w < 1 {
		return Shape{}, l.windowErr("conv", l.LayerName, l.Window(), in)
	}
	return Shape{l.OutC, h, w}, nil
}

func (l *Conv2D) isPointwise() bool {
	return l.Kernel == Pair{1, 1} && l.Stride == Pair{1, 1} && l.Padding == Pair{0, 0}
}

// convKernel runs a convolution as GEMM: 1×1 convolutions directly on the
// map, others on im2col bands of output rows held in the scratch buffer.
type convKernel struct {
	l      *Conv2D
	gemm   kernels.Kernels
	groups int // block-diagonal weight groups (see convGroups)
}

// scratchBudget caps the im2col band, in float32s (1 MiB).
const scratchBudget = 1 << 18

func (l *Conv2D) newKernel(k kernels.Kernels) kernel {
	return &convKernel{l: l, gemm: k, groups: convGroups(l)}
}

// convGroups is the largest g > 1 such that l's weights are block
// diagonal in g groups (output channel block i reads only input channel
// block i), or 1. Merged ensembles (convert.Ensemble) are built this way;
// running the blocks as g smaller products skips the zeros, which would
// otherwise double or quadruple their cost.
func convGroups(l *Conv2D) int {
	w := l.Weight.Data
	kk := l.Kernel.H * l.Kernel.W
	rowLen := l.InC * kk
	for g := gcd(l.InC, l.OutC); g > 1; g-- {
		if l.InC%g != 0 || l.OutC%g != 0 {
			continue
		}
		outG, colG := l.OutC/g, l.InC/g*kk
		diagonal := true
		for oc := 0; oc < l.OutC && diagonal; oc++ {
			lo := oc / outG * colG
			row := w[oc*rowLen : (oc+1)*rowLen]
			for j, v := range row {
				if v != 0 && (j < lo || j >= lo+colG) {
					diagonal = false
					break
				}
			}
		}
		if diagonal {
			return g
		}
	}
	return 1
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// flops counts the products actually computed: a block-diagonal
// convolution skips the zeros outside its blocks.
func (c *convKernel) flops(_, os Shape) int64 {
	return 2 * int64(c.l.InC*c.l.Kernel.H*c.l.Kernel.W/c.groups) * int64(os.Size())
}

func (c *convKernel) scratch(_, os Shape) int {
	if c.l.isPointwise() {
		return 0
	}
	k := c.l.InC * c.l.Kernel.H * c.l.Kernel.W
	return k * os.W * bandRows(k, os.W, os.H)
}

// bandRows is how many output rows one im2col band holds.
func bandRows(k, ow, oh int) int {
	return max(1, min(oh, scratchBudget/max(1, k*ow)))
}

func (c *convKernel) forward(scratch, in []float32, is Shape, out []float32, os Shape) bool {
	l := c.l
	w, b := l.Weight.Data, l.Bias.Data
	plane := os.H * os.W
	for oc := 0; oc < os.C; oc++ {
		fill(out[oc*plane:(oc+1)*plane], b[oc])
	}
	k := l.InC * l.Kernel.H * l.Kernel.W
	// Group i multiplies its diagonal block of the weights with its own
	// rows of the unfolded input; with one group that is the whole product.
	g := c.groups
	outG, kG := os.C/g, k/g
	gemm := func(b []float32, ldb, n int, dst []float32) {
		for i := 0; i < g; i++ {
			c.gemm.Gemm(outG, n, kG, w[i*outG*k+i*kG:], k, b[i*kG*ldb:], ldb, dst[i*outG*plane:], plane)
		}
	}
	if l.isPointwise() {
		gemm(in, plane, plane, out)
		return true
	}
	rows := bandRows(k, os.W, os.H)
	for r0 := 0; r0 < os.H; r0 += rows {
		r1 := min(os.H, r0+rows)
		n := (r1 - r0) * os.W
		col := scratch[:k*n]
		im2colBand(l, in, is, os, r0, r1, col)
		gemm(col, n, n, out[r0*os.W:])
	}
	return true
}

// im2colBand unfolds output rows [r0,r1) into col, a K×N matrix with
// K = InC·KH·KW and N = (r1−r0)·OW; padding reads as zero.
func im2colBand(l *Conv2D, in []float32, is, os Shape, r0, r1 int, col []float32) {
	n := (r1 - r0) * os.W
	kh, kw := l.Kernel.H, l.Kernel.W
	sh, sw := l.Stride.H, l.Stride.W
	ph, pw := l.Padding.H, l.Padding.W
	row := 0
	for c := 0; c < is.C; c++ {
		src := in[c*is.H*is.W : (c+1)*is.H*is.W]
		for ky := 0; ky < kh; ky++ {
			for kx := 0; kx < kw; kx++ {
				dst := col[row*n : (row+1)*n]
				row++
				d := 0
				for oy := r0; oy < r1; oy++ {
					iy := oy*sh - ph + ky
					if iy < 0 || iy >= is.H {
						for ox := 0; ox < os.W; ox++ {
							dst[d] = 0
							d++
						}
						continue
					}
					srow := src[iy*is.W : (iy+1)*is.W]
					for ox := 0; ox < os.W; ox++ {
						ix := ox*sw - pw + kx
						if ix < 0 || ix >= is.W {
							dst[d] = 0
						} else {
							dst[d] = srow[ix]
						}
						d++
					}
				}
			}
		}
	}
}

func fill(s []float32, v float32) {
	for i := range s {
		s[i] = v
	}
}
