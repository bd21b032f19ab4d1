package fmnist

import (
	"image"
	"math"
	"math/rand"
)

// alphaFull is the item intensity (0–255) at and above which a pasted
// item is fully opaque.
const alphaFull = 40

// canvas is a float32 greyscale raster with values in [0,1].
type canvas struct {
	pix  []float32
	w, h int
}

func clamp01(v float32) float32 {
	if v < 0 {
		return 0
	}
	if v > 1 {
		return 1
	}
	return v
}

// itemAt samples an item (rows×cols bytes, 0 outside) bilinearly at
// continuous pixel coordinates (u, v), where pixel centres are integers.
func itemAt(item []uint8, rows, cols int, u, v float64) float64 {
	x0, y0 := math.Floor(u), math.Floor(v)
	fx, fy := u-x0, v-y0
	ix, iy := int(x0), int(y0)
	at := func(x, y int) float64 {
		if x < 0 || y < 0 || x >= cols || y >= rows {
			return 0
		}
		return float64(item[y*cols+x])
	}
	top := at(ix, iy)*(1-fx) + at(ix+1, iy)*fx
	bot := at(ix, iy+1)*(1-fx) + at(ix+1, iy+1)*fx
	return top*(1-fy) + bot*fy
}

// paste composites an item onto c with its centre at (cx, cy) in canvas
// pixel coordinates (continuous; the canvas pixel x covers [x, x+1)),
// magnified by scale, mirrored if flip, its colour multiplied by gain.
// The item's intensity is its alpha: min(1, v/alphaFull).
func (c *canvas) paste(item []uint8, rows, cols int, cx, cy, scale float64, flip bool, gain float64) {
	if scale <= 0 || len(item) < rows*cols {
		return
	}
	halfW, halfH := float64(cols)*scale/2, float64(rows)*scale/2
	x0 := max(0, int(math.Floor(cx-halfW)))
	x1 := min(c.w, int(math.Ceil(cx+halfW)))
	y0 := max(0, int(math.Floor(cy-halfH)))
	y1 := min(c.h, int(math.Ceil(cy+halfH)))
	for y := y0; y < y1; y++ {
		v := (float64(y)+0.5-cy)/scale + float64(rows)/2 - 0.5
		row := c.pix[y*c.w : (y+1)*c.w]
		for x := x0; x < x1; x++ {
			u := (float64(x)+0.5-cx)/scale + float64(cols)/2 - 0.5
			if flip {
				u = float64(cols-1) - u
			}
			s := itemAt(item, rows, cols, u, v)
			if s <= 0 {
				continue
			}
			a := float32(min(1, s/alphaFull))
			col := clamp01(float32(s * gain / 255))
			row[x] = row[x]*(1-a) + a*col
		}
	}
}

// lerp is where one bilinear sample falls along an axis: between pixels
// i0 and i1 (byte offsets), at fraction f of the way.
type lerp struct {
	i0, i1 int
	f, g   float64 // f and 1 − f
}

// lerpAt is coordinate u on an axis of n pixels, clamped at the edges;
// stride is the byte distance between pixels.
func lerpAt(u float64, n, stride int) lerp {
	u = min(max(u, 0), float64(n-1))
	i0 := int(u)
	i1 := min(i0+1, n-1)
	f := u - float64(i0)
	return lerp{i0 * stride, i1 * stride, f, 1 - f}
}

// bilinear samples pix at column x and row y; the result is in [0,1].
func bilinear(pix []uint8, x, y lerp) float32 {
	top := float64(pix[y.i0+x.i0])*x.g + float64(pix[y.i0+x.i1])*x.f
	bot := float64(pix[y.i1+x.i0])*x.g + float64(pix[y.i1+x.i1])*x.f
	return float32((top*y.g + bot*y.f) / 255)
}

