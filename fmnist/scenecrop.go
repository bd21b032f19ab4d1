package fmnist

import (
	"image"
	"image/draw"
	"math"
	"math/rand"
)

// SceneCrops says how windows are cut from whole painted scenes for a
// detector's second stage, a verifier that rescores the boxes a scan
// reports (see SceneCropper).
type SceneCrops struct {
	// Shift is the standard deviation of a crop box's centre offset from
	// its item's truth box, as a fraction of the box side, in x and in y;
	// Scale that of the log of its side's factor. A scan's voted boxes sit
	// about this far off (on dresses 0.025 and 0.044 of the side, 0.09 in
	// log scale; on other garments 0.12, 0.10 and 0.18).
	Shift, Scale float64
	// Background is how many boxes per item are cut where no item is
	// much (IoU below BackgroundIoU with every item), labelled NoItem.
	Background int
	// Confusable is the share of scenes (0 to 1) whose other garments are
	// only the classes a dress is confused with (Confusable classes), so
	// that a verifier sees more of them beside dresses.
	Confusable float64
	// Partial is how many boxes per item are cut across part of it (IoU
	// from PartialMinIoU to BackgroundIoU with it, below BackgroundIoU with
	// every item), labelled NoItem: the boxes a scan keeps on part of a
	// garment, which a verifier must not call one.
	Partial int
	// Context is how much of its surroundings every crop shows
	// (nn.InputSpec.Context): each is cut at its box scaled by Context
	// about its centre, mid-grey where that leaves the scene, as the
	// detector shows a verifier a box at an image's edge. Raw items
	// (SampleMix.Raw) get the same margin, black. 0 or 1 cuts the box.
	Context float64 `json:",omitempty"`
	// Dark is the share of scenes (0 to 1) whose items are only the
	// darkest of their class (Set.Darkest(DarkFraction)), dresses and
	// other garments alike, so that a verifier sees more of the dark
	// dresses it misses most without darkness coming to mean a dress.
	Dark float64 `json:",omitempty"`
	// Print is the share of scenes (0 to 1) painted on a page of
	// synthetic print (Print) instead of a photograph, so that a
	// verifier, which sees no other background, sees items on pages.
	Print float64 `json:",omitempty"`
	// Side is the side crops are resampled to, and in a SamplerConfig the
	// side of every patch the sampler draws: a verifier's window. 0 is
	// Side (28). More shows an item at its own pixels with Context around
	// it: 36 with Context 9/7 frames a 28-pixel box.
	Side int `json:",omitempty"`
	// Clean gives every crop its clean twin (Crop.Clean): the same cut of
	// the same scene with the photograph, print or clutter under the items
	// replaced by black, so that the item shows as painted and nothing
	// else. A target for what a verifier should see in its window, not a
	// training input; it is never stored in a model.
	Clean bool `json:"-"`
}

// OutsideGrey is what a crop with context shows beyond the scene: the
// mean pixel of the networks trained here (nn.InputSpec.Mean 0.5), which
// the detector reads outside an image.
const OutsideGrey = 128

// BackgroundIoU bounds a background or partial crop's overlap with every
// item; PartialMinIoU is the least overlap of a partial crop with its own.
const (
	BackgroundIoU = 0.4
	PartialMinIoU = 0.1
)

// A partial box's side is its item's times a factor from
// partialScaleMin to partialScaleMax, its centre moved by up to
// partialShift of the item's side each way: from a window one pyramid
// level inside the item to one that holds it and its surroundings.
const partialScaleMin, partialScaleMax, partialShift = 0.6, 1.6, 0.6

// cropScene* are the painted scenes' size and item count: smaller than a
// camera frame, so that one scene is quick to paint, with items at the
// same sizes as MakeScene draws them in any scene.
const (
	cropSceneW, cropSceneH, cropSceneItems = 512, 256, 6
	// jitterTries bounds the redraws of a box that leaves the scene.
	jitterTries = 10
)

// Crop is one window cut from a scene and resampled to Side×Side
// (SceneCrops.Side×SceneCrops.Side when that is set): grey
// pixels, row-major, the class of the item it frames (NoItem for a
// background box) and the box it was cut at, in scene pixels.
type Crop struct {
	Class int
	Box   image.Rectangle
	Pix   []uint8
	// Clean is Pix's clean twin when SceneCrops.Clean is on, else nil:
	// the items alone, painted on black and cut and resampled as Pix is.
	Clean []uint8
}

