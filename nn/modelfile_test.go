package nn_test

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"sort"
	"testing"

	"github.com/fc2conv/fc2conv/nn"
	"github.com/fc2conv/fc2conv/nn/nntest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// handBuilt is a classifier using the layer kinds and options RandomFC may
// not produce on a given seed: batch norms on maps and vectors, a padded
// strided conv and pool, an HWC flatten, dropout and a softmax head, with
// a non-trivial input spec, labels, positive class and threshold.
func handBuilt() *nn.Network {
	net := &nn.Network{
		Input: nn.InputSpec{Channels: 3, Height: 12, Width: 10,
			Mean: []float32{0.485, 0.456, 0.406}, Std: []float32{0.229, 0.224, 0.225}},
		Layers: []nn.Layer{
			nn.NewConv2D("conv1", 3, 8, nn.Pair{H: 3, W: 3}, nn.Pair{H: 1, W: 2}, nn.Pair{H: 1, W: 1}), // 8×12×5
			nn.NewBatchNorm("bn1", 8, 1e-3),
			nn.NewReLU("relu1"),
			nn.NewMaxPool2D("pool1", nn.Pair{H: 2, W: 2}, nn.Pair{H: 2, W: 2}, nn.Pair{H: 1, W: 0}), // 8×7×2
			nn.NewFlatten("flat", nn.FlattenHWC),                                                    // 112
			nn.NewDense("fc1", 112, 16),
			nn.NewBatchNorm("bn2", 16, 1e-5),
			nn.NewReLU("relu2"),
			nn.NewDropout("drop", 0.25),
			nn.NewDense("fc2", 16, 2),
			nn.NewSoftmax("softmax"),
		},
		Labels:    []string{"other", "dress"},
		Positive:  1,
		Threshold: 0.625,
		Views:     27,
		ViewPool:  "min",
	}
	nntest.Randomize(net, rand.New(rand.NewSource(42)))
	return net
}

// tinyNet is the smallest network with weights in every weighted kind: a
// small seed for the fuzzer.
func tinyNet() *nn.Network {
	net := &nn.Network{
		Input: nn.InputSpec{Channels: 1, Height: 3, Width: 3, Mean: []float32{0.5}, Std: []float32{0.25}},
		Layers: []nn.Layer{
			nn.NewConv2D("c", 1, 2, nn.Pair{H: 2, W: 2}, nn.Pair{H: 1, W: 1}, nn.Pair{}), // 2×2×2
			nn.NewBatchNorm("b", 2, 1e-5),
			nn.NewReLU("r"),
			nn.NewMaxPool2D("p", nn.Pair{H: 2, W: 2}, nn.Pair{H: 1, W: 1}, nn.Pair{}), // 2×1×1
			nn.NewFlatten("f", nn.FlattenCHW),
			nn.NewDense("d", 2, 2),
			nn.NewDropout("x", 0.5),
			nn.NewSigmoid("s"),
		},
		Labels: []string{"no", "yes"},
	}
	nntest.Randomize(net, rand.New(rand.NewSource(7)))
	return net
}

func marshal(t testing.TB, net *nn.Network) []byte {
	t.Helper()
	b, err := net.Marshal()
	require.NoError(t, err)
	return b
}

func bits(v []float32) []uint32 {
	out := make([]uint32, len(v))
	for i, x := range v {
		out[i] = math.Float32bits(x)
	}
	return out
}

// layerConfig is a layer's configuration without its weights.
func layerConfig(l nn.Layer) any {
	// A copy of the layer's struct with its weight tensors left out, so
	// every kind, present and future, compares by configuration.
	v := reflect.ValueOf(l).Elem()
	c := reflect.New(v.Type()).Elem()
	c.Set(v)
	for i := 0; i < c.NumField(); i++ {
		if f := c.Field(i); f.Type() == reflect.TypeOf((*nn.Tensor)(nil)) {
			f.Set(reflect.Zero(f.Type()))
		}
	}
	return c.Interface()
}

// assertSameNetwork checks that got is want: spec, labels, layers and
// every weight bit for bit, and the same engine output on a random input.
func assertSameNetwork(t *testing.T, want, got *nn.Network, rng *rand.Rand) {
	t.Helper()
	assert.Equal(t, want.Input.Window(), got.Input.Window())
	assert.Equal(t, bits(want.Input.Mean), bits(got.Input.Mean), "input mean")
	assert.Equal(t, bits(want.Input.Std), bits(got.Input.Std), "input std")
	assert.Equal(t, math.Float64bits(want.Input.Context), math.Float64bits(got.Input.Context), "input context")
	assert.Equal(t, want.Labels, got.Labels)
	assert.Equal(t, want.Positive, got.Positive)
	assert.Equal(t, math.Float64bits(want.Threshold), math.Float64bits(got.Threshold), "threshold")
	assert.Equal(t, want.Views, got.Views, "views")
	assert.Equal(t, want.ViewPool, got.ViewPool, "view pool")
	require.Len(t, got.Layers, len(want.Layers))
	for i, l := range want.Layers {
		g := got.Layers[i]
		require.Equal(t, layerConfig(l), layerConfig(g), "layer %d", i)
		wp, gp := l.Params(), g.Params()
		require.Len(t, gp, len(wp), "layer %q", l.Name())
		for k, p := range wp {
			name := l.Name() + "." + p.Name
			require.NotNil(t, gp[k].Value, name)
			assert.Equal(t, []int(p.Value.Shape), []int(gp[k].Value.Shape), name)
			assert.Equal(t, bits(p.Value.Data), bits(gp[k].Value.Data), "%s is not bit-identical", name)
		}
	}
	win := want.Input.Window()
	x := nntest.Input(rng, win)
	a, as, err := nn.NewEngine(want).Forward(x, win)
	require.NoError(t, err)
	b, bs, err := nn.NewEngine(got).Forward(x, win)
	require.NoError(t, err)
	assert.Equal(t, as, bs)
	assert.Equal(t, bits(a), bits(b), "engine output differs")
}