// fillPhoto fills the pixels of c in r with a view of photo: canvas pixel
// (x, y) shows photo point (ox + (x+0.5)*step, oy + (y+0.5)*step),
// mirrored if flip. When a canvas pixel covers several photo pixels it
// averages a few bilinear samples so that downscaling does not alias badly.
// Where the samples fall is worked out once per column and once per row,
// so the loop over pixels only loads and blends.
func (c *canvas) fillPhoto(g *image.Gray, ox, oy, step float64, flip bool, r image.Rectangle) {
	if r.Empty() {
		return
	}
	n := 1
	if step > 1.5 {
		n = min(4, int(math.Ceil(step)))
	}
	inv := 1 / float32(n*n)
	cols := make([]lerp, r.Dx()*n)
	for x := r.Min.X; x < r.Max.X; x++ {
		xx := x
		if flip {
			xx = c.w - 1 - x
		}
		for i := range n {
			u := ox + (float64(xx)+(float64(i)+0.5)/float64(n))*step - 0.5
			cols[(x-r.Min.X)*n+i] = lerpAt(u, g.Rect.Dx(), 1)
		}
	}
	rows := make([]lerp, n)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for j := range n {
			v := oy + (float64(y)+(float64(j)+0.5)/float64(n))*step - 0.5
			rows[j] = lerpAt(v, g.Rect.Dy(), g.Stride)
		}
		for x := r.Min.X; x < r.Max.X; x++ {
			at := cols[(x-r.Min.X)*n : (x-r.Min.X+1)*n]
			var sum float32
			for _, ry := range rows {
				for _, cx := range at {
					sum += bilinear(g.Pix, cx, ry)
				}
			}
			c.pix[y*c.w+x] = sum * inv
		}
	}
}

// fillClutter paints synthetic clutter: a gradient, soft and hard blobs,
// lines, rectangles, a stripe texture and noise. size is the typical
// feature size in pixels.
func (c *canvas) fillClutter(rng *rand.Rand, size float64) {
	w, h := float64(c.w), float64(c.h)
	base := rng.Float64()
	gx, gy := rng.Float64()-0.5, rng.Float64()-0.5
	for y := 0; y < c.h; y++ {
		for x := 0; x < c.w; x++ {
			c.pix[y*c.w+x] = float32(base + gx*(float64(x)/w-0.5) + gy*(float64(y)/h-0.5))
		}
	}
	if rng.Float64() < 0.3 { // stripes
		freq := (0.5 + 2*rng.Float64()) / size * 2 * math.Pi
		th := rng.Float64() * math.Pi
		amp := 0.3 * rng.Float64()
		ph := rng.Float64() * 2 * math.Pi
		cs, sn := math.Cos(th)*freq, math.Sin(th)*freq
		for y := 0; y < c.h; y++ {
			for x := 0; x < c.w; x++ {
				c.pix[y*c.w+x] += float32(amp * math.Sin(float64(x)*cs+float64(y)*sn+ph))
			}
		}
	}
	area := w * h / (size * size)
	nBlobs := rng.Intn(int(3*area)/2 + 3)
	for i := 0; i < nBlobs; i++ {
		bx, by := rng.Float64()*w, rng.Float64()*h
		rx, ry := size*(0.1+0.7*rng.Float64()), size*(0.1+0.7*rng.Float64())
		d := float32(1.2*rng.Float64() - 0.6)
		soft := rng.Intn(2) == 0
		x0, x1 := max(0, int(bx-2*rx)), min(c.w, int(bx+2*rx)+1)
		y0, y1 := max(0, int(by-2*ry)), min(c.h, int(by+2*ry)+1)
		for y := y0; y < y1; y++ {
			for x := x0; x < x1; x++ {
				dx, dy := (float64(x)+0.5-bx)/rx, (float64(y)+0.5-by)/ry
				r2 := dx*dx + dy*dy
				if soft {
					c.pix[y*c.w+x] += d * float32(math.Exp(-r2))
				} else if r2 <= 1 {
					c.pix[y*c.w+x] += d
				}
			}
		}
	}
	nLines := rng.Intn(int(area)/2 + 3)
	for i := 0; i < nLines; i++ {
		// a line through (px, py) with normal (nx, ny), thickness t
		px, py := rng.Float64()*w, rng.Float64()*h
		th := rng.Float64() * math.Pi
		nx, ny := math.Cos(th), math.Sin(th)
		t := 0.5 + size/14*rng.Float64()
		d := float32(1.2*rng.Float64() - 0.6)
		for y := 0; y < c.h; y++ {
			for x := 0; x < c.w; x++ {
				if math.Abs((float64(x)+0.5-px)*nx+(float64(y)+0.5-py)*ny) <= t {
					c.pix[y*c.w+x] += d
				}
			}
		}
	}
	nRects := rng.Intn(int(area)/2 + 2)
	for i := 0; i < nRects; i++ {
		x0, y0 := int(rng.Float64()*w), int(rng.Float64()*h)
		x1, y1 := min(c.w, x0+1+int(size*rng.Float64())), min(c.h, y0+1+int(size*rng.Float64()))
		d := float32(1.2*rng.Float64() - 0.6)
		for y := y0; y < y1; y++ {
			for x := x0; x < x1; x++ {
				c.pix[y*c.w+x] += d
			}
		}
	}
	if rng.Float64() < 0.7 {
		sigma := 0.08 * rng.Float64()
		for i := range c.pix {
			c.pix[i] += float32(sigma * rng.NormFloat64())
		}
	}
	for i, v := range c.pix {
		c.pix[i] = clamp01(v)
	}
}

