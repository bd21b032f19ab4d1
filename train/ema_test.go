package train

import (
	"testing"

	"github.com/fc2conv/fc2conv/nn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// setAll sets every tensor of net, batch-norm statistics included, to v.
func setAll(net *nn.Network, v float32) {
	for _, l := range net.Layers {
		for _, p := range l.Params() {
			if p.Value != nil {
				p.Value.Fill(v)
			}
		}
	}
}

// The average starts at the weights it is given, warms up at
// (1+n)/(10+n), then decays at its set rate, over every tensor of the
// network (a batch norm's running mean too), and is a copy: the live
// weights are left alone.
func TestWeightAverageUpdate(t *testing.T) {
	net, err := Architecture("bn3s")
	require.NoError(t, err)
	setAll(net, 0)
	w := newWeightAverage(net, 0.5)
	require.Len(t, w.net.Layers, len(net.Layers))
	var bn *nn.BatchNorm
	for _, l := range w.net.Layers {
		if b, ok := l.(*nn.BatchNorm); ok {
			bn = b
			break
		}
	}
	require.NotNil(t, bn, "bn3s has batch norms")

	setAll(net, 1)
	w.update() // decay 2/11: 0 + 9/11·(1-0)
	assert.InDelta(t, 9.0/11, bn.Mean.Data[0], 1e-6)
	assert.InDelta(t, 9.0/11, w.net.Layers[len(w.net.Layers)-2].Params()[0].Value.Data[0], 1e-6, "the last dense weight")
	w.update() // decay 3/12: 9/11 + 3/4·(2/11)
	assert.InDelta(t, 10.5/11, bn.Mean.Data[0], 1e-6)
	for range 30 {
		w.update() // the warm-up passes 0.5 after 8 updates
	}
	setAll(net, 0)
	before := bn.Var.Data[0]
	w.update()
	assert.InDelta(t, before/2, bn.Var.Data[0], 1e-6, "decay capped at 0.5")
	assert.Equal(t, float32(0), net.Layers[0].Params()[0].Value.Data[0], "the live weights are not touched")
}

// With EMA the run trains exactly as without it (the checkpoint holds the
// live weights, equal to a plain run's) and saves the average instead.
func TestTrainEMASavesTheAverage(t *testing.T) {
	cfg := tinyConfig(t)
	cfg.Arch = "c4,p,c8,p,f16"
	plain, plainNet := trainOneEpoch(t, cfg)
	cfg.EMA = 0.9
	avg, _ := trainOneEpoch(t, cfg)
	live, err := nn.Load(avg.Out + ".ckpt")
	require.NoError(t, err)
	for i, l := range plainNet.Layers {
		for k, p := range l.Params() {
			assert.Equal(t, p.Value.Data, live.Layers[i].Params()[k].Value.Data, "layer %s: training is unchanged", l.Name())
		}
	}
	assert.NotEqual(t, modelBytes(t, plain), modelBytes(t, avg), "the saved model is the average")
	saved, err := nn.Load(avg.Out)
	require.NoError(t, err)
	assert.NoError(t, saved.Validate())
}