func TestModelFileRoundTrip(t *testing.T) {
	nets := map[string]*nn.Network{"hand-built": handBuilt(), "tiny": tinyNet()}
	for seed := int64(0); seed < 8; seed++ {
		net := nntest.RandomFC(rand.New(rand.NewSource(seed)), nntest.Options{Padded: seed%2 == 0})
		out, err := net.OutShape(net.Input.Window())
		require.NoError(t, err)
		for c := 0; c < out.C; c++ {
			net.Labels = append(net.Labels, fmt.Sprintf("class %d", c))
		}
		net.Positive = out.C - 1
		net.Threshold = 0.3 + 0.05*float64(seed)
		if seed%2 == 1 {
			net.Input.Context = 1 + 0.2*float64(seed)
		}
		nets[fmt.Sprintf("random seed %d", seed)] = net
	}
	kinds := map[nn.Kind]bool{}
	orders := map[nn.FlattenOrder]bool{}
	for name, net := range nets {
		require.NoError(t, net.Validate(), name)
		for _, l := range net.Layers {
			kinds[l.Kind()] = true
			if f, ok := l.(*nn.Flatten); ok {
				orders[f.Order] = true
			}
		}
		t.Run(name, func(t *testing.T) {
			rng := rand.New(rand.NewSource(1))
			b := marshal(t, net)
			got, err := nn.Unmarshal(b)
			require.NoError(t, err)
			assertSameNetwork(t, net, got, rng)
			// Encoding is deterministic, so a decoded network re-encodes
			// to the same bytes.
			assert.Equal(t, b, marshal(t, got), "Marshal(Unmarshal(b)) != b")
			// The decoded weights are copies, not views of the input.
			for i := range b {
				b[i] = 0xff
			}
			assert.NoError(t, got.Validate(), "decoded network aliases the file bytes")

			path := filepath.Join(t.TempDir(), "model.safetensors")
			require.NoError(t, net.Save(path))
			loaded, err := nn.Load(path)
			require.NoError(t, err)
			assertSameNetwork(t, net, loaded, rng)
			entries, err := os.ReadDir(filepath.Dir(path))
			require.NoError(t, err)
			require.Len(t, entries, 1, "Save left a temporary file behind")
			// Saving again over an existing file replaces it.
			require.NoError(t, loaded.Save(path))
			again, err := nn.Load(path)
			require.NoError(t, err)
			assertSameNetwork(t, net, again, rng)
		})
	}
	for _, k := range []nn.Kind{nn.KindConv2D, nn.KindMaxPool2D, nn.KindReLU, nn.KindFlatten, nn.KindDense,
		nn.KindDropout, nn.KindBatchNorm, nn.KindSigmoid, nn.KindSoftmax} {
		assert.True(t, kinds[k], "no network in the round trip has a %s layer", k)
	}
	assert.True(t, orders[nn.FlattenCHW] && orders[nn.FlattenHWC], "both flatten orders: %v", orders)
}

func TestSaveErrors(t *testing.T) {
	dir := t.TempDir()
	bad := handBuilt()
	bad.Positive = 7
	path := filepath.Join(dir, "bad.safetensors")
	err := bad.Save(path)
	require.ErrorIs(t, err, nn.ErrInvalid)
	assert.ErrorContains(t, err, "positive class 7")
	_, statErr := os.Stat(path)
	assert.ErrorIs(t, statErr, fs.ErrNotExist, "an invalid network must not be written")

	missing := filepath.Join(dir, "no", "such", "dir", "m.safetensors")
	err = handBuilt().Save(missing)
	require.Error(t, err)
	assert.ErrorContains(t, err, missing)
}

// stFile is a safetensors file split into its parts, parsed by hand: the
// test's own reading of the format, independent of the package's.
type stFile struct {
	headerLen uint64
	header    map[string]json.RawMessage
	data      []byte
}

type stEntry struct {
	DType   string  `json:"dtype"`
	Shape   []int64 `json:"shape"`
	Offsets []int64 `json:"data_offsets"`
}

func parseFile(t testing.TB, b []byte) stFile {
	t.Helper()
	require.GreaterOrEqual(t, len(b), 8)
	n := binary.LittleEndian.Uint64(b[:8])
	require.LessOrEqual(t, n, uint64(len(b)-8))
	f := stFile{headerLen: n, data: b[8+n:]}
	require.NoError(t, json.Unmarshal(b[8:8+n], &f.header))
	return f
}

func (f stFile) entry(t testing.TB, name string) stEntry {
	t.Helper()
	raw, ok := f.header[name]
	require.True(t, ok, "no tensor %q in the header", name)
	var e stEntry
	require.NoError(t, json.Unmarshal(raw, &e))
	return e
}

func (f stFile) setEntry(t testing.TB, name string, e any) {
	t.Helper()
	raw, err := json.Marshal(e)
	require.NoError(t, err)
	f.header[name] = raw
}

// remove deletes a tensor and its bytes, moving later tensors down, so the
// data section stays gap-free.
func (f *stFile) remove(t testing.TB, name string) {
	t.Helper()
	gone := f.entry(t, name)
	delete(f.header, name)
	lo, hi := gone.Offsets[0], gone.Offsets[1]
	f.data = append(append([]byte{}, f.data[:lo]...), f.data[hi:]...)
	for n, raw := range f.header {
		if n == "__metadata__" {
			continue
		}
		var e stEntry
		require.NoError(t, json.Unmarshal(raw, &e))
		if e.Offsets[0] >= hi {
			e.Offsets[0] -= hi - lo
			e.Offsets[1] -= hi - lo
			f.setEntry(t, n, e)
		}
	}
}

