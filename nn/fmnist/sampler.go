package fmnist

import (
	"fmt"
	"image"
	"math"
	"math/rand"
)

// PatchSize is the side of a training patch; Sample writes PatchLen values.
const (
	PatchSize = Side
	PatchLen  = PatchSize * PatchSize
)

// SamplerConfig controls the mix of training patches. Start from
// DefaultSamplerConfig and change what you need; fractions are
// probabilities in [0,1], weights are relative and non-negative.
type SamplerConfig struct {
	// Positive is the fraction of samples that are centred dresses.
	Positive float64
	// Hard is the fraction of negatives drawn from the mined hard
	// negatives (see AddNegative), while there are any.
	Hard float64
	// HardCap is how many mined negatives are kept; once full, new ones
	// replace the oldest.
	HardCap int

	// Backgrounds: plain black as in the raw data with probability Black,
	// else a crop of a photo with probability Photo, else synthetic
	// clutter. Without photos, clutter replaces the photo crops.
	Black, Photo float64
	// Invert is the probability that a (non-black) background has its
	// brightness inverted.
	Invert float64

	// Relative weights of the kinds of negative: a centred item of one of
	// the other nine classes, a pure background, a dress shifted by at
	// least OffCentre pixels (partially visible), and a centred dress at a
	// scale well outside [ScaleMin, ScaleMax].
	NegOther, NegBackground, NegOffCentre, NegScale float64

	// Centred items are shifted by up to ±Shift pixels and scaled by a
	// factor in [ScaleMin, ScaleMax].
	Shift              int
	ScaleMin, ScaleMax float64
	// OffCentre is the smallest shift, in pixels along x or y, of an
	// off-centre dress; OffCentreMax the largest.
	OffCentre, OffCentreMax int
	// Gain multiplies the item colour: uniform in [GainMin, GainMax].
	GainMin, GainMax float64
	// Neighbour is the probability that a second item, shifted so that
	// at most a part of it shows, is pasted next to the main one.
	Neighbour float64
	// Contrast and brightness jitter of the whole patch: contrast in
	// [1-Contrast, 1+Contrast], brightness in [-Brightness, Brightness].
	Contrast, Brightness float64
	// Noise is the largest standard deviation of added Gaussian noise.
	Noise float64
}

// DefaultSamplerConfig returns the default patch mix: a third positives.
func DefaultSamplerConfig() SamplerConfig {
	return SamplerConfig{
		Positive: 1.0 / 3, Hard: 0.3, HardCap: 20000,
		Black: 0.15, Photo: 0.55, Invert: 0.2,
		NegOther: 0.45, NegBackground: 0.25, NegOffCentre: 0.2, NegScale: 0.1,
		Shift: 3, ScaleMin: 0.85, ScaleMax: 1.15,
		OffCentre: 10, OffCentreMax: 20,
		GainMin: 0.7, GainMax: 1.3,
		Neighbour: 0.15,
		Contrast:  0.3, Brightness: 0.15, Noise: 0.03,
	}
}

