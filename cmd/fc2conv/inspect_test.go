package main

import (
	"encoding/json"
	"math/rand"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fc2conv/fc2conv/nn"
	"github.com/fc2conv/fc2conv/nn/nntest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// tinyModel is a small FC classifier whose counts are worked out by hand
// in TestInspectTiny. Its weights are random: all-zero blocks would be
// skipped by the engine and so by the FLOP count.
func tinyModel(t *testing.T) string {
	net := &nn.Network{
		Input: nn.InputSpec{Channels: 1, Height: 8, Width: 8, Mean: []float32{0.25}, Std: []float32{2}},
		Layers: []nn.Layer{
			nn.NewConv2D("conv1", 1, 4, nn.Pair{H: 3, W: 3}, nn.Pair{H: 1, W: 1}, nn.Pair{H: 1, W: 1}),
			nn.NewBatchNorm("bn1", 4, 1e-5),
			nn.NewReLU("relu1"),
			nn.NewMaxPool2D("pool1", nn.Pair{H: 2, W: 2}, nn.Pair{H: 2, W: 2}, nn.Pair{}),
			nn.NewConv2D("conv2", 4, 6, nn.Pair{H: 3, W: 3}, nn.Pair{H: 1, W: 1}, nn.Pair{}),
			nn.NewFlatten("flatten", nn.FlattenCHW),
			nn.NewDense("fc", 24, 3),
			nn.NewSoftmax("softmax"),
		},
		Labels: []string{"a", "b", "c"}, Positive: 2, Threshold: 0.5,
	}
	nntest.Randomize(net, rand.New(rand.NewSource(1)))
	path := filepath.Join(t.TempDir(), "tiny.safetensors")
	require.NoError(t, net.Save(path))
	return path
}

// row finds the table line of layer name and returns its fields.
func row(t *testing.T, out, name string) []string {
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) > 0 && f[0] == name {
			return f
		}
	}
	t.Fatalf("no row %q in\n%s", name, out)
	return nil
}

