package backprop

import (
	"fmt"
	"math"

	"github.com/fc2conv/fc2conv/nn"
	"github.com/fc2conv/fc2conv/nn/kernels"
)

// conv is a convolution as products with its unfolded input, sample by
// sample: Y = W·col + b forward; dW = dY·colᵀ, db = Σ dY and
// dcol = Wᵀ·dY, folded back into dX, backward.
type conv struct {
	l              *nn.Conv2D
	is, os         nn.Shape
	m, k, n        int         // output channels, InC·KH·KW, output pixels
	dw, db         []float32   // the Params' gradients
	wT             []float32   // k×m
	cols           [][]float32 // per sample: its unfolded input, from forward for backward
	pdw, pdb, dcol [][]float32 // per chunk
	// rowRuns[ky] and colRuns[kx]: the output rows and columns [lo, hi)
	// whose window row ky or column kx reads the input, not padding.
	rowRuns, colRuns [][2]int
}

func (t *Net) newConv(l *nn.Conv2D, is, os nn.Shape) (*conv, error) {
	c := &conv{l: l, is: is, os: os, m: l.OutC, k: l.InC * l.Kernel.H * l.Kernel.W, n: os.H * os.W}
	if l.PaddingEnd != nil {
		return nil, fmt.Errorf("asymmetric padding is not trained")
	}
	c.dw = t.param(l.Name()+".weight", l.Weight.Data, true)
	c.db = t.param(l.Name()+".bias", l.Bias.Data, false)
	c.wT = make([]float32, c.k*c.m)
	for ky := range l.Kernel.H {
		lo, hi := kernels.InsideRun(ky-l.Padding.H, l.Stride.H, os.H, is.H)
		c.rowRuns = append(c.rowRuns, [2]int{lo, hi})
	}
	for kx := range l.Kernel.W {
		lo, hi := kernels.InsideRun(kx-l.Padding.W, l.Stride.W, os.W, is.W)
		c.colRuns = append(c.colRuns, [2]int{lo, hi})
	}
	if int64(t.batch)*int64(c.k)*int64(c.n) > 1<<28 {
		return nil, fmt.Errorf("unfolded input of %d×%d per sample is too large for a batch of %d", c.k, c.n, t.batch)
	}
	for range t.batch {
		c.cols = append(c.cols, make([]float32, c.k*c.n))
	}
	for range t.numChunks() {
		c.dcol = append(c.dcol, make([]float32, c.k*c.n))
		c.pdw = append(c.pdw, make([]float32, c.m*c.k))
		c.pdb = append(c.pdb, make([]float32, c.m))
	}
	return c, nil
}

func (c *conv) forward(t *Net, in, out []float32) {
	isz, osz := c.is.Size(), c.os.Size()
	b := c.l.Bias.Data
	w := t.fixedA(c.m, c.k, c.l.Weight.Data, c.k)
	t.chunks(func(ch, b0, b1 int) {
		for s := b0; s < b1; s++ {
			col := c.cols[s]
			c.unfold(in[s*isz:(s+1)*isz], col)
			o := out[s*osz : (s+1)*osz]
			for m := 0; m < c.m; m++ {
				fill(o[m*c.n:(m+1)*c.n], b[m])
			}
			w.times(c.n, col, c.n, o, c.n)
		}
	})
}

func (c *conv) backward(t *Net, _, _, dout, din []float32) {
	isz, osz := c.is.Size(), c.os.Size()
	transpose(c.wT, c.l.Weight.Data, c.m, c.k)
	wT := t.fixedA(c.k, c.m, c.wT, c.m)
	t.chunks(func(ch, b0, b1 int) {
		dcol, pdw, pdb := c.dcol[ch], c.pdw[ch], c.pdb[ch]
		clear(pdw)
		clear(pdb)
		for s := b0; s < b1; s++ {
			dy := dout[s*osz : (s+1)*osz]
			t.gemm.GemmTransB(c.m, c.k, c.n, dy, c.n, c.cols[s], c.n, pdw, c.k)
			addRowSums(pdb, dy, c.n)
			if din != nil {
				clear(dcol)
				wT.times(c.n, dy, c.n, dcol, c.n)
				c.fold(dcol, din[s*isz:(s+1)*isz])
			}
		}
	})
	sumChunks(c.dw, c.pdw)
	sumChunks(c.db, c.pdb)
}

