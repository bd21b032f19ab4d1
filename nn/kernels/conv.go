package kernels

import "fmt"

// Im2col describes the B operand of a convolution written as a product,
// the unfolded input, without forming it: row p = (c, ky, kx) and column j
// = output pixel j of a band of output rows hold input value
// in[c][oy·SH−PH+ky][ox·SW−PW+kx], zero where that falls in the padding.
// GemmIm2col packs B's panels straight from the input, so the unfolded
// band (K×N floats, megabytes for the engine's middle layers) is never
// written and read back.
//
// An Im2col is made once per layer and input size (Reset) and is then
// read-only: bands on several threads may share it.
type Im2col struct {
	C, H, W        int // input channels and size
	KH, KW, SH, SW int // kernel and stride
	PH, PW         int // top and left padding
	OH, OW         int // output size
	// off[p] is where row p's window starts relative to its top-left
	// corner: c·H·W + ky·W + kx, ascending in p.
	off []int32
	// wide lays B's columns along whole input rows (see SetWide).
	wide bool
	// direct reads B's panels in place (see SetDirect).
	direct bool
}

// aliasGuard tells SetDirect to decline channel planes within 256 bytes
// of a multiple of 4 KiB: the rows a panel reads from every channel then
// fall in the same few L1 sets and evict each other. That cost is the
// cache's: on a 32 KiB L1 (an AMD EPYC) the seed's 32×128×256 layer ran
// 30% slower in place; on a 48 KiB one (an Intel Xeon) in place won even
// there (1.14× on that layer, 1.38× on the shipped model's conv2, whose
// planes are 16 bytes past a multiple; BenchmarkUnfold). So the guard
// holds unless CPUID reports an L1 of 48 KiB or more.
var aliasGuard = l1dBytes() < 48<<10

// SetDirect makes GemmIm2col's micro-kernel read every panel that lies
// inside the input straight from it, a direct convolution, instead of
// copying it into a packed panel first; panels at a row's end or in the
// padding are packed as before. The products are the same, summed in the
// same order. It reports whether g takes it: not, on a small L1, when a
// channel plane aliases (see aliasGuard). Reset turns it off.
func (g *Im2col) SetDirect(on bool) bool {
	r := g.H * g.W * 4 % 4096
	g.direct = on && (g.C == 1 || !aliasGuard || (r >= 256 && r <= 4096-256))
	return g.direct
}

// SetWide makes B's columns run along whole input rows: column j of a
// band is output pixel (j/W, j%W) for j%W < OW, and the W−OW columns after
// each row's last pixel are filler the caller ignores (C's rows then have
// W columns a row, the last one only OW). A stride-1 convolution without
// padding then reads one contiguous run of its input for every panel, so
// no panel needs the slow path at a row's end, for W/OW more columns
// (under 1% for the engine's wide maps). It reports whether g qualifies;
// if not, the layout stays one column per output pixel.
func (g *Im2col) SetWide(on bool) bool {
	g.wide = on && g.SH == 1 && g.SW == 1 && g.PH == 0 && g.PW == 0 && g.OH == g.H-g.KH+1 && g.OW == g.W-g.KW+1
	return g.wide
}

// rowStride is B's columns per output row: W when wide, else OW.
func (g *Im2col) rowStride() int {
	if g.wide {
		return g.W
	}
	return g.OW
}

// Reset sets the geometry and recomputes the row offsets, reusing their
// storage. It returns an error when a size is not positive, the output
// would be empty or the input too large for 32-bit offsets.
func (g *Im2col) Reset(c, h, w, kh, kw, sh, sw, ph, pw, oh, ow int) error {
	if c < 1 || h < 1 || w < 1 || kh < 1 || kw < 1 || sh < 1 || sw < 1 || ph < 0 || pw < 0 || oh < 1 || ow < 1 {
		return fmt.Errorf("kernels: im2col: invalid geometry c=%d in %d×%d kernel %d×%d stride %d×%d pad %d×%d out %d×%d", c, h, w, kh, kw, sh, sw, ph, pw, oh, ow)
	}
	if int64(c)*int64(h)*int64(w) > 1<<31-1 {
		return fmt.Errorf("kernels: im2col: input %d×%d×%d too large", c, h, w)
	}
	*g = Im2col{C: c, H: h, W: w, KH: kh, KW: kw, SH: sh, SW: sw, PH: ph, PW: pw, OH: oh, OW: ow, off: g.off[:0]}
	for ch := 0; ch < c; ch++ {
		for ky := 0; ky < kh; ky++ {
			for kx := 0; kx < kw; kx++ {
				g.off = append(g.off, int32(ch*h*w+ky*w+kx))
			}
		}
	}
	return nil
}