func (f stFile) meta(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(f.header["__metadata__"], &m))
	return m
}

// bytes re-encodes the file: a new header and its length, the same data.
func (f stFile) bytes(t testing.TB) []byte {
	t.Helper()
	h, err := json.Marshal(f.header)
	require.NoError(t, err)
	return withHeader(h, f.data)
}

func withHeader(h, data []byte) []byte {
	out := binary.LittleEndian.AppendUint64(nil, uint64(len(h)))
	return append(append(out, h...), data...)
}

// rewrite parses good, applies edit and re-encodes.
func rewrite(t testing.TB, good []byte, edit func(f *stFile)) []byte {
	t.Helper()
	f := parseFile(t, good)
	f.data = append([]byte(nil), f.data...)
	edit(&f)
	return f.bytes(t)
}

// editEntry rewrites one tensor's header entry.
func editEntry(t testing.TB, good []byte, name string, edit func(e *stEntry)) []byte {
	return rewrite(t, good, func(f *stFile) {
		e := f.entry(t, name)
		edit(&e)
		f.setEntry(t, name, e)
	})
}

// editArch rewrites the architecture document held in the metadata.
func editArch(t testing.TB, good []byte, edit func(arch map[string]any)) []byte {
	return rewrite(t, good, func(f *stFile) {
		m := f.meta(t)
		var arch map[string]any
		require.NoError(t, json.Unmarshal([]byte(m[nn.MetadataKey].(string)), &arch))
		edit(arch)
		s, err := json.Marshal(arch)
		require.NoError(t, err)
		m[nn.MetadataKey] = string(s)
		f.setEntry(t, "__metadata__", m)
	})
}

// editLayer rewrites the document of the named layer.
func editLayer(t testing.TB, good []byte, layer string, edit func(l map[string]any)) []byte {
	return editArch(t, good, func(arch map[string]any) {
		for _, l := range arch["layers"].([]any) {
			if l := l.(map[string]any); l["name"] == layer {
				edit(l)
				return
			}
		}
		require.Failf(t, "no such layer", "%q", layer)
	})
}

// setWeight overwrites element i of the named tensor in the data section.
func setWeight(t testing.TB, good []byte, name string, i int, v float32) []byte {
	t.Helper()
	f := parseFile(t, good)
	e := f.entry(t, name)
	out := append([]byte(nil), good...)
	off := 8 + int(f.headerLen) + int(e.Offsets[0]) + 4*i
	require.Less(t, off+4, int(8+int(f.headerLen)+int(e.Offsets[1]))+1)
	binary.LittleEndian.PutUint32(out[off:], math.Float32bits(v))
	return out
}

