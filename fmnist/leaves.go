package fmnist

import (
	"image"
	"math"
	"math/rand"
)

// Dead-leaves backgrounds: opaque random shapes dropped one on top of
// another, with sizes drawn from a power law (density ∝ r⁻³). The model
// is scale invariant and full of occlusion edges, thin bars and dark gaps
// between bright shapes, as natural photographs are, so it can stand in
// for photographs a training set does not have. Whether that helps a
// detector on unseen photographs is measured, not assumed: see
// models/HISTORY.md.

// leavesMaxShapes bounds the work per canvas: this many shapes plus one
// per 64 pixels.
const leavesMaxShapes = 600

// fillLeaves paints a dead-leaves image on c. size is the typical feature
// size in pixels: shape radii run from size/16 to 1.5·size.
func (c *canvas) fillLeaves(rng *rand.Rand, size float64) {
	base := float32(rng.Float64())
	for i := range c.pix {
		c.pix[i] = base
	}
	rMin, rMax := max(0.75, size/16), max(1, 1.5*size)
	// Invert the r⁻³ density's CDF: r = (rMin⁻² − u(rMin⁻² − rMax⁻²))^(−1/2).
	a, b := 1/(rMin*rMin), 1/(rMax*rMax)
	area := float64(c.w * c.h)
	covered := 0.0
	limit := leavesMaxShapes + c.w*c.h/64
	for n := 0; n < limit && covered < 4*area; n++ {
		r := 1 / math.Sqrt(a-rng.Float64()*(a-b))
		covered += c.leaf(rng, r)
	}
	for i, v := range c.pix {
		c.pix[i] = clamp01(v)
	}
}

// leaf draws one opaque shape of radius about r at a random place and
// returns its approximate area. The shape is an ellipse, a rectangle or a
// thin bar (a twig), rotated, filled with a grey level plus a gradient,
// with a one-pixel soft edge.
func (c *canvas) leaf(rng *rand.Rand, r float64) float64 {
	cx, cy := rng.Float64()*float64(c.w), rng.Float64()*float64(c.h)
	th := rng.Float64() * math.Pi
	cs, sn := math.Cos(th), math.Sin(th)
	kind := rng.Intn(3)
	hu, hv := r, r*(0.4+0.6*rng.Float64()) // half extents along u and v
	if kind == 2 {
		hu, hv = 2*r, max(0.5, r*0.1*(0.5+rng.Float64()))
	}
	grey := rng.Float64()
	gu, gv := (rng.Float64()-0.5)*0.6/hu, (rng.Float64()-0.5)*0.6/max(hv, 1)
	ext := max(hu, hv) + 1
	x0, x1 := max(0, int(cx-ext)), min(c.w, int(math.Ceil(cx+ext)))
	y0, y1 := max(0, int(cy-ext)), min(c.h, int(math.Ceil(cy+ext)))
	for y := y0; y < y1; y++ {
		for x := x0; x < x1; x++ {
			dx, dy := float64(x)+0.5-cx, float64(y)+0.5-cy
			u, v := dx*cs+dy*sn, -dx*sn+dy*cs
			var d float64 // about the distance outside the shape, in pixels
			if kind == 0 {
				d = (math.Sqrt(u*u/(hu*hu)+v*v/(hv*hv)) - 1) * hv
			} else {
				d = max(math.Abs(u)-hu, math.Abs(v)-hv)
			}
			alpha := float32(min(1, max(0, 0.5-d)))
			if alpha == 0 {
				continue
			}
			col := float32(grey + gu*u + gv*v)
			i := y*c.w + x
			c.pix[i] = c.pix[i]*(1-alpha) + alpha*col
		}
	}
	return 4 * hu * hv
}

// Leaves returns a w×h dead-leaves image with feature size size pixels,
// for use as a synthetic photograph (for example as a mining scene's
// background). w or h outside [1, MaxSceneSide], or size outside
// (0, MaxSceneSide], gives an empty image.
func Leaves(rng *rand.Rand, w, h int, size float64) *image.Gray {
	return synthetic(w, h, size, func(c *canvas) { c.fillLeaves(rng, size) })
}

// synthetic checks the sizes of a synthetic photograph before allocating
// anything, then paints a w×h canvas with fill. Out-of-range sizes give
// an empty image.
func synthetic(w, h int, size float64, fill func(*canvas)) *image.Gray {
	if w < 1 || h < 1 || w > MaxSceneSide || h > MaxSceneSide || !(size > 0 && size <= MaxSceneSide) {
		return image.NewGray(image.Rect(0, 0, 0, 0))
	}
	c := canvas{pix: make([]float32, w*h), w: w, h: h}
	fill(&c)
	return c.gray()
}