// Validate reports the first setting out of range.
func (c SamplerConfig) Validate() error {
	frac := func(name string, v float64) error {
		if !(v >= 0 && v <= 1) {
			return fmt.Errorf("fmnist: sampler config: %s = %v, want a fraction in [0,1]", name, v)
		}
		return nil
	}
	for _, f := range []struct {
		name string
		v    float64
	}{{"Positive", c.Positive}, {"Hard", c.Hard}, {"Black", c.Black}, {"Photo", c.Photo},
		{"Invert", c.Invert}, {"Neighbour", c.Neighbour}, {"Contrast", c.Contrast},
		{"Brightness", c.Brightness}, {"Noise", c.Noise}} {
		if err := frac(f.name, f.v); err != nil {
			return err
		}
	}
	if c.Black+c.Photo > 1 {
		return fmt.Errorf("fmnist: sampler config: Black + Photo = %v, want ≤ 1", c.Black+c.Photo)
	}
	ws := []float64{c.NegOther, c.NegBackground, c.NegOffCentre, c.NegScale}
	sum := 0.0
	for _, w := range ws {
		if !(w >= 0) || math.IsInf(w, 0) {
			return fmt.Errorf("fmnist: sampler config: negative weights %v must be finite and ≥ 0", ws)
		}
		sum += w
	}
	if sum == 0 && c.Positive < 1 {
		return fmt.Errorf("fmnist: sampler config: all negative weights are 0")
	}
	switch {
	case c.HardCap < 0:
		return fmt.Errorf("fmnist: sampler config: HardCap = %d, want ≥ 0", c.HardCap)
	case c.Shift < 0 || c.Shift >= c.OffCentre:
		return fmt.Errorf("fmnist: sampler config: Shift = %d, want in [0, OffCentre=%d)", c.Shift, c.OffCentre)
	case c.OffCentreMax < c.OffCentre || c.OffCentreMax > 2*PatchSize:
		return fmt.Errorf("fmnist: sampler config: OffCentre range [%d,%d] invalid (max ≤ %d)", c.OffCentre, c.OffCentreMax, 2*PatchSize)
	case !(c.ScaleMin > 0.25 && c.ScaleMin <= c.ScaleMax && c.ScaleMax < 1.6):
		return fmt.Errorf("fmnist: sampler config: scale range [%v,%v], want 0.25 < min ≤ max < 1.6", c.ScaleMin, c.ScaleMax)
	case !(c.GainMin > 0 && c.GainMin <= c.GainMax && c.GainMax <= 4):
		return fmt.Errorf("fmnist: sampler config: gain range [%v,%v], want 0 < min ≤ max ≤ 4", c.GainMin, c.GainMax)
	}
	return nil
}

// Sampler makes 28×28 training patches for a dress-vs-rest classifier,
// deterministically for a given seed and sequence of calls. It is not safe
// for concurrent use.
type Sampler struct {
	cfg     SamplerConfig
	rng     *rand.Rand
	items   *Set
	dresses []int // indices of dresses in items
	others  []int // indices of the other classes
	photos  []*image.Gray
	hard    [][]float32
	hardPos int // next slot to replace once hard is full
	c       canvas
}

// NewSampler returns a sampler with DefaultSamplerConfig. Photos are
// backgrounds for training (never the evaluation photos); without any,
// synthetic clutter is used. It never fails: if items holds no dresses,
// Sample makes only negatives, and without items only backgrounds; use
// NewSamplerWith for checked construction.
func NewSampler(items *Set, photos []*image.Gray, seed int64) *Sampler {
	return newSampler(items, photos, seed, DefaultSamplerConfig())
}

// NewSamplerWith returns a sampler with the given configuration, after
// checking it and that items holds both dresses and other garments.
func NewSamplerWith(items *Set, photos []*image.Gray, seed int64, cfg SamplerConfig) (*Sampler, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if items == nil || items.Rows < 1 || items.Cols < 1 {
		return nil, fmt.Errorf("fmnist: sampler: no items")
	}
	for i, p := range photos {
		if p == nil || p.Rect.Dx() < 1 || p.Rect.Dy() < 1 {
			return nil, fmt.Errorf("fmnist: sampler: photo %d is empty", i)
		}
	}
	s := newSampler(items, photos, seed, cfg)
	if len(s.dresses) == 0 || len(s.others) == 0 {
		return nil, fmt.Errorf("fmnist: sampler: items hold %d dresses and %d other garments, want some of each", len(s.dresses), len(s.others))
	}
	return s, nil
}