// K is the number of rows of B: C·KH·KW.
func (g *Im2col) K() int { return len(g.off) }

// GemmIm2col computes C = A·B (C is overwritten, not added to), with A
// packed by PackA and B the n columns of g's unfolded input in starting at
// output row row0. It panics, like Gemm, on arguments the slices do not
// hold.
func (p Packed) GemmIm2col(pa *PackedA, g *Im2col, in []float32, row0, n int, c []float32, ldc int) {
	switch {
	case pa.k != g.K():
		panic(fmt.Sprintf("kernels: GemmIm2col: A has %d columns, B %d rows", pa.k, g.K()))
	case len(in) < g.C*g.H*g.W:
		panic(fmt.Sprintf("kernels: GemmIm2col: len(in)=%d < %d×%d×%d", len(in), g.C, g.H, g.W))
	case row0 < 0 || n < 0 || row0*g.rowStride()+n > (g.OH-1)*g.rowStride()+g.OW:
		panic(fmt.Sprintf("kernels: GemmIm2col: columns %d+%d past the %d×%d output (%d columns a row)", row0*g.rowStride(), n, g.OH, g.OW, g.rowStride()))
	case pa.m > 0 && n > 0 && (ldc < n || len(c) < (pa.m-1)*ldc+n):
		panic(fmt.Sprintf("kernels: GemmIm2col: len(c)=%d with ldc=%d does not hold %d×%d", len(c), ldc, pa.m, n))
	}
	band := &im2colBand{g, in, row0}
	if g.direct {
		p.gemmDirect(pa, band, n, c, ldc)
		return
	}
	p.gemm(pa.m, n, pa.k, nil, 0, pa, bMatrix{}, band, c, ldc, true)
}

// gemmDirect is gemm for a direct band: the same blocking of k and m and
// the same order of sums, but runs of panels inside the input go to the
// direct micro-kernel unpacked, and only the others are packed, one panel
// at a time.
func (p Packed) gemmDirect(pa *PackedA, b *im2colBand, n int, c []float32, ldc int) {
	m, k := pa.m, pa.k
	if m == 0 || n == 0 || k == 0 {
		return
	}
	impl := p.impl()
	useAsm := impl != goKernel
	ws := workspaces.Get().(*workspace)
	defer workspaces.Put(ws)
	ws.b = grow(ws.b, min(k, kc)*nr)
	mp := roundUp(m, mr)
	for jc := 0; jc < n; jc += ncConv {
		nb := min(ncConv, n-jc)
		for pc := 0; pc < k; pc += kc {
			kb := min(kc, k-pc)
			off := b.g.off[pc : pc+kb]
			for ic := 0; ic < m; ic += mc {
				mb := min(mc, m-ic)
				ap := pa.data[mp*pc+ic*kb : mp*pc+mp*kb]
				ci := c[ic*ldc+jc:]
				set := pc == 0
				for jr := 0; jr < nb; {
					base, panels := b.inside(jc+jr, (nb-jr)/nr)
					if panels == 0 {
						cols := min(nr, nb-jr)
						b.pack(ws.b, pc, kb, jc+jr, cols, useAsm)
						macroKernel(impl, ws, ap, mb, cols, kb, ci[jr:], ldc, set)
						jr += nr
						continue
					}
					for q := 0; q < panels; {
						w := min(2, panels-q)
						directPanels(impl, w, ws, ap, mb, kb, b.in[base+q*nr:], off, ci[jr:], ldc, set)
						q, jr = q+w, jr+w*nr
					}
				}
			}
		}
	}
}

