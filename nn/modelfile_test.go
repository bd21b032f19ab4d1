package nn_test

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/fc2conv/fc2conv/nn"
	"github.com/fc2conv/fc2conv/nn/nntest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestModelFileRoundTrip(t *testing.T) {
	for seed := int64(0); seed < 10; seed++ {
		rng := rand.New(rand.NewSource(seed))
		net := nntest.RandomFC(rng, nntest.Options{Padded: true})
		net.Labels = make([]string, mustOut(t, net).C)
		net.Threshold = 0.75
		path := filepath.Join(t.TempDir(), "m.safetensors")
		require.NoError(t, net.Save(path))
		got, err := nn.Load(path)
		require.NoError(t, err)
		require.Len(t, got.Layers, len(net.Layers))
		assert.Equal(t, net.Input, got.Input)
		assert.Equal(t, net.Threshold, got.Threshold)
		for i, l := range net.Layers {
			assert.Equal(t, l.Kind(), got.Layers[i].Kind())
			assert.Equal(t, l.Name(), got.Layers[i].Name())
			for k, p := range l.Params() {
				assert.Equal(t, nn.F32(p.Value), nn.F32(got.Layers[i].Params()[k].Value), "%s.%s", l.Name(), p.Name)
			}
		}
		x := nntest.Input(rng, net.Input.Window())
		a, _, _ := nn.NewEngine(net).ForwardSlice(x, net.Input.Window())
		b, _, _ := nn.NewEngine(got).ForwardSlice(x, net.Input.Window())
		assert.Equal(t, a, b)
	}
}

func mustOut(t *testing.T, n *nn.Network) nn.Shape {
	s, err := n.OutShape(n.Input.Window())
	require.NoError(t, err)
	return s
}

// goodFile is a valid model file and its decoded header.
func goodFile(t *testing.T) ([]byte, map[string]any) {
	net := nntest.RandomFC(rand.New(rand.NewSource(3)), nntest.Options{})
	b, err := net.Marshal()
	require.NoError(t, err)
	n := binary.LittleEndian.Uint64(b)
	var head map[string]any
	require.NoError(t, json.Unmarshal(b[8:8+n], &head))
	return b, head
}

// rewrite re-encodes a file with an edited header and the same data.
func rewrite(t *testing.T, b []byte, edit func(head map[string]any)) []byte {
	n := binary.LittleEndian.Uint64(b)
	var head map[string]any
	require.NoError(t, json.Unmarshal(b[8:8+n], &head))
	edit(head)
	h, err := json.Marshal(head)
	require.NoError(t, err)
	out := binary.LittleEndian.AppendUint64(nil, uint64(len(h)))
	return append(append(out, h...), b[8+n:]...)
}

// editArch edits the architecture document inside the metadata.
func editArch(t *testing.T, b []byte, edit func(arch map[string]any)) []byte {
	return rewrite(t, b, func(head map[string]any) {
		meta := head["__metadata__"].(map[string]any)
		var arch map[string]any
		require.NoError(t, json.Unmarshal([]byte(meta[nn.MetadataKey].(string)), &arch))
		edit(arch)
		s, err := json.Marshal(arch)
		require.NoError(t, err)
		meta[nn.MetadataKey] = string(s)
	})
}

func firstTensor(head map[string]any) (string, map[string]any) {
	for k, v := range head {
		if k != "__metadata__" {
			return k, v.(map[string]any)
		}
	}
	return "", nil
}

func TestModelFileIsPlainSafetensors(t *testing.T) {
	_, head := goodFile(t)
	e := head["fc0.weight"].(map[string]any)
	assert.Equal(t, "F32", e["dtype"])
	assert.Len(t, e["shape"], 2)
	var arch struct {
		Version int `json:"version"`
	}
	require.NoError(t, json.Unmarshal([]byte(head["__metadata__"].(map[string]any)["fc2conv"].(string)), &arch))
	assert.Equal(t, 1, arch.Version)
}

