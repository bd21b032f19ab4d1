package nn

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/fc2conv/fc2conv/nn/kernels"
)

// KindResidual is a residual block: the sum of two branches that read the
// same map.
const KindResidual Kind = "residual"

func init() { register(KindResidual, func() Layer { return &Residual{} }) }

// MaxNesting bounds how deep residual blocks nest in one another, and
// with it how deep a model file's architecture document may be.
const MaxNesting = 8

// Residual is a ResNet's block: Body's layers in order, plus Shortcut's
// (none: the input itself), on the same input. Both branches keep maps
// (no flatten or dense) and must give the same shape; with the same total
// stride they stay aligned on any input, so the block converts as it is.
// Its layers' names are unique in the whole network, and their tensors
// are stored as "<block>.<layer>.<param>".
type Residual struct {
	base
	Body     []Layer
	Shortcut []Layer
}

// NewResidual returns the block body + shortcut; a nil shortcut is the
// identity.
func NewResidual(name string, body, shortcut []Layer) *Residual {
	return &Residual{base: base{name}, Body: body, Shortcut: shortcut}
}

// Kind implements Layer.
func (*Residual) Kind() Kind { return KindResidual }

// Branches are the block's two layer lists, body first.
func (l *Residual) Branches() [2][]Layer { return [2][]Layer{l.Body, l.Shortcut} }

// Sublayers lists the block's layers, body then shortcut, each block
// among them as one layer.
func (l *Residual) Sublayers() []Layer {
	return append(append([]Layer(nil), l.Body...), l.Shortcut...)
}

func (l *Residual) String() string {
	desc := func(ls []Layer) string {
		if len(ls) == 0 {
			return "identity"
		}
		parts := make([]string, len(ls))
		for i, s := range ls {
			parts[i] = s.String()
		}
		return strings.Join(parts, ", ")
	}
	return fmt.Sprintf("residual: [%s] + [%s]", desc(l.Body), desc(l.Shortcut))
}

type residualDoc struct {
	Name     string            `json:"name"`
	Body     []json.RawMessage `json:"body"`
	Shortcut []json.RawMessage `json:"shortcut,omitempty"`
}

// MarshalJSON writes the block with its layers' entries nested.
func (l *Residual) MarshalJSON() ([]byte, error) {
	var raws [2][]json.RawMessage
	for i, ls := range l.Branches() {
		for _, s := range ls {
			raw, err := encodeLayer(s)
			if err != nil {
				return nil, fmt.Errorf("layer %q: %w", s.Name(), err)
			}
			raws[i] = append(raws[i], raw)
		}
	}
	return json.Marshal(residualDoc{Name: l.LayerName, Body: raws[0], Shortcut: raws[1]})
}

// UnmarshalJSON reads the block and its layers, without weights. A
// document nested deeper than MaxNesting blocks is refused before any of
// it is decoded.
func (l *Residual) UnmarshalJSON(b []byte) error {
	// A block nests two levels (its object and its list); the deepest
	// valid document adds the innermost layer's object and a pair's
	// array. The bound leaves slack, and check reports depths within it.
	if d := jsonDepth(b); d > 3*MaxNesting+1 {
		return fmt.Errorf("residual blocks nested more than %d deep", MaxNesting)
	}
	var doc residualDoc
	if err := strictJSON(b, &doc); err != nil {
		return err
	}
	l.LayerName = doc.Name
	decode := func(raws []json.RawMessage) ([]Layer, error) {
		var out []Layer
		for i, raw := range raws {
			s, err := decodeLayer(raw)
			if err != nil {
				return nil, fmt.Errorf("residual %q layer %d: %w", doc.Name, i, err)
			}
			out = append(out, s)
		}
		return out, nil
	}
	var err error
	if l.Body, err = decode(doc.Body); err != nil {
		return err
	}
	l.Shortcut, err = decode(doc.Shortcut)
	return err
}

// jsonDepth is the deepest nesting of objects and arrays in b, outside
// strings.
func jsonDepth(b []byte) int {
	depth, deepest, inString, escaped := 0, 0, false, false
	for _, c := range b {
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			depth++
			deepest = max(deepest, depth)
		case c == '}' || c == ']':
			depth--
		}
	}
	return deepest
}