// directPanels is macroKernel for w (1 or 2) full panels side by side,
// read in place: the full row tiles straight into c, in one call for both
// panels; an edge tile panel by panel through ws.tile.
func directPanels(impl *microImpl, w int, ws *workspace, ap []float32, mb, kb int, in []float32, off []int32, c []float32, ldc int, set bool) {
	tiles := mb / mr
	if tiles > 0 {
		full := impl.direct
		if w == 2 {
			full = impl.direct2
		}
		full(kb, ap[:tiles*kb*mr], tiles, in, off, c, ldc, set)
	}
	if rows := mb - tiles*mr; rows > 0 {
		edge := ap[tiles*mr*kb : tiles*mr*kb+kb*mr]
		for q := 0; q < w; q++ {
			t := ws.tile[:]
			impl.direct(kb, edge, 1, in[q*nr:], off, t, nr, true)
			storeTile(c[tiles*mr*ldc+q*nr:], ldc, t, rows, nr, set)
		}
	}
}

// inside reports the run of whole panels (at most limit) starting at
// band column j whose every read lies inside the input, and where the
// first one's row 0 starts in it; panels is 0 when the panel at j must be
// packed.
func (b *im2colBand) inside(j, limit int) (base, panels int) {
	g := b.g
	if g.wide {
		start := b.row0*g.W + j
		return start, max(0, min(limit, (len(b.in)-start-int(g.off[len(g.off)-1]))/nr))
	}
	j += b.row0 * g.OW
	oy, ox := j/g.OW, j%g.OW
	return (oy*g.SH-g.PH)*g.W + ox - g.PW, g.insidePanels(oy, ox, limit)
}

// im2colBand is B for one call of GemmIm2col.
type im2colBand struct {
	g    *Im2col
	in   []float32
	row0 int
}

// pack writes rows [pc, pc+kb) and columns [jc, jc+nb) of B into dst in
// packB's panel layout. In the wide layout every panel is one run of the
// input, copied with gather. Otherwise runs of whole panels that lie in
// one output row and read only inside the input (all of them but one a
// row, away from the padding, in a stride-1 convolution) are copied with
// gather, and the rest goes through packEdge.
func (b *im2colBand) pack(dst []float32, pc, kb, jc, nb int, useAsm bool) {
	g := b.g
	off := g.off[pc : pc+kb]
	if g.wide {
		// Column j reads in[row0·W + j + off[p]]: inside in for every
		// column GemmIm2col admits.
		start, full := b.row0*g.W+jc, nb/nr
		if full > 0 {
			gather(dst, b.in, start, off, full, kb*nr, useAsm)
		}
		cols := nb - full*nr
		if cols > 0 && start+full*nr+int(off[kb-1])+nr <= len(b.in) {
			// The last panel's columns past nb are computed and dropped
			// (macroKernel's edge tile), so they may hold any input.
			gather(dst[full*nr*kb:], b.in, start+full*nr, off, 1, kb*nr, useAsm)
			return
		}
		if cols > 0 {
			edge := dst[full*nr*kb : full*nr*kb+kb*nr]
			for p, o := range off {
				d := edge[p*nr : p*nr+nr]
				copy(d[:cols], b.in[start+full*nr+int(o):])
				clear(d[cols:])
			}
		}
		return
	}
	for jr := 0; jr < nb; {
		j := b.row0*g.OW + jc + jr
		oy, ox := j/g.OW, j%g.OW
		if panels := g.insidePanels(oy, ox, (nb-jr)/nr); panels > 0 {
			base := (oy*g.SH-g.PH)*g.W + ox - g.PW
			gather(dst[jr*kb:], b.in, base, off, panels, kb*nr, useAsm)
			jr += panels * nr
			continue
		}
		b.packEdge(dst[jr*kb:jr*kb+kb*nr], pc, kb, j, min(nr, nb-jr))
		jr += nr
	}
}

