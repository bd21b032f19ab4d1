package onnx_test

import (
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

// Export then import gives back a network with the same outputs, for
// random FC networks (both flatten orders, batch norms, padded convs and
// pools, all heads) and their converted forms on inputs larger than the
// window; the spec, labels and threshold travel in metadata_props.
func TestRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	for i := 0; i < 30; i++ {
		fc := nntest.RandomFC(rng, nntest.Options{Padded: i%2 == 0, Grown: i%3 != 0})
		nntest.Randomize(fc, rng)
		fc.Input.Mean[0], fc.Input.Std[0] = 0.25, 0.5
		fc.Threshold = 0.75
		if i%2 == 1 {
			fc.Input.Context = 1.25
			fc.Views, fc.ViewPool = 27, "min"
		}
		res, err := convert.Convert(fc)
		require.NoError(t, err)
		for _, net := range []*nn.Network{fc, res.Network} {
			b, err := onnx.Marshal(net)
			require.NoError(t, err, "net %d", i)
			back, err := onnx.Decode(b, "", onnx.Options{})
			require.NoError(t, err, "net %d", i)
			assert.Equal(t, net.Input, back.Input, "net %d: input spec", i)
			assert.Equal(t, net.Threshold, back.Threshold)
			assert.Equal(t, net.Views, back.Views)
			assert.Equal(t, net.ViewPool, back.ViewPool)
			assert.Equal(t, net.Positive, back.Positive)
			assert.Equal(t, net.IsFullyConvolutional(), back.IsFullyConvolutional())

			in := net.Input.Window()
			if net.IsFullyConvolutional() {
				in.H, in.W = in.H+5, in.W+3
			}
			x := nntest.Input(rng, in)
			want, ws, err := nn.NewEngine(net).Forward(x, in)
			require.NoError(t, err)
			got, gs, err := nn.NewEngine(back).Forward(x, in)
			require.NoError(t, err)
			assert.Equal(t, ws, gs)
			assert.LessOrEqual(t, nntest.MaxAbsDiff(got, want), 1e-6, "net %d", i)
		}
	}
}

// The export of the shipped-style golden model keeps labels and positive.
func TestExportLabels(t *testing.T) {
	fc, err := nn.Load(filepath.Join("..", "testdata", "torch", "chw_softmax.safetensors"))
	require.NoError(t, err)
	out, err := fc.OutShape(fc.Input.Window())
	require.NoError(t, err)
	fc.Labels = make([]string, out.C)
	for i := range fc.Labels {
		fc.Labels[i] = string(rune('a' + i))
	}
	fc.Positive = out.C - 1
	path := filepath.Join(t.TempDir(), "m.onnx")
	require.NoError(t, onnx.Export(fc, path))
	back, err := onnx.Import(path, onnx.Options{})
	require.NoError(t, err)
	assert.Equal(t, fc.Labels, back.Labels)
	assert.Equal(t, fc.Positive, back.Positive)
	// Options win over metadata.
	back, err = onnx.Import(path, onnx.Options{Mean: []float32{0.5}, Std: []float32{0.25}})
	require.NoError(t, err)
	assert.Equal(t, float32(0.5), back.Input.Mean[0])
	assert.Equal(t, float32(0.25), back.Input.Std[len(back.Input.Std)-1])
}

// ReadModel gives the network Import gives and the very bytes of its file.
func TestReadModelBytes(t *testing.T) {
	fc := nntest.RandomFC(rand.New(rand.NewSource(5)), nntest.Options{})
	p := filepath.Join(t.TempDir(), "m.onnx")
	require.NoError(t, onnx.Export(fc, p))
	want, err := os.ReadFile(p)
	require.NoError(t, err)
	got, b, err := onnx.ReadModel(p, onnx.Options{})
	require.NoError(t, err)
	assert.Equal(t, want, b)
	imported, err := onnx.Import(p, onnx.Options{})
	require.NoError(t, err)
	assert.Equal(t, imported, got)
}
