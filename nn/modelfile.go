package nn

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strings"

	"github.com/fc2conv/fc2conv/internal/fileio"
)

// The model file is one .safetensors file. Tensors are named
// "<layer>.<param>" (e.g. "fc1.weight"); the architecture, input spec and
// labels are a versioned JSON document stored as the metadata value
// "fc2conv", so Python users can open the weights with their own tools.

// MetadataKey is the safetensors metadata key holding the architecture.
const MetadataKey = "fc2conv"

// FormatVersion is the architecture document version this code writes and
// the only one it reads.
const FormatVersion = 1

// maxFileSize bounds what ReadTensors reads into memory.
const maxFileSize = 4 << 30

// DefaultMaxWeightBytes is the default bound on a model's weights, all
// tensors together (4 GiB, the largest file Load has ever read).
const DefaultMaxWeightBytes = maxFileSize

// ErrLimit is wrapped by every error about a model file that is well
// formed but larger than the Limits it is loaded with.
var ErrLimit = errors.New("model exceeds a limit")

// Limits bound what LoadLimits and UnmarshalLimits accept. Both are
// checked on the file size and the safetensors header, before any weight
// is read or allocated. The zero value means the defaults.
type Limits struct {
	// MaxTensorElements bounds the elements of one weight tensor; 0 means
	// MaxElements, which is also the most it may be.
	MaxTensorElements int64
	// MaxWeightBytes bounds the bytes of all weight tensors together; 0
	// means DefaultMaxWeightBytes.
	MaxWeightBytes int64
}

// Resolve fills in the defaults and checks the bounds; importers of other
// formats (package onnx) apply the same limits with it.
func (l Limits) Resolve() (Limits, error) {
	if l.MaxTensorElements == 0 {
		l.MaxTensorElements = MaxElements
	}
	if l.MaxWeightBytes == 0 {
		l.MaxWeightBytes = DefaultMaxWeightBytes
	}
	if l.MaxTensorElements < 0 || l.MaxTensorElements > MaxElements {
		return l, fmt.Errorf("limit of %d elements per tensor out of range [1,%d]", l.MaxTensorElements, int64(MaxElements))
	}
	if l.MaxWeightBytes < 0 {
		return l, fmt.Errorf("limit of %d weight bytes is negative", l.MaxWeightBytes)
	}
	return l, nil
}

type archDoc struct {
	Version   int               `json:"version"`
	Input     inputDoc          `json:"input"`
	Labels    []string          `json:"labels,omitempty"`
	Positive  int               `json:"positive"`
	Threshold float64           `json:"threshold,omitempty"`
	Views     int               `json:"views,omitempty"`
	ViewPool  string            `json:"view_pool,omitempty"`
	Layers    []json.RawMessage `json:"layers"`
}

type inputDoc struct {
	Channels int       `json:"channels"`
	Height   int       `json:"height"`
	Width    int       `json:"width"`
	Mean     []float32 `json:"mean"`
	Std      []float32 `json:"std"`
	Context  float64   `json:"context,omitempty"`
}

// Save writes the network to path as a .safetensors model file.
func (n *Network) Save(path string) error {
	b, err := n.Marshal()
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return fmt.Errorf("save model: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("save model: %w", err)
	}
	return nil
}

// Marshal encodes the network as a .safetensors model file.
func (n *Network) Marshal() ([]byte, error) {
	if err := n.Validate(); err != nil {
		return nil, fmt.Errorf("save model: %w", err)
	}
	doc := archDoc{
		Version:   FormatVersion,
		Input:     inputDoc{n.Input.Channels, n.Input.Height, n.Input.Width, n.Input.Mean, n.Input.Std, n.Input.Context},
		Labels:    n.Labels,
		Positive:  n.Positive,
		Threshold: n.Threshold,
		Views:     n.Views,
		ViewPool:  n.ViewPool,
	}
	var ts []namedTensor
	for _, l := range n.Layers {
		raw, err := encodeLayer(l)
		if err != nil {
			return nil, fmt.Errorf("save model: layer %q: %w", l.Name(), err)
		}
		doc.Layers = append(doc.Layers, raw)
		for _, p := range l.Params() {
			ts = append(ts, namedTensor{l.Name() + "." + p.Name, p.Shape, p.Value.Data})
		}
	}
	meta, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("save model: %w", err)
	}
	return writeSafetensors(map[string]string{MetadataKey: string(meta), "format": "pt"}, ts)
}

// Load reads and validates a .safetensors model file with the default
// Limits.
func Load(path string) (*Network, error) { return LoadLimits(path, Limits{}) }

// LoadLimits reads and validates a .safetensors model file; a file larger
// than lim allows is refused before it is read.
func LoadLimits(path string, lim Limits) (*Network, error) {
	n, _, err := ReadModel(path, lim)
	return n, err
}

// ReadModel is LoadLimits that also returns the bytes it decoded, read
// once, so that a caller hashing them names exactly the model it loaded.
func ReadModel(path string, lim Limits) (*Network, []byte, error) {
	lim, err := lim.Resolve()
	if err != nil {
		return nil, nil, fmt.Errorf("load model %s: %w", path, err)
	}
	// The header is at most maxHeader bytes, so anything beyond that and
	// the weights is not a model within the limits.
	b, err := readBounded(path, min(maxFileSize, lim.MaxWeightBytes+maxHeader+8))
	if err != nil {
		return nil, nil, err
	}
	n, err := unmarshal(b, lim)
	if err != nil {
		return nil, nil, fmt.Errorf("load model %s: %w", path, err)
	}
	return n, b, nil
}

