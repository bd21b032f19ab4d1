package nn

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"

	"github.com/fc2conv/fc2conv/nn/kernels"
)

// Kind names a layer type. The strings are the "type" field of the model
// file's architecture document.
type Kind string

// Param is one named weight tensor of a layer.
type Param struct {
	Name  string // suffix, e.g. "weight"; the file name is layer.Name()+"."+Name
	Shape []int  // the shape the layer's configuration requires
	Value *Tensor
}

// Layer is one step of a network. The set of implementations is closed:
// every layer is one of the types in this package, and each kind keeps all
// its knowledge in its own file: configuration and its bounds (check),
// shape inference, its file encoding (the struct's JSON tags), its
// geometry (Windowed) and its engine kernel. Cloning and comparing
// configurations work from the encoding, so they need nothing per kind.
type Layer interface {
	// Name is unique within a network and prefixes the layer's tensors.
	Name() string
	Kind() Kind
	// OutShape validates the input shape and returns the output shape.
	OutShape(in Shape) (Shape, error)
	// Params lists the layer's weight tensors, in file order.
	Params() []Param
	// String describes the configuration, for conversion tables.
	String() string
	// check validates the configuration (sizes in bounds) before any
	// weight is allocated.
	check() error
	// allocate gives every weight tensor its zeroed storage.
	allocate()
	// newKernel prepares the engine's forward pass of this layer.
	newKernel(k kernels.Kernels) kernel
}

// Windowed is implemented by the layers that slide a window over the map
// (convolutions and pools): what geometry derives stride and receptive
// field from.
type Windowed interface {
	Layer
	Window() Window
}

// Window is a sliding window: kernel size, stride, the padding before the
// map (Padding: top, left) and after it (PaddingEnd: bottom, right), and
// for pools whether a last window overhanging the padded map is kept
// (Ceil, PyTorch's and ONNX's ceil_mode).
type Window struct {
	Kernel, Stride, Padding Pair
	PaddingEnd              Pair
	Ceil                    bool
}

// window builds a layer's window; a nil end means symmetric padding.
func window(kernel, stride, padding Pair, end *Pair, ceil bool) Window {
	w := Window{Kernel: kernel, Stride: stride, Padding: padding, PaddingEnd: padding, Ceil: ceil}
	if end != nil {
		w.PaddingEnd = *end
	}
	return w
}

// Padded reports whether the window reads any padding.
func (w Window) Padded() bool { return w.Padding != (Pair{}) || w.PaddingEnd != (Pair{}) }

// kernel is one layer's forward pass in the engine (or several layers',
// when it fuses the ones after it: see fuser).
type kernel interface {
	// scratch is the working space one thread of forward needs, in
	// float32s, for input shape is.
	scratch(is, os Shape) int
	// forward computes the layer on in (shape is) into out (shape os) and
	// returns true, or transforms in in place and returns false.
	forward(x *exec, in []float32, is Shape, out []float32, os Shape) (wroteOut bool)
}

// fuser is a kernel that can absorb the layers following its own: it
// returns how many of next it took over.
type fuser interface {
	fuse(next []Layer) int
}

type base struct {
	LayerName string `json:"name"`
}

func (b base) Name() string        { return b.LayerName }
func (base) Params() []Param       { return nil }
func (base) check() error          { return nil }
func (base) allocate()             {}
func (b base) label(k Kind) string { return fmt.Sprintf("%s %q", k, b.LayerName) }

// registry maps a kind to a constructor of an empty layer of that kind;
// each kind registers itself in its own file.
var registry = map[Kind]func() Layer{}

func register(k Kind, empty func() Layer) { registry[k] = empty }