// insidePanels is how many of the next (at most limit) whole panels,
// starting at output pixel (oy, ox), lie in output row oy and read only
// inside the input, for a stride-1 row; 0 otherwise.
func (g *Im2col) insidePanels(oy, ox, limit int) int {
	iy, ix := oy*g.SH-g.PH, ox-g.PW
	if g.SW != 1 || limit < 1 || iy < 0 || iy+g.KH > g.H || ix < 0 {
		return 0
	}
	// Output columns ox … ox+q·nr−1 stay in the row and read input
	// columns up to ix+q·nr−1+KW−1 < W.
	return max(0, min(limit, (g.OW-ox)/nr, (g.W-g.KW+1-ix)/nr))
}

// packEdge packs one panel of cols ≤ nr columns starting at band column j
// (counted from output pixel 0) that crosses a row end or the padding:
// segment by segment within an output row, copying where a whole segment
// reads inside the input row, element by element where it does not.
func (b *im2colBand) packEdge(panel []float32, pc, kb, j, cols int) {
	g := b.g
	kk := g.KH * g.KW
	for p := 0; p < kb; p++ {
		r := pc + p
		ch, ky, kx := r/kk, r%kk/g.KW, r%g.KW
		plane := b.in[ch*g.H*g.W : (ch+1)*g.H*g.W]
		d := panel[p*nr : p*nr+nr]
		for t := 0; t < cols; {
			oy, ox := (j+t)/g.OW, (j+t)%g.OW
			seg := min(cols-t, g.OW-ox)
			out := d[t : t+seg]
			t += seg
			iy := oy*g.SH - g.PH + ky
			if iy < 0 || iy >= g.H {
				clear(out)
				continue
			}
			row := plane[iy*g.W : (iy+1)*g.W]
			ix := ox*g.SW - g.PW + kx
			if g.SW == 1 {
				// zeros where the segment reads padding, the row between
				lo, hi := InsideRun(ix, 1, seg, g.W)
				if hi == lo {
					clear(out)
					continue
				}
				clear(out[:lo])
				copy(out[lo:hi], row[ix+lo:])
				clear(out[hi:])
				continue
			}
			for i := range out {
				if x := ix + i*g.SW; x >= 0 && x < g.W {
					out[i] = row[x]
				} else {
					out[i] = 0
				}
			}
		}
		clear(d[cols:])
	}
}

// InsideRun is the range [lo, hi) of the i in [0, n) for which
// start + i·stride lies in [0, w): the part of a run of n reads, starting
// at start, that is inside a row of w values rather than in its padding;
// hi == lo when none is. stride must be at least 1.
func InsideRun(start, stride, n, w int) (lo, hi int) {
	if start < 0 {
		lo = (-start + stride - 1) / stride
	}
	if w > start {
		hi = (w - start + stride - 1) / stride
	}
	lo = min(lo, n)
	return lo, min(max(hi, lo), n)
}

// gather copies, for each row p of a panel, nr floats from
// in[base+off[p]+q·nr:] to dst[q·stride+p·nr:], for panels q = 0 … panels−1.
// The callers guarantee every index is inside in (insidePanels); the
// check here keeps the assembly from ever reading past it.
func gather(dst, in []float32, base int, off []int32, panels, stride int, useAsm bool) {
	if len(off) == 0 || panels < 1 {
		return
	}
	hi := int(off[len(off)-1]) // off ascends
	if base < 0 || base+hi+panels*nr > len(in) || len(dst) < (panels-1)*stride+len(off)*nr {
		panic(fmt.Sprintf("kernels: gather of %d panels at %d (+%d) past len(in)=%d or len(dst)=%d", panels, base, hi, len(in), len(dst)))
	}
	if useAsm && gatherAsm != nil {
		gatherAsm(&dst[0], &in[base], &off[0], len(off), panels, stride)
		return
	}
	gatherGo(dst, in[base:], off, panels, stride)
}

// gatherGo is gather's pure-Go twin.
func gatherGo(dst, in []float32, off []int32, panels, stride int) {
	for p, o := range off {
		src := in[o:]
		for q := 0; q < panels; q++ {
			copy(dst[q*stride+p*nr:q*stride+p*nr+nr], src[q*nr:q*nr+nr])
		}
	}
}
