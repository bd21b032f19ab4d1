package detect

import (
	"cmp"
	"slices"
)

// IoU is the intersection over union of two [x1, y1, x2, y2] boxes; 0 when
// either is empty.
func IoU(a, b [4]float64) float64 {
	iw := min(a[2], b[2]) - max(a[0], b[0])
	ih := min(a[3], b[3]) - max(a[1], b[1])
	if iw <= 0 || ih <= 0 {
		return 0
	}
	inter := iw * ih
	union := area(a) + area(b) - inter
	if union <= 0 {
		return 0
	}
	return inter / union
}

func area(b [4]float64) float64 {
	return max(0, b[2]-b[0]) * max(0, b[3]-b[1])
}

// NMS keeps detections best first, dropping any whose IoU with an already
// kept one exceeds iou, and stops after limit kept. Scores stay with their
// boxes: nothing is merged or averaged. Ties keep input order. The input
// is not modified.
func NMS(dets []Detection, iou float64, limit int) []Detection {
	order := slices.Clone(dets)
	slices.SortStableFunc(order, func(a, b Detection) int { return cmp.Compare(b.Score, a.Score) })
	var kept []Detection
	for _, d := range order {
		if len(kept) >= limit {
			break
		}
		ok := true
		for _, k := range kept {
			if IoU(d.Box, k.Box) > iou {
				ok = false
				break
			}
		}
		if ok {
			kept = append(kept, d)
		}
	}
	return kept
}

// voteMinShare: a window votes on a kept box only when it scores at least
// this share of the box's score. Every voter of a box scoring s ≥ t then
// scores at least t·voteMinShare, so Detect collects windows down to
// there, and a box comes out the same whatever threshold it passed.
const voteMinShare = 0.5

// Vote moves each kept box to the score-weighted mean of the candidate
// boxes that overlap it at IoU ≥ iou and score at least half as much:
// box voting (Gidaris and Komodakis, 2015). The best-scored window on an
// object is sometimes one on part of it (a pyramid level too small, or a
// notch off along a coarse level's stride), framing it at IoU below 0.5;
// the other windows that fire on the object surround it, and their mean
// frames it better. Scores and scales stay those of the kept detections,
// so the ranking does not change. iou ≤ 0 returns kept as it is; neither
// input is modified.
func Vote(kept, cands []Detection, iou float64) []Detection {
	if iou <= 0 {
		return kept
	}
	out := slices.Clone(kept)
	for k, d := range out {
		var sum [4]float64
		weight := 0.0
		for _, c := range cands {
			if c.Score >= voteMinShare*d.Score && IoU(d.Box, c.Box) >= iou {
				for i := range sum {
					sum[i] += c.Score * c.Box[i]
				}
				weight += c.Score
			}
		}
		if weight > 0 {
			for i := range sum {
				out[k].Box[i] = sum[i] / weight
			}
		}
	}
	return out
}