// Kinds lists the registered layer kinds, sorted.
func Kinds() []Kind {
	out := make([]Kind, 0, len(registry))
	for k := range registry {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

var errNoLayerType = errors.New("unknown layer type")

// encodeLayer is the layer's architecture entry: its configuration with
// "type" added.
func encodeLayer(l Layer) (json.RawMessage, error) {
	b, err := json.Marshal(l)
	if err != nil {
		return nil, err
	}
	kind, err := json.Marshal(l.Kind())
	if err != nil {
		return nil, err
	}
	// b is a JSON object holding at least "name".
	out := append([]byte(`{"type":`), kind...)
	out = append(out, ',')
	return append(out, b[1:]...), nil
}

// decodeLayer builds a layer without weights from its architecture entry.
// Unknown fields are refused.
func decodeLayer(raw json.RawMessage) (Layer, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return nil, fmt.Errorf("%w: architecture document: %v", ErrFormat, err)
	}
	var kind Kind
	if t, ok := fields["type"]; ok {
		if err := json.Unmarshal(t, &kind); err != nil {
			return nil, fmt.Errorf("%w: architecture document: layer type: %v", ErrFormat, err)
		}
	}
	empty, ok := registry[kind]
	if !ok {
		return nil, fmt.Errorf("%w: %w %q (known: %v)", ErrInvalid, errNoLayerType, kind, Kinds())
	}
	delete(fields, "type")
	rest, err := json.Marshal(fields)
	if err != nil {
		return nil, fmt.Errorf("%w: architecture document: %v", ErrFormat, err)
	}
	l := empty()
	if err := strictJSON(rest, l); err != nil {
		if errors.Is(err, errPair) {
			return nil, fmt.Errorf("%w: %s: %w", ErrInvalid, badPair(fields), errPair)
		}
		return nil, fmt.Errorf("%w: architecture document: %v", ErrFormat, err)
	}
	return l, nil
}

// CloneLayer returns a deep copy of l, weights included. l must be valid
// (as every layer of a validated Network is): a configuration JSON cannot
// hold, such as a NaN eps, is a programming error here.
func CloneLayer(l Layer) Layer {
	raw, err := encodeLayer(l)
	if err != nil {
		panic(fmt.Sprintf("nn: layer %q does not encode: %v", l.Name(), err)) // every kind's fields are plain data
	}
	c, err := decodeLayer(raw)
	if err != nil {
		panic(fmt.Sprintf("nn: layer %q does not decode its own encoding: %v", l.Name(), err))
	}
	c.allocate()
	src := l.Params()
	for i, p := range c.Params() {
		if src[i].Value != nil {
			copy(p.Value.Data, src[i].Value.Data)
		}
	}
	return c
}

// SameConfig reports whether a and b are of the same kind with the same
// configuration, whatever their names and weights.
func SameConfig(a, b Layer) bool {
	if a.Kind() != b.Kind() {
		return false
	}
	ca, errA := configOf(a)
	cb, errB := configOf(b)
	return errA == nil && errB == nil && ca == cb
}

func configOf(l Layer) (string, error) {
	raw, err := encodeLayer(l)
	if err != nil {
		return "", err
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return "", err
	}
	delete(fields, "name")
	b, err := json.Marshal(fields) // map keys marshal sorted
	return string(b), err
}

// badPair names the field holding an array of other than two ints.
func badPair(fields map[string]json.RawMessage) string {
	for _, k := range slices.Sorted(maps.Keys(fields)) {
		var v []int
		if json.Unmarshal(fields[k], &v) == nil && v != nil && len(v) != 2 {
			return fmt.Sprintf("%s %v", k, v)
		}
	}
	return "a pair"
}

// errPair marks a kernel, stride or padding without exactly two values.
var errPair = errors.New("must have 2 values [h, w]")

// MarshalJSON writes a pair as [h, w].
func (p Pair) MarshalJSON() ([]byte, error) { return json.Marshal([2]int{p.H, p.W}) }

// UnmarshalJSON reads a pair from [h, w].
func (p *Pair) UnmarshalJSON(b []byte) error {
	var v []int
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	if len(v) != 2 {
		return fmt.Errorf("pair %w, got %v", errPair, v)
	}
	p.H, p.W = v[0], v[1]
	return nil
}

func checkPair(layer, what string, p Pair, lo, hi int) error {
	if p.H < lo || p.W < lo || p.H > hi || p.W > hi {
		return fmt.Errorf("%s: %s %v out of range [%d,%d]", layer, what, p, lo, hi)
	}
	return nil
}

// checkWindow bounds a sliding window's kernel, stride and padding.
func checkWindow(layer string, w Window) error {
	if err := checkPair(layer, "kernel", w.Kernel, 1, MaxKernel); err != nil {
		return err
	}
	if err := checkPair(layer, "stride", w.Stride, 1, MaxKernel); err != nil {
		return err
	}
	if err := checkPair(layer, "padding", w.Padding, 0, MaxKernel); err != nil {
		return err
	}
	return checkPair(layer, "padding_end", w.PaddingEnd, 0, MaxKernel)
}

// checkPool bounds a pooling window; as in PyTorch, padding on either side
// may not exceed half the kernel, so no window is made only of padding.
func checkPool(layer string, w Window) error {
	if err := checkWindow(layer, w); err != nil {
		return err
	}
	for _, p := range []struct {
		what string
		p    Pair
	}{{"padding", w.Padding}, {"padding_end", w.PaddingEnd}} {
		if 2*p.p.H > w.Kernel.H || 2*p.p.W > w.Kernel.W {
			return fmt.Errorf("%s: %s %v exceeds half the kernel %v", layer, p.what, p.p, w.Kernel)
		}
	}
	return nil
}

// slideShape is the output of window w sliding over in, with c channels.
func slideShape(kind, name string, w Window, in Shape, c int) (Shape, error) {
	h, wd := w.slide(in)
	if h < 1 || wd < 1 {
		return Shape{}, fmt.Errorf("%s %q: kernel %v with %s does not fit a %d×%d input", kind, name, w.Kernel, w.padString(), in.H, in.W)
	}
	return Shape{c, h, wd}, nil
}

// slide is the output size of a window sliding over an h×w map.
func (w Window) slide(in Shape) (h, wd int) {
	return slideOut(in.H, w.Kernel.H, w.Stride.H, w.Padding.H, w.PaddingEnd.H, w.Ceil),
		slideOut(in.W, w.Kernel.W, w.Stride.W, w.Padding.W, w.PaddingEnd.W, w.Ceil)
}

// Overhangs reports whether, on an input of shape in, the last window
// reaches past the padded map along either axis (ceil mode keeps such a
// window; it then sees less than a full kernel).
func (w Window) Overhangs(in Shape) bool {
	h, wd := w.slide(in)
	return (h-1)*w.Stride.H+w.Kernel.H > in.H+w.Padding.H+w.PaddingEnd.H ||
		(wd-1)*w.Stride.W+w.Kernel.W > in.W+w.Padding.W+w.PaddingEnd.W
}

func (w Window) String() string {
	s := fmt.Sprintf("%v /%v %s", w.Kernel, w.Stride, w.padString())
	if w.Ceil {
		s += " ceil"
	}
	return s
}

// padString is "pad 1×1", or "pad 1×0 end 2×1" when asymmetric.
func (w Window) padString() string {
	if w.PaddingEnd == w.Padding {
		return fmt.Sprintf("pad %v", w.Padding)
	}
	return fmt.Sprintf("pad %v end %v", w.Padding, w.PaddingEnd)
}

func finite(v float32) bool {
	f := float64(v)
	return !math.IsNaN(f) && !math.IsInf(f, 0)
}

// strictJSON decodes b into v, refusing unknown fields and trailing data.
func strictJSON(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("data after the JSON object")
	}
	return nil
}
