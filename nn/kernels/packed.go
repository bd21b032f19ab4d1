package kernels

import (
	"fmt"
	"sync"
)

// Blocking of Packed, after Goto and van de Geijn's layered GEMM. The
// micro-kernel keeps an mr×nr tile of C in registers: with AVX2 that is
// 4 rows × 3 ymm of 8 floats = 12 accumulators, plus 3 registers for a row
// of B and one for a broadcast element of A, all 16 ymm registers. 4×24
// rather than the common 6×16 because the engine's output channel counts
// (1, 16, 20, 32, 64, 128, 256) are multiples of 4 but rarely of 6, so
// fewer rows are wasted on padding. With AVX-512 two panels side by side
// make a 4×48 tile, three zmm a row, and two tiles go at once; a lone
// last panel takes a 4×24 kernel, a row in one zmm and one half-masked
// (micro_amd64.s).
//
// kc: one packed kc×nr panel of B (24 KiB) stays in the 32 KiB L1 while
// the micro-kernel runs over every packed panel of A against it (the
// 4×48 kernel's two, 48 KiB, fill the 48 KiB L1 it was measured on; on a
// 32 KiB one part would come from L2, not measured).
// mc: the packed mc×kc block of A (128 KiB) stays in the 512 KiB L2.
// nc: the packed kc×nc block of B (4 MiB) stays in L3; it is a multiple of nr.
const (
	mr = 4
	nr = PanelWidth
	kc = 256
	mc = 128
	nc = 170 * nr
)

// PanelWidth is the columns of B a micro-kernel call reads (nr): a
// convolution's unfolded panel that crosses an output row's end is packed
// value by value (Im2col), which callers weigh when they choose a layout.
const PanelWidth = 24

var ncConv = 170 * nr

// Packed is a cache-blocked SGEMM: A and B are copied block by block into
// contiguous panels in the order the micro-kernel reads them, and an
// mr×nr register-blocked micro-kernel runs over the panels. On amd64 with
// AVX-512, or AVX2 and FMA, the micro-kernel is Go assembly; elsewhere it
// is its pure-Go twin, with the same packing and blocking.
//
// The packing buffers (at most 4 MiB for B and 128 KiB for A) come from a
// sync.Pool rather than from the caller, because Default is one value
// shared by every engine: one Packed is safe for concurrent use, and with
// a warm pool Gemm allocates nothing. The pool drops idle buffers after
// two garbage collections, so a long-running caller pays one buffer
// allocation now and then, not one per call.
type Packed struct {
	// kernel forces one micro-kernel (goKernel or one of asmKernels), so
	// that tests can run each on a CPU that has a faster one; nil means
	// the fastest.
	kernel *microImpl
}

// MicroKernel names the micro-kernel Gemm uses on this CPU.
func (p Packed) MicroKernel() string { return p.impl().name }

// impl is the micro-kernel p runs.
func (p Packed) impl() *microImpl {
	switch {
	case p.kernel != nil:
		return p.kernel
	case len(asmKernels) > 0:
		return asmKernels[0]
	}
	return goKernel
}

// workspace holds one call's packed blocks and the tile edges are
// computed into. Its slices only grow.
type workspace struct {
	a, b []float32
	tile [mr * nr]float32
}

var workspaces = sync.Pool{New: func() any { return new(workspace) }}

// Gemm implements Kernels.
func (p Packed) Gemm(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	checkGemm("Packed", m, n, k, a, lda, b, ldb, c, ldc)
	p.gemm(m, n, k, a, lda, nil, bMatrix{b: b, ld: ldb}, nil, c, ldc, false)
}