func newSampler(items *Set, photos []*image.Gray, seed int64, cfg SamplerConfig) *Sampler {
	s := &Sampler{cfg: cfg, rng: rand.New(rand.NewSource(seed)),
		c: canvas{pix: make([]float32, PatchLen), w: PatchSize, h: PatchSize}}
	if items != nil && items.Rows > 0 && items.Cols > 0 {
		s.items = items
		n := min(len(items.Images), len(items.Labels))
		for i := 0; i < n; i++ {
			if len(items.Images[i]) != items.Rows*items.Cols {
				continue
			}
			if items.Labels[i] == Dress {
				s.dresses = append(s.dresses, i)
			} else {
				s.others = append(s.others, i)
			}
		}
	}
	for _, p := range photos {
		if p != nil && p.Rect.Dx() > 0 && p.Rect.Dy() > 0 {
			s.photos = append(s.photos, Gray(p))
		}
	}
	return s
}

// Config returns the sampler's configuration.
func (s *Sampler) Config() SamplerConfig { return s.cfg }

// HardNegatives is how many mined negatives the sampler holds.
func (s *Sampler) HardNegatives() int { return len(s.hard) }

// AddNegative stores a copy of a PatchLen-value patch (values in [0,1])
// that the current model wrongly scores as a dress; later samples mix such
// patches in as negatives (see SamplerConfig.Hard).
func (s *Sampler) AddNegative(patch []float32) error {
	if len(patch) != PatchLen {
		return fmt.Errorf("fmnist: hard negative has %d values, want %d", len(patch), PatchLen)
	}
	if s.cfg.HardCap == 0 {
		return nil
	}
	p := make([]float32, PatchLen)
	for i, v := range patch {
		p[i] = clamp01(v)
	}
	if len(s.hard) < s.cfg.HardCap {
		s.hard = append(s.hard, p)
		return nil
	}
	s.hard[s.hardPos] = p
	s.hardPos = (s.hardPos + 1) % s.cfg.HardCap
	return nil
}

// Sample writes one PatchSize×PatchSize patch, row-major with values in
// [0,1], to dst[:PatchLen] and returns its label: 1 for a centred dress,
// 0 otherwise. If dst is shorter than PatchLen nothing is written and the
// label is -1.
func (s *Sampler) Sample(dst []float32) (label int) {
	if len(dst) < PatchLen {
		return -1
	}
	cfg := &s.cfg
	positive := len(s.dresses) > 0 && s.rng.Float64() < cfg.Positive
	if !positive && len(s.hard) > 0 && s.rng.Float64() < cfg.Hard {
		h := s.hard[s.rng.Intn(len(s.hard))]
		if s.rng.Intn(2) == 0 {
			copy(dst, h)
		} else {
			for y := 0; y < PatchSize; y++ {
				for x := 0; x < PatchSize; x++ {
					dst[y*PatchSize+x] = h[y*PatchSize+PatchSize-1-x]
				}
			}
		}
		return 0
	}

	s.background()
	if s.rng.Float64() < cfg.Neighbour {
		s.neighbour()
	}
	switch {
	case positive:
		s.pasteItem(s.dresses, s.centredShift(), uniform(s.rng, cfg.ScaleMin, cfg.ScaleMax))
		label = 1
	default:
		s.negative()
	}
	contrast := uniform(s.rng, 1-cfg.Contrast, 1+cfg.Contrast)
	brightness := uniform(s.rng, -cfg.Brightness, cfg.Brightness)
	sigma := 0.0
	if s.rng.Intn(2) == 0 {
		sigma = cfg.Noise * s.rng.Float64()
	}
	s.c.jitter(s.rng, contrast, brightness, sigma)
	copy(dst, s.c.pix)
	return label
}