func TestModelFileBadInputs(t *testing.T) {
	good, _ := goodFile(t)
	nan := append([]byte(nil), good...)
	binary.LittleEndian.PutUint32(nan[len(nan)-4:], math.Float32bits(float32(math.NaN())))
	cases := []struct {
		name string
		file []byte
		is   error
		want string
	}{
		{"empty", nil, nn.ErrFormat, "too short"},
		{"cut in length", good[:5], nn.ErrFormat, "too short"},
		{"cut in header", good[:40], nn.ErrFormat, "does not fit"},
		{"cut in data", good[:len(good)-9], nn.ErrFormat, "data_offsets"},
		{"wrong magic", append([]byte("\x89PNG\r\n\x1a\n"), good[8:]...), nn.ErrFormat, "wrong magic"},
		{"NaN weight", nan, nn.ErrInvalid, "is NaN"},
		{"tensor missing", rewrite(t, good, func(h map[string]any) { delete(h, "fc0.bias") }), nn.ErrInvalid, `tensor "fc0.bias" is missing`},
		{"extra tensor", rewrite(t, good, func(h map[string]any) {
			h["ghost.weight"] = map[string]any{"dtype": "F32", "shape": []int{0}, "data_offsets": []int{0, 0}}
		}), nn.ErrInvalid, `"ghost.weight" belongs to no layer`},
		{"wrong shape", rewrite(t, good, func(h map[string]any) {
			e := h["fc0.bias"].(map[string]any)
			sh := e["shape"].([]any)
			n := int(sh[0].(float64))
			e["shape"] = []int{1, n}
		}), nn.ErrInvalid, `tensor "fc0.bias" has shape`},
		{"overlapping tensors", rewrite(t, good, func(h map[string]any) {
			b := h["fc0.bias"].(map[string]any)
			off := b["data_offsets"].([]any)
			n := off[1].(float64) - off[0].(float64)
			w := h["fc0.weight"].(map[string]any)["data_offsets"].([]any)
			b["data_offsets"] = []float64{w[0].(float64), w[0].(float64) + n}
		}), nn.ErrFormat, "overlap"},
		{"offsets vs shape", rewrite(t, good, func(h map[string]any) {
			_, e := firstTensor(h)
			e["shape"] = []int{1 << 20}
		}), nn.ErrFormat, "needs"},
		{"dimension 2^40 in tensor", rewrite(t, good, func(h map[string]any) {
			_, e := firstTensor(h)
			e["shape"] = []int64{1 << 40, 1 << 40}
		}), nn.ErrFormat, "exceeds"},
		{"dimension 2^40 in architecture", editArch(t, good, func(a map[string]any) {
			for _, l := range a["layers"].([]any) {
				if l.(map[string]any)["type"] == "dense" {
					l.(map[string]any)["in_features"] = int64(1) << 40
					break
				}
			}
		}), nn.ErrInvalid, "out of range"},
		{"dtype F16", rewrite(t, good, func(h map[string]any) {
			_, e := firstTensor(h)
			e["dtype"] = "F16"
		}), nn.ErrFormat, `dtype "F16"`},
		{"unknown version", editArch(t, good, func(a map[string]any) { a["version"] = 2 }), nn.ErrFormat, "version 2"},
		{"unknown layer type", editArch(t, good, func(a map[string]any) {
			a["layers"].([]any)[0].(map[string]any)["type"] = "lstm"
		}), nn.ErrInvalid, `unknown layer type "lstm"`},
		{"unknown field", editArch(t, good, func(a map[string]any) { a["colour"] = "blue" }), nn.ErrFormat, "colour"},
		{"no metadata", rewrite(t, good, func(h map[string]any) { delete(h, "__metadata__") }), nn.ErrFormat, "not an fc2conv model"},
		{"metadata not strings", rewrite(t, good, func(h map[string]any) { h["__metadata__"] = map[string]any{"fc2conv": 1} }), nn.ErrFormat, "strings"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var before runtime.MemStats
			runtime.ReadMemStats(&before)
			_, err := nn.Unmarshal(tc.file)
			var after runtime.MemStats
			runtime.ReadMemStats(&after)
			require.Error(t, err)
			assert.True(t, errors.Is(err, tc.is), "%v is not %v", err, tc.is)
			assert.Contains(t, err.Error(), tc.want)
			assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(64<<20), "validated before allocating")
		})
	}
}

func TestLoadNamesTheFile(t *testing.T) {
	_, err := nn.Load("/nonexistent/dress.safetensors")
	assert.ErrorContains(t, err, "/nonexistent/dress.safetensors")
	p := filepath.Join(t.TempDir(), "bad.safetensors")
	require.NoError(t, os.WriteFile(p, []byte("garbage!garbage!"), 0o644))
	_, err = nn.Load(p)
	assert.ErrorContains(t, err, p)
	assert.ErrorIs(t, err, nn.ErrFormat)
}

func FuzzUnmarshal(f *testing.F) {
	net := nntest.RandomFC(rand.New(rand.NewSource(3)), nntest.Options{})
	good, err := net.Marshal()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		n, err := nn.Unmarshal(b)
		if err == nil {
			if verr := n.Validate(); verr != nil {
				t.Fatalf("decoded a network that does not validate: %v", verr)
			}
		}
	})
}
