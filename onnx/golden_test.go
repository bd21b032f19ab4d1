package onnx_test

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fc2conv/fc2conv/convert"
	"github.com/fc2conv/fc2conv/nn"
	"github.com/fc2conv/fc2conv/nn/nntest"
	"github.com/fc2conv/fc2conv/onnx"
)

const tol = 1e-5

// Models exported by PyTorch (testdata/onnx/gen.py): the imported FC form
// must reproduce PyTorch's output on the window, convert.ConvertChecked
// must accept it, and the converted form must reproduce PyTorch's own FCN
// rewrite on a larger input.
func TestGoldenPyTorch(t *testing.T) {
	for _, name := range []string{
		"chain_op9", "chain_op13", "chain_op17", "chain_op21", "gap_sigmoid_op11", "keras_nhwc_op13",
		"keras_flatten_op11", "reshape_gemm_op17", "view_batch_op9", "view_batch_op13", "activations_op9", "activations_op13", "reduce_mean_op13", "keras_gap_op13", "squeeze_op13", "dtypes_op13", "external_op13", "ceil_pool_op13", "asym_pad_op13", "affine_op13", "elu_tanh_op13", "prelu_op13", "silu_op13",
		"resnet_op13", "resnet_preact_op11", "keras_resnet_op13", "resnet_bottleneck_op17", "inception_op13", "densenet_op13",
		"activations3_op13", "hardswish_op14", "activations3_op20",
	} {
		t.Run(name, func(t *testing.T) {
			fc, golden := load(t, name)
			checkGolden(t, fc, golden)
		})
	}
}

func load(t *testing.T, name string) (*nn.Network, map[string]*nn.Tensor) {
	t.Helper()
	dir := filepath.Join("..", "testdata", "onnx")
	golden, err := nn.ReadTensors(filepath.Join(dir, name+".golden.safetensors"))
	require.NoError(t, err)
	fc, err := onnx.Import(filepath.Join(dir, name+".onnx"), onnx.Options{})
	require.NoError(t, err)
	return fc, golden
}

func checkGolden(t *testing.T, fc *nn.Network, golden map[string]*nn.Tensor) {
	t.Helper()
	checkGoldenInputs(t, fc, golden, func(x []float32, _ nn.Shape, _ nn.InputSpec) []float32 { return x })
}

// checkGoldenInputs is checkGolden for goldens whose inputs the network
// reads through in (the network's input spec).
func checkGoldenInputs(t *testing.T, fc *nn.Network, golden map[string]*nn.Tensor, in func(x []float32, s nn.Shape, spec nn.InputSpec) []float32) {
	t.Helper()
	x, xs := chw(t, golden["window_input"])
	assert.Equal(t, xs, fc.Input.Window(), "window")
	got, _, err := nn.NewEngine(fc).Forward(in(x, xs, fc.Input), xs)
	require.NoError(t, err)
	assert.LessOrEqual(t, nntest.MaxAbsDiff(got, golden["window_output"].Data), tol, "imported FC form vs PyTorch")

	res, rep, err := convert.ConvertChecked(fc, convert.VerifyOptions{Seed: 1})
	require.NoError(t, err)
	assert.LessOrEqual(t, rep.MaxAbs(), convert.Tolerance)
	big, bs := chw(t, golden["large_input"])
	heat, hs, err := nn.NewEngine(res.Network).Forward(in(big, bs, res.Network.Input), bs)
	require.NoError(t, err)
	want := golden["large_output"]
	assert.Equal(t, want.Shape, []int{hs.C, hs.H, hs.W}, "heatmap shape vs PyTorch FCN")
	assert.LessOrEqual(t, nntest.MaxAbsDiff(heat, want.Data), tol, "heatmap vs PyTorch FCN")
}

func chw(t *testing.T, d *nn.Tensor) ([]float32, nn.Shape) {
	t.Helper()
	require.Len(t, d.Shape, 3)
	return d.Data, nn.Shape{C: d.Shape[0], H: d.Shape[1], W: d.Shape[2]}
}

// Models that scale their own input (testdata/onnx/gen.py): torch's
// (x - mean) / std, and Keras's Rescaling on an N×H×W×C input read as
// 0–255 pixels (--std 1/255). The import must fold the scaling into the
// input mean and std PyTorch's side computed, and the network fed
// (pixels - mean) / std must give PyTorch's outputs, FC form and
// converted; the padded first convolution pads the scaled map, as the
// graph does.
func TestGoldenInputScaling(t *testing.T) {
	for _, tc := range []struct {
		name string
		opt  onnx.Options
	}{
		{"torch_norm_op13", onnx.Options{}},
		{"keras_rescale_op13", onnx.Options{Std: []float32{1.0 / 255}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join("..", "testdata", "onnx")
			golden, err := nn.ReadTensors(filepath.Join(dir, tc.name+".golden.safetensors"))
			require.NoError(t, err)
			fc, err := onnx.Import(filepath.Join(dir, tc.name+".onnx"), tc.opt)
			require.NoError(t, err)
			assert.InDeltaSlice(t, golden["mean"].Data, fc.Input.Mean, 1e-6, "folded mean")
			assert.InDeltaSlice(t, golden["std"].Data, fc.Input.Std, 1e-6, "folded std")
			checkGoldenInputs(t, fc, golden, normalised)
		})
	}
}

// normalised is pixels in [0,1] (shape s) as the network reads them.
func normalised(px []float32, s nn.Shape, in nn.InputSpec) []float32 {
	out := make([]float32, len(px))
	plane := s.H * s.W
	for i, v := range px {
		c := i / plane
		out[i] = (v - in.Mean[c]) / in.Std[c]
	}
	return out
}