// negative paints the foreground of a negative sample onto the background.
func (s *Sampler) negative() {
	cfg := &s.cfg
	wOther, wOff, wScale := cfg.NegOther, cfg.NegOffCentre, cfg.NegScale
	if len(s.others) == 0 {
		wOther = 0
	}
	if len(s.dresses) == 0 {
		wOff, wScale = 0, 0
	}
	total := wOther + cfg.NegBackground + wOff + wScale
	if total <= 0 {
		return // pure background
	}
	r := s.rng.Float64() * total
	switch {
	case r < wOther:
		s.pasteItem(s.others, s.centredShift(), uniform(s.rng, cfg.ScaleMin, cfg.ScaleMax))
	case r < wOther+wOff:
		s.pasteItem(s.dresses, s.offShift(cfg.OffCentre, cfg.OffCentreMax), uniform(s.rng, cfg.ScaleMin, cfg.ScaleMax))
	case r < wOther+wOff+wScale:
		var k float64
		if s.rng.Intn(2) == 0 {
			k = uniform(s.rng, 0.45, 0.6)
		} else {
			k = uniform(s.rng, 1.75, 2.3)
		}
		s.pasteItem(s.dresses, s.centredShift(), k)
	default:
		// pure background
	}
}

// neighbour pastes a random item far enough off-centre that at most a
// part of it shows.
func (s *Sampler) neighbour() {
	pool := s.others
	if len(s.dresses) > 0 && (len(pool) == 0 || s.rng.Intn(3) == 0) {
		pool = s.dresses
	}
	lo := max(s.cfg.OffCentreMax, PatchSize*2/3)
	s.pasteItem(pool, s.offShift(lo, lo+PatchSize/3), uniform(s.rng, s.cfg.ScaleMin, s.cfg.ScaleMax))
}

func (s *Sampler) centredShift() [2]float64 {
	n := s.cfg.Shift
	return [2]float64{float64(s.rng.Intn(2*n+1) - n), float64(s.rng.Intn(2*n+1) - n)}
}

// offShift returns a shift with max(|dx|,|dy|) in [lo, hi].
func (s *Sampler) offShift(lo, hi int) [2]float64 {
	far := lo + s.rng.Intn(hi-lo+1)
	near := s.rng.Intn(2*hi+1) - hi
	if s.rng.Intn(2) == 0 {
		far = -far
	}
	if s.rng.Intn(2) == 0 {
		return [2]float64{float64(far), float64(near)}
	}
	return [2]float64{float64(near), float64(far)}
}

// pasteItem pastes a random item from pool, shifted from the patch centre
// and scaled.
func (s *Sampler) pasteItem(pool []int, shift [2]float64, scale float64) {
	if len(pool) == 0 {
		return
	}
	i := pool[s.rng.Intn(len(pool))]
	gain := uniform(s.rng, s.cfg.GainMin, s.cfg.GainMax)
	flip := s.rng.Intn(2) == 0
	s.c.paste(s.items.Images[i], s.items.Rows, s.items.Cols,
		PatchSize/2+shift[0], PatchSize/2+shift[1], scale*PatchSize/float64(max(s.items.Rows, s.items.Cols)), flip, gain)
}

// background fills the canvas with black, a photo crop or clutter.
func (s *Sampler) background() {
	r := s.rng.Float64()
	switch {
	case r < s.cfg.Black:
		clear(s.c.pix)
		return
	case r < s.cfg.Black+s.cfg.Photo && len(s.photos) > 0:
		s.photoCrop()
	default:
		s.c.fillClutter(s.rng, PatchSize)
	}
	if s.rng.Float64() < s.cfg.Invert {
		s.c.invert()
	}
}

// photoCrop fills the canvas with a random square crop of a random photo,
// seen at a random scale (0.5 to 3 photo pixels per patch pixel, as far as
// the photo is large enough).
func (s *Sampler) photoCrop() {
	p := s.photos[s.rng.Intn(len(s.photos))]
	w, h := float64(p.Rect.Dx()), float64(p.Rect.Dy())
	maxStep := min(3, min(w, h)/PatchSize)
	step := 0.5
	if maxStep > 0.5 {
		step = math.Exp(uniform(s.rng, math.Log(0.5), math.Log(maxStep)))
	}
	side := step * PatchSize
	ox := uniform(s.rng, 0, max(0, w-side))
	oy := uniform(s.rng, 0, max(0, h-side))
	s.c.fillPhoto(p, ox, oy, step, s.rng.Intn(2) == 0)
}