// GemmTransB computes C += A·Bᵀ like Gemm, with B given as its transpose
// bt (n×k, row stride ldbt): packing reads B's columns as bt's rows, so
// the caller makes no transposed copy, and the products are Gemm's on
// that copy to the bit (the packed panels are the same).
func (p Packed) GemmTransB(m, n, k int, a []float32, lda int, bt []float32, ldbt int, c []float32, ldc int) {
	if m < 0 || n < 0 || k < 0 {
		panic(fmt.Sprintf("kernels: Packed.GemmTransB: negative size m=%d n=%d k=%d", m, n, k))
	}
	checkMatrix("Packed", "GemmTransB", "a", m, k, a, lda)
	checkMatrix("Packed", "GemmTransB", "bt", n, k, bt, ldbt)
	checkMatrix("Packed", "GemmTransB", "c", m, n, c, ldc)
	p.gemm(m, n, k, a, lda, nil, bMatrix{b: bt, ld: ldbt, trans: true}, nil, c, ldc, false)
}

// PackedA is an m×k matrix A packed once, in the layout Packed's
// micro-kernel reads, for repeated products with GemmPacked: a layer's
// weights, which otherwise are packed again on every call.
type PackedA struct {
	m, k int
	// data holds, for each block of kc columns starting at pc, all
	// roundUp(m, mr) rows packed by packA at roundUp(m, mr)·pc.
	data []float32
}

// Size reports the matrix's rows and columns.
func (pa *PackedA) Size() (m, k int) { return pa.m, pa.k }

// PackA packs the m×k matrix a (row stride lda) for GemmPacked. It panics,
// like Gemm, if a is too short for m, k and lda.
func PackA(m, k int, a []float32, lda int) *PackedA {
	checkGemm("PackA", m, 0, k, a, lda, nil, 1, nil, 1)
	pa := &PackedA{m: m, k: k, data: make([]float32, roundUp(m, mr)*k)}
	for pc := 0; pc < k && m > 0; pc += kc {
		packA(pa.data[roundUp(m, mr)*pc:], a[pc:], lda, m, min(kc, k-pc))
	}
	return pa
}

// GemmPacked computes C += A·B like Gemm, with A packed by PackA.
func (p Packed) GemmPacked(pa *PackedA, n int, b []float32, ldb int, c []float32, ldc int) {
	// pa.data holds at least the m·k values a dense A would.
	checkGemm("Packed", pa.m, n, pa.k, pa.data, max(1, pa.k), b, ldb, c, ldc)
	p.gemm(pa.m, n, pa.k, nil, 0, pa, bMatrix{b: b, ld: ldb}, nil, c, ldc, false)
}

// bMatrix is B as gemm packs it: the k×n matrix b (row stride ld), or
// with trans its transpose (b is n×k).
type bMatrix struct {
	b     []float32
	ld    int
	trans bool
}

// pack packs the kb×nb block of B at row pc, column jc into dst.
func (s bMatrix) pack(dst []float32, pc, kb, jc, nb int, useAsm bool) {
	switch {
	case s.trans:
		packBT(dst, s.b[jc*s.ld+pc:], s.ld, kb, nb, useAsm)
	default:
		packB(dst, s.b[pc*s.ld+jc:], s.ld, kb, nb, useAsm)
	}
}

// gemm is the blocked product, with A either packed block by block from
// a (lda) or taken from pa, and B packed block by block from bm or, when
// conv is set, a convolution's unfolded input packed straight from the
// input (conv is apart from bm so that the band does not escape with
// bm's slice). With set the first block of k overwrites C, which then
// need not be cleared first.
func (p Packed) gemm(m, n, k int, a []float32, lda int, pa *PackedA, bm bMatrix, conv *im2colBand, c []float32, ldc int, set bool) {
	if m == 0 || n == 0 || k == 0 {
		return
	}
	impl := p.impl()
	useAsm := impl != goKernel
	ws := workspaces.Get().(*workspace)
	defer workspaces.Put(ws)
	kb0 := min(k, kc)
	if pa == nil {
		ws.a = grow(ws.a, kb0*min(roundUp(m, mr), mc))
	}
	step := nc
	if conv != nil && m <= mc {
		step = ncConv
	}
	ws.b = grow(ws.b, kb0*min(roundUp(n, nr), step))
	for jc := 0; jc < n; jc += step {
		nb := min(step, n-jc)
		for pc := 0; pc < k; pc += kc {
			kb := min(kc, k-pc)
			if conv != nil {
				conv.pack(ws.b, pc, kb, jc, nb, useAsm)
			} else {
				bm.pack(ws.b, pc, kb, jc, nb, useAsm)
			}
			for ic := 0; ic < m; ic += mc {
				mb := min(mc, m-ic)
				var ap []float32
				if pa != nil {
					ap = pa.data[roundUp(m, mr)*pc+ic*kb : roundUp(m, mr)*pc+roundUp(m, mr)*kb]
				} else {
					ap = ws.a
					packA(ap, a[ic*lda+pc:], lda, mb, kb)
				}
				macroKernel(impl, ws, ap, mb, nb, kb, c[ic*ldc+jc:], ldc, set && pc == 0)
			}
		}
	}
}