func (l *Residual) check() error {
	if len(l.Body) == 0 {
		return fmt.Errorf("%s: the body has no layers", l.label(KindResidual))
	}
	if d := nesting(l); d > MaxNesting {
		return fmt.Errorf("%s: blocks nested %d deep, at most %d", l.label(KindResidual), d, MaxNesting)
	}
	var strides [2]Pair
	for i, ls := range l.Branches() {
		strides[i] = Pair{1, 1}
		for _, s := range ls {
			if s == nil {
				return fmt.Errorf("%s: a nil layer", l.label(KindResidual))
			}
			if k := s.Kind(); k == KindFlatten || k == KindDense {
				return fmt.Errorf("%s: %s %q inside a block: both branches must keep maps", l.label(KindResidual), k, s.Name())
			}
			if err := s.check(); err != nil {
				return fmt.Errorf("%s: %w", l.label(KindResidual), err)
			}
			if w, ok := s.(Windowed); ok {
				ws := w.Window().Stride
				strides[i] = Pair{strides[i].H * ws.H, strides[i].W * ws.W}
				if strides[i].H > MaxDim || strides[i].W > MaxDim {
					return fmt.Errorf("%s: stride %v exceeds %d", l.label(KindResidual), strides[i], MaxDim)
				}
			}
		}
	}
	if strides[0] != strides[1] {
		return fmt.Errorf("%s: the body's stride %v differs from the shortcut's %v, so the two would not stay aligned on a larger map", l.label(KindResidual), strides[0], strides[1])
	}
	return nil
}

// nesting is how many blocks deep l goes, itself included.
func nesting(l *Residual) int {
	deepest := 0
	for _, s := range l.Sublayers() {
		if r, ok := s.(*Residual); ok {
			deepest = max(deepest, nesting(r))
		}
	}
	return 1 + deepest
}

// checkWeights applies its layers' own weight checks (a batch norm's
// statistics).
func (l *Residual) checkWeights() error {
	for _, s := range l.Sublayers() {
		if wc, ok := s.(interface{ checkWeights() error }); ok {
			if err := wc.checkWeights(); err != nil {
				return fmt.Errorf("%s: %w", l.label(KindResidual), err)
			}
		}
	}
	return nil
}

// Params implements Layer: its layers' tensors, each named after its
// layer.
func (l *Residual) Params() []Param {
	var ps []Param
	for _, s := range l.Sublayers() {
		for _, p := range s.Params() {
			ps = append(ps, Param{Name: s.Name() + "." + p.Name, Shape: p.Shape, Value: p.Value})
		}
	}
	return ps
}

func (l *Residual) allocate() {
	for _, s := range l.Sublayers() {
		s.allocate()
	}
}

// branchShapes is the shape after each of ls's layers on in; shapes[0]
// is in.
func branchShapes(ls []Layer, in Shape) ([]Shape, error) {
	shapes := []Shape{in}
	for _, s := range ls {
		out, err := s.OutShape(in)
		if err != nil {
			return nil, err
		}
		if out.Size() > MaxActivation {
			return nil, fmt.Errorf("%s %q: output %v holds more than %d values", s.Kind(), s.Name(), out, MaxActivation)
		}
		shapes = append(shapes, out)
		in = out
	}
	return shapes, nil
}

// OutShape implements Layer.
func (l *Residual) OutShape(in Shape) (Shape, error) {
	var outs [2]Shape
	for i, ls := range l.Branches() {
		shapes, err := branchShapes(ls, in)
		if err != nil {
			return Shape{}, fmt.Errorf("%s: %w", l.label(KindResidual), err)
		}
		outs[i] = shapes[len(shapes)-1]
	}
	if outs[0] != outs[1] {
		return Shape{}, fmt.Errorf("%s: on %v the body gives %v and the shortcut %v", l.label(KindResidual), in, outs[0], outs[1])
	}
	return outs[0], nil
}

// residualKernel runs each branch's steps through buffers of its own,
// the shortcut's into out and the body's added to it.
type residualKernel struct {
	body, shortcut branch
	bufA, bufB     []float32
	relu           bool // a ReLU after the block, applied with the sum
}

// branch is one side of a block as the engine runs it, with the shapes
// of its last input.
type branch struct {
	layers []Layer
	steps  []step
	in     Shape
	shapes []Shape
}

