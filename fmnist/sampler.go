package fmnist

import (
	"fmt"
	"image"
	"math"
	"math/rand"
	"slices"
)

// PatchSize is the side of a training patch unless SceneCrops.Side says
// otherwise; Sample then writes PatchLen values.
const (
	PatchSize = Side
	PatchLen  = PatchSize * PatchSize
	// MaxPatchSide bounds SceneCrops.Side.
	MaxPatchSide = 4 * PatchSize
)

// SamplerConfig controls the training patches, in five parts: what kind
// of sample is drawn (Mix), how often mined examples replace painted ones
// (Mined), what the item is painted on (Background), where and how large
// items sit (Place), and the photometric jitter (Jitter). Start from
// DefaultSamplerConfig and change what you need; fractions are
// probabilities in [0,1], weights are relative and non-negative.
type SamplerConfig struct {
	Mix        SampleMix
	Mined      MinedMix
	Background Backgrounds
	Place      Placement
	Jitter     Jitter
	Crops      SceneCrops `json:",omitzero"`
}

// SampleMix is the share of positives and the kinds of negative.
type SampleMix struct {
	// Positive is the fraction of samples that are centred dresses.
	Positive float64
	// Relative weights of the kinds of negative: a centred item of one of
	// the other nine classes, a pure background, a dress shifted by at
	// least Place.OffCentre pixels (partially visible), and a centred
	// dress at a scale well outside [Place.ScaleMin, Place.ScaleMax].
	NegOther, NegBackground, NegOffCentre, NegScale float64
	// NegClass weighs the classes of the other-garment negatives (NegOther)
	// relative to each other, e.g. more shirts, coats, pullovers and tops,
	// which look most like a dress. All zero (the default) draws items
	// uniformly, so classes come in proportion to their item counts. The
	// Dress entry must be 0; classes without items are skipped.
	NegClass [NumClasses]float64 `json:",omitempty"`
	// Raw is the fraction of painted samples that are an item exactly as
	// the data holds it, the way classifiers are scored on t10k: its
	// pixels /255 on black, unshifted, unscaled and without jitter,
	// mirrored half the time. A positive is a dress; a negative an other
	// garment, by NegClass. Pasting with intensity as alpha dims an item's
	// faint edges, so painted samples on black are not raw. Items must be
	// PatchSize square.
	Raw float64 `json:",omitempty"`
	// SceneCrop is the fraction of samples cut from whole painted scenes
	// as SamplerConfig.Crops says (see SceneCropper), labelled by the
	// item they frame: the training data of a verifier. They come before
	// every other kind, with their scenes' own class mix (a third of the
	// items are dresses), mirrored half the time and not jittered.
	SceneCrop float64 `json:",omitempty"`
}

// Confusable are the classes a dress detector confuses most: T-shirt/top,
// pullover, coat and shirt.
var Confusable = []int{0, 2, 4, 6}

// ConfusableWeights is a NegClass that draws each confusable class w times
// as often as each other non-dress class.
func ConfusableWeights(w float64) [NumClasses]float64 {
	var c [NumClasses]float64
	for i := range c {
		if i != Dress {
			c[i] = 1
		}
	}
	for _, i := range Confusable {
		c[i] = w
	}
	return c
}

// MinedMix says how mined examples (see Sampler.AddNegative and
// AddPositive) join the painted ones.
type MinedMix struct {
	// Negative is the fraction of negatives drawn from the mined hard
	// negatives, while there are any.
	Negative float64
	// Positive is the fraction of positives drawn from the mined hard
	// positives, while there are any.
	Positive float64
	// Cap is how many mined negatives are kept; once full, new ones
	// replace the oldest. The same cap applies to mined positives.
	Cap int
}

// Backgrounds say what items are painted on, and at what resolution.
type Backgrounds struct {
	// Plain black as in the raw data with probability Black, else a crop
	// of a photo with probability Photo, else synthetic clutter. Without
	// photos, clutter replaces the photo crops.
	Black, Photo float64
	// Invert is the probability that a (non-black) background has its
	// brightness inverted.
	Invert float64
	// Leaves is the probability that a synthetic background is a
	// dead-leaves image (occluding shapes with power-law sizes) rather
	// than additive clutter.
	Leaves float64
	// Print is the probability that a background other than black is
	// synthetic print (lines of random words in the Go fonts, see
	// Print) instead of a photo crop or another synthetic background.
	Print float64
	// PrintBlocky is the share of those print backgrounds drawn binarised,
	// with stepped edges (see BlockyPrint), as thresholded scans show print.
	PrintBlocky float64
	// PhotoVary is the probability that a photo crop is varied: turned by
	// 90° (with the random mirror, any of the eight orientations) and
	// given a gamma in [0.5, 2], so a few photographs show more kinds of
	// texture and edge.
	PhotoVary float64
	// Scene is the probability that a sample on a photo or clutter
	// background is rendered as in a scene: at a magnification k in
	// [SceneMinScale, SceneMaxScale] (the item pasted at 28k px on a
	// 28k px background with the scenes' photo resolution), then brought
	// back to 28 px with the detector's linear resampling. This is the
	// domain the detector sees; k = 1 samples are sharper.
	Scene float64
}