// jitter applies contrast c and brightness b around mid-grey, then noise
// of standard deviation sigma, and clamps to [0,1].
func (c *canvas) jitter(rng *rand.Rand, contrast, brightness, sigma float64) {
	for i, v := range c.pix {
		v = (v-0.5)*float32(contrast) + 0.5 + float32(brightness)
		if sigma > 0 {
			v += float32(sigma * rng.NormFloat64())
		}
		c.pix[i] = clamp01(v)
	}
}

// vary turns a square canvas by 90° (a transpose; callers mirror at
// random already) half of the time, and applies a gamma in [0.5, 2].
func (c *canvas) vary(rng *rand.Rand) {
	if c.w == c.h && rng.Intn(2) == 0 {
		for y := 0; y < c.h; y++ {
			for x := y + 1; x < c.w; x++ {
				c.pix[y*c.w+x], c.pix[x*c.w+y] = c.pix[x*c.w+y], c.pix[y*c.w+x]
			}
		}
	}
	g := logUniform(rng, 0.5, 2)
	for i, v := range c.pix {
		c.pix[i] = float32(math.Pow(float64(clamp01(v)), g))
	}
}

// invert flips the brightness of every pixel.
func (c *canvas) invert() {
	for i, v := range c.pix {
		c.pix[i] = 1 - v
	}
}

// gray converts c to an 8-bit image.
func (c *canvas) gray() *image.Gray {
	g := image.NewGray(image.Rect(0, 0, c.w, c.h))
	for y := 0; y < c.h; y++ {
		for x := 0; x < c.w; x++ {
			g.Pix[y*g.Stride+x] = uint8(clamp01(c.pix[y*c.w+x])*255 + 0.5)
		}
	}
	return g
}

// shrunk brings c to w×h grey bytes (row-major) the way the detector's
// pyramid resamples an image: 8-bit first, then imaging's linear filter.
func (c *canvas) shrunk(w, h int) []uint8 { return resized(c.gray(), w, h) }

// uniform returns a value uniformly distributed in [lo, hi).
func uniform(rng *rand.Rand, lo, hi float64) float64 { return lo + (hi-lo)*rng.Float64() }

// logUniform returns a value in [lo, hi) whose logarithm is uniform, for
// scale-like quantities; lo and hi must be positive.
func logUniform(rng *rand.Rand, lo, hi float64) float64 {
	return math.Exp(uniform(rng, math.Log(lo), math.Log(hi)))
}
