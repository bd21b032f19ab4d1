package train

import (
	"cmp"
	"fmt"
	"image"
	"math"
	"math/rand"
	"slices"

	"github.com/fc2conv/fc2conv/convert"
	"github.com/fc2conv/fc2conv/detect"
	"github.com/fc2conv/fc2conv/fmnist"
	"github.com/fc2conv/fc2conv/nn"
)

// Mining scenes are smaller than evaluation scenes to keep a round cheap;
// the items are pasted at the same 1×–3× scales.
const (
	mineW, mineH  = 512, 256
	mineItems     = 5
	minePerScene  = 24
	mineThreshold = 0.5
)

// mineScales bring items of 28–84 px back to the 28 px window (for a
// network with context or a wider window, to the box it frames: see
// mineDetector).
var mineScales = []float64{1, 1 / 1.5, 1 / 2.0, 1 / 2.5, 1 / 3.0}

// minePositiveIoU is how well a window must frame a dress to count as a
// positive: about the ±3 px shift and 0.85–1.15 scale jitter the sampler
// gives its positives.
const minePositiveIoU = 0.65

// MineOptions say what a mining round scans and what it calls a mistake.
type MineOptions struct {
	Scenes int // training scenes scanned
	// Leaves is the share of scenes (0 to 1) on a synthetic dead-leaves
	// background (fmnist.Leaves) instead of a photograph.
	Leaves float64
	// Print is the share of scenes (0 to 1) on a page of synthetic print
	// (fmnist.Print) instead of a photograph or dead leaves.
	Print float64
	// PrintBlocky is the share of those print scenes drawn binarised,
	// with stepped edges (fmnist.BlockyPrint).
	PrintBlocky float64
	// NegativeIoU: a window scored as dress is a negative when its IoU
	// with every dress is below this; 0 means DefaultMineNegativeIoU.
	NegativeIoU float64
	// Confusable is the share of scenes (0 to 1) whose other garments
	// are only the classes a dress is confused with (fmnist.Confusable),
	// so that more of the mined negatives are shirts, coats, pullovers
	// and tops.
	Confusable float64
	// Cascade, when set, is a converted scan network (a detector's first
	// stage, such as the shipped pair): each mining scene is also scanned
	// by it with the network being mined as its verifier, and the boxes
	// that pair gets wrong are mined as the verifier is shown them. A
	// verifier's own scans find its mistakes on windows it picks; at scan
	// time it is shown the windows the first stage picks, the most
	// dress-like of many on another garment (models/SEARCH.md, "The truth
	// boxes and the search over windows").
	Cascade *nn.Network
	// CascadeWeight is how many times each of Cascade's boxes enters the
	// mined windows (0 means once). A cascade finds about one box for
	// every twelve windows the network's own scans mine (rule 41 in
	// models/SEARCH.md); repeating its boxes gives them more of the
	// mined pool without scanning more scenes.
	CascadeWeight int
	// CascadeViews, when above 1, mines the cascade's dresses as a scan
	// with that many verifier views (detect.ViewBoxes: 5, 7 or 27) and
	// their least scores them: a box on a dress is a positive when its
	// least view's verified score is below the mining threshold, and the
	// window mined is that view's, the one that loses the dress. With one
	// view the least is the box itself, but scan's defaults show 27, and
	// the dresses they miss are lost to a few of them (models/SEARCH.md,
	// "The two stages of the defaults' scores"). 0 or 1: the box alone.
	// The cascade's negatives are mined as before.
	CascadeViews int
}

// maxCascadeWeight bounds MineOptions.CascadeWeight well past any useful
// weight: at 64, a round's couple of hundred cascade boxes already take
// most of fmnist's default pool of 20,000.
const maxCascadeWeight = 64

// DefaultMineNegativeIoU keeps well clear of loosely framed dresses (see
// mineKind).
const DefaultMineNegativeIoU = 0.3

