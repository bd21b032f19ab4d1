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
}

func (t *Net) newConv(l *nn.Conv2D, is, os nn.Shape) (*conv, error) {
	c := &conv{l: l, is: is, os: os, m: l.OutC, k: l.InC * l.Kernel.H * l.Kernel.W, n: os.H * os.W}
	if l.PaddingEnd != nil {
		return nil, fmt.Errorf("asymmetric padding is not trained")
	}
	c.dw = t.param(l.Name()+".weight", l.Weight.Data, true)
	c.db = t.param(l.Name()+".bias", l.Bias.Data, false)
	c.wT = make([]float32, c.k*c.m)
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
				row := o[m*c.n : (m+1)*c.n]
				for j := range row {
					row[j] = b[m]
				}
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
			for m := 0; m < c.m; m++ {
				var sum float32
				for _, v := range dy[m*c.n : (m+1)*c.n] {
					sum += v
				}
				pdb[m] += sum
			}
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
			for kx := 0; kx < l.Kernel.W; kx++ {
				dst := col[p*c.n : (p+1)*c.n]
				p++
				for oy := 0; oy < os.H; oy++ {
					iy := oy*l.Stride.H - l.Padding.H + ky
					d := dst[oy*os.W : (oy+1)*os.W]
					if iy < 0 || iy >= is.H {
						clear(d)
						continue
					}
					row := plane[iy*is.W : (iy+1)*is.W]
					if l.Stride.W == 1 && l.Padding.W == 0 {
						copy(d, row[kx:kx+os.W])
						continue
					}
					for ox := range d {
						if ix := ox*l.Stride.W - l.Padding.W + kx; ix >= 0 && ix < is.W {
							d[ox] = row[ix]
						} else {
							d[ox] = 0
						}
					}
				}
			}
		}
	}
}

// fold is unfold's adjoint: it sets dx to the sum, over every window
// position, of col's values at the input pixels they were read from.
func (c *conv) fold(col, dx []float32) {
	l, is, os := c.l, c.is, c.os
	clear(dx)
	p := 0
	for ci := 0; ci < is.C; ci++ {
		plane := dx[ci*is.H*is.W : (ci+1)*is.H*is.W]
		for ky := 0; ky < l.Kernel.H; ky++ {
			for kx := 0; kx < l.Kernel.W; kx++ {
				src := col[p*c.n : (p+1)*c.n]
				p++
				for oy := 0; oy < os.H; oy++ {
					iy := oy*l.Stride.H - l.Padding.H + ky
					if iy < 0 || iy >= is.H {
						continue
					}
					row := plane[iy*is.W : (iy+1)*is.W]
					s := src[oy*os.W : (oy+1)*os.W]
					if l.Stride.W == 1 && l.Padding.W == 0 {
						addTo(row[kx:kx+os.W], s)
						continue
					}
					for ox, v := range s {
						if ix := ox*l.Stride.W - l.Padding.W + kx; ix >= 0 && ix < is.W {
							row[ix] += v
						}
					}
				}
			}
		}
	}
}

// addTo adds src into dst, element by element.
func addTo(dst, src []float32) {
	dst = dst[:len(src)]
	for i, v := range src {
		dst[i] += v
	}
}

// batchNorm normalises each channel with the batch's mean and biased
// variance (over samples and pixels), then scales by gamma and shifts by
// beta. Channels are independent, so they are what runs in parallel, each
// summed in sample order.
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

// each calls f with channel c's values of every sample in turn.
func (bn *batchNorm) each(batch, c int, x []float32, f func(v []float32)) {
	for s := 0; s < batch; s++ {
		o := (s*bn.c + c) * bn.hw
		f(x[o : o+bn.hw])
	}
}

func (bn *batchNorm) forward(t *Net, in, out []float32) {
	count := float64(t.batch * bn.hw)
	l, m := bn.l, t.momentum
	parallel(bn.c, t.threads, func(c int) {
		var sum float64
		bn.each(t.batch, c, in, func(v []float32) {
			for _, x := range v {
				sum += float64(x)
			}
		})
		mean := sum / count
		var sq float64
		bn.each(t.batch, c, in, func(v []float32) {
			for _, x := range v {
				d := float64(x) - mean
				sq += d * d
			}
		})
		variance := sq / count
		inv := 1 / math.Sqrt(variance+l.Eps)
		bn.mean[c], bn.invStd[c] = mean, inv
		scale := float64(l.Gamma.Data[c]) * inv
		shift := float64(l.Beta.Data[c]) - mean*scale
		for s := 0; s < t.batch; s++ {
			o := (s*bn.c + c) * bn.hw
			src := in[o : o+bn.hw]
			dst := out[o : o+len(src)]
			for i, x := range src {
				dst[i] = float32(float64(x)*scale + shift)
			}
		}
		unbiased := variance * count / max(1, count-1)
		l.Mean.Data[c] = (1-m)*l.Mean.Data[c] + m*float32(mean)
		l.Var.Data[c] = (1-m)*l.Var.Data[c] + m*float32(unbiased)
	})
}

func (bn *batchNorm) backward(t *Net, in, _, dout, din []float32) {
	count := float64(t.batch * bn.hw)
	parallel(bn.c, t.threads, func(c int) {
		mean, inv := bn.mean[c], bn.invStd[c]
		var dbeta, dgamma float64 // Σ dy and Σ dy·x̂
		for s := 0; s < t.batch; s++ {
			o := (s*bn.c + c) * bn.hw
			dy := dout[o : o+bn.hw]
			x := in[o : o+len(dy)] // as long as dy: no bounds checks below
			for i, g := range dy {
				dbeta += float64(g)
				dgamma += float64(g) * (float64(x[i]) - mean) * inv
			}
		}
		bn.dgamma[c], bn.dbeta[c] = float32(dgamma), float32(dbeta)
		if din == nil {
			return
		}
		// dx = γ·σ⁻¹/n · (n·dy − Σdy − x̂·Σ(dy·x̂))
		k := float64(bn.l.Gamma.Data[c]) * inv / count
		for s := 0; s < t.batch; s++ {
			o := (s*bn.c + c) * bn.hw
			kernels.BatchNormGrad(din[o:o+bn.hw], in[o:o+bn.hw], dout[o:o+bn.hw], mean, inv, count, dbeta, dgamma, k)
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

// forward2x2 is forward for 2×2 windows at stride 2, the common case,
// with the same comparisons in the same order (so the same first of equal
// maxima) but no index arithmetic per input.
func (p *maxPool) forward2x2(x, y []float32, arg []int32) {
	w := p.is.W
	for c := 0; c < p.os.C; c++ {
		for oy := 0; oy < p.os.H; oy++ {
			top := (c*p.is.H + 2*oy) * w
			o := (c*p.os.H + oy) * p.os.W
			for ox := range y[o : o+p.os.W] {
				i := top + 2*ox
				best, bv := i, x[i]
				if v := x[i+1]; v > bv {
					best, bv = i+1, v
				}
				if v := x[i+w]; v > bv {
					best, bv = i+w, v
				}
				if v := x[i+w+1]; v > bv {
					best, bv = i+w+1, v
				}
				y[o+ox], arg[o+ox] = bv, int32(best)
			}
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