func (l *Residual) newKernel(k kernels.Kernels) kernel {
	return &residualKernel{
		body:     branch{layers: l.Body, steps: planSteps(l.Body, k)},
		shortcut: branch{layers: l.Shortcut, steps: planSteps(l.Shortcut, k)},
	}
}

// fuse takes a ReLU after the block into the sum, as a ResNet's basic
// and bottleneck blocks end: the map is then swept once, not twice.
func (r *residualKernel) fuse(next []Layer) int {
	r.relu = len(next) > 0 && next[0].Kind() == KindReLU
	if r.relu {
		return 1
	}
	return 0
}

// shapesOn gives the shapes after each layer of b on input is; OutShape
// has checked them, so there is no error.
func (b *branch) shapesOn(is Shape) []Shape {
	if b.shapes == nil || b.in != is {
		b.shapes, _ = branchShapes(b.layers, is)
		b.in = is
	}
	return b.shapes
}

func (r *residualKernel) scratch(is, _ Shape) int {
	need := 0
	for _, b := range [2]*branch{&r.body, &r.shortcut} {
		shapes := b.shapesOn(is)
		for _, s := range b.steps {
			need = max(need, s.k.scratch(shapes[s.from], shapes[s.to]))
		}
	}
	return need
}

// forward writes one branch straight into out and adds the other to it:
// the body, when the shortcut is the input itself, else the shortcut.
// Either way each value is shortcut + body, the same sum.
func (r *residualKernel) forward(x *exec, in []float32, is Shape, out []float32, os Shape) bool {
	out = out[:os.Size()]
	other := in
	if len(r.shortcut.steps) == 0 {
		r.run(x, &r.body, in, is, out)
	} else {
		r.run(x, &r.shortcut, in, is, out)
		other = r.run(x, &r.body, in, is, nil)
	}
	other = other[:len(out)]
	if !r.relu {
		for i, v := range other {
			out[i] += v
		}
		return true
	}
	for i, v := range other {
		if s := out[i] + v; s >= 0 || s != s {
			out[i] = s
		} else {
			out[i] = 0 // as the ReLU layer: below zero only, −0 and NaN kept
		}
	}
	return true
}

// run passes in through b and returns the result: in dst when dst is not
// nil (it must not be in), else in r's own buffers until the next call.
// The buffers are r's since a branch's maps may outgrow the engine's (a
// bottleneck's wide middle). in is read, never written: a branch whose
// first step works in place gets a copy.
func (r *residualKernel) run(x *exec, b *branch, in []float32, is Shape, dst []float32) []float32 {
	shapes := b.shapesOn(is)
	size := 0
	for _, s := range shapes {
		size = max(size, s.Size())
	}
	if len(r.bufA) < size {
		r.bufA, r.bufB = make([]float32, size), make([]float32, size)
	}
	cur, owned := in[:is.Size()], false
	// free is a buffer of r's that cur is not.
	free := func() []float32 {
		if owned && &cur[0] == &r.bufA[0] {
			return r.bufB
		}
		return r.bufA
	}
	for i, s := range b.steps {
		if _, ok := s.k.(inPlace); ok && !owned {
			buf := free()[:len(cur)]
			copy(buf, cur)
			cur, owned = buf, true
		}
		var o []float32
		if i == len(b.steps)-1 && dst != nil {
			o = dst[:shapes[s.to].Size()]
		} else {
			o = free()[:shapes[s.to].Size()]
		}
		if s.k.forward(x, cur, shapes[s.from], o, shapes[s.to]) {
			cur, owned = o, true
		}
	}
	if dst != nil && &cur[0] != &dst[0] {
		copy(dst, cur)
		return dst[:len(cur)]
	}
	return cur
}

// flops is its branches' (the sum itself is not a product).
func (r *residualKernel) flops(is, _ Shape) int64 {
	var n int64
	for _, b := range [2]*branch{&r.body, &r.shortcut} {
		shapes := b.shapesOn(is)
		for _, s := range b.steps {
			if f, ok := s.k.(interface{ flops(is, os Shape) int64 }); ok {
				n += f.flops(shapes[s.from], shapes[s.to])
			}
		}
	}
	return n
}
