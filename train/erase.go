package train

import (
	"math"
	"math/rand"
)

// Random erasing (Zhong et al., AAAI 2020) as its paper sets it for
// Fashion-MNIST: the rectangle covers 2% to 40% of the window, its aspect
// ratio is drawn log-uniformly from 0.3 to 1/0.3, and it is filled with
// uniform noise.
const (
	eraseMinArea  = 0.02
	eraseMaxArea  = 0.4
	eraseMinRatio = 0.3
	eraseAttempts = 10 // draws of a size that fits before the window is left whole
)

// eraser overwrites, with probability p, one random rectangle of a
// training window with noise and keeps its label: a dress with part of it
// hidden is still a dress, so the network cannot lean on one part of a
// garment (a coat's long body, a shirt's outline) to call it. Each epoch
// has its own random stream, apart from the sampler's, so a run without
// erasing draws exactly the patches it drew before, and a resumed run
// erases what an uninterrupted one would.
type eraser struct {
	p    float64
	rng  *rand.Rand
	side int // the window is side×side pixels
}

func newEraser(p float64, seed int64, epoch, side int) *eraser {
	return &eraser{p: p, rng: rand.New(rand.NewSource(seed*15485863 + int64(epoch)*7727 + 0x657261)), side: side}
}

// erase acts on one window of side×side pixels in [0,1], before
// normalisation; it reports whether it erased.
func (e *eraser) erase(x []float32) bool {
	if e.rng.Float64() >= e.p {
		return false
	}
	n := e.side
	area := float64(n * n)
	logMin, logMax := math.Log(eraseMinRatio), math.Log(1/eraseMinRatio)
	for range eraseAttempts {
		a := area * (eraseMinArea + (eraseMaxArea-eraseMinArea)*e.rng.Float64())
		r := math.Exp(logMin + (logMax-logMin)*e.rng.Float64())
		h := int(math.Round(math.Sqrt(a * r)))
		w := int(math.Round(math.Sqrt(a / r)))
		if h < 1 || w < 1 || h >= n || w >= n {
			continue
		}
		top, left := e.rng.Intn(n-h+1), e.rng.Intn(n-w+1)
		for y := top; y < top+h; y++ {
			row := x[y*n+left : y*n+left+w]
			for i := range row {
				row[i] = e.rng.Float32()
			}
		}
		return true
	}
	return false
}
