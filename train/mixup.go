package train

import (
	"math"
	"math/rand"
)

// mixer blends each batch with a shuffled copy of itself (mixup, Zhang et
// al. 2018): window b becomes λ·x_b + (1−λ)·x_p(b), and its targets the
// same blend, with λ ~ Beta(α, α) drawn per window. It has its own random
// stream, so a run without mixup draws exactly the patches it drew before.
type mixer struct {
	alpha   float64
	rng     *rand.Rand
	dim     int
	classes int
	partner []int
	lambda  []float32
	xs, ys  []float32 // the batch before blending
}

func newMixer(alpha float64, seed int64, batch, dim, classes int) *mixer {
	return &mixer{
		alpha:   alpha,
		rng:     rand.New(rand.NewSource(seed*104729 + 0x6d6978)),
		dim:     dim,
		classes: classes,
		partner: make([]int, batch),
		lambda:  make([]float32, batch),
		xs:      make([]float32, batch*dim),
		ys:      make([]float32, batch*classes),
	}
}

// mix draws partners and weights for one batch and blends xs and ys in
// place.
func (m *mixer) mix(xs, ys []float32) {
	copy(m.partner, m.rng.Perm(len(m.partner)))
	for b := range m.lambda {
		m.lambda[b] = float32(betaSample(m.rng, m.alpha))
	}
	blend(xs, ys, m.xs, m.ys, m.dim, m.classes, m.partner, m.lambda)
}

// blend sets window b of xs and ys to lambda[b] of itself and
// 1−lambda[b] of window partner[b], reading the originals from a copy
// kept in xs0 and ys0.
func blend(xs, ys, xs0, ys0 []float32, dim, classes int, partner []int, lambda []float32) {
	copy(xs0, xs)
	copy(ys0, ys)
	for b, p := range partner {
		l := lambda[b]
		x, xp := xs[b*dim:(b+1)*dim], xs0[p*dim:(p+1)*dim]
		for i, v := range xs0[b*dim : (b+1)*dim] {
			x[i] = l*v + (1-l)*xp[i]
		}
		for k := range classes {
			ys[b*classes+k] = l*ys0[b*classes+k] + (1-l)*ys0[p*classes+k]
		}
	}
}

// betaSample draws from Beta(a, a) as X/(X+Y) with X, Y ~ Gamma(a, 1).
func betaSample(rng *rand.Rand, a float64) float64 {
	x, y := gammaSample(rng, a), gammaSample(rng, a)
	if x+y == 0 { // both underflowed: tiny a puts the mass at the ends
		if rng.Intn(2) == 0 {
			return 0
		}
		return 1
	}
	return x / (x + y)
}

// gammaSample draws from Gamma(a, 1) by Marsaglia and Tsang's method,
// boosted by U^(1/a) for a < 1.
func gammaSample(rng *rand.Rand, a float64) float64 {
	if a < 1 {
		return gammaSample(rng, a+1) * math.Pow(rng.Float64(), 1/a)
	}
	d := a - 1.0/3
	c := 1 / math.Sqrt(9*d)
	for {
		x := rng.NormFloat64()
		v := 1 + c*x
		if v <= 0 {
			continue
		}
		v = v * v * v
		u := rng.Float64()
		if u < 1-0.0331*x*x*x*x || math.Log(u) < 0.5*x*x+d*(1-v+math.Log(v)) {
			return d * v
		}
	}
}