func (o MineOptions) validate() error {
	switch {
	case o.Scenes < 0:
		return fieldErr("MineOptions.Scenes", "%d, want ≥ 0", o.Scenes)
	case !(o.Leaves >= 0 && o.Leaves <= 1):
		return fieldErr("MineOptions.Leaves", "%v out of range [0,1]", o.Leaves)
	case !(o.Print >= 0 && o.Print <= 1):
		return fieldErr("MineOptions.Print", "%v out of range [0,1]", o.Print)
	case !(o.PrintBlocky >= 0 && o.PrintBlocky <= 1):
		return fieldErr("MineOptions.PrintBlocky", "%v out of range [0,1]", o.PrintBlocky)
	case !(o.Confusable >= 0 && o.Confusable <= 1):
		return fieldErr("MineOptions.Confusable", "%v out of range [0,1]", o.Confusable)
	case !(o.NegativeIoU >= 0 && o.NegativeIoU < minePositiveIoU):
		return fieldErr("MineOptions.NegativeIoU", "%v out of range [0,%v)", o.NegativeIoU, minePositiveIoU)
	case o.CascadeWeight < 0 || o.CascadeWeight > maxCascadeWeight:
		return fieldErr("MineOptions.CascadeWeight", "%d out of range [0,%d]", o.CascadeWeight, maxCascadeWeight)
	}
	// The views a scan can show a verifier are the ones ViewBoxes makes.
	if _, err := detect.ViewBoxes([4]float64{0, 0, 1, 1}, o.CascadeViews); err != nil {
		return fieldErr("MineOptions.CascadeViews", "%d, want 0, 1, 5, 7 or 27", o.CascadeViews)
	}
	return nil
}

// Mined holds the windows a mining round found, as [0,1] patches.
type Mined struct {
	// Negatives are windows scored as dress that overlap no dress
	// (IoU below MineOptions.NegativeIoU): Dalal and Triggs' hard
	// negatives, for Sampler.AddNegative.
	Negatives [][]float32
	// Positives are windows that frame a dress well (IoU ≥ 0.65) but
	// score below the mining threshold, for Sampler.AddPositive: the
	// dresses the detector misses on photographs.
	Positives [][]float32
	// CascadeNegatives and CascadePositives count the distinct Negatives
	// and Positives that came from MineOptions.Cascade's boxes (each is
	// in the slices MineOptions.CascadeWeight times).
	CascadeNegatives, CascadePositives int
}

// MineHardExamples scans training scenes (built from training items and
// training photos only) with the converted network and returns its worst
// mistakes there, at most minePerScene of each kind per scene, the
// highest-scoring negatives and lowest-scoring positives first.
func MineHardExamples(net *nn.Network, items *fmnist.Set, photos []*image.Gray, seed int64, opt MineOptions) (Mined, error) {
	if err := opt.validate(); err != nil {
		return Mined{}, err
	}
	det, err := mineDetector(net)
	if err != nil {
		return Mined{}, err
	}
	var cascade *cascadeMiner
	if opt.Cascade != nil {
		if cascade, err = newCascadeMiner(opt.Cascade, net, opt.CascadeViews); err != nil {
			return Mined{}, err
		}
	}
	negIoU := opt.NegativeIoU
	if negIoU == 0 {
		negIoU = DefaultMineNegativeIoU
	}
	confusable := confusableItems(items, opt)
	rng := rand.New(rand.NewSource(seed))
	var out Mined
	for s := 0; s < opt.Scenes; s++ {
		var photo image.Image
		switch {
		case opt.Print > 0 && rng.Float64() < opt.Print:
			draw := fmnist.Print
			if opt.PrintBlocky > 0 && rng.Float64() < opt.PrintBlocky {
				draw = fmnist.BlockyPrint
			}
			photo = draw(rng, mineW, mineH, fmnist.PrintFeatureSize(rng))
		case opt.Leaves > 0 && rng.Float64() < opt.Leaves:
			// feature sizes of 16 to 96 px, about the items' 28 to 84
			photo = fmnist.Leaves(rng, mineW, mineH, 16*math.Exp(rng.Float64()*math.Log(6)))
		case len(photos) > 0:
			photo = photos[rng.Intn(len(photos))]
		}
		img, truth := fmnist.MakeScene(rng, sceneItems(rng, items, confusable, opt), photo, mineW, mineH, mineItems)
		negs, poss, err := mineScene(det, img, truth, negIoU)
		if err != nil {
			return Mined{}, fmt.Errorf("train: mining scene %d: %w", s, err)
		}
		out.Negatives = append(out.Negatives, negs...)
		out.Positives = append(out.Positives, poss...)
		if cascade == nil {
			continue
		}
		if negs, poss, err = cascade.mine(img, truth, negIoU); err != nil {
			return Mined{}, fmt.Errorf("train: mining scene %d with the cascade: %w", s, err)
		}
		for range max(opt.CascadeWeight, 1) {
			out.Negatives = append(out.Negatives, negs...)
			out.Positives = append(out.Positives, poss...)
		}
		out.CascadeNegatives += len(negs)
		out.CascadePositives += len(poss)
	}
	return out, nil
}