func TestModelFileIsPlainSafetensors(t *testing.T) {
	net := handBuilt()
	b := marshal(t, net)
	f := parseFile(t, b)
	assert.Zero(t, (8+f.headerLen)%8, "tensor data should start 8-byte aligned")
	assert.Equal(t, byte('{'), b[8], "the header is a JSON object")

	want := map[string][]int64{}
	var end int64
	for _, l := range net.Layers {
		for _, p := range l.Params() {
			name := l.Name() + "." + p.Name
			shape := make([]int64, len(p.Shape))
			for i, d := range p.Shape {
				shape[i] = int64(d)
			}
			want[name] = shape

			e := f.entry(t, name)
			assert.Equal(t, "F32", e.DType, name)
			assert.Equal(t, shape, e.Shape, name)
			require.Len(t, e.Offsets, 2, name)
			require.Equal(t, int64(4*len(p.Value.Data)), e.Offsets[1]-e.Offsets[0], name)
			// The bytes are the weights, little-endian, in row-major order.
			raw := f.data[e.Offsets[0]:e.Offsets[1]]
			got := make([]float32, len(raw)/4)
			for i := range got {
				got[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
			}
			assert.Equal(t, bits(p.Value.Data), bits(got), name)
			end = max(end, e.Offsets[1])
		}
	}
	// PyTorch names and layouts, checked literally.
	assert.Equal(t, []int64{16, 112}, want["fc1.weight"])
	assert.Equal(t, []int64{8, 3, 3, 3}, want["conv1.weight"])
	for _, p := range []string{"weight", "bias", "running_mean", "running_var"} {
		assert.Equal(t, []int64{16}, want["bn2."+p])
	}
	assert.Equal(t, int64(len(f.data)), end, "the data section holds the tensors and nothing else")

	var names []string
	for k := range f.header {
		if k != "__metadata__" {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	assert.Len(t, names, len(want), "tensors in the file: %v", names)

	// Metadata: strings only; the architecture is a JSON string under
	// "fc2conv".
	var meta map[string]string
	require.NoError(t, json.Unmarshal(f.header["__metadata__"], &meta), "metadata maps strings to strings")
	assert.Equal(t, "pt", meta["format"])
	var arch map[string]any
	require.NoError(t, json.Unmarshal([]byte(meta[nn.MetadataKey]), &arch))
	assert.Equal(t, float64(1), arch["version"])
	assert.Equal(t, float64(nn.FormatVersion), arch["version"])
	assert.Equal(t, []any{"other", "dress"}, arch["labels"])
	assert.Equal(t, float64(1), arch["positive"])
	layers := arch["layers"].([]any)
	require.Len(t, layers, len(net.Layers))
	first := layers[0].(map[string]any)
	assert.Equal(t, "conv1", first["name"])
	assert.Equal(t, "conv2d", first["type"])
	assert.Equal(t, float64(8), first["out_channels"])
	assert.Equal(t, "HWC", layers[4].(map[string]any)["order"])
	assert.Equal(t, float64(112), layers[5].(map[string]any)["in_features"])
}

// A file laid out differently from ours (tensors in another order, data not
// aligned, no padding, extra metadata) is still an ordinary safetensors
// file and must load.
func TestModelFileForeignLayout(t *testing.T) {
	net := handBuilt()
	f := parseFile(t, marshal(t, net))
	meta := f.meta(t)
	meta["producer"] = "some other tool"

	header := map[string]any{"__metadata__": meta}
	var data []byte
	for i := len(net.Layers) - 1; i >= 0; i-- { // reverse order
		l := net.Layers[i]
		for _, p := range l.Params() {
			e := f.entry(t, l.Name()+"."+p.Name)
			start := int64(len(data))
			data = append(data, f.data[e.Offsets[0]:e.Offsets[1]]...)
			e.Offsets = []int64{start, int64(len(data))}
			header[l.Name()+"."+p.Name] = e
		}
	}
	h, err := json.Marshal(header)
	require.NoError(t, err)
	got, err := nn.Unmarshal(withHeader(h, data))
	require.NoError(t, err)
	assertSameNetwork(t, net, got, rand.New(rand.NewSource(3)))
}

// allocBudget bounds what decoding a bad file may allocate: far less than
// any of the sizes the bad files claim.
const allocBudget = 64 << 20

// unmarshalMeasured decodes b, failing on a panic, and reports the bytes
// allocated meanwhile.
func unmarshalMeasured(t *testing.T, b []byte) (allocated uint64, err error) {
	t.Helper()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	require.NotPanics(t, func() { _, err = nn.Unmarshal(b) })
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc, err
}

func TestModelFileBadFiles(t *testing.T) {
	good := marshal(t, handBuilt())
	f := parseFile(t, good)
	hl := int(f.headerLen)
	data := 8 + hl // where the data section starts

	random := make([]byte, 256)
	rand.New(rand.NewSource(9)).Read(random)

	const huge = int64(1) << 40

	type tc struct {
		name string
		file []byte
		is   error
		want []string // substrings of the error text
	}
	cases := []tc{
		{"empty", nil, nn.ErrFormat, []string{"0 bytes", "too short"}},
		{"one byte", []byte{'{'}, nn.ErrFormat, []string{"too short"}},
		{"wrong magic: PNG", append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), good[16:]...), nn.ErrFormat, []string{"header length", "wrong magic"}},
		{"wrong magic: random bytes", random, nn.ErrFormat, []string{"header length", "wrong magic"}},
		{"wrong magic: plain JSON", []byte(`{"__metadata__": {"fc2conv": "{}"}}`), nn.ErrFormat, []string{"header length", "does not fit"}},
		{"header length one more than the file", append(binary.LittleEndian.AppendUint64(nil, uint64(len(good)-8+1)), good[8:]...), nn.ErrFormat, []string{fmt.Sprintf("header length %d", len(good)-8+1), "does not fit"}},
		{"header length 2^63", append(binary.LittleEndian.AppendUint64(nil, 1<<63), good[8:]...), nn.ErrFormat, []string{"does not fit"}},
		{"header length 0", append(binary.LittleEndian.AppendUint64(nil, 0), good[8:]...), nn.ErrFormat, []string{"header length 0"}},
		{"header not an object", withHeader([]byte(`["fc0.weight"]`), f.data), nn.ErrFormat, []string{"JSON object"}},
		{"header not JSON", withHeader([]byte(`{"fc0.weight": `), f.data), nn.ErrFormat, []string{"header JSON"}},
		{"tensor entry not an object", rewrite(t, good, func(f *stFile) { f.header["fc2.bias"] = json.RawMessage(`[1,2]`) }), nn.ErrFormat, []string{`tensor "fc2.bias"`}},
		{"tensor entry with unknown field", rewrite(t, good, func(f *stFile) {
			f.setEntry(t, "fc2.bias", map[string]any{"dtype": "F32", "shape": []int{2}, "data_offsets": f.entry(t, "fc2.bias").Offsets, "quant": 8})
		}), nn.ErrFormat, []string{`tensor "fc2.bias"`, "quant"}},

		// Architecture and tensors disagree.
		{"tensor missing", rewrite(t, good, func(f *stFile) { f.remove(t, "bn1.running_var") }), nn.ErrInvalid,
			[]string{`batchnorm "bn1"`, `tensor "bn1.running_var" is missing`}},
		{"gap in the data", rewrite(t, good, func(f *stFile) { delete(f.header, "bn1.running_var") }), nn.ErrFormat,
			[]string{"unused data bytes before tensor"}},
		{"bytes after the last tensor", rewrite(t, good, func(f *stFile) { f.data = append(f.data, 0, 0, 0, 0) }), nn.ErrFormat,
			[]string{"4 data bytes after the last tensor"}},
		{"extra empty tensor", rewrite(t, good, func(f *stFile) {
			f.setEntry(t, "ghost.weight", stEntry{"F32", []int64{0}, []int64{0, 0}})
		}), nn.ErrInvalid, []string{`tensor "ghost.weight" belongs to no layer`}},
		{"extra tensor with data", rewrite(t, good, func(f *stFile) {
			n := int64(len(f.data))
			f.data = append(f.data, make([]byte, 8)...)
			f.setEntry(t, "drop.weight", stEntry{"F32", []int64{2}, []int64{n, n + 8}})
		}), nn.ErrInvalid, []string{`tensor "drop.weight" belongs to no layer`}},
		{"extra tensor of a weightless layer", rewrite(t, good, func(f *stFile) {
			f.setEntry(t, "relu1.weight", stEntry{"F32", []int64{0}, []int64{0, 0}})
		}), nn.ErrInvalid, []string{`tensor "relu1.weight" belongs to no layer`}},
		{"wrong shape: extra axis", editEntry(t, good, "fc2.bias", func(e *stEntry) { e.Shape = []int64{1, 2} }), nn.ErrInvalid,
			[]string{`dense "fc2"`, `tensor "fc2.bias" has shape [1 2], the architecture needs [2]`}},
		{"wrong shape: transposed dense", editEntry(t, good, "fc1.weight", func(e *stEntry) { e.Shape = []int64{112, 16} }), nn.ErrInvalid,
			[]string{`tensor "fc1.weight" has shape [112 16], the architecture needs [16 112]`}},
		{"wrong shape: conv in/out swapped", editEntry(t, good, "conv1.weight", func(e *stEntry) { e.Shape = []int64{3, 8, 3, 3} }), nn.ErrInvalid,
			[]string{`conv2d "conv1"`, `tensor "conv1.weight" has shape [3 8 3 3]`}},
		{"shape larger than data_offsets", editEntry(t, good, "fc2.bias", func(e *stEntry) { e.Shape = []int64{3} }), nn.ErrFormat,
			[]string{`tensor "fc2.bias"`, "needs 12 bytes, data_offsets give 8"}},
		{"data_offsets shorter than shape", editEntry(t, good, "fc2.bias", func(e *stEntry) { e.Offsets[1] -= 4 }), nn.ErrFormat,
			[]string{`tensor "fc2.bias"`, "needs 8 bytes, data_offsets give 4"}},
		{"data_offsets reversed", editEntry(t, good, "fc2.bias", func(e *stEntry) { e.Offsets[0], e.Offsets[1] = e.Offsets[1], e.Offsets[0] }), nn.ErrFormat,
			[]string{`tensor "fc2.bias"`, "data_offsets"}},
		{"data_offsets negative", editEntry(t, good, "fc2.bias", func(e *stEntry) { e.Offsets = []int64{-8, 0} }), nn.ErrFormat,
			[]string{`tensor "fc2.bias"`, "data_offsets [-8 0]"}},
		{"data_offsets one value", editEntry(t, good, "fc2.bias", func(e *stEntry) { e.Offsets = e.Offsets[:1] }), nn.ErrFormat,
			[]string{`tensor "fc2.bias"`, "data_offsets"}},
		{"data_offsets past the end", editEntry(t, good, "fc2.bias", func(e *stEntry) { e.Offsets = []int64{1 << 62, 1<<62 + 8} }), nn.ErrFormat,
			[]string{`tensor "fc2.bias"`, "outside"}},
		{"overlapping tensors", editEntry(t, good, "fc2.bias", func(e *stEntry) {
			w := parseFile(t, good).entry(t, "fc2.weight")
			e.Offsets = []int64{w.Offsets[0] + 4, w.Offsets[0] + 12}
		}), nn.ErrFormat, []string{"overlap", `"fc2.weight"`, `"fc2.bias"`}},
		{"dtype F16", editEntry(t, good, "fc1.weight", func(e *stEntry) { e.DType = "F16" }), nn.ErrFormat,
			[]string{`tensor "fc1.weight" has dtype "F16"`, "only F32"}},
		{"dtype F64", editEntry(t, good, "bn1.bias", func(e *stEntry) { e.DType = "F64" }), nn.ErrFormat,
			[]string{`tensor "bn1.bias" has dtype "F64"`}},

		// Sizes that would be absurd to allocate.
		{"tensor dimension 2^40", editEntry(t, good, "fc2.bias", func(e *stEntry) { e.Shape = []int64{huge} }), nn.ErrFormat,
			[]string{`tensor "fc2.bias"`, "exceeds"}},
		{"tensor shape 2^40×2^40", editEntry(t, good, "fc1.weight", func(e *stEntry) { e.Shape = []int64{huge, huge} }), nn.ErrFormat,
			[]string{`tensor "fc1.weight"`, "exceeds"}},
		{"tensor shape overflowing int64", editEntry(t, good, "fc1.weight", func(e *stEntry) { e.Shape = []int64{1 << 20, 1 << 20, 1 << 20, 1 << 20} }), nn.ErrFormat,
			[]string{`tensor "fc1.weight"`, "exceeds"}},
		{"tensor dimension negative", editEntry(t, good, "fc2.bias", func(e *stEntry) { e.Shape = []int64{-2, -1} }), nn.ErrFormat,
			[]string{`tensor "fc2.bias"`}},
		{"tensor 2^40 matching a 2^40 architecture", rewrite(t, good, func(f *stFile) {
			e := f.entry(t, "fc2.weight")
			e.Shape = []int64{2, huge}
			f.setEntry(t, "fc2.weight", e)
		}), nn.ErrFormat, []string{`tensor "fc2.weight"`, "exceeds"}},
		{"in_features 2^40", editLayer(t, good, "fc1", func(l map[string]any) { l["in_features"] = huge }), nn.ErrInvalid,
			[]string{`dense "fc1"`, "1099511627776", "out of range"}},
		{"out_features 2^40", editLayer(t, good, "fc2", func(l map[string]any) { l["out_features"] = huge }), nn.ErrInvalid,
			[]string{`dense "fc2"`, "1099511627776", "out of range"}},
		{"out_channels 2^40", editLayer(t, good, "conv1", func(l map[string]any) { l["out_channels"] = huge }), nn.ErrInvalid,
			[]string{`conv2d "conv1"`, "1099511627776", "out of range"}},
		{"num_features 2^40", editLayer(t, good, "bn2", func(l map[string]any) { l["num_features"] = huge }), nn.ErrInvalid,
			[]string{`batchnorm "bn2"`, "1099511627776", "out of range"}},
		{"kernel 2^40", editLayer(t, good, "conv1", func(l map[string]any) { l["kernel"] = []int64{huge, huge} }), nn.ErrInvalid,
			[]string{`conv2d "conv1"`, "kernel", "out of range"}},
		{"window 2^40", editArch(t, good, func(a map[string]any) { a["input"].(map[string]any)["height"] = huge }), nn.ErrInvalid,
			[]string{"input window 1099511627776×10"}},
		{"context below 1", editArch(t, good, func(a map[string]any) { a["input"].(map[string]any)["context"] = 0.5 }), nn.ErrInvalid,
			[]string{"input context 0.5 out of range"}},
		{"context beyond MaxContext", editArch(t, good, func(a map[string]any) { a["input"].(map[string]any)["context"] = 5 }), nn.ErrInvalid,
			[]string{"input context 5 out of range"}},
		{"in_features beyond int64", editLayer(t, good, "fc1", func(l map[string]any) { l["in_features"] = json.Number("1e30") }), nn.ErrFormat,
			[]string{"architecture document", "in_features"}},

		// The architecture document.
		{"unknown version", editArch(t, good, func(a map[string]any) { a["version"] = 2 }), nn.ErrFormat,
			[]string{"architecture version 2", "reads version 1"}},
		{"no version", editArch(t, good, func(a map[string]any) { delete(a, "version") }), nn.ErrFormat,
			[]string{"architecture version 0"}},
		{"unknown layer type", editLayer(t, good, "relu2", func(l map[string]any) { l["type"] = "lstm" }), nn.ErrInvalid,
			[]string{`layer 7 ("relu2")`, `unknown layer type "lstm"`}},
		{"unknown field", editArch(t, good, func(a map[string]any) { a["colour"] = "blue" }), nn.ErrFormat,
			[]string{"architecture document", `unknown field "colour"`}},
		{"unknown layer field", editLayer(t, good, "conv1", func(l map[string]any) { l["dilation"] = []int{2, 2} }), nn.ErrFormat,
			[]string{"architecture document", `unknown field "dilation"`}},
		{"unknown input field", editArch(t, good, func(a map[string]any) { a["input"].(map[string]any)["layout"] = "NHWC" }), nn.ErrFormat,
			[]string{"architecture document", `unknown field "layout"`}},
		{"architecture not JSON", rewrite(t, good, func(f *stFile) {
			f.setEntry(t, "__metadata__", map[string]string{nn.MetadataKey: "version: 1"})
		}), nn.ErrFormat, []string{"architecture document"}},
		{"architecture with trailing garbage", rewrite(t, good, func(f *stFile) {
			m := f.meta(t)
			m[nn.MetadataKey] = m[nn.MetadataKey].(string) + " {}"
			f.setEntry(t, "__metadata__", m)
		}), nn.ErrFormat, []string{"architecture document", "data after the JSON object"}},
		{"architecture with a stray brace", rewrite(t, good, func(f *stFile) {
			m := f.meta(t)
			m[nn.MetadataKey] = m[nn.MetadataKey].(string) + "}"
			f.setEntry(t, "__metadata__", m)
		}), nn.ErrFormat, []string{"architecture document"}},
		{"kernel with three values", editLayer(t, good, "pool1", func(l map[string]any) { l["kernel"] = []int{2, 2, 2} }), nn.ErrInvalid,
			[]string{`"pool1"`, "kernel [2 2 2]: must have 2 values"}},
		{"layers disagree on the window", editLayer(t, good, "fc1", func(l map[string]any) { l["in_features"] = 113 }), nn.ErrInvalid,
			[]string{`dense "fc1"`, "input has 112 features, layer expects 113"}},
		{"no layers", editArch(t, good, func(a map[string]any) { a["layers"] = []any{} }), nn.ErrInvalid,
			[]string{"0 layers"}},
		{"repeated layer name", editLayer(t, good, "relu2", func(l map[string]any) { l["name"] = "relu1" }), nn.ErrInvalid,
			[]string{`name "relu1" is empty or repeated`}},
		{"positive out of range", editArch(t, good, func(a map[string]any) { a["positive"] = 2 }), nn.ErrInvalid,
			[]string{"positive class 2"}},
		{"threshold out of range", editArch(t, good, func(a map[string]any) { a["threshold"] = 1.5 }), nn.ErrInvalid,
			[]string{"threshold 1.5"}},
		{"views out of range", editArch(t, good, func(a map[string]any) { a["views"] = 28 }), nn.ErrInvalid,
			[]string{"28 views out of range [0,27]"}},
		{"unknown view pool", editArch(t, good, func(a map[string]any) { a["view_pool"] = "median" }), nn.ErrInvalid,
			[]string{`view pool "median"`}},
		{"labels do not match the outputs", editArch(t, good, func(a map[string]any) { a["labels"] = []string{"a", "b", "c"} }), nn.ErrInvalid,
			[]string{"3 labels for 2 output channels"}},
		{"zero std", editArch(t, good, func(a map[string]any) { a["input"].(map[string]any)["std"] = []float64{0.2, 0, 0.2} }), nn.ErrInvalid,
			[]string{"input channel 1", "std 0"}},
		{"negative eps", editLayer(t, good, "bn1", func(l map[string]any) { l["eps"] = -1 }), nn.ErrInvalid,
			[]string{`batchnorm "bn1"`, "eps -1"}},
		{"dropout rate 1", editLayer(t, good, "drop", func(l map[string]any) { l["rate"] = 1 }), nn.ErrInvalid,
			[]string{`dropout "drop"`, "rate 1"}},
		{"unknown flatten order", editLayer(t, good, "flat", func(l map[string]any) { l["order"] = "WHC" }), nn.ErrInvalid,
			[]string{`flatten "flat"`, `unknown order "WHC"`}},

		// Weights.
		{"NaN weight", setWeight(t, good, "fc1.weight", 17, float32(math.NaN())), nn.ErrInvalid,
			[]string{`dense "fc1"`, `tensor "weight" element 17 is NaN`}},
		{"+Inf bias", setWeight(t, good, "conv1.bias", 3, float32(math.Inf(1))), nn.ErrInvalid,
			[]string{`conv2d "conv1"`, `tensor "bias" element 3 is +Inf`}},
		{"-Inf running mean", setWeight(t, good, "bn2.running_mean", 0, float32(math.Inf(-1))), nn.ErrInvalid,
			[]string{`batchnorm "bn2"`, `tensor "running_mean" element 0 is -Inf`}},
		{"negative running_var", setWeight(t, good, "bn1.running_var", 5, -1), nn.ErrInvalid,
			[]string{`batchnorm "bn1"`, "running_var[5]", "must be > 0"}},
		{"zero running_var and eps", editLayer(t, setWeight(t, good, "bn2.running_var", 2, 0), "bn2", func(l map[string]any) { delete(l, "eps") }), nn.ErrInvalid,
			[]string{`batchnorm "bn2"`, "running_var[2] + eps = 0"}},

		// Metadata.
		{"no metadata", rewrite(t, good, func(f *stFile) { delete(f.header, "__metadata__") }), nn.ErrFormat,
			[]string{`no "fc2conv" metadata`, "not an fc2conv model file"}},
		{"metadata without fc2conv", rewrite(t, good, func(f *stFile) { f.setEntry(t, "__metadata__", map[string]string{"format": "pt"}) }), nn.ErrFormat,
			[]string{`no "fc2conv" metadata`}},
		{"metadata null", rewrite(t, good, func(f *stFile) { f.header["__metadata__"] = json.RawMessage("null") }), nn.ErrFormat,
			[]string{`no "fc2conv" metadata`}},
		{"architecture as a JSON object, not a string", rewrite(t, good, func(f *stFile) {
			m := f.meta(t)
			var arch map[string]any
			require.NoError(t, json.Unmarshal([]byte(m[nn.MetadataKey].(string)), &arch))
			m[nn.MetadataKey] = arch
			f.setEntry(t, "__metadata__", m)
		}), nn.ErrFormat, []string{"__metadata__ must map strings to strings"}},
		{"non-string metadata value", rewrite(t, good, func(f *stFile) {
			m := f.meta(t)
			m["epochs"] = 12
			f.setEntry(t, "__metadata__", m)
		}), nn.ErrFormat, []string{"__metadata__ must map strings to strings"}},
		{"metadata an array", rewrite(t, good, func(f *stFile) { f.header["__metadata__"] = json.RawMessage(`["fc2conv"]`) }), nn.ErrFormat,
			[]string{"__metadata__ must map strings to strings"}},
	}

	// Truncations: inside the length, the header and the data.
	for _, cut := range []int{1, 4, 7} {
		cases = append(cases, tc{fmt.Sprintf("cut at %d, inside the length", cut), good[:cut], nn.ErrFormat,
			[]string{fmt.Sprintf("file is %d bytes", cut), "too short"}})
	}
	for _, cut := range []int{8, 9, 8 + hl/2, data - 1} {
		cases = append(cases, tc{fmt.Sprintf("cut at %d, inside the header", cut), good[:cut], nn.ErrFormat,
			[]string{fmt.Sprintf("header length %d does not fit a %d-byte file", hl, cut), "truncated"}})
	}
	for _, cut := range []int{data, data + 1, data + len(f.data)/2, len(good) - 4, len(good) - 1} {
		cases = append(cases, tc{fmt.Sprintf("cut at %d, inside the data", cut), good[:cut], nn.ErrFormat,
			[]string{"data_offsets", fmt.Sprintf("outside the %d data bytes", cut-data)}})
	}

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			allocated, err := unmarshalMeasured(t, c.file)
			require.Error(t, err)
			assert.True(t, errors.Is(err, c.is), "error %q does not wrap %v", err, c.is)
			for _, w := range c.want {
				assert.Contains(t, err.Error(), w)
			}
			assert.Less(t, allocated, uint64(allocBudget), "allocated %d bytes rejecting the file", allocated)
		})
	}
}

