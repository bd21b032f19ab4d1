package train

import (
	"fmt"
	"runtime"
	"sort"

	"github.com/fc2conv/fc2conv/fmnist"
	"github.com/fc2conv/fc2conv/internal/work"
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
	out := make([]float64, set.Len())
	err = forwardEach(net, set.Len(), func(i int, x []float32) {
		set.Unit(x, i)
		normalise(x, net.Input)
	}, func(i int, y []float32) { out[i] = float64(y[net.Positive]) })
	if err != nil {
		return nil, fmt.Errorf("scores: %w", err)
	}
	return out, nil
}

// forwardInputs runs net on each of xs, windows of its input shape, and
// hands each output to use, in order.
func forwardInputs(net *nn.Network, xs [][]float32, use func(i int, y []float32)) error {
	win := net.Input.Window()
	for i, x := range xs {
		if len(x) != win.Size() {
			return fmt.Errorf("input %d holds %d values, the window %v needs %d", i, len(x), win, win.Size())
		}
	}
	return forwardEach(net, len(xs), func(i int, x []float32) { copy(x, xs[i]) }, use)
}

// evalBatch is how many windows an evaluation pass runs through the
// engine at once (nn.Engine.ForwardBatch): a classifier's FC head then
// runs once for all of them, a product in place of one matrix–vector
// product per window, to the same bits.
const evalBatch = 256

// forwardEach runs net on n windows of its input shape, fill writing
// window i into x, and hands each output to use, in order. Batches of
// evalBatch windows are shared out among GOMAXPROCS goroutines, each
// with an engine of its own: a window's output does not depend on which
// one runs it. fill is called from several goroutines at once; use from
// the caller's only.
func forwardEach(net *nn.Network, n int, fill func(i int, x []float32), use func(i int, y []float32)) error {
	win := net.Input.Window()
	out, err := net.OutShape(win)
	if err != nil {
		return err
	}
	if out.Size() > 0 && n > nn.MaxActivation/out.Size() {
		return fmt.Errorf("%d outputs of %v are more than %d values", n, out, nn.MaxActivation)
	}
	if n == 0 {
		return nil
	}
	ys := make([]float32, n*out.Size())
	batches := (n + evalBatch - 1) / evalBatch
	workers := max(1, min(runtime.GOMAXPROCS(0), batches))
	engines, inputs := make([]*nn.Engine, workers), make([][]float32, workers)
	for w := range workers {
		engines[w], inputs[w] = nn.NewEngine(net), make([]float32, evalBatch*win.Size())
	}
	err = work.Each(batches, workers, func(w, b int) error {
		lo := b * evalBatch
		m := min(evalBatch, n-lo)
		xs := inputs[w]
		for i := range m {
			fill(lo+i, xs[i*win.Size():(i+1)*win.Size()])
		}
		if _, err := engines[w].ForwardBatch(ys[lo*out.Size():(lo+m)*out.Size()], xs[:m*win.Size()], m, win); err != nil {
			return fmt.Errorf("inputs %d to %d: %w", lo, lo+m-1, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for i := range n {
		use(i, ys[i*out.Size():(i+1)*out.Size()])
	}
	return nil
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