// readBounded reads a whole file of at most limit bytes. A larger one is
// beyond the Limits when they set the bound, else not a model file.
func readBounded(path string, limit int64) ([]byte, error) {
	b, err := fileio.ReadMax(path, limit)
	if se := (*fileio.SizeError)(nil); errors.As(err, &se) {
		kind := ErrFormat
		if limit < maxFileSize {
			kind = ErrLimit
		}
		return nil, fmt.Errorf("%s: %w: %w", path, kind, err)
	}
	return b, err
}

// Unmarshal decodes and validates a model file held in memory with the
// default Limits. Everything is checked before any weight is allocated.
func Unmarshal(b []byte) (*Network, error) { return UnmarshalLimits(b, Limits{}) }

// UnmarshalLimits is Unmarshal with limits on the tensors' sizes; a file
// beyond them gives an error wrapping ErrLimit.
func UnmarshalLimits(b []byte, lim Limits) (*Network, error) {
	lim, err := lim.Resolve()
	if err != nil {
		return nil, err
	}
	return unmarshal(b, lim)
}

// unmarshal decodes b with resolved limits.
func unmarshal(b []byte, lim Limits) (*Network, error) {
	meta, raws, err := parseSafetensors(b, lim)
	if err != nil {
		return nil, err
	}
	docText, ok := meta[MetadataKey]
	if !ok {
		return nil, fmt.Errorf("%w: no %q metadata: not an fc2conv model file", ErrFormat, MetadataKey)
	}
	var doc archDoc
	dec := json.NewDecoder(strings.NewReader(docText))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("%w: architecture document: %v", ErrFormat, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: architecture document: data after the JSON object", ErrFormat)
	}
	if doc.Version != FormatVersion {
		return nil, fmt.Errorf("%w: architecture version %d, this build reads version %d", ErrFormat, doc.Version, FormatVersion)
	}
	// Build the layers without weights, validate their configuration and
	// shapes, and only then allocate.
	net := &Network{
		Input:     InputSpec{doc.Input.Channels, doc.Input.Height, doc.Input.Width, doc.Input.Mean, doc.Input.Std, doc.Input.Context},
		Labels:    doc.Labels,
		Positive:  doc.Positive,
		Threshold: doc.Threshold,
		Views:     doc.Views,
		ViewPool:  doc.ViewPool,
	}
	if err := net.validateSpec(len(doc.Layers)); err != nil {
		return nil, err
	}
	for i, raw := range doc.Layers {
		l, err := decodeLayer(raw)
		if err != nil {
			var named struct{ Name string }
			_ = json.Unmarshal(raw, &named) // best effort, for the message
			return nil, fmt.Errorf("layer %d (%q): %w", i, named.Name, err)
		}
		if err := l.check(); err != nil {
			return nil, fmt.Errorf("%w: layer %d: %v", ErrInvalid, i, err)
		}
		net.Layers = append(net.Layers, l)
	}
	if _, err := net.Shapes(net.Input.Window()); err != nil {
		return nil, fmt.Errorf("%w: on the %d×%d window: %v", ErrInvalid, net.Input.Height, net.Input.Width, err)
	}
	expected := map[string]bool{}
	for _, l := range net.Layers {
		for _, p := range l.Params() {
			name := l.Name() + "." + p.Name
			raw, ok := raws[name]
			if !ok {
				return nil, fmt.Errorf("%w: %s %q: tensor %q is missing from the file", ErrInvalid, l.Kind(), l.Name(), name)
			}
			if !sameInts(raw.shape, p.Shape) {
				return nil, fmt.Errorf("%w: %s %q: tensor %q has shape %v, the architecture needs %v", ErrInvalid, l.Kind(), l.Name(), name, raw.shape, p.Shape)
			}
			expected[name] = true
		}
	}
	for name := range raws {
		if !expected[name] {
			return nil, fmt.Errorf("%w: tensor %q belongs to no layer of the architecture", ErrInvalid, name)
		}
	}
	for _, l := range net.Layers {
		l.allocate()
		for _, p := range l.Params() {
			decodeF32(p.Value.Data, raws[l.Name()+"."+p.Name])
		}
	}
	if err := net.Validate(); err != nil {
		return nil, err
	}
	return net, nil
}

// decodeF32 decodes little-endian float32 data into dst, which holds
// exactly its values.
func decodeF32(dst []float32, r rawTensor) {
	for i := range dst {
		dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(r.data[4*i:]))
	}
}

// ReadTensors reads every tensor of a .safetensors file (F32 only),
// whatever its metadata: golden fixtures and foreign weight files.
func ReadTensors(path string) (map[string]*Tensor, error) {
	b, err := readBounded(path, maxFileSize)
	if err != nil {
		return nil, err
	}
	lim, _ := Limits{}.Resolve()
	_, raws, err := parseSafetensors(b, lim)
	if err != nil {
		return nil, fmt.Errorf("read tensors %s: %w", path, err)
	}
	out := make(map[string]*Tensor, len(raws))
	for name, r := range raws {
		shape := r.shape
		if len(shape) == 0 {
			shape = []int{1} // a 0-d tensor as a 1-vector: callers want a slice
		}
		t := &Tensor{Shape: shape, Data: make([]float32, len(r.data)/4)}
		decodeF32(t.Data, r)
		out[name] = t
	}
	return out, nil
}
