package train

import (
	"errors"
	"fmt"
	"math"

	"github.com/fc2conv/fc2conv/nn"
)

// Temperature bounds: FitTemperature searches [MinTemperature,
// MaxTemperature].
const (
	MinTemperature = 0.05
	MaxTemperature = 20.0
)

// Logits runs net, which must end in a softmax, on each normalised input
// of its window and returns the softmax's inputs.
func Logits(net *nn.Network, xs [][]float32) ([][]float64, error) {
	n := len(net.Layers)
	if n == 0 || net.Layers[n-1].Kind() != nn.KindSoftmax {
		return nil, errors.New("logits: the network does not end in a softmax")
	}
	cut := *net
	cut.Layers = net.Layers[:n-1]
	out := make([][]float64, len(xs))
	err := forwardInputs(&cut, xs, func(i int, y []float32) {
		out[i] = make([]float64, len(y))
		for k, v := range y {
			out[i][k] = float64(v)
		}
	})
	if err != nil {
		return nil, fmt.Errorf("logits: %w", err)
	}
	return out, nil
}

// NLL is the mean negative log-likelihood of the labels under
// softmax(logits/t).
func NLL(logits [][]float64, labels []int, t float64) float64 {
	var sum float64
	for i, z := range logits {
		m := math.Inf(-1)
		for _, v := range z {
			m = max(m, v/t)
		}
		var s float64
		for _, v := range z {
			s += math.Exp(v/t - m)
		}
		sum += m + math.Log(s) - z[labels[i]]/t
	}
	return sum / float64(max(1, len(logits)))
}

// FitTemperature is the temperature t in [MinTemperature, MaxTemperature]
// minimising NLL (temperature scaling, Guo et al. 2017). The NLL is convex
// in 1/t, so a golden-section search over 1/t finds the minimum.
func FitTemperature(logits [][]float64, labels []int) (float64, error) {
	if len(logits) == 0 || len(logits) != len(labels) {
		return 0, fmt.Errorf("fit temperature: %d logits for %d labels, want as many and some", len(logits), len(labels))
	}
	for i, z := range logits {
		if labels[i] < 0 || labels[i] >= len(z) {
			return 0, fmt.Errorf("fit temperature: label %d of item %d out of range [0,%d)", labels[i], i, len(z))
		}
	}
	f := func(b float64) float64 { return NLL(logits, labels, 1/b) }
	lo, hi := 1/MaxTemperature, 1/MinTemperature
	r := (math.Sqrt(5) - 1) / 2
	a, b := hi-r*(hi-lo), lo+r*(hi-lo)
	fa, fb := f(a), f(b)
	for hi-lo > 1e-7 {
		if fa < fb {
			hi, b, fb = b, a, fa
			a = hi - r*(hi-lo)
			fa = f(a)
		} else {
			lo, a, fa = a, b, fb
			b = lo + r*(hi-lo)
			fb = f(b)
		}
	}
	return 1 / ((lo + hi) / 2), nil
}

// ApplyTemperature divides net's logits by t: it scales the weighted layer
// that feeds the final softmax (a dense or convolution layer, or a batch
// norm), so the model file needs nothing new and every consumer (the
// engine, the converted form, the detector's heatmap) applies it. A stored
// two-class threshold moves with the scores, σ(logit(p)/t), so it keeps
// the same operating point.
func ApplyTemperature(net *nn.Network, t float64) error {
	if !(t > 0) || math.IsInf(t, 0) {
		return fmt.Errorf("apply temperature: %v, want finite and > 0", t)
	}
	n := len(net.Layers)
	if n < 2 || net.Layers[n-1].Kind() != nn.KindSoftmax {
		return errors.New("apply temperature: the network does not end in a softmax")
	}
	k := float32(1 / t)
	var ts []*nn.Tensor
	switch l := net.Layers[n-2].(type) {
	case *nn.Dense:
		ts = []*nn.Tensor{l.Weight, l.Bias}
	case *nn.Conv2D:
		ts = []*nn.Tensor{l.Weight, l.Bias}
	case *nn.BatchNorm:
		ts = []*nn.Tensor{l.Gamma, l.Beta}
	default:
		return fmt.Errorf("apply temperature: layer %q (%s) feeds the softmax; want a dense, convolution or batch norm layer", l.Name(), l.Kind())
	}
	for _, x := range ts {
		for i := range x.Data {
			x.Data[i] *= k
		}
	}
	if out, err := net.OutShape(net.Input.Window()); err == nil && out.C != 2 {
		return nil // only a two-class threshold maps through t
	}
	if p := net.Threshold; p > 0 && p < 1 {
		net.Threshold = 1 / (1 + math.Exp(-math.Log(p/(1-p))/t))
	}
	return nil
}
