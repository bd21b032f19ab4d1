package graph

import (
	"fmt"

	"github.com/fc2conv/fc2conv/nn"

	G "gorgonia.org/gorgonia"
)

// DefaultMomentum is the batch norms' running-statistics momentum, as in
// PyTorch: running = (1 − m)·running + m·batch.
const DefaultMomentum = 0.1

// BatchStats is a batch norm normalised with batch statistics, and the
// statistics of the last batch run.
type BatchStats struct {
	Layer *nn.BatchNorm
	// Count is the number of values per channel in a batch (N, or N·H·W
	// after a convolution).
	Count int
	// Mean and Var (biased, as used to normalise) per channel, read from
	// the graph at each run.
	Mean, Var G.Value
}

// batchNorm normalises x (N×C or N×C×H×W) per channel with the batch's
// mean and biased variance, then scales by gamma and shifts by beta, both
// learnable and sharing l's storage. The biased variance is what PyTorch
// normalises with in training.
func (gr *Graph) batchNorm(x *G.Node, l *nn.BatchNorm) (*G.Node, error) {
	axes := []int{0}
	if x.Dims() == 4 {
		axes = []int{0, 2, 3}
	}
	count := 1
	for _, a := range axes {
		count *= x.Shape()[a]
	}
	if count < 2 {
		// As PyTorch refuses: the output would be beta whatever the input.
		return nil, fmt.Errorf("one value per channel in a batch; batch statistics need at least 2")
	}
	if x.Shape()[1] != l.Features {
		return nil, fmt.Errorf("input has %d channels, layer expects %d", x.Shape()[1], l.Features)
	}
	st := &BatchStats{Layer: l, Count: count}
	mean, err := G.Mean(x, axes...)
	if err != nil {
		return nil, err
	}
	neg, err := G.Neg(mean)
	if err != nil {
		return nil, err
	}
	xc, err := addChannelwise(x, neg, l.Features)
	if err != nil {
		return nil, err
	}
	sq, err := G.Square(xc)
	if err != nil {
		return nil, err
	}
	variance, err := G.Mean(sq, axes...)
	if err != nil {
		return nil, err
	}
	// A scalar: gorgonia merges constant tensors whose printed values
	// agree, and prints long vectors elided, so a vector of eps could be
	// swapped for another batch norm's of a different length.
	eps := G.NewConstant(float32(l.Eps))
	ve, err := G.Add(variance, eps)
	if err != nil {
		return nil, err
	}
	// Not G.InverseSqrt: its derivative in gorgonia v0.9.18 is wrong
	// (−1/(2y³) instead of −y³/2), which the central-difference test caught.
	sd, err := G.Sqrt(ve)
	if err != nil {
		return nil, err
	}
	gamma := gr.learnable(l.Gamma, l.Name()+".weight")
	beta := gr.learnable(l.Beta, l.Name()+".bias")
	scale, err := G.HadamardDiv(gamma, sd)
	if err != nil {
		return nil, err
	}
	y, err := mulChannelwise(xc, scale, l.Features)
	if err != nil {
		return nil, err
	}
	if y, err = addChannelwise(y, beta, l.Features); err != nil {
		return nil, err
	}
	G.Read(mean, &st.Mean)
	G.Read(variance, &st.Var)
	gr.BatchNorms = append(gr.BatchNorms, st)
	return y, nil
}

// UpdateRunningStats moves every trained batch norm's running statistics
// (its nn layer's Mean and Var) towards the last batch's, as PyTorch does
// after each training forward pass: running = (1 − m)·running + m·batch,
// with the variance made unbiased (·n/(n − 1)) first. Call it after each
// run of a training graph.
func (gr *Graph) UpdateRunningStats() error {
	m := float32(gr.momentum)
	for _, st := range gr.BatchNorms {
		if st.Mean == nil || st.Var == nil {
			return fmt.Errorf("graph: batch norm %q: no batch statistics yet; run the graph first", st.Layer.Name())
		}
		mean, ok1 := st.Mean.Data().([]float32)
		variance, ok2 := st.Var.Data().([]float32)
		l := st.Layer
		if !ok1 || !ok2 || len(mean) != l.Features || len(variance) != l.Features {
			return fmt.Errorf("graph: batch norm %q: batch statistics are not %d float32 values", l.Name(), l.Features)
		}
		unbias := float32(1)
		if st.Count > 1 {
			unbias = float32(st.Count) / float32(st.Count-1)
		}
		for c := range l.Features {
			l.Mean.Data[c] = (1-m)*l.Mean.Data[c] + m*mean[c]
			l.Var.Data[c] = (1-m)*l.Var.Data[c] + m*variance[c]*unbias
		}
	}
	return nil
}