// Placement says where items sit in the patch and how large they are.
type Placement struct {
	// Centred items are shifted by up to ±Shift pixels and scaled by a
	// factor in [ScaleMin, ScaleMax].
	Shift              int
	ScaleMin, ScaleMax float64
	// OffCentre is the smallest shift, in pixels along x or y, of an
	// off-centre dress; OffCentreMax the largest.
	OffCentre, OffCentreMax int
	// OffCentreIoU, when > 0, defines off-centre dresses by overlap
	// instead: any shift up to OffCentreMax on each axis whose window has
	// IoU below OffCentreIoU with the centred window, so diagonal shifts
	// (7 px right and 7 down: IoU 0.39) are negatives too. Keep it below
	// the 0.5 a detection needs to match, so near misses are taught as
	// misses.
	OffCentreIoU float64
	// ScaleIoU, when > 0, defines wrong-scale dresses by overlap too: a
	// dress 0.4× to 2.5× the window, placed so that it holds the window or
	// the window holds it, whose box has IoU below ScaleIoU with the
	// window. A window on the middle of a dress 1.5× its size (IoU 0.44)
	// is then a negative, as detection scoring counts it; without it only
	// centred dresses at 0.45–0.6× and 1.75–2.3× are.
	ScaleIoU float64
	// Neighbour is the probability that a second item, shifted so that
	// at most a part of it shows, is pasted next to the main one.
	Neighbour float64
}

// Jitter is the photometric variation of items and patches.
type Jitter struct {
	// Gain multiplies the item colour: uniform in [GainMin, GainMax].
	GainMin, GainMax float64
	// Contrast and brightness jitter of the whole patch: contrast in
	// [1-Contrast, 1+Contrast], brightness in [-Brightness, Brightness].
	Contrast, Brightness float64
	// Noise is the largest standard deviation of added Gaussian noise.
	Noise float64
}

// DefaultSamplerConfig returns the default patch mix: a third positives.
func DefaultSamplerConfig() SamplerConfig {
	return SamplerConfig{
		Mix:        SampleMix{Positive: 1.0 / 3, NegOther: 0.45, NegBackground: 0.25, NegOffCentre: 0.2, NegScale: 0.1},
		Mined:      MinedMix{Negative: 0.3, Cap: 20000},
		Background: Backgrounds{Black: 0.15, Photo: 0.55, Invert: 0.2},
		Place:      Placement{Shift: 3, ScaleMin: 0.85, ScaleMax: 1.15, OffCentre: 10, OffCentreMax: 20, Neighbour: 0.15},
		Jitter:     Jitter{GainMin: 0.7, GainMax: 1.3, Contrast: 0.3, Brightness: 0.15, Noise: 0.03},
		Crops:      SceneCrops{Shift: 0.05, Scale: 0.12, Background: 1},
	}
}

// ConfigError is a SamplerConfig setting out of range.
type ConfigError struct {
	// Field is the setting at fault, as a path in SamplerConfig
	// ("Background.Scene"); of two settings that clash, the second.
	Field string
	msg   string
}

func (e *ConfigError) Error() string { return "fmnist: sampler config: " + e.msg }

func configErr(field, format string, a ...any) error {
	return &ConfigError{Field: field, msg: fmt.Sprintf(format, a...)}
}

