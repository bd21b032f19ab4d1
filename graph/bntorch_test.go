package graph_test

import (
	"path/filepath"
	"testing"

	"github.com/fc2conv/fc2conv/graph"
	"github.com/fc2conv/fc2conv/nn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// PyTorch trains the same batch-normed network one step in train mode
// (testdata/torch/bntrain.py): the graph's softmax output, mean
// cross-entropy, every gradient and the batch norms' updated running
// statistics match it.
func TestBatchNormTrainingMatchesPyTorch(t *testing.T) {
	dir := filepath.Join("..", "testdata", "torch")
	net, err := nn.Load(filepath.Join(dir, "bntrain.safetensors"))
	require.NoError(t, err)
	want, err := nn.ReadTensors(filepath.Join(dir, "bntrain.golden.safetensors"))
	require.NoError(t, err)
	in, y := want["input"], want["target"]
	n := in.Shape[0]

	g, err := graph.Build(net, graph.Options{Batch: n, Training: true})
	require.NoError(t, err)
	yn := G.NewMatrix(g.G, G.Float32, G.WithShape(n, 2), G.WithValue(tensor.New(tensor.WithShape(n, 2), tensor.WithBacking(y.Data))))
	logp, err := G.LogSoftMax(g.Logits)
	require.NoError(t, err)
	prod, err := G.HadamardProd(logp, yn)
	require.NoError(t, err)
	sum, err := G.Sum(prod)
	require.NoError(t, err)
	loss, err := G.Neg(sum)
	require.NoError(t, err)
	loss, err = G.HadamardDiv(loss, G.NewConstant(float32(n)))
	require.NoError(t, err)
	_, err = G.Grad(loss, g.Learnables...)
	require.NoError(t, err)
	require.NoError(t, G.Let(g.Input, tensor.New(tensor.WithShape(in.Shape...), tensor.WithBacking(in.Data))))
	vm := G.NewTapeMachine(g.G, G.BindDualValues(g.Learnables...))
	defer vm.Close()
	require.NoError(t, vm.RunAll())
	require.NoError(t, g.UpdateRunningStats())

	assert.InDeltaSlice(t, want["output"].Data, g.Output.Value().Data().([]float32), 1e-5, "softmax output")
	assert.InDelta(t, want["loss"].Data[0], loss.Value().Data().(float32), 1e-5, "loss")
	require.Len(t, g.Learnables, 10)
	for _, l := range g.Learnables {
		gv, err := l.Grad()
		require.NoError(t, err)
		w, ok := want["grad."+l.Name()]
		require.True(t, ok, "PyTorch has no gradient for %s", l.Name())
		assert.InDeltaSlice(t, w.Data, gv.Data().([]float32), 1e-5, "gradient of %s", l.Name())
	}
	for _, l := range net.Layers {
		if bn, ok := l.(*nn.BatchNorm); ok {
			assert.InDeltaSlice(t, want["running."+bn.Name()+".running_mean"].Data, bn.Mean.Data, 1e-6, "%s running mean", bn.Name())
			assert.InDeltaSlice(t, want["running."+bn.Name()+".running_var"].Data, bn.Var.Data, 1e-6, "%s running var", bn.Name())
		}
	}
}