// The allocation budget above is meaningful only if decoding a good file of
// the claimed sizes would exceed it; check the claim on one case with
// testing.AllocsPerRun too, which counts allocations rather than bytes.
func TestModelFileHugeClaimsAllocateLittle(t *testing.T) {
	good := marshal(t, handBuilt())
	for name, b := range map[string][]byte{
		"tensor": editEntry(t, good, "fc1.weight", func(e *stEntry) { e.Shape = []int64{1 << 40, 1 << 40} }),
		"arch": editLayer(t, good, "fc1", func(l map[string]any) {
			l["in_features"] = int64(1) << 40
		}),
	} {
		var allocs float64
		var err error
		allocated := func() uint64 {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			allocs = testing.AllocsPerRun(5, func() { _, err = nn.Unmarshal(b) })
			runtime.ReadMemStats(&after)
			return after.TotalAlloc - before.TotalAlloc
		}()
		require.Error(t, err, name)
		assert.Less(t, allocated, uint64(6*allocBudget), name) // 6 runs: AllocsPerRun warms up once
		assert.Less(t, allocs, 5000.0, "%s: allocations per rejected file", name)
	}
}

func TestLoadErrors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "no-such-model.safetensors")
	_, err := nn.Load(missing)
	require.Error(t, err)
	assert.ErrorContains(t, err, missing)
	assert.ErrorIs(t, err, fs.ErrNotExist)

	_, err = nn.Load(t.TempDir()) // a directory
	require.Error(t, err)

	bad := filepath.Join(t.TempDir(), "garbage.safetensors")
	require.NoError(t, os.WriteFile(bad, []byte("garbage!garbage!"), 0o644))
	_, err = nn.Load(bad)
	require.ErrorIs(t, err, nn.ErrFormat)
	assert.ErrorContains(t, err, bad)

	nan := filepath.Join(t.TempDir(), "nan.safetensors")
	require.NoError(t, os.WriteFile(nan, setWeight(t, marshal(t, handBuilt()), "fc2.weight", 0, float32(math.NaN())), 0o644))
	_, err = nn.Load(nan)
	require.ErrorIs(t, err, nn.ErrInvalid)
	assert.ErrorContains(t, err, nan)
	assert.ErrorContains(t, err, `dense "fc2"`)
}

