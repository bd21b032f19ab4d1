package train

import (
	"github.com/fc2conv/fc2conv/fmnist"
	"github.com/fc2conv/fc2conv/nn"
)

// batch is one training step's input: Batch patches of normalised pixels
// (Config.patchLen each) and their targets, classes values each.
type batch struct{ xs, ys []float32 }

// batchMaker draws an epoch's batches. Everything it holds (the sampler,
// the eraser and the mixer with their random streams) is touched by
// nothing else during the epoch, so it can draw the next batch while the
// network steps on this one, and the batches are the same either way.
type batchMaker struct {
	cfg     Config
	sampler *fmnist.Sampler
	er      *eraser
	mix     *mixer
	classes int
	input   nn.InputSpec
}

func newBatch(cfg Config, classes int) batch {
	return batch{xs: make([]float32, cfg.Batch*cfg.patchLen()), ys: make([]float32, cfg.Batch*classes)}
}

// fill draws one batch into b.
func (m *batchMaker) fill(b batch) {
	k, n := m.classes, m.cfg.patchLen()
	for i := 0; i < m.cfg.Batch; i++ {
		x := b.xs[i*n : (i+1)*n]
		lab := sample(m.sampler, x, k)
		if m.er != nil {
			m.er.erase(x)
		}
		normalise(x, m.input)
		targets(b.ys[i*k:(i+1)*k], lab, m.cfg.LabelSmoothing)
		if m.cfg.ScaleSoft > 0 && lab == dressLabel(k) {
			soften(b.ys[i*k:(i+1)*k], lab, noDressLabel(k), m.cfg.dressTarget(m.sampler.DressScale()))
		}
	}
	if m.mix != nil {
		m.mix.mix(b.xs, b.ys)
	}
}

// batchesAhead is how many batches are drawn ahead of the step: two, so
// that one is drawn while the step runs on the other.
const batchesAhead = 2

// run draws n batches in order on a goroutine of its own and hands them
// out on the returned channel; each must be given back on free once
// stepped on. Closing stop ends it early. Drawing a batch (painting
// scenes, cutting crops) takes about as long as a step on a small
// network, so with two cores the two overlap.
func (m *batchMaker) run(n int, free chan batch, stop <-chan struct{}) <-chan batch {
	ready := make(chan batch, batchesAhead)
	go func() {
		defer close(ready)
		for range n {
			var b batch
			select {
			case b = <-free:
			case <-stop:
				return
			}
			m.fill(b)
			select {
			case ready <- b:
			case <-stop:
				return
			}
		}
	}()
	return ready
}
