package nn

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/fc2conv/fc2conv/nn/kernels"
)

// Block is a layer made of paths, layer lists that all read the block's
// input and keep maps: a residual block sums its two, a concatenation
// stacks any number of them on channels. Their layers' names are unique
// in the whole network, and their tensors are stored as
// "<block>.<layer>.<param>". Blocks nest up to MaxNesting deep.
type Block interface {
	Layer
	// Paths are the block's layer lists in order; an empty one is the
	// input itself.
	Paths() [][]Layer
	// Sublayers lists the paths' layers in order, a nested block as one.
	Sublayers() []Layer
	// WithPaths is the same block (name and join) on other paths, as
	// many as Paths has.
	WithPaths(paths [][]Layer) Block
}

// MaxNesting bounds how deep blocks nest in one another, and with it how
// deep a model file's architecture document may be.
const MaxNesting = 8

func sublayers(b Block) []Layer {
	var out []Layer
	for _, p := range b.Paths() {
		out = append(out, p...)
	}
	return out
}

func describePath(ls []Layer) string {
	if len(ls) == 0 {
		return "identity"
	}
	parts := make([]string, len(ls))
	for i, s := range ls {
		parts[i] = s.String()
	}
	return strings.Join(parts, ", ")
}

// encodePaths is each path's layers as model-file entries.
func encodePaths(paths [][]Layer) ([][]json.RawMessage, error) {
	raws := make([][]json.RawMessage, len(paths))
	for i, ls := range paths {
		for _, s := range ls {
			raw, err := encodeLayer(s)
			if err != nil {
				return nil, fmt.Errorf("layer %q: %w", s.Name(), err)
			}
			raws[i] = append(raws[i], raw)
		}
	}
	return raws, nil
}

// decodePaths reads each path's entries, without weights.
func decodePaths(label string, raws [][]json.RawMessage) ([][]Layer, error) {
	paths := make([][]Layer, len(raws))
	for p, rs := range raws {
		for i, raw := range rs {
			s, err := decodeLayer(raw)
			if err != nil {
				return nil, fmt.Errorf("%s path %d layer %d: %w", label, p, i, err)
			}
			paths[p] = append(paths[p], s)
		}
	}
	return paths, nil
}

// checkJSONDepth refuses a block's document nested deeper than
// MaxNesting blocks before any of it is decoded. A block nests at most
// three levels (its object, its list of paths and a path); the deepest
// valid document adds the innermost layer's object and a pair's array.
// The bound leaves slack, and check reports depths within it.
func checkJSONDepth(b []byte) error {
	if d := jsonDepth(b); d > 3*MaxNesting+2 {
		return fmt.Errorf("blocks nested more than %d deep", MaxNesting)
	}
	return nil
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

// checkPaths checks b's layers and that its paths keep maps of one
// stride, so that they stay aligned on any input; first and others name
// the first path and the rest in errors.
func checkPaths(b Block, label, first, others string) error {
	if d := nesting(b); d > MaxNesting {
		return fmt.Errorf("%s: blocks nested %d deep, at most %d", label, d, MaxNesting)
	}
	var strides []Pair
	for _, ls := range b.Paths() {
		stride := Pair{1, 1}
		for _, s := range ls {
			if s == nil {
				return fmt.Errorf("%s: a nil layer", label)
			}
			if k := s.Kind(); k == KindFlatten || k == KindDense {
				return fmt.Errorf("%s: %s %q inside a block: every path must keep maps", label, k, s.Name())
			}
			if err := s.check(); err != nil {
				return fmt.Errorf("%s: %w", label, err)
			}
			if w, ok := s.(Windowed); ok {
				ws := w.Window().Stride
				stride = Pair{stride.H * ws.H, stride.W * ws.W}
				if stride.H > MaxDim || stride.W > MaxDim {
					return fmt.Errorf("%s: stride %v exceeds %d", label, stride, MaxDim)
				}
			}
		}
		strides = append(strides, stride)
	}
	for _, s := range strides[1:] {
		if s != strides[0] {
			return fmt.Errorf("%s: %s's stride %v differs from %s's %v, so they would not stay aligned on a larger map", label, first, strides[0], others, s)
		}
	}
	return nil
}

// nesting is how many blocks deep b goes, itself included.
func nesting(b Block) int {
	deepest := 0
	for _, s := range b.Sublayers() {
		if r, ok := s.(Block); ok {
			deepest = max(deepest, nesting(r))
		}
	}
	return 1 + deepest
}

// checkBlockWeights applies its layers' own weight checks (a batch
// norm's statistics).
func checkBlockWeights(b Block, label string) error {
	for _, s := range b.Sublayers() {
		if wc, ok := s.(interface{ checkWeights() error }); ok {
			if err := wc.checkWeights(); err != nil {
				return fmt.Errorf("%s: %w", label, err)
			}
		}
	}
	return nil
}

// blockParams is b's layers' tensors, each named after its layer.
func blockParams(b Block) []Param {
	var ps []Param
	for _, s := range b.Sublayers() {
		for _, p := range s.Params() {
			ps = append(ps, Param{Name: s.Name() + "." + p.Name, Shape: p.Shape, Value: p.Value})
		}
	}
	return ps
}

func allocateBlock(b Block) {
	for _, s := range b.Sublayers() {
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

// branch is one path of a block as the engine runs it, with the shapes
// of its last input.
type branch struct {
	layers []Layer
	steps  []step
	in     Shape
	shapes []Shape
	costs  []LayerCost // the steps' times in the last profiled pass
}

func newBranch(ls []Layer, k kernels.Kernels) branch {
	return branch{layers: ls, steps: planSteps(ls, k)}
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

// pathsScratch is the most scratch any step of bs needs on is.
func pathsScratch(is Shape, bs ...*branch) int {
	need := 0
	for _, b := range bs {
		shapes := b.shapesOn(is)
		for _, s := range b.steps {
			need = max(need, s.k.scratch(shapes[s.from], shapes[s.to]))
		}
	}
	return need
}

// pathsFlops is bs's products on is (a join is no product).
func pathsFlops(is Shape, bs ...*branch) int64 {
	var n int64
	for _, b := range bs {
		shapes := b.shapesOn(is)
		for _, s := range b.steps {
			if f, ok := s.k.(interface{ flops(is, os Shape) int64 }); ok {
				n += f.flops(shapes[s.from], shapes[s.to])
			}
		}
	}
	return n
}

// pathRunner runs a block's paths through two buffers of its own, since
// a path's maps may outgrow the engine's (a bottleneck's wide middle).
type pathRunner struct {
	bufA, bufB []float32
}

// run passes in through b and returns the result: in dst when dst is not
// nil (it must not be in), else in r's buffers until the next call. in
// is read, never written: a path whose first step works in place gets a
// copy.
func (r *pathRunner) run(x *exec, b *branch, in []float32, is Shape, dst []float32) []float32 {
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
		var t0 time.Time
		if x.profile {
			t0 = time.Now()
		}
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
		if x.profile {
			b.record(i, shapes, time.Since(t0))
		}
	}
	if dst != nil && (len(cur) == 0 || &cur[0] != &dst[0]) {
		copy(dst, cur)
		return dst[:len(cur)]
	}
	return cur
}
