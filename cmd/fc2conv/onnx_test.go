package main

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fc2conv/fc2conv/nn"
	"github.com/fc2conv/fc2conv/nn/nntest"
	"github.com/fc2conv/fc2conv/onnx"
)

var onnxDir = filepath.Join("..", "..", "testdata", "onnx")

// convert takes an ONNX classifier, stores --mean/--std/--labels, and
// writes .onnx or .safetensors by OUT's extension; the written FCN gives
// PyTorch's own FCN heatmap.
func TestConvertONNX(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(onnxDir, "keras_nhwc_op13.onnx")
	golden, err := nn.ReadTensors(filepath.Join(onnxDir, "keras_nhwc_op13.golden.safetensors"))
	require.NoError(t, err)
	x := golden["large_input"]
	s := nn.Shape{C: x.Shape[0], H: x.Shape[1], W: x.Shape[2]}
	for _, out := range []string{"fcn.onnx", "fcn.safetensors"} {
		path := filepath.Join(dir, out)
		code, stdout, stderr := runCLI("convert", in, "--mean", "0.5", "--std", "0.25,0.5,1", "--labels", "no,yes", "--positive", "1", "-o", path)
		require.Equal(t, exitOK, code, stderr)
		assert.Contains(t, stdout, "fc1_MatMul")
		assert.Contains(t, stdout, "wrote "+path)
		fcn, err := loadModel(path, onnx.Options{})
		require.NoError(t, err, out)
		assert.True(t, fcn.IsFullyConvolutional(), out)
		assert.Equal(t, []float32{0.5, 0.5, 0.5}, fcn.Input.Mean, out)
		assert.Equal(t, []float32{0.25, 0.5, 1}, fcn.Input.Std, out)
		assert.Equal(t, []string{"no", "yes"}, fcn.Labels, out)
		assert.Equal(t, 1, fcn.Positive, out)
		heat, hs, err := nn.NewEngine(fcn).Forward(x.Data, s)
		require.NoError(t, err)
		assert.Equal(t, golden["large_output"].Shape, []int{hs.C, hs.H, hs.W})
		assert.LessOrEqual(t, nntest.MaxAbsDiff(heat, golden["large_output"].Data), 1e-5, out)
	}
}

func TestConvertONNXFlagErrors(t *testing.T) {
	out := filepath.Join(t.TempDir(), "x.safetensors")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"convert", filepath.Join("..", "..", "testdata", "torch", "seed.safetensors"), "--mean", "0.5", "-o", out}, "--mean is for an ONNX model"},
		{[]string{"convert", filepath.Join(onnxDir, "chain_op13.onnx"), "--std", "0", "-o", out}, "--std 0: every value must be > 0"},
		{[]string{"convert", filepath.Join(onnxDir, "chain_op13.onnx"), "--mean", "a", "-o", out}, `--mean "a": "a" is not a number`},
		{[]string{"convert", filepath.Join(onnxDir, "chain_op13.onnx"), "--std", "1/0", "-o", out}, `--std "1/0": "1/0" is not a number or a fraction`},
		{[]string{"convert", filepath.Join(onnxDir, "chain_op13.onnx"), "--mean", "1e40", "-o", out}, `--mean "1e40": "1e40" is not a number`},
	} {
		code, _, stderr := runCLI(c.args...)
		assert.Equal(t, exitUsage, code, "%v", c.args)
		assert.Contains(t, stderr, c.want)
	}
	// A model nn cannot run is refused with the node at fault; nothing is written.
	bad := filepath.Join(t.TempDir(), "bad.onnx")
	b, err := os.ReadFile(filepath.Join(onnxDir, "chain_op13.onnx"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(bad, b[:len(b)/3], 0o644))
	code, _, stderr := runCLI("convert", bad, "-o", out)
	assert.Equal(t, exitFail, code)
	assert.Contains(t, stderr, "malformed ONNX model")
	assert.NoFileExists(t, out)
}