// Validate reports the first setting out of range, as a *ConfigError.
func (c SamplerConfig) Validate() error {
	for _, f := range []struct {
		name string
		v    float64
	}{{"Mix.Positive", c.Mix.Positive}, {"Mix.Raw", c.Mix.Raw}, {"Mix.SceneCrop", c.Mix.SceneCrop}, {"Mined.Negative", c.Mined.Negative}, {"Background.Black", c.Background.Black}, {"Background.Photo", c.Background.Photo},
		{"Background.Invert", c.Background.Invert}, {"Background.Leaves", c.Background.Leaves}, {"Background.Print", c.Background.Print}, {"Background.PrintBlocky", c.Background.PrintBlocky},
		{"Background.PhotoVary", c.Background.PhotoVary}, {"Background.Scene", c.Background.Scene}, {"Place.OffCentreIoU", c.Place.OffCentreIoU}, {"Place.ScaleIoU", c.Place.ScaleIoU},
		{"Mined.Positive", c.Mined.Positive}, {"Place.Neighbour", c.Place.Neighbour}, {"Jitter.Contrast", c.Jitter.Contrast},
		{"Jitter.Brightness", c.Jitter.Brightness}, {"Jitter.Noise", c.Jitter.Noise}} {
		if !(f.v >= 0 && f.v <= 1) {
			return configErr(f.name, "%s = %v, want a fraction in [0,1]", f.name, f.v)
		}
	}
	if c.Background.Black+c.Background.Photo > 1 {
		return configErr("Background.Photo", "Background: Black + Photo = %v, want ≤ 1", c.Background.Black+c.Background.Photo)
	}
	sum := 0.0
	for _, w := range []struct {
		name string
		v    float64
	}{{"Mix.NegOther", c.Mix.NegOther}, {"Mix.NegBackground", c.Mix.NegBackground}, {"Mix.NegOffCentre", c.Mix.NegOffCentre}, {"Mix.NegScale", c.Mix.NegScale}} {
		if !(w.v >= 0) || math.IsInf(w.v, 0) {
			return configErr(w.name, "%s = %v, want a finite weight ≥ 0", w.name, w.v)
		}
		sum += w.v
	}
	for k, w := range c.Mix.NegClass {
		switch {
		case !(w >= 0) || math.IsInf(w, 0):
			return configErr("Mix.NegClass", "Mix.NegClass[%d] (%s) = %v, want a finite weight ≥ 0", k, ClassNames[k], w)
		case k == Dress && w != 0:
			return configErr("Mix.NegClass", "Mix.NegClass[%d] (%s) = %v, want 0: a centred dress is no negative", k, ClassNames[k], w)
		}
	}
	if sum == 0 && c.Mix.Positive < 1 {
		return configErr("Mix.NegScale", "all negative weights Mix.Neg* are 0 and Mix.Positive < 1")
	}
	switch {
	case c.Mined.Cap < 0:
		return configErr("Mined.Cap", "Mined.Cap = %d, want ≥ 0", c.Mined.Cap)
	case c.Place.Shift < 0 || c.Place.Shift >= c.Place.OffCentre:
		return configErr("Place.Shift", "Place.Shift = %d, want in [0, Place.OffCentre=%d)", c.Place.Shift, c.Place.OffCentre)
	case c.Place.OffCentreMax < c.Place.OffCentre || c.Place.OffCentreMax > 2*PatchSize:
		return configErr("Place.OffCentreMax", "Place.OffCentre range [%d,%d] invalid (max ≤ %d)", c.Place.OffCentre, c.Place.OffCentreMax, 2*PatchSize)
	case !(c.Place.ScaleMin > 0.25 && c.Place.ScaleMin <= c.Place.ScaleMax && c.Place.ScaleMax < 1.6):
		return configErr("Place.ScaleMax", "Place.ScaleMin..ScaleMax range [%v,%v], want 0.25 < min ≤ max < 1.6", c.Place.ScaleMin, c.Place.ScaleMax)
	case c.Place.ScaleIoU != 0 && c.Place.ScaleIoU < 0.2:
		// 0.4× and 2.5× nested overlap the window by 0.16, so lower
		// bounds cannot be met.
		return configErr("Place.ScaleIoU", "Place.ScaleIoU = %v, want 0 (off) or in [0.2, 1]", c.Place.ScaleIoU)
	case !(c.Crops.Shift >= 0 && c.Crops.Shift <= 0.5):
		return configErr("Crops.Shift", "Crops.Shift = %v, want in [0, 0.5] (of the box side)", c.Crops.Shift)
	case !(c.Crops.Scale >= 0 && c.Crops.Scale <= 1):
		return configErr("Crops.Scale", "Crops.Scale = %v, want in [0, 1] (std of the log scale)", c.Crops.Scale)
	case c.Crops.Background < 0 || c.Crops.Background > 10:
		return configErr("Crops.Background", "Crops.Background = %d, want 0 to 10 boxes per item", c.Crops.Background)
	case c.Crops.Partial < 0 || c.Crops.Partial > 10:
		return configErr("Crops.Partial", "Crops.Partial = %d, want 0 to 10 boxes per item", c.Crops.Partial)
	case !(c.Crops.Confusable >= 0 && c.Crops.Confusable <= 1):
		return configErr("Crops.Confusable", "Crops.Confusable = %v, want in [0, 1] (a share of scenes)", c.Crops.Confusable)
	case !(c.Crops.Dark >= 0 && c.Crops.Dark <= 1):
		return configErr("Crops.Dark", "Crops.Dark = %v, want in [0, 1] (a share of scenes)", c.Crops.Dark)
	case !(c.Crops.Print >= 0 && c.Crops.Print <= 1):
		return configErr("Crops.Print", "Crops.Print = %v, want in [0, 1] (a share of scenes)", c.Crops.Print)
	case c.Crops.Side != 0 && (c.Crops.Side < PatchSize || c.Crops.Side > MaxPatchSide):
		return configErr("Crops.Side", "Crops.Side = %d, want 0 or in [%d, %d] pixels", c.Crops.Side, PatchSize, MaxPatchSide)
	case c.PatchSide() != PatchSize && c.Mix.SceneCrop < 1 && c.Mix.Raw < 1:
		// The painted patches (background, pasted item, jitter) are
		// drawn at 28 pixels only.
		return configErr("Crops.Side", "Crops.Side = %d needs Mix.Raw 1 or Mix.SceneCrop 1, not %v and %v: only scene crops, raw items and mined windows are cut at another side", c.Crops.Side, c.Mix.Raw, c.Mix.SceneCrop)
	case c.Crops.Context != 0 && !(c.Crops.Context >= 1 && c.Crops.Context <= MaxSceneScale):
		return configErr("Crops.Context", "Crops.Context = %v, want 0 or in [1, %d] (the window's side over the box's)", c.Crops.Context, MaxSceneScale)
	case !(c.Jitter.GainMin > 0 && c.Jitter.GainMin <= c.Jitter.GainMax && c.Jitter.GainMax <= 4):
		return configErr("Jitter.GainMax", "Jitter.GainMin..GainMax range [%v,%v], want 0 < min ≤ max ≤ 4", c.Jitter.GainMin, c.Jitter.GainMax)
	}
	return nil
}

