package convert_test

import (
	"path/filepath"
	"testing"

	"github.com/fc2conv/fc2conv/convert"
	"github.com/fc2conv/fc2conv/nn"
	"github.com/fc2conv/fc2conv/nn/nntest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Suite 5: models built and run by PyTorch (testdata/torch/gen.py). The FC
// form must reproduce PyTorch's classifier output, and our converted form
// PyTorch's own fully convolutional rewrite on a larger input.
func TestGoldenPyTorch(t *testing.T) {
	for _, name := range []string{"chw_softmax", "unpadded_sigmoid", "hwc_keras", "seed", "avgpool_padded", "avgpool_unpadded",
		"asym_pad", "ceil_maxpool", "ceil_avgpool", "grown_mixed"} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join("..", "testdata", "torch")
			fc, err := nn.Load(filepath.Join(dir, name+".safetensors"))
			require.NoError(t, err)
			golden, err := nn.ReadTensors(filepath.Join(dir, name+".golden.safetensors"))
			require.NoError(t, err)
			res, err := convert.Convert(fc)
			require.NoError(t, err)

			x, xs := chw(t, golden["window_input"])
			got, _, err := nn.NewEngine(fc).Forward(x, xs)
			require.NoError(t, err)
			want := golden["window_output"].Data
			assert.LessOrEqual(t, nntest.MaxAbsDiff(got, want), tol, "FC form vs PyTorch")
			got, _, err = nn.NewEngine(res.Network).Forward(x, xs)
			require.NoError(t, err)
			assert.LessOrEqual(t, nntest.MaxAbsDiff(got, want), tol, "converted form vs PyTorch")

			big, bs := chw(t, golden["large_input"])
			heat, hs, err := nn.NewEngine(res.Network).Forward(big, bs)
			require.NoError(t, err)
			wantHeat := golden["large_output"]
			assert.Equal(t, []int{hs.C, hs.H, hs.W}, wantHeat.Shape, "heatmap shape vs PyTorch FCN")
			assert.LessOrEqual(t, nntest.MaxAbsDiff(heat, wantHeat.Data), tol, "heatmap vs PyTorch FCN")
			if slide, ok := golden["sliding_output"]; ok {
				assert.LessOrEqual(t, nntest.MaxAbsDiff(heat, slide.Data), tol, "heatmap vs PyTorch sliding window")
			}
		})
	}
}

func chw(t *testing.T, d *nn.Tensor) ([]float32, nn.Shape) {
	t.Helper()
	s := d.Shape
	require.Len(t, s, 3)
	return d.Data, nn.Shape{C: s[0], H: s[1], W: s[2]}
}