// fuzzSeeds are a valid file and corruptions of it.
func fuzzSeeds(t testing.TB) [][]byte {
	good := marshal(t, tinyNet())
	f := parseFile(t, good)
	data := 8 + int(f.headerLen)
	seeds := [][]byte{
		good,
		nil,
		good[:7],
		good[:data/2],
		good[:data],
		good[:len(good)-1],
		append(binary.LittleEndian.AppendUint64(nil, uint64(len(good))), good[8:]...),
		editArch(t, good, func(a map[string]any) { a["version"] = 2 }),
		editLayer(t, good, "d", func(l map[string]any) { l["in_features"] = int64(1) << 40 }),
		editLayer(t, good, "c", func(l map[string]any) { l["type"] = "maxpool2d" }),
		editLayer(t, good, "p", func(l map[string]any) { l["padding"] = []int{1, 1} }),
		editEntry(t, good, "d.bias", func(e *stEntry) { e.Shape = []int64{1 << 40} }),
		editEntry(t, good, "d.bias", func(e *stEntry) { e.DType = "F16" }),
		rewrite(t, good, func(f *stFile) { delete(f.header, "__metadata__") }),
		setWeight(t, good, "b.running_var", 1, -1),
		setWeight(t, good, "c.weight", 0, float32(math.Inf(1))),
	}
	return append(seeds, structuredSeeds(t)...)
}

