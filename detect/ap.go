package detect

import (
	"errors"
	"fmt"
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
// k, matched as MatchBoxes does at IoU ≥ iou. Precision is made
// non-increasing in recall and read at the 101 recall points 0, 0.01, …,
// 1 (0 where the recall is never reached); AP is their mean. With no ground truth at all AP is undefined
// and an error is returned.
func AveragePrecision(dets [][]ScoredBox, truth [][][4]float64, iou float64) (float64, error) {
	m, err := MatchBoxes(dets, truth, iou)
	if err != nil {
		return 0, fmt.Errorf("average precision: %w", err)
	}
	return m.AveragePrecision()
}

// AveragePrecision is the AP of the matching (see the function
// AveragePrecision).
func (m *Matching) AveragePrecision() (float64, error) {
	if m.Truths == 0 {
		return 0, errors.New("average precision: no ground-truth boxes, AP is undefined")
	}
	precision := make([]float64, len(m.Ranked))
	recall := make([]float64, len(m.Ranked))
	tp := 0
	for n, p := range m.Ranked {
		if p.TP {
			tp++
		}
		precision[n] = float64(tp) / float64(n+1)
		recall[n] = float64(tp) / float64(m.Truths)
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