// sumChunks sets dst to the sum of the chunks' partial sums, in chunk order.
func sumChunks(dst []float32, parts [][]float32) {
	copy(dst, parts[0])
	for _, p := range parts[1:] {
		for i, v := range p {
			dst[i] += v
		}
	}
}

// unfold writes one sample's im2col matrix: row (ci, ky, kx), column
// output pixel, zero where the window reads padding.
func (c *conv) unfold(x, col []float32) {
	l, is, os := c.l, c.is, c.os
	p := 0
	for ci := 0; ci < is.C; ci++ {
		plane := x[ci*is.H*is.W : (ci+1)*is.H*is.W]
		for ky := 0; ky < l.Kernel.H; ky++ {
			rows := c.rowRuns[ky]
			for kx := 0; kx < l.Kernel.W; kx++ {
				dst := col[p*c.n : (p+1)*c.n]
				p++
				cols := c.colRuns[kx]
				if rows[1] == rows[0] || cols[1] == cols[0] {
					clear(dst)
					continue
				}
				clear(dst[:rows[0]*os.W])
				clear(dst[rows[1]*os.W:])
				iy, ix := rows[0]*l.Stride.H-l.Padding.H+ky, cols[0]*l.Stride.W-l.Padding.W+kx
				if l.Stride.W == 1 {
					kernels.CopyRows(dst[rows[0]*os.W+cols[0]:], os.W, plane[iy*is.W+ix:], l.Stride.H*is.W, rows[1]-rows[0], cols[1]-cols[0])
				} else {
					for oy := rows[0]; oy < rows[1]; oy++ {
						src, d := plane[(iy+(oy-rows[0])*l.Stride.H)*is.W:], dst[oy*os.W:]
						for ox := cols[0]; ox < cols[1]; ox++ {
							d[ox] = src[ix+(ox-cols[0])*l.Stride.W]
						}
					}
				}
				if cols[0] > 0 || cols[1] < os.W {
					for oy := rows[0]; oy < rows[1]; oy++ {
						d := dst[oy*os.W : (oy+1)*os.W]
						clear(d[:cols[0]])
						clear(d[cols[1]:])
					}
				}
			}
		}
	}
}

// fold is unfold's adjoint: it sets dx to the sum, over every window
// position, of col's values at the input pixels they were read from. The
// sums run in unfold's order: row (ci, ky, kx), then output pixel.
func (c *conv) fold(col, dx []float32) {
	l, is, os := c.l, c.is, c.os
	clear(dx)
	p := 0
	for ci := 0; ci < is.C; ci++ {
		plane := dx[ci*is.H*is.W : (ci+1)*is.H*is.W]
		for ky := 0; ky < l.Kernel.H; ky++ {
			rows := c.rowRuns[ky]
			for kx := 0; kx < l.Kernel.W; kx++ {
				src := col[p*c.n : (p+1)*c.n]
				p++
				cols := c.colRuns[kx]
				if rows[1] == rows[0] || cols[1] == cols[0] {
					continue
				}
				iy, ix := rows[0]*l.Stride.H-l.Padding.H+ky, cols[0]*l.Stride.W-l.Padding.W+kx
				if l.Stride.W == 1 {
					kernels.AddRows(plane[iy*is.W+ix:], l.Stride.H*is.W, src[rows[0]*os.W+cols[0]:], os.W, rows[1]-rows[0], cols[1]-cols[0])
					continue
				}
				for oy := rows[0]; oy < rows[1]; oy++ {
					row, s := plane[(iy+(oy-rows[0])*l.Stride.H)*is.W:], src[oy*os.W:]
					for ox := cols[0]; ox < cols[1]; ox++ {
						row[ix+(ox-cols[0])*l.Stride.W] += s[ox]
					}
				}
			}
		}
	}
}