// SceneCropper paints scenes as MakeScene does and cuts windows from them
// at the boxes a verifier is shown at detection time: each item at its
// truth box moved and scaled at random (SceneCrops.Shift and Scale), and
// background boxes. Not safe for concurrent use.
type SceneCropper struct {
	cfg    SceneCrops
	rng    *rand.Rand
	items  *Set
	photos []*image.Gray
	// confusable are items' dresses and confusable garments, when
	// cfg.Confusable is on; dark the darkest of each class, when cfg.Dark
	// is.
	confusable, dark *Set
}

// DarkFraction is the share of each class SceneCrops.Dark draws from:
// the darkest quarter of the dresses holds half of a scan's misses.
const DarkFraction = 0.25

// NewSceneCropper returns a cropper that draws from rng, paints items on
// photos (synthetic clutter when there are none) and cuts as cfg says.
func NewSceneCropper(rng *rand.Rand, items *Set, photos []*image.Gray, cfg SceneCrops) *SceneCropper {
	c := &SceneCropper{cfg: cfg, rng: rng, items: items, photos: photos}
	if cfg.Confusable > 0 && items != nil {
		c.confusable = items.DressesAndConfusable()
	}
	if cfg.Dark > 0 && items != nil {
		c.dark = items.Darkest(DarkFraction)
	}
	return c
}

// Scene makes one scene and returns its crops: for each item, the item,
// its background boxes and its partial boxes. Its truth is returned too,
// for checks. Only the photograph under the crops is painted, which is
// all they read.
func (c *SceneCropper) Scene() ([]Crop, []Object) {
	photo := c.scenePhoto()
	items := c.items
	// Drawn only when Confusable is on, so that crops without it are the
	// ones they always were.
	if c.confusable != nil && c.rng.Float64() < c.cfg.Confusable {
		items = c.confusable
	}
	// Drawn only when Dark is on, as Confusable's draw is.
	if c.dark != nil && c.rng.Float64() < c.cfg.Dark {
		items = c.dark
	}
	plan := planScene(c.rng, items, photo, cropSceneW, cropSceneH, cropSceneItems)
	bounds := image.Rect(0, 0, cropSceneW, cropSceneH)
	var crops []Crop
	for _, o := range plan.truth {
		crops = append(crops, Crop{Class: o.Class, Box: c.jittered(bounds, o.Box)})
		for range c.cfg.Background {
			if b, ok := c.backgroundBox(bounds, plan.truth); ok {
				crops = append(crops, Crop{Class: NoItem, Box: b})
			}
		}
		for range c.cfg.Partial {
			if b, ok := c.partialBox(bounds, o.Box, plan.truth); ok {
				crops = append(crops, Crop{Class: NoItem, Box: b})
			}
		}
	}
	cuts := make([]image.Rectangle, len(crops))
	regions := make([]image.Rectangle, len(crops))
	for i, cr := range crops {
		cuts[i] = scaledRect(cr.Box, c.cfg.Context)
		regions[i] = cuts[i].Intersect(bounds)
	}
	img := plan.paint(regions)
	side := Side
	if c.cfg.Side > 0 {
		side = c.cfg.Side
	}
	for i := range crops { // resampled as the detector's pyramid resamples
		crops[i].Pix = resized(cutOut(img, cuts[i], OutsideGrey), side, side)
	}
	if c.cfg.Clean {
		// Painting draws nothing from the rng, so the twin costs the
		// crops none of their bytes.
		black := plan
		black.clutter = &canvas{pix: make([]float32, plan.w*plan.h), w: plan.w, h: plan.h}
		clean := black.paint(regions)
		for i := range crops {
			crops[i].Clean = resized(cutOut(clean, cuts[i], 0), side, side)
		}
	}
	return crops, plan.truth
}

// scenePhoto draws what a scene is painted on: one of the photographs
// (nil for synthetic clutter when there are none) or, a share Print of
// the time, a page of synthetic print. The page is drawn only when Print
// is on, so that crops without it are the ones they always were.
func (c *SceneCropper) scenePhoto() image.Image {
	var photo image.Image
	if len(c.photos) > 0 {
		photo = c.photos[c.rng.Intn(len(c.photos))]
	}
	if c.cfg.Print > 0 && c.rng.Float64() < c.cfg.Print {
		photo = Print(c.rng, cropSceneW, cropSceneH, PrintFeatureSize(c.rng))
	}
	return photo
}

