package train

import (
	"fmt"
	"sort"

	"github.com/fc2conv/fc2conv/fmnist"
	"github.com/fc2conv/fc2conv/nn"
)

// Metrics are dress-vs-rest figures on raw Fashion-MNIST items.
type Metrics struct {
	Items     int     `json:"items"`
	Threshold float64 `json:"threshold"`
	Accuracy  float64 `json:"accuracy"`
	AUC       float64 `json:"auc"`
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	TP        int     `json:"tp"`
	FP        int     `json:"fp"`
	TN        int     `json:"tn"`
	FN        int     `json:"fn"`
	// CalledDress is, per class, the fraction of its items scored ≥
	// Threshold: the recall for Dress, the confusion for the others.
	CalledDress [fmnist.NumClasses]float64 `json:"called_dress"`
}

// Scores runs the FC network on every item of set (raw 28×28, pixels/255,
// in the network's window with its context) and returns p(dress).
func Scores(net *nn.Network, set *fmnist.Set) ([]float64, error) {
	in := net.Input
	var err error
	switch {
	case in.Channels == 1 && set.Rows == in.Height && set.Cols == in.Width:
		set, err = set.InContext(in.Context)
	case in.Channels == 1 && in.Height == in.Width && set.Rows == set.Cols:
		// A verifier's wider window: the items at their own pixels, in a margin.
		set, err = set.InWindow(in.Context, in.Width)
	default:
		return nil, fmt.Errorf("scores: items are %d×%d, the network wants %v", set.Rows, set.Cols, in.Window())
	}
	if err != nil {
		return nil, fmt.Errorf("scores: %w", err)
	}
	e := nn.NewEngine(net)
	x := make([]float32, set.Rows*set.Cols)
	out := make([]float64, set.Len())
	for i := range set.Images {
		set.Unit(x, i)
		normalise(x, net.Input)
		y, _, err := e.Forward(x, net.Input.Window())
		if err != nil {
			return nil, fmt.Errorf("scores: item %d: %w", i, err)
		}
		out[i] = float64(y[net.Positive])
	}
	return out, nil
}

// Evaluate computes the metrics of scores against set's labels, calling
// an item a dress when its score is ≥ threshold.
func Evaluate(scores []float64, set *fmnist.Set, threshold float64) Metrics {
	m := Metrics{Items: len(scores), Threshold: threshold}
	var called, total [fmnist.NumClasses]int
	pos := make([]bool, len(scores))
	for i, s := range scores {
		c := int(set.Labels[i])
		pos[i] = c == fmnist.Dress
		total[c]++
		yes := s >= threshold
		if yes {
			called[c]++
		}
		switch {
		case yes && pos[i]:
			m.TP++
		case yes:
			m.FP++
		case pos[i]:
			m.FN++
		default:
			m.TN++
		}
	}
	for c := range total {
		if total[c] > 0 {
			m.CalledDress[c] = float64(called[c]) / float64(total[c])
		}
	}
	m.Accuracy = float64(m.TP+m.TN) / float64(max(1, m.Items))
	m.Precision = float64(m.TP) / float64(max(1, m.TP+m.FP))
	m.Recall = float64(m.TP) / float64(max(1, m.TP+m.FN))
	m.AUC = AUC(scores, pos)
	return m
}

// AUC is the area under the ROC curve: the probability that a random
// positive outscores a random negative, ties counting half (0 without
// both kinds).
func AUC(scores []float64, positive []bool) float64 {
	once := make([]int, len(scores))
	for i := range once {
		once[i] = 1
	}
	return weightedAUC(scores, positive, ascending(scores), once)
}

// ascending returns the indices of scores in ascending order of score.
func ascending(scores []float64) []int {
	idx := make([]int, len(scores))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return scores[idx[a]] < scores[idx[b]] })
	return idx
}

// weightedAUC is AUC with item k counted weight[k] times, over the
// items in ascending order: each positive outscores the negatives below
// its tie group and half of those in it.
func weightedAUC(scores []float64, positive []bool, order, weight []int) float64 {
	var wins, negBelow, nPos, nNeg float64
	for i := 0; i < len(order); {
		j := i
		var pos, neg float64
		for j < len(order) && scores[order[j]] == scores[order[i]] {
			w := float64(weight[order[j]])
			if positive[order[j]] {
				pos += w
			} else {
				neg += w
			}
			j++
		}
		wins += pos * (negBelow + neg/2)
		negBelow += neg
		nPos += pos
		nNeg += neg
		i = j
	}
	if nPos == 0 || nNeg == 0 {
		return 0
	}
	return wins / (nPos * nNeg)
}