// cascadeFloor is the least verified score of a box mining with a cascade
// looks at: low enough to see the dresses the pair misses.
const cascadeFloor = 0.05

// cascadeMiner mines a network's mistakes as the verifier behind a scan
// network: det is the cascade, one view and no mirror averaging, as
// mining scans; views, when set, rescores its boxes on dresses as a scan
// with MineOptions.CascadeViews views does.
type cascadeMiner struct {
	det   *detect.Detector
	views *viewScorer
}

// newCascadeMiner is scan with net, converted, as its verifier: the
// detector's defaults (pyramid, vote, NMS), one view, no mirror
// averaging, as mining scans; with views above 1, also net alone on the
// views of each box (MineOptions.CascadeViews).
func newCascadeMiner(scan, net *nn.Network, views int) (*cascadeMiner, error) {
	res, err := convert.Convert(net)
	if err != nil {
		return nil, fmt.Errorf("train: mining with the cascade: %w", err)
	}
	det, err := detect.New(scan, detect.Options{Verifier: res.Network, Threshold: cascadeFloor, NoFlip: true})
	if err != nil {
		return nil, fmt.Errorf("train: mining with the cascade: %w", err)
	}
	c := &cascadeMiner{det: det}
	if views > 1 {
		bv, err := detect.NewBoxVerifier(detect.Options{Verifier: res.Network, NoFlip: true})
		if err != nil {
			return nil, fmt.Errorf("train: mining with the cascade's views: %w", err)
		}
		c.views = &viewScorer{bv: bv, n: views}
	}
	return c, nil
}

// mine runs the cascade on one scene and returns, as the verifier is
// shown them, its worst boxes, at most minePerScene of each kind: the
// highest-scoring negatives and the lowest-scoring positives.
func (c *cascadeMiner) mine(img image.Image, truth []fmnist.Object, negIoU float64) (negs, poss [][]float32, err error) {
	res, err := c.det.Detect(img)
	if err != nil {
		return nil, nil, err
	}
	var negDets, posDets, onDress []detect.Detection
	for _, d := range res.Detections {
		overlap := dressOverlap(d.Box, truth)
		if c.views != nil && overlap >= minePositiveIoU {
			onDress = append(onDress, d) // never a negative: negIoU < minePositiveIoU
			continue
		}
		switch mineKind(float32(d.Score), overlap, negIoU) {
		case mineNegative:
			negDets = append(negDets, d)
		case minePositive:
			posDets = append(posDets, d)
		}
	}
	if c.views != nil {
		if posDets, err = c.views.missed(img, onDress); err != nil {
			return nil, nil, err
		}
	}
	slices.SortStableFunc(negDets, func(a, b detect.Detection) int { return cmp.Compare(b.Score, a.Score) })
	slices.SortStableFunc(posDets, func(a, b detect.Detection) int { return cmp.Compare(a.Score, b.Score) })
	negDets, posDets = negDets[:min(len(negDets), minePerScene)], posDets[:min(len(posDets), minePerScene)]
	boxes := make([][4]float64, 0, len(negDets)+len(posDets))
	for _, d := range slices.Concat(negDets, posDets) {
		boxes = append(boxes, d.Box)
	}
	// One call, so that the scene is converted for cropping once.
	wins, err := c.det.VerifierWindows(img, boxes)
	if err != nil {
		return nil, nil, err
	}
	return wins[:len(negDets)], wins[len(negDets):], nil
}

