package nn

import (
	"fmt"
	"math"
	"slices"

	"github.com/fc2conv/fc2conv/nn/kernels"
)

// KindConv2D is a 2-D convolution.
const KindConv2D Kind = "conv2d"

func init() { register(KindConv2D, func() Layer { return &Conv2D{} }) }

// Conv2D is a 2-D convolution with zero padding: Padding rows and columns
// before the map (top, left) and PaddingEnd after it (bottom, right; nil
// means the same as Padding). Only Padding shifts the kernel's reads; the
// trailing padding is whatever the output shape reads past the input.
// Weight is OutC×InC×KH×KW (PyTorch layout), Bias is OutC.
type Conv2D struct {
	base
	InC        int     `json:"in_channels"`
	OutC       int     `json:"out_channels"`
	Kernel     Pair    `json:"kernel"`
	Stride     Pair    `json:"stride"`
	Padding    Pair    `json:"padding"`
	PaddingEnd *Pair   `json:"padding_end,omitempty"`
	Weight     *Tensor `json:"-"`
	Bias       *Tensor `json:"-"`
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
func (l *Conv2D) Window() Window { return window(l.Kernel, l.Stride, l.Padding, l.PaddingEnd, false) }

func (l *Conv2D) String() string {
	return fmt.Sprintf("conv %d×%d×%d×%d /%v %s", l.OutC, l.InC, l.Kernel.H, l.Kernel.W, l.Stride, l.Window().padString())
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
	return slideShape("conv", l.LayerName, l.Window(), in, l.OutC)
}

func (l *Conv2D) isPointwise() bool {
	return l.Kernel == Pair{1, 1} && l.Stride == Pair{1, 1} && !l.Window().Padded()
}

// convKernel runs a convolution as GEMM on bands of output rows: the
// input itself for 1×1 convolutions, an im2col unfolding of the band
// otherwise. A ReLU and a non-overlapping max-pool that follow can be fused
// in (see fuse): they then run on each band while it is in cache, and the
// full-size convolution output never exists.
type convKernel struct {
	l      *Conv2D
	gemm   kernels.Kernels
	groups int // block-diagonal weight groups (see convGroups)
	// packed holds each group's weights packed once for the packed GEMM,
	// which would otherwise repack them for every band.
	packed []*kernels.PackedA
	// unfold describes the unfolded input of the current input size, for
	// the packed GEMM to pack straight from the input (kernels.Im2col);
	// unfoldFor is the input shape it was made for.
	unfold    kernels.Im2col
	unfoldFor Shape
	relu      bool
	pool      *Window  // fused max-pool: stride = kernel, no padding
	call      convCall // the call in progress, cut into bands
	// padded, for a padded convolution the packed GEMM unfolds itself,
	// runs it unpadded on a zero-padded copy of the input (exec.padded):
	// every panel of B is then a run of that copy, gathered whole, where
	// panels at the padding would each be packed value by value.
	padded *convKernel
}

// convCall is one forward call of a convolution, as parts for
// exec.parallel: part i is band i.
type convCall struct {
	c       *convKernel
	p       plan
	in, out []float32
	is, os  Shape
}

func (cc *convCall) run(band int, scratch []float32) {
	r0 := band * cc.p.rows
	cc.c.band(cc.p, cc.in, cc.is, cc.out, cc.os, r0, min(cc.p.usedRows, r0+cc.p.rows), scratch)
}

// scratchBudget caps one band's working set (im2col columns, and the
// band's output when a pool is fused), in float32s (256 KiB): small enough
// that the pool still finds the band in L2 after the product.
const scratchBudget = 1 << 16

func (l *Conv2D) newKernel(k kernels.Kernels) kernel {
	c := &convKernel{l: l, gemm: k}
	c.setGroups(convGroups(l))
	return c
}

// setGroups runs the convolution as g block-diagonal products, packing
// each block's weights once when the GEMM takes packed weights.
func (c *convKernel) setGroups(g int) {
	c.groups, c.packed, c.padded = g, nil, nil
	if _, ok := c.gemm.(kernels.Packed); !ok {
		return
	}
	l := c.l
	k := l.InC * l.Kernel.H * l.Kernel.W
	outG, kG := l.OutC/g, k/g
	for i := 0; i < g; i++ {
		c.packed = append(c.packed, kernels.PackA(outG, kG, l.Weight.Data[i*outG*k+i*kG:], k))
	}
}

// fuse absorbs the layers after the convolution that it can apply band by
// band: a ReLU, then a max-pool whose windows tile the map (stride equal
// to the kernel, no padding, floor mode). It returns how many layers it
// absorbed.
func (c *convKernel) fuse(next []Layer) int {
	c.padded = nil
	n := 0
	if n < len(next) && next[n].Kind() == KindReLU {
		c.relu = true
		n++
	}
	if n < len(next) {
		if p, ok := next[n].(*MaxPool2D); ok && p.Stride == p.Kernel && !p.Window().Padded() && !p.CeilMode {
			w := p.Window()
			c.pool = &w
			n++
		}
	}
	return n
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
func (c *convKernel) flops(is, _ Shape) int64 {
	cs, _ := c.l.OutShape(is)
	return 2 * int64(c.l.InC*c.l.Kernel.H*c.l.Kernel.W/c.groups) * int64(cs.Size())
}

// plan is how a convolution on one input size is cut into bands.
type plan struct {
	conv     Shape // the convolution's own output
	usedRows int   // conv rows computed: all, or those the fused pool reads
	rows     int   // conv rows per band (a multiple of the pool's height)
	k        int   // rows of an explicit im2col: InC·KH·KW, 0 for a 1×1 convolution or an implicit one
	implicit bool  // the packed GEMM unfolds the input itself (GemmIm2col)
	direct   bool  // and reads B's panels in place rather than packing them (Im2col.SetDirect)
	wide     bool  // with a fused pool: the band's columns run along whole input rows (Im2col.SetWide)
	colW     int   // the band's columns per conv row: the input's width when wide, else the output's
	perRow   int   // scratch per conv row of a band
}

// unfolding is how the packed GEMM gets a convolution's unfolded input.
type unfolding int

const (
	unfoldExplicit unfolding = iota // the engine writes it into scratch (as for the other backends)
	unfoldPacked                    // GemmIm2col packs B's panels straight from the input
	unfoldDirect                    // GemmIm2col reads the panels inside the input in place (Im2col.SetDirect)
)

// unfoldWith is the engine's unfolding for stride-1 convolutions;
// benchmarks and tests change it to compare the three.
var unfoldWith = unfoldDirect

// edgeCost weighs a value packed by the edge path against one copied out
// of a wide band: plan runs an unpooled band wide when the panels that
// cross its rows' ends would cost more. BenchmarkWideRows found 1 and 10
// level within 5% on every layer it times, both at or below never
// (GoogLeNet's 3×3 0.90×, ResNet-18's 0.93–0.97×); 10 also widens the
// dress pair's last layer at every pyramid level, where the scan's time
// did not move. Benchmarks change it to compare.
var edgeCost = 10

func (c *convKernel) plan(is Shape, threads int) plan {
	l := c.l
	cs, _ := l.OutShape(is)
	p := plan{conv: cs, usedRows: cs.H}
	switch {
	case l.isPointwise():
	case c.packed != nil && unfoldWith != unfoldExplicit && l.Stride.W == 1 && int64(is.Size()) < 1<<31:
		// Offsets into the input fit the int32s of kernels.Im2col. A
		// strided row is no run of the input, every panel would take the
		// slow path: explicit unfolding is twice as fast there
		// (BenchmarkUnfold/strided).
		p.implicit = true
		p.direct = unfoldWith == unfoldDirect
	default:
		p.k = l.InC * l.Kernel.H * l.Kernel.W
	}
	w := l.Window()
	// A band held in scratch can have rows as wide as the input's, so that
	// every panel of B is one run of the input (see
	// kernels.Im2col.SetWide). A pooled band is there anyway; an unpooled
	// one is then copied to the output, OutC·OW values a row, which pays
	// where the panel crossing each row's end, packed by the edge path,
	// costs more (K·PanelWidth values, weighed by edgeCost): on a ResNet's
	// and an Inception module's maps, not on a scene's first layer.
	flat := p.implicit && w.Stride == Pair{1, 1} && !w.Padded()
	crossing := cs.W%kernels.PanelWidth != 0 && edgeCost*l.InC*l.Kernel.H*l.Kernel.W*kernels.PanelWidth > l.OutC*cs.W
	p.wide = flat && (c.pool != nil || crossing)
	p.colW = cs.W
	if p.wide {
		p.colW = is.W
		p.perRow = l.OutC * p.colW // the band's output, in scratch
	}
	step := 1
	if c.pool != nil {
		step = c.pool.Kernel.H
		p.usedRows = cs.H / step * step
		p.perRow = l.OutC * p.colW // the band's output, pooled from scratch
	}
	p.perRow += p.k * cs.W
	rows := p.usedRows
	if p.perRow > 0 {
		rows = scratchBudget / p.perRow
	}
	// Enough bands that every thread has one.
	rows = min(rows, (p.usedRows+threads-1)/max(1, threads))
	p.rows = max(step, rows/step*step)
	return p
}

func (c *convKernel) scratch(is, os Shape) int {
	if pc, ps := c.padding(is); pc != nil {
		return pc.scratch(ps, os)
	}
	p := c.plan(is, 1)
	return p.rows * p.perRow
}

// padding is the kernel that runs this padded convolution on a
// zero-padded input of shape ps, or nil when it runs as it is: unpadded,
// or not unfolded by the packed GEMM (whose edge path is the slow one).
// Every padded map is copied, a scene's too: the edge path packed each
// panel that meets the padding value by value, which on a ResNet's maps
// (a row of 128 or fewer columns) is a third of the panels and a fifth of
// the whole pass, where the copy is one sweep of the map into a buffer
// the engine's convolutions share (exec.padded). The padded copy holds
// the same zeros the unfolding would read, so the products and their
// order are the same.
func (c *convKernel) padding(is Shape) (pc *convKernel, ps Shape) {
	l := c.l
	w := l.Window()
	if !w.Padded() || c.packed == nil || unfoldWith == unfoldExplicit || l.Stride.W != 1 {
		return nil, Shape{}
	}
	ps = Shape{C: is.C, H: is.H + w.Padding.H + w.PaddingEnd.H, W: is.W + w.Padding.W + w.PaddingEnd.W}
	if int64(ps.C)*int64(ps.H)*int64(ps.W) >= 1<<31 { // kernels.Im2col's int32 offsets
		return nil, Shape{}
	}
	if c.padded == nil {
		u := *l
		u.Padding, u.PaddingEnd = Pair{}, nil
		c.padded = &convKernel{l: &u, gemm: c.gemm, groups: c.groups, packed: c.packed, relu: c.relu, pool: c.pool}
	}
	return c.padded, ps
}

func (c *convKernel) forward(x *exec, in []float32, is Shape, out []float32, os Shape) bool {
	if pc, ps := c.padding(is); pc != nil {
		x.padded = slices.Grow(x.padded[:0], ps.Size())[:ps.Size()]
		padInto(x.padded, ps, in, is, c.l.Window().Padding)
		return pc.forward(x, x.padded, ps, out, os)
	}
	p := c.plan(is, x.threads)
	if p.implicit && is != c.unfoldFor {
		l := c.l
		err := c.unfold.Reset(l.InC/c.groups, is.H, is.W, l.Kernel.H, l.Kernel.W, l.Stride.H, l.Stride.W, l.Padding.H, l.Padding.W, p.conv.H, p.conv.W)
		if err != nil {
			// plan admits only shapes OutShape accepted and inputs under
			// 2³¹ values: a geometry Reset refuses is a bug here.
			panic(fmt.Sprintf("nn: conv %q: %v", l.LayerName, err))
		}
		if c.unfold.SetWide(p.wide) != p.wide {
			panic(fmt.Sprintf("nn: conv %q: wide layout refused for %v", l.LayerName, is))
		}
		c.unfoldFor = is
	}
	if p.implicit {
		c.unfold.SetDirect(p.direct)
	}
	c.call = convCall{c: c, p: p, in: in, out: out, is: is, os: os}
	x.parallel((p.usedRows+p.rows-1)/p.rows, &c.call)
	return true
}

// band computes conv rows [r0,r1) with bias, then the fused ReLU and pool.
func (c *convKernel) band(p plan, in []float32, is Shape, out []float32, os Shape, r0, r1 int, scratch []float32) {
	l, cs := c.l, p.conv
	n := (r1 - r0) * cs.W
	if p.wide { // every row as wide as the input's but the last
		n = (r1-r0-1)*p.colW + cs.W
	}
	plane := cs.H * cs.W
	// B: the unfolded band, or for a 1×1 convolution the input's own rows.
	var b []float32
	ldb := n
	switch {
	case p.implicit:
	case p.k > 0:
		b = scratch[:p.k*n]
		im2colBand(l, in, is, cs, r0, r1, b)
	default:
		b, ldb = in[r0*cs.W:], is.H*is.W
	}
	// C: the output's rows, or with a fused pool or wide rows the band in
	// scratch.
	var dst []float32
	ldc := n
	if c.pool != nil || p.wide {
		dst = scratch[p.k*n : p.k*n+l.OutC*n]
	} else {
		dst, ldc = out[r0*cs.W:], plane
	}
	if !p.implicit { // GemmIm2col writes C; the others add to it
		for oc := 0; oc < l.OutC; oc++ {
			clear(dst[oc*ldc : oc*ldc+n])
		}
	}
	k := l.InC * l.Kernel.H * l.Kernel.W
	// Group i multiplies its diagonal block of the weights with its own
	// rows of B; with one group that is the whole product.
	g := c.groups
	outG, kG := l.OutC/g, k/g
	w := l.Weight.Data
	inG := l.InC / g * is.H * is.W
	for i := 0; i < g; i++ {
		if p.implicit {
			c.gemm.(kernels.Packed).GemmIm2col(c.packed[i], &c.unfold, in[i*inG:], r0, n, dst[i*outG*ldc:], ldc)
			continue
		}
		if c.packed != nil {
			c.gemm.(kernels.Packed).GemmPacked(c.packed[i], n, b[i*kG*ldb:], ldb, dst[i*outG*ldc:], ldc)
			continue
		}
		c.gemm.Gemm(outG, n, kG, w[i*outG*k+i*kG:], k, b[i*kG*ldb:], ldb, dst[i*outG*ldc:], ldc)
	}
	// The bias is added after the product (on a pooled band, after the
	// pool: a constant per channel commutes with max), then the ReLU.
	bias := l.Bias.Data
	switch {
	case c.pool != nil:
		poolBand(dst, ldc, p.colW, r0, r1, *c.pool, bias, c.relu, out, os)
	case c.relu:
		for oc := 0; oc < l.OutC; oc++ {
			kernels.AddBiasReLU(dst[oc*ldc:oc*ldc+n], bias[oc])
		}
	default:
		for oc := 0; oc < l.OutC; oc++ {
			row, b := dst[oc*ldc:oc*ldc+n], bias[oc]
			for j := range row {
				row[j] += b
			}
		}
	}
	if p.wide && c.pool == nil { // the band's rows, W apart, to the output's
		for oc := 0; oc < l.OutC; oc++ {
			for r := r0; r < r1; r++ {
				copy(out[oc*plane+r*cs.W:oc*plane+(r+1)*cs.W], dst[oc*ldc+(r-r0)*p.colW:])
			}
		}
	}
}

// padInto writes the map in (shape is) into dst (shape ps, at least as
// large), its top left corner at pad, and zeros around it.
func padInto(dst []float32, ps Shape, in []float32, is Shape, pad Pair) {
	clear(dst)
	for ch := 0; ch < is.C; ch++ {
		for y := 0; y < is.H; y++ {
			o := ch*ps.H*ps.W + (y+pad.H)*ps.W + pad.W
			copy(dst[o:o+is.W], in[ch*is.H*is.W+y*is.W:])
		}
	}
}

// poolBand max-pools conv rows [r0,r1), held channel by channel in src
// with row stride w and channel stride ldc and still without their bias,
// into the pooled map out, adding each channel's bias to the maximum. With
// relu the result is clamped at 0: max and ReLU commute, so that is the
// ReLU of the band at a quarter (or less) of the work.
func poolBand(src []float32, ldc, w, r0, r1 int, pool Window, bias []float32, relu bool, out []float32, os Shape) {
	kh, kw := pool.Kernel.H, pool.Kernel.W
	floor := float32(math.Inf(-1))
	if relu {
		floor = 0
	}
	for ch := 0; ch < os.C; ch++ {
		s, b := src[ch*ldc:], bias[ch]
		for py := r0 / kh; py < r1/kh; py++ {
			top := s[(py*kh-r0)*w:]
			o := out[ch*os.H*os.W+py*os.W : ch*os.H*os.W+(py+1)*os.W]
			if kh == 2 && kw == 2 { // the common case, in SIMD where the CPU has it
				kernels.MaxPool2x2(o, top[:2*len(o)], top[w:w+2*len(o)], b, floor)
				continue
			}
			for px := range o {
				m := float32(math.Inf(-1))
				for dy := 0; dy < kh; dy++ {
					for _, v := range top[dy*w+px*kw : dy*w+px*kw+kw] {
						m = max(m, v)
					}
				}
				o[px] = max(floor, m+b)
			}
		}
	}
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
				// Output columns [lo, hi) read inside the row; the others
				// read padding.
				lo, hi := colRange(os.W, is.W, sw, kx-pw)
				for oy := r0; oy < r1; oy++ {
					d := dst[(oy-r0)*os.W : (oy-r0+1)*os.W]
					iy := oy*sh - ph + ky
					if iy < 0 || iy >= is.H || lo >= hi {
						clear(d)
						continue
					}
					clear(d[:lo])
					clear(d[hi:])
					srow := src[iy*is.W:]
					if sw == 1 {
						copy(d[lo:hi], srow[lo+kx-pw:])
						continue
					}
					for ox, ix := lo, lo*sw+kx-pw; ox < hi; ox, ix = ox+1, ix+sw {
						d[ox] = srow[ix]
					}
				}
			}
		}
	}
}

// colRange is the output columns [lo, hi) of a window sliding with stride
// s whose column ox reads input column ox·s + off, that fall inside an
// input row of width w.
func colRange(outW, w, s, off int) (lo, hi int) {
	if off < 0 {
		lo = (-off + s - 1) / s
	}
	hi = outW
	if last := w - 1 - off; last < 0 {
		hi = 0
	} else {
		hi = min(hi, last/s+1)
	}
	return min(lo, hi), hi
}
