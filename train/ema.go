package train

import "github.com/fc2conv/fc2conv/nn"

// weightAverage keeps an exponential moving average of every tensor of a
// network being trained: weights and batch-norm statistics alike, so that
// the averaged network's statistics belong to its averaged weights about
// as well as the live ones belong to theirs. Its network is what a run
// with Config.EMA saves: the last step's weights carry that step's noise,
// an average over the last few thousand steps carries less of it.
type weightAverage struct {
	decay   float64
	updates int
	live    []*nn.Tensor // the trained network's tensors, updated in place by each step
	avg     []*nn.Tensor // net's tensors, the same order
	net     *nn.Network  // a copy of the trained network holding the averages
}

// newWeightAverage starts the average at net's current weights.
func newWeightAverage(net *nn.Network, decay float64) *weightAverage {
	w := &weightAverage{decay: decay, net: &nn.Network{Input: net.Input, Labels: append([]string(nil), net.Labels...),
		Positive: net.Positive, Threshold: net.Threshold}}
	for _, l := range net.Layers {
		c := nn.CloneLayer(l)
		w.net.Layers = append(w.net.Layers, c)
		for i, p := range l.Params() {
			if p.Value != nil {
				w.live = append(w.live, p.Value)
				w.avg = append(w.avg, c.Params()[i].Value)
			}
		}
	}
	return w
}

// update moves the average towards the live weights after a step. The
// decay starts low ((1+n)/(10+n) after n updates) and rises to its set
// value, so the random initial weights do not linger in the average.
func (w *weightAverage) update() {
	w.updates++
	d := min(w.decay, float64(1+w.updates)/float64(10+w.updates))
	rate := float32(1 - d)
	for i, t := range w.live {
		a := w.avg[i].Data
		for j, x := range t.Data {
			a[j] += rate * (x - a[j])
		}
	}
}