// viewScorer scores a box as a scan with n verifier views and their least
// does, each view by bv alone.
type viewScorer struct {
	bv *detect.BoxVerifier
	n  int
}

// missed returns the detections of dets, boxes on dresses, whose
// verified score with the least of their views is below the mining
// threshold, each moved to that view and given that score.
func (s *viewScorer) missed(img image.Image, dets []detect.Detection) ([]detect.Detection, error) {
	if len(dets) == 0 {
		return nil, nil
	}
	boxes := make([][4]float64, 0, len(dets)*s.n)
	for _, d := range dets {
		views, err := detect.ViewBoxes(d.Box, s.n)
		if err != nil {
			return nil, err
		}
		boxes = append(boxes, views...)
	}
	ps, err := s.bv.Scores(img, boxes)
	if err != nil {
		return nil, fmt.Errorf("train: mining the cascade's views: %w", err)
	}
	var out []detect.Detection
	for i, d := range dets {
		least := i * s.n // the first of equal least p; NaN stays, as in the pool
		for k := least + 1; k < (i+1)*s.n; k++ {
			if ps[k] < ps[least] || math.IsNaN(ps[k]) {
				least = k
			}
		}
		score := detect.VerifiedScore(d.ScanScore, ps[least], detect.DefaultVerifierWeight)
		if float32(score) < mineThreshold {
			d.Box, d.Score = boxes[least], score
			out = append(out, d)
		}
	}
	return out, nil
}

// MineItems scores every item of set raw, as Scores does (and as
// `eval classify` scores t10k), and returns the ones the network gets
// wrong at the mining threshold as [0,1] patches: other items scored as
// dress among the negatives, dresses scored below it among the positives.
// The items a small network confuses are the same few hundred coats,
// shirts and tops epoch after epoch; scenes find them only when a mining
// scene happens to hold them.
func MineItems(net *nn.Network, set *fmnist.Set) (Mined, error) {
	scores, err := Scores(net, set)
	if err != nil {
		return Mined{}, fmt.Errorf("train: mining items: %w", err)
	}
	var out Mined
	for i, p := range scores {
		dress := set.Labels[i] == fmnist.Dress
		if dress == (p >= mineThreshold) {
			continue
		}
		patch := make([]float32, set.Rows*set.Cols)
		set.Unit(patch, i)
		if dress {
			out.Positives = append(out.Positives, patch)
		} else {
			out.Negatives = append(out.Negatives, patch)
		}
	}
	return out, nil
}

// confusableItems are the dresses and confusable garments of items, for
// MineOptions.Confusable; nil when that is off.
func confusableItems(items *fmnist.Set, opt MineOptions) *fmnist.Set {
	if opt.Confusable == 0 || items == nil {
		return nil
	}
	return items.DressesAndConfusable()
}

// sceneItems picks the items one mining scene draws from. It draws a
// random number only when MineOptions.Confusable is on, so mining without
// it sees the scenes it always did.
func sceneItems(rng *rand.Rand, items, confusable *fmnist.Set, opt MineOptions) *fmnist.Set {
	if confusable != nil && rng.Float64() < opt.Confusable {
		return confusable
	}
	return items
}