// PatchSide is the side of the sampler's patches: Crops.Side, or
// PatchSize when that is 0.
func (c SamplerConfig) PatchSide() int {
	if c.Crops.Side > 0 {
		return c.Crops.Side
	}
	return PatchSize
}

// Sampler makes training patches (PatchSize square unless
// SamplerConfig.PatchSide says otherwise) for a dress-vs-rest classifier,
// deterministically for a given seed and sequence of calls. It is not safe
// for concurrent use.
type Sampler struct {
	cfg     SamplerConfig
	rng     *rand.Rand
	items   *Set
	dresses []int // indices of dresses in items
	others  []int // indices of the other classes
	// byClass holds others by class, and classCum the running sum of
	// Mix.NegClass over the classes that have items; nil when unweighted.
	byClass  [NumClasses][]int
	classCum []float64
	photos   []*image.Gray
	hard     [][]float32 // mined negatives
	hardPos  int         // next slot to replace once hard is full
	pos      [][]float32 // mined positives
	posNext  int         // next slot to replace once pos is full
	// raw are items as Mix.Raw shows them: items itself, or in a black
	// margin of Crops.Context, in the patch's window (Set.InWindow).
	raw *Set
	// cropper cuts Mix.SceneCrop's samples, queued a scene at a time.
	cropper *SceneCropper
	crops   []Crop
	// side is every patch's side (SamplerConfig.PatchSide), n its values.
	side, n int

	// c is the 28×28 painted patch. A scene-style sample is painted on big (28k
	// px square, k = mag) and resampled into c; cur is the one being
	// painted.
	c, big canvas
	cur    *canvas
	mag    float64

	// scale is the size of the last patch's dress relative to the
	// window when it was a painted positive, else 1 (see DressScale).
	scale float64
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
	if cfg.Mix.Raw > 0 && (items.Rows != PatchSize || items.Cols != PatchSize) {
		return nil, configErr("Mix.Raw", "Mix.Raw = %v needs %d×%d items, these are %d×%d", cfg.Mix.Raw, PatchSize, PatchSize, items.Rows, items.Cols)
	}
	s := newSampler(items, photos, seed, cfg)
	if len(s.dresses) == 0 || len(s.others) == 0 {
		return nil, fmt.Errorf("fmnist: sampler: items hold %d dresses and %d other garments, want some of each", len(s.dresses), len(s.others))
	}
	return s, nil
}

