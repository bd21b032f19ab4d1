package onnx_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"math/rand"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fc2conv/fc2conv/convert"
	"github.com/fc2conv/fc2conv/nn"
	"github.com/fc2conv/fc2conv/nn/nntest"
	"github.com/fc2conv/fc2conv/onnx"
)

var update = flag.Bool("update", false, "rewrite testdata/onnx/exported/ (then run testdata/onnx/run_ort.js)")

type ortCase struct {
	Name  string    `json:"name"`
	Shape []int     `json:"shape"`
	Input []float32 `json:"input"`
}

type ortOutput struct {
	Shape []int     `json:"shape"`
	Data  []float32 `json:"data"`
}

// The exported models run in ONNX Runtime (testdata/onnx/run_ort.js, whose
// outputs are committed) and give what our engine gives: FC models on the
// window, converted ones on inputs larger than the window, so the free
// height and width are exercised. The exported bytes must equal the
// committed files the runtime ran.
func TestExportORT(t *testing.T) {
	dir := filepath.Join("..", "testdata", "onnx", "exported")
	torch := filepath.Join("..", "testdata", "torch")
	var cases []ortCase
	nets := map[string]*nn.Network{}
	for _, name := range []string{"chw_softmax", "hwc_keras", "avgpool_padded", "unpadded_sigmoid", "asym_pad", "ceil_maxpool", "ceil_avgpool", "grown_mixed"} {
		fc, err := nn.Load(filepath.Join(torch, name+".safetensors"))
		require.NoError(t, err)
		golden, err := nn.ReadTensors(filepath.Join(torch, name+".golden.safetensors"))
		require.NoError(t, err)
		res, err := convert.Convert(fc)
		require.NoError(t, err)
		for _, v := range []struct {
			suffix string
			net    *nn.Network
			input  string
		}{{"_fc", fc, "window_input"}, {"_fcn", res.Network, "large_input"}} {
			x := golden[v.input]
			c := ortCase{Name: name + v.suffix, Shape: append([]int{1}, x.Shape...), Input: x.Data}
			cases = append(cases, c)
			nets[c.Name] = v.net
		}
	}
	// The activations ONNX brought into nn, built here with seeded weights.
	rng := rand.New(rand.NewSource(9))
	act := &nn.Network{
		Input: nn.InputSpec{Channels: 2, Height: 10, Width: 8, Mean: []float32{0, 0}, Std: []float32{1, 1}},
		Layers: []nn.Layer{
			nn.NewConv2D("conv1", 2, 4, nn.Pair{H: 3, W: 3}, nn.Pair{H: 1, W: 1}, nn.Pair{H: 1, W: 1}),
			nn.NewLeakyReLU("leaky", 0.2), nn.NewMaxPool2D("pool", nn.Pair{H: 2, W: 2}, nn.Pair{H: 2, W: 2}, nn.Pair{}),
			nn.NewConv2D("conv2", 4, 4, nn.Pair{H: 3, W: 3}, nn.Pair{H: 1, W: 1}, nn.Pair{}), nn.NewClip("relu6", 0, 0.5),
			nn.NewFlatten("flat", nn.FlattenHWC), nn.NewDense("fc", 4*3*2, 3), nn.NewLogSoftmax("logp"),
		},
	}
	// addCase randomises net (2×10×8) and adds it and its converted form,
	// run on 2×23×19, as two cases.
	addCase := func(name string, net *nn.Network) {
		nntest.Randomize(net, rng)
		fcn, err := convert.Convert(net)
		require.NoError(t, err)
		cases = append(cases,
			ortCase{Name: name + "_fc", Shape: []int{1, 2, 10, 8}, Input: nntest.Input(rng, nn.Shape{C: 2, H: 10, W: 8})},
			ortCase{Name: name + "_fcn", Shape: []int{1, 2, 23, 19}, Input: nntest.Input(rng, nn.Shape{C: 2, H: 23, W: 19})})
		nets[name+"_fc"], nets[name+"_fcn"] = net, fcn.Network
	}
	addCase("activations", act)
	// And the two added later, in a network of their own so that the
	// first's files stay as ONNX Runtime ran them.
	addCase("activations2", &nn.Network{
		Input:  nn.InputSpec{Channels: 2, Height: 10, Width: 8, Mean: []float32{0, 0}, Std: []float32{1, 1}},
		Labels: []string{"a", "b", "c"},
		Layers: []nn.Layer{
			nn.NewConv2D("conv1", 2, 4, nn.Pair{H: 3, W: 3}, nn.Pair{H: 1, W: 1}, nn.Pair{H: 1, W: 1}),
			nn.NewELU("elu", 0.7), nn.NewPReLU("prelu", 4), nn.NewMaxPool2D("pool", nn.Pair{H: 2, W: 2}, nn.Pair{H: 2, W: 2}, nn.Pair{}),
			nn.NewConv2D("conv2", 4, 4, nn.Pair{H: 3, W: 3}, nn.Pair{H: 1, W: 1}, nn.Pair{}), nn.NewTanh("tanh"), nn.NewPReLU("shared", 1), nn.NewSiLU("silu"),
			nn.NewFlatten("flat", nn.FlattenCHW), nn.NewDense("fc1", 4*3*2, 5), nn.NewELU("elu2", 1), nn.NewPReLU("prelu2", 5),
			nn.NewDense("fc2", 5, 3), nn.NewSoftmax("softmax"),
		},
	})
	// Residual blocks: one whose body starts with a batch norm and an
	// identity shortcut, one strided with a 1×1 projection.
	one, two, three := nn.Pair{H: 1, W: 1}, nn.Pair{H: 2, W: 2}, nn.Pair{H: 3, W: 3}
	addCase("residual", &nn.Network{
		Input: nn.InputSpec{Channels: 2, Height: 10, Width: 8, Mean: []float32{0, 0}, Std: []float32{1, 1}},
		Layers: []nn.Layer{
			nn.NewConv2D("stem", 2, 4, three, one, one),
			nn.NewResidual("block1", []nn.Layer{nn.NewBatchNorm("b1bn", 4, 1e-5), nn.NewReLU("b1relu"), nn.NewConv2D("b1conv", 4, 4, three, one, one)}, nil),
			nn.NewResidual("block2",
				[]nn.Layer{nn.NewConv2D("b2conv1", 4, 6, three, two, one), nn.NewReLU("b2relu"), nn.NewConv2D("b2conv2", 6, 6, three, one, one)},
				[]nn.Layer{nn.NewConv2D("b2down", 4, 6, one, two, nn.Pair{})}),
			nn.NewReLU("relu"), nn.NewFlatten("flat", nn.FlattenCHW), nn.NewDense("fc", 6*5*4, 3), nn.NewSoftmax("softmax"),
		},
	})
	// And the activations added with them, after them so that their
	// files stay as ONNX Runtime ran them.
	addCase("activations3", &nn.Network{
		Input: nn.InputSpec{Channels: 2, Height: 10, Width: 8, Mean: []float32{0, 0}, Std: []float32{1, 1}},
		Layers: []nn.Layer{
			nn.NewConv2D("conv1", 2, 4, nn.Pair{H: 3, W: 3}, nn.Pair{H: 1, W: 1}, nn.Pair{H: 1, W: 1}),
			nn.NewUnary("gelu", nn.KindGELU), nn.NewMaxPool2D("pool", nn.Pair{H: 2, W: 2}, nn.Pair{H: 2, W: 2}, nn.Pair{}),
			nn.NewConv2D("conv2", 4, 4, nn.Pair{H: 3, W: 3}, nn.Pair{H: 1, W: 1}, nn.Pair{}), nn.NewUnary("hswish", nn.KindHardSwish),
			nn.NewUnary("mish", nn.KindMish), nn.NewFlatten("flat", nn.FlattenCHW), nn.NewDense("fc1", 4*3*2, 5),
			nn.NewUnary("softplus", nn.KindSoftplus), nn.NewDense("fc2", 5, 3), nn.NewHardSigmoid("hsig", 0.2, 0.5),
		},
	})
	// Concatenations, after those: an Inception module of four paths (one
	// the input itself, one a padded max pool of stride 1) and a DenseNet
	// layer's, nested in a residual block's body.
	four := []nn.Layer{nn.NewMaxPool2D("m1pool", three, one, one), nn.NewConv2D("m1proj", 4, 2, one, one, nn.Pair{})}
	addCase("concat", &nn.Network{
		Input: nn.InputSpec{Channels: 2, Height: 10, Width: 8, Mean: []float32{0, 0}, Std: []float32{1, 1}},
		Layers: []nn.Layer{
			nn.NewConv2D("stem", 2, 4, three, one, one), nn.NewReLU("stemrelu"),
			nn.NewConcat("mixed1",
				[]nn.Layer{nn.NewConv2D("m1a", 4, 3, one, one, nn.Pair{})},
				nil,
				[]nn.Layer{nn.NewConv2D("m1reduce", 4, 2, one, one, nn.Pair{}), nn.NewReLU("m1relu"), nn.NewConv2D("m1b", 2, 3, three, one, one)},
				four),
			nn.NewReLU("relu1"),
			nn.NewResidual("block", []nn.Layer{
				nn.NewConcat("dense", nil, []nn.Layer{nn.NewBatchNorm("dbn", 12, 1e-5), nn.NewReLU("drelu"), nn.NewConv2D("dconv", 12, 4, three, one, one)}),
				nn.NewConv2D("trans", 16, 12, one, one, nn.Pair{}),
			}, nil),
			nn.NewMaxPool2D("pool", two, two, nn.Pair{}), nn.NewFlatten("flat", nn.FlattenCHW), nn.NewDense("fc", 12*5*4, 3), nn.NewSoftmax("softmax"),
		},
	})
	if *update {
		require.NoError(t, os.MkdirAll(dir, 0o755))
		for _, c := range cases {
			require.NoError(t, onnx.Export(nets[c.Name], filepath.Join(dir, c.Name+".onnx")))
		}
		b, err := json.Marshal(cases)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, "cases.json"), b, 0o644))
		t.Log("wrote exported models; now run: cd testdata/onnx && node run_ort.js")
	}
	b, err := os.ReadFile(filepath.Join(dir, "ort_outputs.json"))
	require.NoError(t, err)
	var ort map[string]ortOutput
	require.NoError(t, json.Unmarshal(b, &ort))
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			net := nets[c.Name]
			got, err := onnx.Marshal(net)
			require.NoError(t, err)
			committed, err := os.ReadFile(filepath.Join(dir, c.Name+".onnx"))
			require.NoError(t, err)
			assert.True(t, bytes.Equal(got, committed), "export differs from the committed file ONNX Runtime ran; rerun with -update and run_ort.js")
			want, ok := ort[c.Name]
			require.True(t, ok, "no ONNX Runtime output for %s", c.Name)
			s := nn.Shape{C: c.Shape[1], H: c.Shape[2], W: c.Shape[3]}
			out, os, err := nn.NewEngine(net).Forward(c.Input, s)
			require.NoError(t, err)
			shape := []int{1, os.C, os.H, os.W}
			if !net.IsFullyConvolutional() {
				shape = []int{1, os.C}
			} else {
				assert.Greater(t, os.H*os.W, 1, "a converted network's case must give a heatmap")
			}
			assert.Equal(t, shape, want.Shape)
			d := nntest.MaxAbsDiff(out, want.Data)
			t.Logf("max abs diff vs ONNX Runtime: %.3g", d)
			assert.LessOrEqual(t, d, 1e-4, "our engine vs ONNX Runtime")
		})
	}
}