// mineDetector converts net and scans with it as mining needs: the
// positive class, one window per cell at full stride, no mirror averaging
// (training patches are mirrored by the sampler instead).
func mineDetector(net *nn.Network) (*detect.Detector, error) {
	res, err := convert.Convert(net)
	if err != nil {
		return nil, fmt.Errorf("train: mining: %w", err)
	}
	fcn := res.Network
	scales := slices.Clone(mineScales)
	for i := range scales {
		scales[i] /= fcn.Input.ContextFactor()
		// A wider window frames a box of more than 28 px (36 with
		// context 9/7: 28 px, an item's own), so it sees each item at
		// a larger scale; at 28 nothing is multiplied, so the scales
		// (and the models mined with them) stay as they were.
		if w := net.Input.Width; w != fmnist.PatchSize {
			scales[i] *= float64(w) / fmnist.PatchSize
		}
	}
	det, err := detect.New(fcn, detect.Options{Class: detect.Class(fcn.Positive), Threshold: mineThreshold, Scales: scales, NoFlip: true})
	if err != nil {
		return nil, fmt.Errorf("train: mining: %w", err)
	}
	return det, nil
}

// mineCell is a window of one scene that mining may keep.
type mineCell struct {
	score float32
	scale int // index into the detector's scales
	cell  [2]int
}

// mineScene scans one scene at every mining scale and returns the windows
// of its worst mistakes, at most minePerScene of each kind: the
// highest-scoring negatives and the lowest-scoring positives.
func mineScene(det *detect.Detector, img image.Image, truth []fmnist.Object, negIoU float64) (negs, poss [][]float32, err error) {
	scales := det.Scales(0, 0) // mineDetector's, whatever the size
	heat := make([]detect.Heatmap, len(scales))
	var negCells, posCells []mineCell
	for k, r := range scales {
		if heat[k], err = det.Heatmap(img, r); err != nil {
			return nil, nil, err
		}
		hm := heat[k]
		for i := 0; i < hm.Rows; i++ {
			for j := 0; j < hm.Cols; j++ {
				c := mineCell{hm.At(i, j), k, [2]int{i, j}}
				switch mineKind(c.score, dressOverlap(hm.Box(i, j), truth), negIoU) {
				case mineNegative:
					negCells = append(negCells, c)
				case minePositive:
					posCells = append(posCells, c)
				}
			}
		}
	}
	slices.SortStableFunc(negCells, func(a, b mineCell) int { return cmp.Compare(b.score, a.score) })
	slices.SortStableFunc(posCells, func(a, b mineCell) int { return cmp.Compare(a.score, b.score) })
	if negs, err = mineWindows(det, img, heat, negCells[:min(len(negCells), minePerScene)]); err != nil {
		return nil, nil, err
	}
	if poss, err = mineWindows(det, img, heat, posCells[:min(len(posCells), minePerScene)]); err != nil {
		return nil, nil, err
	}
	return negs, poss, nil
}

// mineWindows cuts out the windows of cells, in their order, resizing img
// once per scale that has any.
func mineWindows(det *detect.Detector, img image.Image, heat []detect.Heatmap, cells []mineCell) ([][]float32, error) {
	out := make([][]float32, len(cells))
	for k, hm := range heat {
		var at [][2]int
		var idx []int
		for n, c := range cells {
			if c.scale == k {
				at, idx = append(at, c.cell), append(idx, n)
			}
		}
		if len(at) == 0 {
			continue
		}
		wins, err := det.Windows(img, hm, at)
		if err != nil {
			return nil, err
		}
		for n, w := range wins {
			out[idx[n]] = w
		}
	}
	return out, nil
}

const (
	mineNone = iota
	mineNegative
	minePositive
)

// mineKind says whether a window scored p, whose best IoU with a dress is
// overlap, is a mistake worth training on. Below 0.3 a window is safely a
// negative; up to the 0.5 a detection needs, calling it a negative also
// teaches the net that a window on part of a larger dress is a false
// positive, at the risk of missing loosely framed dresses.
func mineKind(p float32, overlap, negIoU float64) int {
	switch {
	case p >= mineThreshold && overlap < negIoU:
		return mineNegative
	case p < mineThreshold && overlap >= minePositiveIoU:
		return minePositive
	}
	return mineNone
}

// dressOverlap is the largest IoU of box with a dress.
func dressOverlap(box [4]float64, truth []fmnist.Object) float64 {
	best := 0.0
	for _, o := range truth {
		if o.Class == fmnist.Dress {
			best = max(best, detect.IoU(box, o.Box))
		}
	}
	return best
}