// fill sets every value of x to v, by copies that double the filled
// part: Go stores one value at a time in a loop.
func fill(x []float32, v float32) {
	if len(x) == 0 {
		return
	}
	x[0] = v
	for k := 1; k < len(x); k *= 2 {
		copy(x[k:], x[:k])
	}
}

// addRowSums adds to sums[m] the sum of row m of the len(sums)×n matrix
// x, each row summed in order from zero. Four rows run side by side: one
// row's sum is a chain of dependent additions, and four chains take
// about as long as one.
func addRowSums(sums, x []float32, n int) {
	m := 0
	for ; m+4 <= len(sums); m += 4 {
		r0 := x[m*n : (m+1)*n]
		r1, r2, r3 := x[(m+1)*n:][:len(r0)], x[(m+2)*n:][:len(r0)], x[(m+3)*n:][:len(r0)]
		var s0, s1, s2, s3 float32
		for j, v := range r0 {
			s0 += v
			s1 += r1[j]
			s2 += r2[j]
			s3 += r3[j]
		}
		sums[m] += s0
		sums[m+1] += s1
		sums[m+2] += s2
		sums[m+3] += s3
	}
	for ; m < len(sums); m++ {
		var s float32
		for _, v := range x[m*n : (m+1)*n] {
			s += v
		}
		sums[m] += s
	}
}

// batchNorm normalises each channel with the batch's mean and biased
// variance (over samples and pixels), then scales by gamma and shifts by
// beta. Channels are independent, so groups of them (bnGroup) are what
// runs in parallel, each channel summed in sample order.
type batchNorm struct {
	l             *nn.BatchNorm
	c, hw         int
	mean, invStd  []float64
	dgamma, dbeta []float32
}

func (t *Net) newBatchNorm(l *nn.BatchNorm, is nn.Shape) (*batchNorm, error) {
	if is.C != l.Features {
		return nil, fmt.Errorf("input has %d channels, layer expects %d", is.C, l.Features)
	}
	if t.batch*is.H*is.W < 2 {
		return nil, fmt.Errorf("one value per channel in a batch of %d; batch statistics need at least 2", t.batch)
	}
	bn := &batchNorm{l: l, c: is.C, hw: is.H * is.W, mean: make([]float64, is.C), invStd: make([]float64, is.C)}
	bn.dgamma = t.param(l.Name()+".weight", l.Gamma.Data, false)
	bn.dbeta = t.param(l.Name()+".bias", l.Beta.Data, false)
	return bn, nil
}

// bnGroup channels are summed together: each channel's sum is a chain
// of dependent float64 additions, and chains of different channels run
// side by side. Each is still added in sample and pixel order, so the
// sums are the ones one channel at a time gives, to the bit.
const bnGroup = 4

// planes returns channels c0 … c0+n−1 of sample s.
func (bn *batchNorm) planes(x []float32, s, c0, n int) [bnGroup][]float32 {
	var p [bnGroup][]float32
	for k := range n {
		o := (s*bn.c + c0 + k) * bn.hw
		p[k] = x[o : o+bn.hw]
	}
	return p
}

// groups runs f on each group of up to bnGroup channels, in parallel.
func (bn *batchNorm) groups(threads int, f func(c0, n int)) {
	parallel((bn.c+bnGroup-1)/bnGroup, threads, func(g int) {
		c0 := g * bnGroup
		f(c0, min(bnGroup, bn.c-c0))
	})
}