// macroKernel adds the product of the packed mb×kb block of A (ap) and kb×nb
// block of B into c, or with set writes it over c. Full tiles go straight
// to c, all the full row tiles of two panels side by side in one
// micro-kernel call (of one panel at the block's end); edge tiles are
// computed into ws.tile panel by panel (the panels are zero padded) and
// only their valid part is added, so nothing outside the m×n window of c
// is touched.
func macroKernel(impl *microImpl, ws *workspace, ap []float32, mb, nb, kb int, c []float32, ldc int, set bool) {
	for jr := 0; jr < nb; {
		w := 1 // panels in this step
		if nb-jr >= 2*nr {
			w = 2
		}
		cols := min(w*nr, nb-jr)
		bp := ws.b[jr*kb : jr*kb+w*kb*nr]
		first := 0 // first row tile left for the edge path
		if cols == w*nr && mb >= mr {
			tiles := mb / mr
			full := impl.micro
			if w == 2 {
				full = impl.micro2
			}
			full(kb, ap[:tiles*kb*mr], tiles, bp, nr, c[jr:], ldc, set)
			first = tiles * mr
		}
		for q := 0; q < w; q++ {
			for ir := first; ir < mb; ir += mr {
				rows := min(mr, mb-ir)
				t := ws.tile[:]
				impl.micro(kb, ap[ir*kb:ir*kb+kb*mr], 1, bp[q*kb*nr:], nr, t, nr, true)
				storeTile(c[ir*ldc+jr+q*nr:], ldc, t, rows, min(nr, cols-q*nr), set)
			}
		}
		jr += w * nr
	}
}

// storeTile writes (set) or adds the first rows×cols values of an edge
// tile t (rows nr apart) into c.
func storeTile(c []float32, ldc int, t []float32, rows, cols int, set bool) {
	for i := 0; i < rows; i++ {
		ci := c[i*ldc : i*ldc+cols]
		if set {
			copy(ci, t[i*nr:])
			continue
		}
		for j, v := range t[i*nr : i*nr+cols] {
			ci[j] += v
		}
	}
}

// packA copies the mb×kb block of a (row stride lda) into dst as panels
// of mr rows; panel q holds element (q·mr+i, p) at q·mr·kb + p·mr + i, so
// the micro-kernel reads one column of mr values per step. Rows past mb
// are zero.
func packA(dst, a []float32, lda, mb, kb int) {
	for ir := 0; ir < mb; ir += mr {
		panel := dst[ir*kb : ir*kb+kb*mr]
		for i := 0; i < mr; i++ {
			if ir+i >= mb {
				for p := 0; p < kb; p++ {
					panel[p*mr+i] = 0
				}
				continue
			}
			row := a[(ir+i)*lda : (ir+i)*lda+kb]
			for p, v := range row {
				panel[p*mr+i] = v
			}
		}
	}
}

// microKernel adds A·B to (with set: writes it over) tiles mr×nr tiles of
// C stacked down the rows
// (tile t at c[t·mr·ldc:], row stride ldc), where a holds the tiles' packed
// panels of A one after the other (k steps of mr values each) and b holds
// k rows of nr values, row stride ldb, shared by all the tiles. Sweeping
// the tiles in one call keeps the call overhead off layers with small k.
type microKernel func(k int, a []float32, tiles int, b []float32, ldb int, c []float32, ldc int, set bool)

