package detect

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"sort"
)

// Ranked is one prediction in a Matching: where it came from, its score
// and whether it matched a ground-truth box.
type Ranked struct {
	Image, Index int // dets[Image][Index] of the matched input
	Score        float64
	TP           bool
}

// Matching is the outcome of MatchBoxes: every prediction of every image,
// ranked by score, each marked true or false positive.
type Matching struct {
	Ranked []Ranked // non-increasing Score; ties in input order
	Truths int      // ground-truth boxes over all images
	Images int

	truthsPer []int // ground-truth boxes of each image, for Resample
}

// MatchBoxes ranks the predictions of all images by score (ties keep
// input order: image by image, then within an image) and matches them
// greedily in that order: each goes to the unmatched ground-truth box of
// its image with the highest IoU, if that IoU is at least iou (the first
// of equal IoUs wins), and is a false positive otherwise. dets[k] and
// truth[k] belong to image k.
//
// Because a prediction is matched before every lower-scored one, the
// matching of the predictions scored ≥ t alone is the prefix of this one
// for every t; Sweep relies on that. The cost is a sort plus, per image,
// predictions × truths IoUs.
func MatchBoxes(dets [][]ScoredBox, truth [][][4]float64, iou float64) (*Matching, error) {
	if len(dets) != len(truth) {
		return nil, fmt.Errorf("match: %d images of detections, %d of ground truth", len(dets), len(truth))
	}
	if !(iou > 0 && iou <= 1) {
		return nil, fmt.Errorf("match: IoU threshold %v out of range (0,1]", iou)
	}
	m := &Matching{Images: len(dets), truthsPer: make([]int, len(truth))}
	n := 0
	for k := range dets {
		n += len(dets[k])
		m.Truths += len(truth[k])
		m.truthsPer[k] = len(truth[k])
	}
	m.Ranked = make([]Ranked, 0, n)
	for k, ds := range dets {
		for i, d := range ds {
			if math.IsNaN(d.Score) {
				return nil, fmt.Errorf("match: image %d prediction %d has score NaN", k, i)
			}
			m.Ranked = append(m.Ranked, Ranked{Image: k, Index: i, Score: d.Score})
		}
	}
	slices.SortStableFunc(m.Ranked, func(a, b Ranked) int { return cmp.Compare(b.Score, a.Score) })
	used := make([][]bool, len(truth))
	for k := range truth {
		used[k] = make([]bool, len(truth[k]))
	}
	for r := range m.Ranked {
		p := &m.Ranked[r]
		box := dets[p.Image][p.Index].Box
		best, bestIoU := -1, 0.0
		for g, t := range truth[p.Image] {
			if used[p.Image][g] {
				continue
			}
			if v := IoU(box, t); v >= iou && (best < 0 || v > bestIoU) {
				best, bestIoU = g, v
			}
		}
		if best >= 0 {
			used[p.Image][best] = true
			p.TP = true
		}
	}
	return m, nil
}

// Point is the operating point of a score threshold: the predictions
// scored at least Threshold, matched as in MatchBoxes.
type Point struct {
	Threshold float64
	TP, FP    int
	// Recall is TP over all ground-truth boxes (0 without any);
	// FPPerImage is FP over all images (0 without any).
	Recall, FPPerImage float64
}

// Sweep holds the operating point at every distinct score of a Matching,
// highest threshold first.
type Sweep struct {
	Points         []Point
	truths, images int
}

// Sweep returns the operating points of every distinct score, in one
// pass over the ranking.
func (m *Matching) Sweep() *Sweep {
	s := &Sweep{truths: m.Truths, images: m.Images}
	tp, fp := 0, 0
	for r, p := range m.Ranked {
		if p.TP {
			tp++
		} else {
			fp++
		}
		// A threshold takes every prediction of its score, so a point
		// closes at the last of equal scores.
		if r+1 == len(m.Ranked) || m.Ranked[r+1].Score != p.Score {
			s.Points = append(s.Points, s.point(p.Score, tp, fp))
		}
	}
	return s
}

func (s *Sweep) point(t float64, tp, fp int) Point {
	p := Point{Threshold: t, TP: tp, FP: fp}
	if s.truths > 0 {
		p.Recall = float64(tp) / float64(s.truths)
	}
	if s.images > 0 {
		p.FPPerImage = float64(fp) / float64(s.images)
	}
	return p
}

// At returns the operating point of threshold t (predictions scored ≥ t),
// by binary search; its Threshold is t.
func (s *Sweep) At(t float64) Point {
	// Points with Threshold ≥ t come first.
	n := sort.Search(len(s.Points), func(i int) bool { return s.Points[i].Threshold < t })
	if n == 0 {
		return s.point(t, 0, 0)
	}
	p := s.Points[n-1]
	p.Threshold = t
	return p
}

// Lowest returns the point of the lowest distinct score whose false
// positives per image are at most maxFP, and false if even the highest
// score has more. False positives only grow as the threshold falls, so
// the first point over maxFP ends the search.
func (s *Sweep) Lowest(maxFP float64) (Point, bool) {
	var best Point
	ok := false
	for _, p := range s.Points {
		if p.FPPerImage > maxFP {
			break
		}
		best, ok = p, true
	}
	return best, ok
}