func TestInspectTiny(t *testing.T) {
	path := tinyModel(t)
	code, out, errOut := runCLI("inspect", path, "--size", "20x12")
	require.Equal(t, exitOK, code, errOut)
	assert.Contains(t, out, "model tiny.safetensors (sha256 ")
	assert.Contains(t, out, "FC classifier, 8 layers")
	assert.Contains(t, out, "input 1×8×8 (C×H×W, grey), pixels in [0,1] then mean [0.25], std [2]")
	assert.NotContains(t, out, "context")
	// Counted by hand. Params: a conv has out·in·kh·kw weights plus out
	// biases, a batch norm four values per feature, a dense in·out+out.
	// FLOPs: 2·in·kh·kw per output value of a conv, 2·in·out for a dense.
	want := [][]string{
		{"conv1", "conv2d", "4×8×8", "40", "4,608"}, // 4·1·9+4; 2·9·(4·8·8)
		{"bn1", "batchnorm", "4×8×8", "16", "0"},
		{"relu1", "relu", "4×8×8", "0", "0"},
		{"pool1", "maxpool2d", "4×4×4", "0", "0"},
		{"conv2", "conv2d", "6×2×2", "222", "1,728"}, // 6·4·9+6; 2·36·(6·2·2)
		{"flatten", "flatten", "24×1×1", "0", "0"},
		{"fc", "dense", "3×1×1", "75", "144"}, // 24·3+3; 2·24·3
		{"softmax", "softmax", "3×1×1", "0", "0"},
		{"total", "353", "6,480"},
	}
	for _, w := range want {
		f := row(t, out, w[0])
		require.GreaterOrEqual(t, len(f), len(w), w[0])
		assert.Equal(t, w, f[:len(w)], w[0])
	}
	assert.Contains(t, out, "353 parameters; 6,480 FLOPs per 8×8 window (6.48 kFLOP)")
	// Stride 2 (the pool); field 1 → 3 (conv1) → 4 (pool) → 4+2·2 = 8
	// (conv2), then the flatten sees the window; conv1's padding of 1
	// reaches back 1 pixel.
	assert.Contains(t, out, "geometry: window 8×8, stride once converted 2×2, receptive field 8×8, padding reach 1×1, padded true")
	assert.Contains(t, out, "labels: a, b, c; positive class 2 (c); threshold 0.5")
	// On 12×20 (H×W): conv1 4×12×20 (17,280 FLOPs), pool 4×6×10, conv2
	// 6×4×8 (2·36·192 = 13,824), fc as a 2×2 conv over 6 channels 3×3×7
	// (2·24·63 = 3,024): 34,128 FLOPs on (12−8)/2+1 = 3 rows and
	// (20−8)/2+1 = 7 columns, 34,128/21 = 1,625 per position.
	assert.Contains(t, out, "once converted ('fc2conv convert'), on a 20×12 image: heatmap 3×7 (rows×cols), 34,128 FLOPs (34.1 kFLOP), 1.62 kFLOP per position")

	code, js, errOut := runCLI("inspect", "--json", "--size", "20x12", path)
	require.Equal(t, exitOK, code, errOut)
	var r struct {
		Model     string
		Converted bool
		Params    int64
		FLOPs     int64 `json:"flops_per_window"`
		Layers    []struct {
			Name   string
			Output [3]int
			Params int64
			FLOPs  int64
		}
		Geometry struct {
			Window, Stride [2]int
			Field          [2]int `json:"receptive_field"`
			Reach          [2]int `json:"padding_reach"`
			Padded         bool
		}
		Image struct {
			Rows, Cols  int
			FLOPs       int64
			PerPosition int64 `json:"flops_per_position"`
		}
	}
	require.NoError(t, json.Unmarshal([]byte(js), &r), js)
	assert.Equal(t, "tiny.safetensors", r.Model)
	assert.False(t, r.Converted)
	assert.Equal(t, int64(353), r.Params)
	assert.Equal(t, int64(6480), r.FLOPs)
	require.Len(t, r.Layers, 8)
	assert.Equal(t, [3]int{6, 2, 2}, r.Layers[4].Output)
	assert.Equal(t, int64(222), r.Layers[4].Params)
	assert.Equal(t, int64(1728), r.Layers[4].FLOPs)
	assert.Equal(t, [2]int{8, 8}, r.Geometry.Window)
	assert.Equal(t, [2]int{2, 2}, r.Geometry.Stride)
	assert.Equal(t, [2]int{8, 8}, r.Geometry.Field)
	assert.Equal(t, [2]int{1, 1}, r.Geometry.Reach)
	assert.True(t, r.Geometry.Padded)
	assert.Equal(t, 3, r.Image.Rows)
	assert.Equal(t, 7, r.Image.Cols)
	assert.Equal(t, int64(34128), r.Image.FLOPs)
	assert.Equal(t, int64(1625), r.Image.PerPosition)
}

// The embedded model and models/dress.safetensors are an ensemble of two
// members side by side: conv2 and fc1 are block diagonal, and the engine
// (so the count) skips the zero blocks of a convolution, not of a dense.
func TestInspectContext(t *testing.T) {
	net, err := nn.Load(tinyModel(t))
	require.NoError(t, err)
	net.Input.Context = 1.5
	path := filepath.Join(t.TempDir(), "wide.safetensors")
	require.NoError(t, net.Save(path))
	code, out, errOut := runCLI("inspect", path)
	require.Equal(t, exitOK, code, errOut)
	assert.Contains(t, out, "context 1.5: the window shows the box it frames and its surroundings, 1.5 times its side")
}