func newSampler(items *Set, photos []*image.Gray, seed int64, cfg SamplerConfig) *Sampler {
	s := &Sampler{cfg: cfg, rng: rand.New(rand.NewSource(seed)), scale: 1, side: cfg.PatchSide(),
		c:   canvas{pix: make([]float32, PatchLen), w: PatchSize, h: PatchSize},
		big: canvas{pix: make([]float32, bigSide*bigSide)}}
	s.n = s.side * s.side
	s.cur, s.mag = &s.c, 1
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
				s.byClass[items.Labels[i]] = append(s.byClass[items.Labels[i]], i)
			}
		}
	}
	total := 0.0
	cum := make([]float64, NumClasses)
	for k, w := range cfg.Mix.NegClass {
		if len(s.byClass[k]) > 0 && w > 0 {
			total += w
		}
		cum[k] = total
	}
	if total > 0 {
		s.classCum = cum
	}
	for _, p := range photos {
		if p != nil && p.Rect.Dx() > 0 && p.Rect.Dy() > 0 {
			s.photos = append(s.photos, Gray(p))
		}
	}
	if cfg.Mix.SceneCrop > 0 && s.items != nil {
		s.cropper = NewSceneCropper(s.rng, s.items, s.photos, cfg.Crops)
	}
	s.raw = s.items
	if cfg.Mix.Raw > 0 && s.items != nil {
		if raw, err := s.items.InWindow(cfg.Crops.Context, s.side); err == nil { // else Validate's error
			s.raw = raw
		}
	}
	return s
}

// Side is the side of the sampler's patches; each holds Side² values.
func (s *Sampler) Side() int { return s.side }

// Config returns the sampler's configuration.
func (s *Sampler) Config() SamplerConfig { return s.cfg }

// HardNegatives is how many mined negatives the sampler holds.
func (s *Sampler) HardNegatives() int { return len(s.hard) }

// HardPositives is how many mined positives the sampler holds.
func (s *Sampler) HardPositives() int { return len(s.pos) }

// AddPositive stores a copy of a Side²-value patch (values in [0,1])
// showing a dress that the current model misses; later samples mix such
// patches in as positives (see MinedMix.Positive).
func (s *Sampler) AddPositive(patch []float32) error {
	if len(patch) != s.n {
		return fmt.Errorf("fmnist: hard positive has %d values, want %d", len(patch), s.n)
	}
	s.pos, s.posNext = addCapped(s.pos, s.posNext, patch, s.cfg.Mined.Cap)
	return nil
}

// addCapped appends a clamped copy of patch to pool, or once pool holds
// limit patches replaces the one at next; it returns the new pool and
// next.
func addCapped(pool [][]float32, next int, patch []float32, limit int) ([][]float32, int) {
	if limit == 0 {
		return pool, next
	}
	p := make([]float32, len(patch))
	for i, v := range patch {
		p[i] = clamp01(v)
	}
	if len(pool) < limit {
		return append(pool, p), next
	}
	pool[next] = p
	return pool, (next + 1) % limit
}

// AddNegative stores a copy of a Side²-value patch (values in [0,1])
// that the current model wrongly scores as a dress; later samples mix such
// patches in as negatives (see MinedMix.Negative).
func (s *Sampler) AddNegative(patch []float32) error {
	if len(patch) != s.n {
		return fmt.Errorf("fmnist: hard negative has %d values, want %d", len(patch), s.n)
	}
	s.hard, s.hardPos = addCapped(s.hard, s.hardPos, patch, s.cfg.Mined.Cap)
	return nil
}

// NoItem is the class SampleClass gives a patch that frames no item:
// a background, a dress off centre or at the wrong scale, or a mined
// negative. It follows the ten Fashion-MNIST classes.
const NoItem = NumClasses

// Sample writes one Side×Side patch, row-major with values in [0,1], to
// dst[:Side²] and returns its label: 1 for a centred dress, 0 otherwise.
// If dst is shorter than Side² nothing is written and the label is -1.
func (s *Sampler) Sample(dst []float32) (label int) {
	switch c := s.SampleClass(dst); c {
	case -1:
		return -1
	case Dress:
		return 1
	}
	return 0
}