// sums adds, for each of channels c0 … c0+n−1, its values (or, if
// square, their squared distances from shift) over every sample, in order.
func (bn *batchNorm) sums(batch int, x []float32, c0, n int, shift [bnGroup]float64, square bool) [bnGroup]float64 {
	var sum [bnGroup]float64
	for s := 0; s < batch; s++ {
		p := bn.planes(x, s, c0, n)
		switch {
		case n == bnGroup && square:
			sum = squares4(p, shift, sum)
		case n == bnGroup:
			sum = sums4(p, sum)
		default:
			for k := range n {
				for _, v := range p[k] {
					if square {
						d := float64(v) - shift[k]
						sum[k] += d * d
					} else {
						sum[k] += float64(v)
					}
				}
			}
		}
	}
	return sum
}

// sums4 adds four planes' values to sum, each plane in order; the sums
// stay in registers.
func sums4(p [bnGroup][]float32, sum [bnGroup]float64) [bnGroup]float64 {
	p0 := p[0]
	p1, p2, p3 := p[1][:len(p0)], p[2][:len(p0)], p[3][:len(p0)]
	s0, s1, s2, s3 := sum[0], sum[1], sum[2], sum[3]
	for i, v := range p0 {
		s0 += float64(v)
		s1 += float64(p1[i])
		s2 += float64(p2[i])
		s3 += float64(p3[i])
	}
	return [bnGroup]float64{s0, s1, s2, s3}
}

// squares4 adds four planes' squared distances from their shifts to sum,
// each plane in order.
func squares4(p [bnGroup][]float32, shift, sum [bnGroup]float64) [bnGroup]float64 {
	p0 := p[0]
	p1, p2, p3 := p[1][:len(p0)], p[2][:len(p0)], p[3][:len(p0)]
	s0, s1, s2, s3 := sum[0], sum[1], sum[2], sum[3]
	m0, m1, m2, m3 := shift[0], shift[1], shift[2], shift[3]
	for i, v := range p0 {
		d0 := float64(v) - m0
		d1 := float64(p1[i]) - m1
		d2 := float64(p2[i]) - m2
		d3 := float64(p3[i]) - m3
		s0 += d0 * d0
		s1 += d1 * d1
		s2 += d2 * d2
		s3 += d3 * d3
	}
	return [bnGroup]float64{s0, s1, s2, s3}
}

func (bn *batchNorm) forward(t *Net, in, out []float32) {
	count := float64(t.batch * bn.hw)
	l, m := bn.l, t.momentum
	bn.groups(t.threads, func(c0, n int) {
		var mean [bnGroup]float64
		sum := bn.sums(t.batch, in, c0, n, mean, false)
		for k := range n {
			mean[k] = sum[k] / count
		}
		sq := bn.sums(t.batch, in, c0, n, mean, true)
		for k := range n {
			c := c0 + k
			variance := sq[k] / count
			inv := 1 / math.Sqrt(variance+l.Eps)
			bn.mean[c], bn.invStd[c] = mean[k], inv
			scale := float64(l.Gamma.Data[c]) * inv
			shift := float64(l.Beta.Data[c]) - mean[k]*scale
			for s := 0; s < t.batch; s++ {
				o := (s*bn.c + c) * bn.hw
				kernels.BatchNormApply(out[o:o+bn.hw], in[o:o+bn.hw], scale, shift)
			}
			unbiased := variance * count / max(1, count-1)
			l.Mean.Data[c] = (1-m)*l.Mean.Data[c] + m*float32(mean[k])
			l.Var.Data[c] = (1-m)*l.Var.Data[c] + m*float32(unbiased)
		}
	})
}