// microDirectKernel is microKernel with row p of B read in place at
// in[off[p]:] (off ascending), for a convolution's input.
type microDirectKernel func(k int, a []float32, tiles int, in []float32, off []int32, c []float32, ldc int, set bool)

// checkMicroDirect guards the direct assembly micro-kernel as checkMicro
// guards the other.
func checkMicroDirect(k int, a []float32, tiles int, in []float32, off []int32, c []float32, ldc int) {
	checkMicroDirectPanels(k, a, tiles, in, off, c, ldc, 1)
}

// checkMicroDirectPanels is checkMicroDirect for a kernel over panels
// panels side by side: rows of B and of C panels·nr wide.
func checkMicroDirectPanels(k int, a []float32, tiles int, in []float32, off []int32, c []float32, ldc, panels int) {
	w := panels * nr
	if k < 1 || tiles < 1 || len(a) < tiles*k*mr || len(off) < k || off[0] < 0 || len(in) < int(off[k-1])+w || ldc < w || len(c) < (tiles*mr-1)*ldc+w {
		panic(fmt.Sprintf("kernels: direct micro-kernel (%d panels) called with k=%d tiles=%d len(a)=%d len(off)=%d len(in)=%d ldc=%d len(c)=%d", panels, k, tiles, len(a), len(off), len(in), ldc, len(c)))
	}
}

// checkMicro guards the assembly micro-kernel: it reads and writes
// through raw pointers, so the slices must cover every tile.
func checkMicro(k int, a []float32, tiles int, b []float32, ldb int, c []float32, ldc int) {
	checkMicroPanels(k, a, tiles, b, ldb, c, ldc, 1)
}

// checkMicroPanels is checkMicro for a kernel over panels panels side by
// side, each k rows of ldb after the one before: C's rows panels·nr wide.
func checkMicroPanels(k int, a []float32, tiles int, b []float32, ldb int, c []float32, ldc, panels int) {
	w := panels * nr
	if k < 1 || tiles < 1 || len(a) < tiles*k*mr || ldb < nr || len(b) < (panels*k-1)*ldb+nr || ldc < w || len(c) < (tiles*mr-1)*ldc+w {
		panic(fmt.Sprintf("kernels: micro-kernel (%d panels) called with k=%d tiles=%d len(a)=%d ldb=%d len(b)=%d ldc=%d len(c)=%d", panels, k, tiles, len(a), ldb, len(b), ldc, len(c)))
	}
}

// microGo is the pure-Go twin of the assembly micro-kernel. The tile is
// done as six 4×4 blocks, each summed in 16 scalar accumulators across
// all k steps: the compiler keeps those in registers (all of them on
// arm64, most on amd64), where a [4][24] array would live in memory and
// cost a load and a store per multiply-add.
func microGo(k int, a []float32, tiles int, b []float32, ldb int, c []float32, ldc int, set bool) {
	for t := 0; t < tiles; t++ {
		microGoTile(k, a[t*k*mr:(t+1)*k*mr], b, ldb, nil, c[t*mr*ldc:], ldc, set)
	}
}

// microDirectGo is the pure-Go twin of the direct micro-kernel: row p of
// B is in[off[p]:], the input itself.
func microDirectGo(k int, a []float32, tiles int, in []float32, off []int32, c []float32, ldc int, set bool) {
	for t := 0; t < tiles; t++ {
		microGoTile(k, a[t*k*mr:(t+1)*k*mr], in, 0, off[:k], c[t*mr*ldc:], ldc, set)
	}
}

