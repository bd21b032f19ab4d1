package detect

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
)

// ScoredBox is a predicted box [x1, y1, x2, y2] with its score.
type ScoredBox struct {
	Box   [4]float64
	Score float64
}

// ScoredBoxes turns detections into the input of AveragePrecision.
func ScoredBoxes(dets []Detection) []ScoredBox {
	out := make([]ScoredBox, len(dets))
	for i, d := range dets {
		out[i] = ScoredBox{d.Box, d.Score}
	}
	return out
}

// AveragePrecision is the COCO-style AP of one class over many images:
// dets[k] and truth[k] are the predictions and ground-truth boxes of image
// k. Predictions of all images are ranked by score (ties keep input
// order); each is matched to the unmatched ground-truth box of its image
// with the highest IoU, if that IoU is at least iou, and is a false
// positive otherwise. Precision is made non-increasing in recall and read
// at the 101 recall points 0, 0.01, …, 1 (0 where the recall is never
// reached); AP is their mean. With no ground truth at all AP is undefined
// and an error is returned.
func AveragePrecision(dets [][]ScoredBox, truth [][][4]float64, iou float64) (float64, error) {
	if len(dets) != len(truth) {
		return 0, fmt.Errorf("average precision: %d images of detections, %d of ground truth", len(dets), len(truth))
	}
	if !(iou > 0 && iou <= 1) {
		return 0, fmt.Errorf("average precision: IoU threshold %v out of range (0,1]", iou)
	}
	type pred struct {
		img   int
		box   [4]float64
		score float64
	}
	var preds []pred
	nTruth := 0
	for k := range dets {
		nTruth += len(truth[k])
		for _, d := range dets[k] {
			preds = append(preds, pred{k, d.Box, d.Score})
		}
	}
	if nTruth == 0 {
		return 0, errors.New("average precision: no ground-truth boxes, AP is undefined")
	}
	slices.SortStableFunc(preds, func(a, b pred) int { return cmp.Compare(b.score, a.score) })
	used := make([][]bool, len(truth))
	for k := range truth {
		used[k] = make([]bool, len(truth[k]))
	}
	precision := make([]float64, len(preds))
	recall := make([]float64, len(preds))
	tp := 0
	for n, p := range preds {
		best, bestIoU := -1, 0.0
		for g, t := range truth[p.img] {
			if used[p.img][g] {
				continue
			}
			// The first of equally good boxes wins.
			if v := IoU(p.box, t); v >= iou && (best < 0 || v > bestIoU) {
				best, bestIoU = g, v
			}
		}
		if best >= 0 {
			used[p.img][best] = true
			tp++
		}
		precision[n] = float64(tp) / float64(n+1)
		recall[n] = float64(tp) / float64(nTruth)
	}
	// The envelope: the best precision at this recall or any higher one.
	for n := len(precision) - 2; n >= 0; n-- {
		precision[n] = max(precision[n], precision[n+1])
	}
	var sum float64
	n := 0
	for r := 0; r <= 100; r++ {
		thr := float64(r) / 100
		for n < len(recall) && recall[n] < thr {
			n++
		}
		if n < len(recall) {
			sum += precision[n]
		}
	}
	return sum / 101, nil
}