func TestInspectDress(t *testing.T) {
	code, out, errOut := runCLI("inspect")
	require.Equal(t, exitOK, code, errOut)
	assert.Contains(t, out, "model embedded:dress-fcn (sha256 ")
	assert.Contains(t, out, "fully convolutional (converted), 12 layers")
	// Two bn3s members side by side: conv1 takes the one grey channel, so
	// it is a plain 32-filter conv; the later layers are block diagonal
	// and the engine counts one block's inputs per output.
	for _, w := range [][]string{
		{"conv1", "conv2d", "32×26×26", "320", "389,376"},       // 32·9+32; 2·9·(32·26·26)
		{"conv2", "conv2d", "64×24×24", "18,496", "10,616,832"}, // 64·32·9+64; 2·(16·9)·(64·24·24)
		{"conv4", "conv2d", "64×10×10", "36,928", "3,686,400"},  // 64·64·9+64; 2·(32·9)·(64·10·10)
		{"fc6", "conv2d", "256×1×1", "409,856", "409,600"},      // 256·1600+256; 2·(32·25)·256
		{"out", "conv2d", "2×1×1", "514", "1,024"},              // 2·256+2; 2·256·2
		{"total", "466,114", "15,103,232"},
	} {
		assert.Equal(t, w, row(t, out, w[0])[:len(w)], w[0])
	}
	// Stride 2·2 = 4; field 3 → 5 → 6 (pool) → 6+2·2 = 10 → 12 (pool)
	// → 12+4·4 = 28.
	assert.Contains(t, out, "geometry: window 28×28, stride 4×4, receptive field 28×28, padding reach 0×0, padded false")
	assert.Contains(t, out, "labels: not dress, dress; positive class 1 (dress); threshold 0.8445")
	// On 512×1024 (H×W): conv1 32×510×1022 (2·9·16,679,040 = 300,222,720),
	// conv2 64×508×1020 (2·144·33,162,240 = 9,550,725,120), conv4
	// 64×252×508 (2·288·8,193,024 = 4,719,181,824), fc6 256×122×250
	// (2·800·7,808,000 = 12,492,800,000), out 2×122×250 (2·256·61,000 =
	// 31,232,000): 27,094,161,664 on 122×250 positions.
	assert.Contains(t, out, "on a 1024×512 image: heatmap 122×250 (rows×cols), 27,094,161,664 FLOPs (27.1 GFLOP), 888 kFLOP per position")

	code, out, errOut = runCLI("inspect", filepath.Join("..", "..", "models", "dress.safetensors"))
	require.Equal(t, exitOK, code, errOut)
	assert.Contains(t, out, "FC classifier, 17 layers")
	assert.Equal(t, []string{"fc6", "dense", "256×1×1", "409,856", "819,200"}, row(t, out, "fc6")[:5]) // 2·1600·256: dense, no blocks
	// The batch norms' four vectors each are stored: 4·(32+64+64+256) = 1,664 more.
	assert.Equal(t, []string{"total", "467,778", "15,512,832"}, row(t, out, "total")[:3])
	assert.Contains(t, out, "stride once converted 4×4")
	assert.Contains(t, out, "heatmap 122×250 (rows×cols), 27,094,161,664 FLOPs")
}

func TestInspectONNX(t *testing.T) {
	model := filepath.Join("..", "..", "testdata", "onnx", "chain_op13.onnx")
	code, out, errOut := runCLI("inspect", model, "--mean", "0.5", "--std", "0.25", "--labels", "x,y,z", "--positive", "1")
	require.Equal(t, exitOK, code, errOut)
	assert.Contains(t, out, "model chain_op13.onnx (sha256 ")
	assert.Contains(t, out, "input 1×16×12 (C×H×W, grey), pixels in [0,1] then mean [0.5], std [0.25]")
	assert.Equal(t, []string{"conv1_Conv", "conv2d", "4×16×12", "40", "13,824"}, row(t, out, "conv1_Conv")[:5]) // 4·9+4; 2·9·(4·16·12)
	assert.Contains(t, out, "labels: x, y, z; positive class 1 (y)")

	// No labels are an empty list in JSON, not null.
	code, js, errOut := runCLI("inspect", model, "--json")
	require.Equal(t, exitOK, code, errOut)
	assert.Contains(t, js, `"labels": [],`)
	assert.Contains(t, js, `"model": "chain_op13.onnx",`)

	// What the flags say is refused for a model file of our own.
	code, _, errOut = runCLI("inspect", "--mean", "0.5")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, errOut, "--mean is for an ONNX model; the embedded model records its own")
}

func TestInspectErrors(t *testing.T) {
	tiny := tinyModel(t)
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"/nonexistent/m.safetensors"}, exitFail, "/nonexistent/m.safetensors"},
		{[]string{"/nonexistent/m.onnx"}, exitFail, "/nonexistent/m.onnx"},
		{[]string{tiny, "--size", "7x7"}, exitFail, tiny + ": --size 7x7: "},
		{[]string{tiny, "--size", "7"}, exitUsage, `--size "7"`},
		{[]string{tiny, tiny}, exitUsage, "at most one MODEL, got 2"},
		{[]string{"scene.png"}, exitUsage, "MODEL scene.png is an image, not a model file"},
	} {
		code, out, errOut := runCLI(append([]string{"inspect"}, c.args...)...)
		assert.Equal(t, c.code, code, c.args)
		assert.Empty(t, out, c.args)
		assert.Contains(t, errOut, "fc2conv inspect: ", c.args)
		assert.Contains(t, errOut, c.want, c.args)
	}
}