// microGoTile computes one tile; row p of B starts at b[p·ldb], or at
// b[off[p]] when off is not nil.
func microGoTile(k int, a, b []float32, ldb int, off []int32, c []float32, ldc int, set bool) {
	for j := 0; j < nr; j += 4 {
		var c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33 float32
		for p := 0; p < k; p++ {
			av := (*[mr]float32)(a[p*mr:])
			row := p * ldb
			if off != nil {
				row = int(off[p])
			}
			bv := (*[4]float32)(b[row+j:])
			a0, a1, a2, a3 := av[0], av[1], av[2], av[3]
			b0, b1, b2, b3 := bv[0], bv[1], bv[2], bv[3]
			c00 += a0 * b0
			c01 += a0 * b1
			c02 += a0 * b2
			c03 += a0 * b3
			c10 += a1 * b0
			c11 += a1 * b1
			c12 += a1 * b2
			c13 += a1 * b3
			c20 += a2 * b0
			c21 += a2 * b1
			c22 += a2 * b2
			c23 += a2 * b3
			c30 += a3 * b0
			c31 += a3 * b1
			c32 += a3 * b2
			c33 += a3 * b3
		}
		if set {
			*(*[4]float32)(c[j:]) = [4]float32{c00, c01, c02, c03}
			*(*[4]float32)(c[ldc+j:]) = [4]float32{c10, c11, c12, c13}
			*(*[4]float32)(c[2*ldc+j:]) = [4]float32{c20, c21, c22, c23}
			*(*[4]float32)(c[3*ldc+j:]) = [4]float32{c30, c31, c32, c33}
			continue
		}
		addRow4((*[4]float32)(c[j:]), c00, c01, c02, c03)
		addRow4((*[4]float32)(c[ldc+j:]), c10, c11, c12, c13)
		addRow4((*[4]float32)(c[2*ldc+j:]), c20, c21, c22, c23)
		addRow4((*[4]float32)(c[3*ldc+j:]), c30, c31, c32, c33)
	}
}

func addRow4(c *[4]float32, v0, v1, v2, v3 float32) {
	c[0] += v0
	c[1] += v1
	c[2] += v2
	c[3] += v3
}

// checkGemm panics when the arguments describe matrices that the slices do
// not hold: that is a bug in the caller, and reading past them is not an
// option (the same contract as gonum's BLAS).
func checkGemm(who string, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	if m < 0 || n < 0 || k < 0 {
		panic(fmt.Sprintf("kernels: %s.Gemm: negative size m=%d n=%d k=%d", who, m, n, k))
	}
	checkMatrix(who, "Gemm", "a", m, k, a, lda)
	checkMatrix(who, "Gemm", "b", k, n, b, ldb)
	checkMatrix(who, "Gemm", "c", m, n, c, ldc)
}

// checkMatrix panics unless x holds a rows×cols matrix of row stride ld
// (name's leading dimension), naming who.method.
func checkMatrix(who, method, name string, rows, cols int, x []float32, ld int) {
	switch {
	case ld < max(1, cols):
		panic(fmt.Sprintf("kernels: %s.%s: ld%s=%d too small for %d columns", who, method, name, ld, cols))
	case rows > 0 && cols > 0 && len(x) < (rows-1)*ld+cols:
		panic(fmt.Sprintf("kernels: %s.%s: len(%s)=%d < %d for %d×%d with ld%s=%d", who, method, name, len(x), (rows-1)*ld+cols, rows, cols, name, ld))
	}
}

func roundUp(x, to int) int { return (x + to - 1) / to * to }

func grow(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}