// DressScale is the size, relative to the window, at which the last
// patch drawn holds its dress when it was a painted positive (in
// [Place.ScaleMin, Place.ScaleMax]); 1 for every other patch, raw and
// mined positives included.
func (s *Sampler) DressScale() float64 { return s.scale }

// SampleClass is Sample with the class of the patch instead of its label:
// the Fashion-MNIST class of the item the patch frames, or NoItem. It
// draws the same patches from the same random stream as Sample.
func (s *Sampler) SampleClass(dst []float32) (class int) {
	if len(dst) < s.n {
		return -1
	}
	cfg := &s.cfg
	s.scale = 1
	// Only draw when SceneCrop is set, so the random stream (and the
	// models trained on it) stay as they were before it existed.
	if cfg.Mix.SceneCrop > 0 && s.rng.Float64() < cfg.Mix.SceneCrop {
		if c := s.sceneCrop(dst); c >= 0 {
			return c
		}
	}
	positive := len(s.dresses) > 0 && s.rng.Float64() < cfg.Mix.Positive
	if positive && len(s.pos) > 0 && s.rng.Float64() < cfg.Mined.Positive {
		s.copyMined(dst, s.pos)
		return Dress
	}
	if !positive && len(s.hard) > 0 && s.rng.Float64() < cfg.Mined.Negative {
		s.copyMined(dst, s.hard)
		return NoItem
	}
	// Only draw when Raw is set, so the random stream (and the models
	// trained on it) stay as they were before Raw existed.
	if cfg.Mix.Raw > 0 && s.rng.Float64() < cfg.Mix.Raw {
		if c := s.rawItem(dst, positive); c >= 0 {
			return c
		}
	}

	s.background()
	if s.rng.Float64() < cfg.Place.Neighbour {
		s.neighbour()
	}
	switch {
	case positive:
		shift := s.centredShift() // drawn before the scale, as always
		s.scale = uniform(s.rng, cfg.Place.ScaleMin, cfg.Place.ScaleMax)
		s.pasteItem(s.dresses, shift, s.scale)
		class = Dress
	default:
		class = s.negative()
	}
	s.resample()
	contrast := uniform(s.rng, 1-cfg.Jitter.Contrast, 1+cfg.Jitter.Contrast)
	brightness := uniform(s.rng, -cfg.Jitter.Brightness, cfg.Jitter.Brightness)
	sigma := 0.0
	if s.rng.Intn(2) == 0 {
		sigma = cfg.Jitter.Noise * s.rng.Float64()
	}
	s.c.jitter(s.rng, contrast, brightness, sigma)
	copy(dst, s.c.pix)
	return class
}

// sceneCrop writes the next scene crop to dst, mirrored half of the time,
// and returns its class; -1 when the scenes hold no items.
func (s *Sampler) sceneCrop(dst []float32) int {
	if len(s.crops) == 0 && s.cropper != nil {
		s.crops, _ = s.cropper.Scene()
	}
	if len(s.crops) == 0 {
		return -1
	}
	c := s.crops[0]
	s.crops = s.crops[1:]
	for i, v := range c.Pix {
		dst[i] = float32(v) / 255
	}
	if s.rng.Intn(2) == 0 {
		mirrorRows(dst[:s.n], s.side)
	}
	return c.Class
}

// copyMined copies a random mined patch from pool to dst, mirrored half
// of the time.
func (s *Sampler) copyMined(dst []float32, pool [][]float32) {
	h := pool[s.rng.Intn(len(pool))]
	copy(dst, h)
	if s.rng.Intn(2) != 0 {
		mirrorRows(dst[:s.n], s.side)
	}
}

// mirrorRows mirrors a side×side patch left to right in place.
func mirrorRows(p []float32, side int) {
	for y := 0; y < side; y++ {
		slices.Reverse(p[y*side : (y+1)*side])
	}
}

// rawItem writes a raw item to dst (see SampleMix.Raw), a dress if
// positive, and returns its class; -1 (nothing written) when the pool is
// empty or the items are not PatchSize square.
func (s *Sampler) rawItem(dst []float32, positive bool) int {
	pool := s.dresses
	if !positive {
		pool = s.otherPool()
	}
	if len(pool) == 0 || s.items.Rows != PatchSize || s.items.Cols != PatchSize {
		return -1
	}
	i := pool[s.rng.Intn(len(pool))]
	s.raw.Unit(dst, i)
	if s.rng.Intn(2) == 0 {
		mirrorRows(dst[:s.n], s.side)
	}
	return int(s.items.Labels[i])
}