func (bn *batchNorm) backward(t *Net, in, _, dout, din []float32) {
	count := float64(t.batch * bn.hw)
	bn.groups(t.threads, func(c0, n int) {
		var dbeta, dgamma [bnGroup]float64 // Σ dy and Σ dy·x̂
		for s := 0; s < t.batch; s++ {
			if n == bnGroup {
				o := (s*bn.c + c0) * bn.hw
				kernels.BatchNormGradSums4(dout[o:], in[o:], bn.hw, bn.hw, (*[4]float64)(bn.mean[c0:]), (*[4]float64)(bn.invStd[c0:]), &dbeta, &dgamma)
				continue
			}
			dy, x := bn.planes(dout, s, c0, n), bn.planes(in, s, c0, n)
			for k := range n {
				mean, inv := bn.mean[c0+k], bn.invStd[c0+k]
				xk := x[k][:len(dy[k])] // as long as dy: no bounds checks below
				for i, g := range dy[k] {
					dbeta[k] += float64(g)
					dgamma[k] += float64(g) * (float64(xk[i]) - mean) * inv
				}
			}
		}
		for k := range n {
			c := c0 + k
			bn.dgamma[c], bn.dbeta[c] = float32(dgamma[k]), float32(dbeta[k])
			if din == nil {
				continue
			}
			// dx = γ·σ⁻¹/n · (n·dy − Σdy − x̂·Σ(dy·x̂))
			mean, inv := bn.mean[c], bn.invStd[c]
			kk := float64(bn.l.Gamma.Data[c]) * inv / count
			for s := 0; s < t.batch; s++ {
				o := (s*bn.c + c) * bn.hw
				kernels.BatchNormGrad(din[o:o+bn.hw], in[o:o+bn.hw], dout[o:o+bn.hw], mean, inv, count, dbeta[k], dgamma[k], kk)
			}
		}
	})
}

// relu passes positive inputs and their gradients.
type relu struct{}

func (relu) forward(_ *Net, in, out []float32) {
	// max(v+0, 0) is max(v, 0) to the bit (−0+0 is +0, a NaN stays one),
	// and AddBiasReLU has it in assembly.
	copy(out, in)
	kernels.AddBiasReLU(out[:len(in)], 0)
}

func (relu) backward(_ *Net, in, _, dout, din []float32) {
	if din == nil {
		return
	}
	kernels.ReLUGrad(din, in, dout)
}

// identity is a channels-first flatten: the same values in the same order.
type identity struct{}

func (identity) forward(_ *Net, in, out []float32) { copy(out, in) }

func (identity) backward(_ *Net, _, _, dout, din []float32) {
	if din != nil {
		copy(din, dout)
	}
}

// maxPool takes each window's maximum and sends the gradient back to it
// (the first of equal maxima).
type maxPool struct {
	l      *nn.MaxPool2D
	is, os nn.Shape
	arg    []int32 // per output value of the batch: the input index it came from, within its sample
}

func newMaxPool(l *nn.MaxPool2D, is, os nn.Shape, batch int) (*maxPool, error) {
	if l.Padding != (nn.Pair{}) || l.PaddingEnd != nil || l.CeilMode {
		return nil, fmt.Errorf("padded or ceil-mode pooling is not trained")
	}
	return &maxPool{l: l, is: is, os: os, arg: make([]int32, batch*os.Size())}, nil
}

func (p *maxPool) forward(t *Net, in, out []float32) {
	isz, osz := p.is.Size(), p.os.Size()
	fast := p.l.Kernel == (nn.Pair{H: 2, W: 2}) && p.l.Stride == p.l.Kernel
	t.chunks(func(_, b0, b1 int) {
		for s := b0; s < b1; s++ {
			x, y, arg := in[s*isz:(s+1)*isz], out[s*osz:(s+1)*osz], p.arg[s*osz:(s+1)*osz]
			if fast {
				p.forward2x2(x, y, arg)
			} else {
				p.forwardAny(x, y, arg)
			}
		}
	})
}

// forwardAny is one sample's forward for any window and stride.
func (p *maxPool) forwardAny(x, y []float32, arg []int32) {
	k, st := p.l.Kernel, p.l.Stride
	for c := 0; c < p.os.C; c++ {
		for oy := 0; oy < p.os.H; oy++ {
			for ox := 0; ox < p.os.W; ox++ {
				best := (c*p.is.H+oy*st.H)*p.is.W + ox*st.W
				for ky := 0; ky < k.H; ky++ {
					for kx := 0; kx < k.W; kx++ {
						if i := (c*p.is.H+oy*st.H+ky)*p.is.W + ox*st.W + kx; x[i] > x[best] {
							best = i
						}
					}
				}
				o := (c*p.os.H+oy)*p.os.W + ox
				y[o], arg[o] = x[best], int32(best)
			}
		}
	}
}