// A Keras model that rescales its own 0–255 input (testdata/onnx/gen.py):
// --std 1/255 says the graph reads pixels × 255, and the converted model
// stores the normalisation PyTorch's side computed for it.
func TestConvertONNXInputScaling(t *testing.T) {
	golden, err := nn.ReadTensors(filepath.Join(onnxDir, "keras_rescale_op13.golden.safetensors"))
	require.NoError(t, err)
	out := filepath.Join(t.TempDir(), "fcn.safetensors")
	code, stdout, stderr := runCLI("convert", filepath.Join(onnxDir, "keras_rescale_op13.onnx"), "--std", "1/255", "-o", out)
	require.Equal(t, exitOK, code, stderr)
	fcn, err := nn.Load(out)
	require.NoError(t, err, stdout)
	assert.InDeltaSlice(t, golden["mean"].Data, fcn.Input.Mean, 1e-6)
	assert.InDeltaSlice(t, golden["std"].Data, fcn.Input.Std, 1e-6)
}

func TestVerifyONNX(t *testing.T) {
	code, stdout, stderr := runCLI("verify", filepath.Join(onnxDir, "reshape_gemm_op17.onnx"))
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, "reshape_gemm_op17.onnx: OK")
}

// scan --model takes an ONNX classifier, converts it on load, and its raw
// heatmap is PyTorch's own FCN output on the image (testdata/onnx/gen.py).
// With --mean and --std the pixels are normalised as PyTorch's were.
func TestScanONNX(t *testing.T) {
	golden, err := nn.ReadTensors(filepath.Join(onnxDir, "scan_rgb.golden.safetensors"))
	require.NoError(t, err)
	for _, c := range []struct {
		flags  []string
		golden string
	}{{nil, "heatmap"}, {[]string{"--mean", "0.5", "--std", "0.25"}, "heatmap_norm"}} {
		raw := t.TempDir()
		args := append([]string{"scan", "--model", filepath.Join(onnxDir, "keras_nhwc_op13.onnx"), "--scales", "1", "--flip=false",
			"--raw", raw, "--out", filepath.Join(t.TempDir(), "boxes.jsonl"), "--threshold", "0.5"}, c.flags...)
		code, _, stderr := runCLI(append(args, filepath.Join(onnxDir, "scan_rgb.png"))...)
		require.Equal(t, exitOK, code, stderr)
		files, err := filepath.Glob(filepath.Join(raw, "*.npy"))
		require.NoError(t, err)
		require.Len(t, files, 1)
		rows, cols, got := readNPY(t, files[0])
		want := golden[c.golden]
		assert.Equal(t, want.Shape, []int{rows, cols}, c.golden)
		assert.LessOrEqual(t, nntest.MaxAbsDiff(got, want.Data), 1e-4, c.golden)
	}
	// The embedded model records its own normalisation.
	code, _, stderr := runCLI("scan", "--mean", "0.5", filepath.Join(onnxDir, "scan_rgb.png"))
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "--mean is for an ONNX model; the embedded model records its own")
}

// readNPY reads the little-endian float32 2-D .npy files scan --raw writes.
func readNPY(t *testing.T, path string) (rows, cols int, data []float32) {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.True(t, len(b) > 10 && string(b[1:6]) == "NUMPY")
	hlen := int(binary.LittleEndian.Uint16(b[8:10]))
	header := string(b[10 : 10+hlen])
	require.Contains(t, header, "'<f4'")
	shape := header[strings.Index(header, "(")+1 : strings.Index(header, ")")]
	parts := strings.Split(shape, ",")
	_, err = fmt.Sscan(parts[0], &rows)
	require.NoError(t, err)
	_, err = fmt.Sscan(parts[1], &cols)
	require.NoError(t, err)
	body := b[10+hlen:]
	require.Len(t, body, 4*rows*cols)
	data = make([]float32, rows*cols)
	for i := range data {
		data[i] = math.Float32frombits(binary.LittleEndian.Uint32(body[4*i:]))
	}
	return rows, cols, data
}