// scaledRect is r with its sides scaled by k about its centre, rounded to
// pixels; r itself when k ≤ 1.
func scaledRect(r image.Rectangle, k float64) image.Rectangle {
	if !(k > 1) {
		return r
	}
	cx, cy := float64(r.Min.X+r.Max.X)/2, float64(r.Min.Y+r.Max.Y)/2
	w, h := float64(r.Dx())*k/2, float64(r.Dy())*k/2
	return image.Rect(int(math.Round(cx-w)), int(math.Round(cy-h)), int(math.Round(cx+w)), int(math.Round(cy+h)))
}

// cutOut is img under r, outside where r leaves it.
func cutOut(img *image.Gray, r image.Rectangle, outside uint8) *image.Gray {
	if r.In(img.Rect) {
		return img.SubImage(r).(*image.Gray) // only read
	}
	out := image.NewGray(image.Rect(0, 0, r.Dx(), r.Dy()))
	for i := range out.Pix {
		out.Pix[i] = outside
	}
	draw.Draw(out, out.Rect, img, r.Min, draw.Src)
	return out
}

// jittered is the truth box moved and scaled at random, whole inside
// bounds (jitterTries draws, then the truth box itself).
func (c *SceneCropper) jittered(bounds image.Rectangle, box [4]float64) image.Rectangle {
	truth := boxRect(box)
	if c.cfg.Shift == 0 && c.cfg.Scale == 0 {
		return truth
	}
	side := box[2] - box[0]
	cx, cy := (box[0]+box[2])/2, (box[1]+box[3])/2
	for range jitterTries {
		s := side * math.Exp(c.rng.NormFloat64()*c.cfg.Scale)
		x := cx + c.rng.NormFloat64()*c.cfg.Shift*side
		y := cy + c.rng.NormFloat64()*c.cfg.Shift*side
		r := squareAt(x, y, s)
		if r.In(bounds) && r.Dx() > 0 {
			return r
		}
	}
	return truth
}

// backgroundBox is a square box, sized as scene items are, whose IoU with
// every item is below BackgroundIoU; false when 20 draws find none.
func (c *SceneCropper) backgroundBox(bounds image.Rectangle, truth []Object) (image.Rectangle, bool) {
	for range 20 {
		side := int(math.Round(Side * uniform(c.rng, SceneMinScale, SceneMaxScale)))
		if side >= bounds.Dx() || side >= bounds.Dy() {
			return image.Rectangle{}, false
		}
		x, y := c.rng.Intn(bounds.Dx()-side), c.rng.Intn(bounds.Dy()-side)
		r := image.Rect(x, y, x+side, y+side)
		if clearOfItems(r, truth) {
			return r, true
		}
	}
	return image.Rectangle{}, false
}

// partialBox is a square box across part of the item at box: its IoU with
// it from PartialMinIoU to BackgroundIoU, below BackgroundIoU with every
// item, whole inside bounds; false when 20 draws find none.
func (c *SceneCropper) partialBox(bounds image.Rectangle, box [4]float64, truth []Object) (image.Rectangle, bool) {
	item := boxRect(box)
	side := box[2] - box[0]
	cx, cy := (box[0]+box[2])/2, (box[1]+box[3])/2
	for range 20 {
		s := side * math.Exp(uniform(c.rng, math.Log(partialScaleMin), math.Log(partialScaleMax)))
		x := cx + uniform(c.rng, -partialShift, partialShift)*side
		y := cy + uniform(c.rng, -partialShift, partialShift)*side
		r := squareAt(x, y, s)
		if !r.In(bounds) || r.Dx() <= 0 || rectIoU(r, item) < PartialMinIoU || !clearOfItems(r, truth) {
			continue
		}
		return r, true
	}
	return image.Rectangle{}, false
}

// clearOfItems reports whether r's IoU with every item is below
// BackgroundIoU.
func clearOfItems(r image.Rectangle, truth []Object) bool {
	for _, o := range truth {
		if rectIoU(r, boxRect(o.Box)) >= BackgroundIoU {
			return false
		}
	}
	return true
}

// boxRect is a truth box in whole pixels, as the crops are cut.
func boxRect(box [4]float64) image.Rectangle {
	return image.Rect(int(box[0]), int(box[1]), int(box[2]), int(box[3]))
}

// squareAt is the square of side s centred at x, y, rounded to pixels.
func squareAt(x, y, s float64) image.Rectangle {
	return image.Rect(int(math.Round(x-s/2)), int(math.Round(y-s/2)), int(math.Round(x+s/2)), int(math.Round(y+s/2)))
}

func rectIoU(a, b image.Rectangle) float64 {
	in := a.Intersect(b)
	i := float64(in.Dx() * in.Dy())
	return i / (float64(a.Dx()*a.Dy()+b.Dx()*b.Dy()) - i)
}