func TestFuzzSeedsBehave(t *testing.T) {
	// The valid files: the first base seed, the five whole networks of
	// structuredSeeds and three of its edits (a zero variance with eps > 0,
	// a large finite weight, trailing padding with a ceil-mode pool), one
	// with residual blocks and one with concatenations.
	valid := map[int]bool{0: true, 16: true, 17: true, 18: true, 19: true, 20: true, 51: true, 52: true, 53: true, 56: true, 57: true}
	for i, b := range fuzzSeeds(t) {
		_, err := nn.Unmarshal(b)
		if valid[i] {
			assert.NoError(t, err, "seed %d is a valid file", i)
		} else {
			assert.Error(t, err, "seed %d is a corrupt file", i)
		}
	}
}

func FuzzUnmarshal(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		// Small limits: whatever they refuse is ErrLimit, and whatever
		// they accept the default limits accept too.
		small, err := nn.UnmarshalLimits(b, nn.Limits{MaxTensorElements: 64, MaxWeightBytes: 1024})
		if err != nil && !errors.Is(err, nn.ErrFormat) && !errors.Is(err, nn.ErrInvalid) && !errors.Is(err, nn.ErrLimit) {
			t.Fatalf("error under small limits is not ErrFormat, ErrInvalid or ErrLimit: %v", err)
		}
		net, err := nn.Unmarshal(b)
		if small != nil && err != nil {
			t.Fatalf("accepted under small limits, refused under the defaults: %v", err)
		}
		if err != nil {
			if !errors.Is(err, nn.ErrFormat) && !errors.Is(err, nn.ErrInvalid) {
				t.Fatalf("error is neither ErrFormat nor ErrInvalid: %v", err)
			}
			if net != nil {
				t.Fatalf("a network returned with the error %v", err)
			}
			return
		}
		if err := net.Validate(); err != nil {
			t.Fatalf("decoded a network that does not validate: %v", err)
		}
		// Whatever decodes re-encodes, and the re-encoding is stable.
		again, err := net.Marshal()
		if err != nil {
			t.Fatalf("decoded network does not re-encode: %v", err)
		}
		net2, err := nn.Unmarshal(again)
		if err != nil {
			t.Fatalf("re-encoded network does not decode: %v", err)
		}
		third, err := net2.Marshal()
		if err != nil || !bytes.Equal(again, third) {
			t.Fatalf("re-encoding is not stable (err %v)", err)
		}
	})
}

// ReadModel gives the model Load gives and the very bytes of its file.
func TestReadModelBytes(t *testing.T) {
	net := nntest.RandomFC(rand.New(rand.NewSource(3)), nntest.Options{})
	p := filepath.Join(t.TempDir(), "m.safetensors")
	require.NoError(t, net.Save(p))
	want, err := os.ReadFile(p)
	require.NoError(t, err)
	got, b, err := nn.ReadModel(p, nn.Limits{})
	require.NoError(t, err)
	assert.Equal(t, want, b)
	loaded, err := nn.Load(p)
	require.NoError(t, err)
	assert.Equal(t, loaded, got)
	_, b, err = nn.ReadModel(filepath.Join(t.TempDir(), "none.safetensors"), nn.Limits{})
	assert.ErrorIs(t, err, fs.ErrNotExist)
	assert.Nil(t, b)
}