// negative paints the foreground of a negative sample onto the background
// and returns its class (see SampleClass).
func (s *Sampler) negative() int {
	cfg := &s.cfg
	wOther, wOff, wScale := cfg.Mix.NegOther, cfg.Mix.NegOffCentre, cfg.Mix.NegScale
	if len(s.others) == 0 {
		wOther = 0
	}
	if len(s.dresses) == 0 {
		wOff, wScale = 0, 0
	}
	total := wOther + cfg.Mix.NegBackground + wOff + wScale
	if total <= 0 {
		return NoItem // pure background
	}
	r := s.rng.Float64() * total
	switch {
	case r < wOther:
		if i := s.pasteItem(s.otherPool(), s.centredShift(), uniform(s.rng, cfg.Place.ScaleMin, cfg.Place.ScaleMax)); i >= 0 {
			return int(s.items.Labels[i])
		}
	case r < wOther+wOff:
		s.pasteItem(s.dresses, s.offCentreShift(), uniform(s.rng, cfg.Place.ScaleMin, cfg.Place.ScaleMax))
	case r < wOther+wOff+wScale && cfg.Place.ScaleIoU > 0:
		k, shift := s.nestedScale()
		s.pasteItem(s.dresses, shift, k)
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
	return NoItem
}

// otherPool is the pool an other-garment negative comes from: one class's
// items, the class drawn by Mix.NegClass; or, unweighted, all other items
// without drawing a random number, so the random stream (and the models
// trained on it) stay as they were before the weights existed.
func (s *Sampler) otherPool() []int {
	if s.classCum == nil {
		return s.others
	}
	r := s.rng.Float64() * s.classCum[NumClasses-1]
	for k, c := range s.classCum {
		if r < c {
			return s.byClass[k]
		}
	}
	return s.others // unreachable: r < the total
}

// neighbour pastes a random item far enough off-centre that at most a
// part of it shows.
func (s *Sampler) neighbour() {
	pool := s.others
	if len(s.dresses) > 0 && (len(pool) == 0 || s.rng.Intn(3) == 0) {
		pool = s.dresses
	}
	lo := max(s.cfg.Place.OffCentreMax, PatchSize*2/3)
	s.pasteItem(pool, s.offShift(lo, lo+PatchSize/3), uniform(s.rng, s.cfg.Place.ScaleMin, s.cfg.Place.ScaleMax))
}

func (s *Sampler) centredShift() [2]float64 {
	n := s.cfg.Place.Shift
	return [2]float64{float64(s.rng.Intn(2*n+1) - n), float64(s.rng.Intn(2*n+1) - n)}
}

// offCentreShift is the shift of an off-centre dress (see Placement.OffCentreIoU).
func (s *Sampler) offCentreShift() [2]float64 {
	cfg := &s.cfg
	if cfg.Place.OffCentreIoU > 0 {
		n := cfg.Place.OffCentreMax
		for try := 0; try < 100; try++ {
			dx, dy := s.rng.Intn(2*n+1)-n, s.rng.Intn(2*n+1)-n
			shift := [2]float64{float64(dx), float64(dy)}
			if scaleIoU(1, shift) < cfg.Place.OffCentreIoU {
				return shift
			}
		}
	}
	return s.offShift(cfg.Place.OffCentre, cfg.Place.OffCentreMax)
}

// nestedScale draws the scale and shift of a wrong-scale dress (see
// Placement.ScaleIoU): log-uniform scale, and a shift that keeps the smaller of
// window and dress inside the larger, give or take Shift pixels.
func (s *Sampler) nestedScale() (float64, [2]float64) {
	var k float64
	var shift [2]float64
	for try := 0; try < 100; try++ {
		k = logUniform(s.rng, 0.4, 2.5)
		room := math.Abs(k-1)*PatchSize/2 + float64(s.cfg.Place.Shift)
		shift = [2]float64{uniform(s.rng, -room, room), uniform(s.rng, -room, room)}
		if scaleIoU(k, shift) < s.cfg.Place.ScaleIoU {
			break
		}
	}
	return k, shift
}

// scaleIoU is the IoU of the patch window with the box of an item scaled
// by k and shifted by shift from the centre (k = 1: the window shifted).
func scaleIoU(k float64, shift [2]float64) float64 {
	side := k * PatchSize
	inter := 1.0
	for _, d := range shift {
		lo := max(-PatchSize/2, d-side/2)
		hi := min(PatchSize/2, d+side/2)
		inter *= max(0, hi-lo)
	}
	return inter / (PatchLen + side*side - inter)
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
// and scaled (both in patch pixels), on the canvas being painted, and
// returns its index in the item set (-1 for an empty pool).
func (s *Sampler) pasteItem(pool []int, shift [2]float64, scale float64) (item int) {
	if len(pool) == 0 {
		return -1
	}
	i := pool[s.rng.Intn(len(pool))]
	gain := uniform(s.rng, s.cfg.Jitter.GainMin, s.cfg.Jitter.GainMax)
	flip := s.rng.Intn(2) == 0
	c, k := s.cur, s.mag
	s.cur.paste(s.items.Images[i], s.items.Rows, s.items.Cols,
		float64(c.w)/2+shift[0]*k, float64(c.h)/2+shift[1]*k,
		k*scale*PatchSize/float64(max(s.items.Rows, s.items.Cols)), flip, gain)
	return i
}

// bigSide is the largest scene-style canvas: a 28 px patch at the largest
// scene magnification.
const bigSide = PatchSize * SceneMaxScale

// background picks the canvas (the patch itself, or for a scene-style
// sample the magnified one) and fills it with black, a photo crop or
// clutter.
func (s *Sampler) background() {
	s.cur, s.mag = &s.c, 1
	r := s.rng.Float64()
	if r < s.cfg.Background.Black {
		clear(s.c.pix)
		return
	}
	if s.cfg.Background.Scene > 0 && s.rng.Float64() < s.cfg.Background.Scene {
		s.mag = uniform(s.rng, SceneMinScale, SceneMaxScale)
		side := min(bigSide, int(math.Round(PatchSize*s.mag)))
		s.big.w, s.big.h, s.big.pix = side, side, s.big.pix[:side*side]
		s.cur = &s.big
	}
	switch {
	case s.cfg.Background.Print > 0 && s.rng.Float64() < s.cfg.Background.Print:
		if s.cfg.Background.PrintBlocky > 0 && s.rng.Float64() < s.cfg.Background.PrintBlocky {
			s.cur.fillBlockyPrint(s.rng, PatchSize*s.mag)
		} else {
			s.cur.fillPrint(s.rng, PatchSize*s.mag)
		}
	case r < s.cfg.Background.Black+s.cfg.Background.Photo && len(s.photos) > 0:
		s.photoCrop()
	case s.cfg.Background.Leaves > 0 && s.rng.Float64() < s.cfg.Background.Leaves:
		s.cur.fillLeaves(s.rng, PatchSize*s.mag)
	default:
		s.cur.fillClutter(s.rng, PatchSize*s.mag)
	}
	if s.rng.Float64() < s.cfg.Background.Invert {
		s.cur.invert()
	}
}

// photoCrop fills the canvas with a random square crop of a random photo.
// A patch sees it at 0.5 to 3 photo pixels per patch pixel; a scene-style
// canvas at 0.3 to 1 photo pixels per canvas pixel, as MakeScene's
// 512×256 to 1024×512 scenes show this project's photos (as far as the
// photo is large enough).
func (s *Sampler) photoCrop() {
	p := s.photos[s.rng.Intn(len(s.photos))]
	w, h := float64(p.Rect.Dx()), float64(p.Rect.Dy())
	c := s.cur
	lo, hi := 0.5, 3.0
	if c != &s.c {
		lo, hi = 0.3, 1.0
	}
	maxStep := min(hi, min(w, h)/float64(c.w))
	step := lo
	if maxStep > lo {
		step = logUniform(s.rng, lo, maxStep)
	}
	side := step * float64(c.w)
	ox := uniform(s.rng, 0, max(0, w-side))
	oy := uniform(s.rng, 0, max(0, h-side))
	c.fillPhoto(p, ox, oy, step, s.rng.Intn(2) == 0, image.Rect(0, 0, c.w, c.h))
	if s.cfg.Background.PhotoVary > 0 && s.rng.Float64() < s.cfg.Background.PhotoVary {
		c.vary(s.rng)
	}
}

// resample brings a scene-style canvas back to the 28 px patch the way the
// detector's pyramid does: 8-bit, then imaging's linear filter.
func (s *Sampler) resample() {
	if s.cur == &s.c {
		return
	}
	for i, v := range s.big.shrunk(PatchSize, PatchSize) {
		s.c.pix[i] = float32(v) / 255
	}
	s.cur, s.mag = &s.c, 1
}