// forward2x2 is forward for 2×2 windows at stride 2, the common case: one
// output row at a time, with forwardAny's comparisons in its order (so
// the same first of equal maxima).
func (p *maxPool) forward2x2(x, y []float32, arg []int32) {
	w := p.is.W
	for c := 0; c < p.os.C; c++ {
		for oy := 0; oy < p.os.H; oy++ {
			top := (c*p.is.H + 2*oy) * w
			o := (c*p.os.H + oy) * p.os.W
			kernels.MaxPool2x2Arg(y[o:o+p.os.W], arg[o:o+p.os.W], x[top:top+w], x[top+w:top+2*w], int32(top), int32(w))
		}
	}
}

func (p *maxPool) backward(t *Net, _, _, dout, din []float32) {
	if din == nil {
		return
	}
	isz, osz := p.is.Size(), p.os.Size()
	t.chunks(func(_, b0, b1 int) {
		for s := b0; s < b1; s++ {
			dx := din[s*isz : (s+1)*isz]
			clear(dx)
			for o, i := range p.arg[s*osz : (s+1)*osz] {
				dx[i] += dout[s*osz+o]
			}
		}
	})
}

// dense is y = x·Wᵀ + b over the batch at once.
type dense struct {
	l      *nn.Dense
	dw, db []float32
	doutT  []float32
}

func (t *Net) newDense(l *nn.Dense) *dense {
	d := &dense{l: l, doutT: make([]float32, l.Out*t.batch)}
	d.dw = t.param(l.Name()+".weight", l.Weight.Data, true)
	d.db = t.param(l.Name()+".bias", l.Bias.Data, false)
	return d
}

func (d *dense) forward(t *Net, in, out []float32) {
	l := d.l
	for s := 0; s < t.batch; s++ {
		copy(out[s*l.Out:(s+1)*l.Out], l.Bias.Data)
	}
	t.gemm.GemmTransB(t.batch, l.Out, l.In, in, l.In, l.Weight.Data, l.In, out, l.Out)
}

func (d *dense) backward(t *Net, in, _, dout, din []float32) {
	l := d.l
	transpose(d.doutT, dout, t.batch, l.Out)
	clear(d.dw)
	t.gemm.Gemm(l.Out, l.In, t.batch, d.doutT, t.batch, in, l.In, d.dw, l.In)
	for o := 0; o < l.Out; o++ {
		var sum float32
		for _, v := range d.doutT[o*t.batch : (o+1)*t.batch] {
			sum += v
		}
		d.db[o] = sum
	}
	if din != nil {
		clear(din)
		t.gemm.Gemm(t.batch, l.In, l.Out, dout, l.Out, l.Weight.Data, l.In, din, l.In)
	}
}

// dropout zeroes each value with probability rate and scales the rest by
// 1/(1 − rate), so the expected output is the input.
type dropout struct {
	rate float64
	keep []float32 // 0 or 1/(1 − rate) per value of the last batch
}

func (d *dropout) forward(t *Net, in, out []float32) {
	if len(d.keep) != len(in) {
		d.keep = make([]float32, len(in))
	}
	scale := float32(1 / (1 - d.rate))
	for i, v := range in {
		d.keep[i] = 0
		if t.rng.Float64() >= d.rate {
			d.keep[i] = scale
		}
		out[i] = v * d.keep[i]
	}
}

func (d *dropout) backward(_ *Net, _, _, dout, din []float32) {
	if din == nil {
		return
	}
	for i, g := range dout {
		din[i] = g * d.keep[i]
	}
}