// packB copies the kb×nb block of b (row stride ldb) into dst as panels of
// nr columns; panel q holds row p of its columns at q·nr·kb + p·nr, so the
// micro-kernel reads nr contiguous values per step. Columns past nb are
// zero. It walks four rows of b at a time, so that b is read as four
// sequential streams (a panel at a time would revisit each row once per
// panel, and a row stride that is a multiple of 4 KiB would evict those
// lines in between) and every 4·nr values written fill whole cache lines.
func packB(dst, b []float32, ldb, kb, nb int, useAsm bool) {
	full := nb / nr * nr
	p := 0
	if useAsm && packB4Asm != nil && full > 0 {
		for ; p+4 <= kb; p += 4 {
			packB4Asm(dst[p*nr:], b[p*ldb:], ldb, full/nr, kb*nr)
		}
	}
	for ; p+4 <= kb; p += 4 {
		r0, r1, r2, r3 := b[p*ldb:p*ldb+nb], b[(p+1)*ldb:(p+1)*ldb+nb], b[(p+2)*ldb:(p+2)*ldb+nb], b[(p+3)*ldb:(p+3)*ldb+nb]
		for jr := 0; jr < full; jr += nr {
			d := dst[jr*kb+p*nr : jr*kb+p*nr+4*nr]
			*(*[nr]float32)(d[0:]) = *(*[nr]float32)(r0[jr:])
			*(*[nr]float32)(d[nr:]) = *(*[nr]float32)(r1[jr:])
			*(*[nr]float32)(d[2*nr:]) = *(*[nr]float32)(r2[jr:])
			*(*[nr]float32)(d[3*nr:]) = *(*[nr]float32)(r3[jr:])
		}
	}
	for ; p < kb; p++ {
		row := b[p*ldb : p*ldb+nb]
		d := dst[p*nr:]
		for jr := 0; jr < full; jr += nr {
			*(*[nr]float32)(d[jr*kb:]) = *(*[nr]float32)(row[jr:])
		}
	}
	if full < nb {
		edge := dst[full*kb : full*kb+kb*nr]
		for p := 0; p < kb; p++ {
			e := edge[p*nr : p*nr+nr]
			copy(e, b[p*ldb+full:p*ldb+nb])
			clear(e[nb-full:])
		}
	}
}

// packBT is packB for B given as its transpose: column j of the block is
// bt[j·ldbt:], kb values. Panel q gets the same layout packB gives it.
// With useAsm eight columns go at a time in assembly, 8×8 blocks
// transposed in registers; the rest go in 4×4 blocks, four values read
// from each of four columns and four written to each of four panel rows,
// so both sides move in runs.
func packBT(dst, bt []float32, ldbt, kb, nb int, useAsm bool) {
	for jr := 0; jr < nb; jr += nr {
		panel := dst[jr*kb : jr*kb+kb*nr]
		cols := min(nr, nb-jr)
		j := 0
		if useAsm && packBT8Asm != nil && kb >= 8 {
			for ; j+8 <= cols; j += 8 {
				packBT8Asm(panel[j:], bt[(jr+j)*ldbt:], ldbt, kb/8)
				for p := kb / 8 * 8; p < kb; p++ {
					for i := 0; i < 8; i++ {
						panel[p*nr+j+i] = bt[(jr+j+i)*ldbt+p]
					}
				}
			}
		}
		for ; j+4 <= cols; j += 4 {
			c0 := bt[(jr+j)*ldbt : (jr+j)*ldbt+kb]
			c1 := bt[(jr+j+1)*ldbt : (jr+j+1)*ldbt+kb]
			c2 := bt[(jr+j+2)*ldbt : (jr+j+2)*ldbt+kb]
			c3 := bt[(jr+j+3)*ldbt : (jr+j+3)*ldbt+kb]
			p := 0
			for ; p+4 <= kb; p += 4 {
				a0, a1, a2, a3 := (*[4]float32)(c0[p:]), (*[4]float32)(c1[p:]), (*[4]float32)(c2[p:]), (*[4]float32)(c3[p:])
				d := panel[p*nr+j : p*nr+j+3*nr+4]
				*(*[4]float32)(d[0:]) = [4]float32{a0[0], a1[0], a2[0], a3[0]}
				*(*[4]float32)(d[nr:]) = [4]float32{a0[1], a1[1], a2[1], a3[1]}
				*(*[4]float32)(d[2*nr:]) = [4]float32{a0[2], a1[2], a2[2], a3[2]}
				*(*[4]float32)(d[3*nr:]) = [4]float32{a0[3], a1[3], a2[3], a3[3]}
			}
			for ; p < kb; p++ {
				*(*[4]float32)(panel[p*nr+j:]) = [4]float32{c0[p], c1[p], c2[p], c3[p]}
			}
		}
		for ; j < cols; j++ {
			col := bt[(jr+j)*ldbt : (jr+j)*ldbt+kb]
			for p, v := range col {
				panel[p*nr+j] = v
			}
		}
		if cols < nr {
			for p := 0; p < kb; p++ {
				clear(panel[p*nr+cols : p*nr+nr])
			}
		}
	}
}
