package nn

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/fc2conv/fc2conv/nn/kernels"
)

// KindConcat is a concatenation block: paths that read the same map,
// their outputs stacked on channels.
const KindConcat Kind = "concat"

func init() { register(KindConcat, func() Layer { return &Concat{} }) }

// MaxPaths bounds a concatenation's paths (an Inception module has four).
const MaxPaths = 64

// Concat is an Inception module's or a DenseNet layer's join: each of
// Branches' layer lists (an empty one: the input itself) on the same
// input, their outputs stacked on channels in order. The paths keep maps
// of one height and width and one total stride, so they stay aligned on
// any input and the block converts as it is.
type Concat struct {
	base
	Branches [][]Layer
}

// NewConcat returns the block stacking paths' outputs.
func NewConcat(name string, paths ...[]Layer) *Concat {
	return &Concat{base: base{name}, Branches: paths}
}

// Kind implements Layer.
func (*Concat) Kind() Kind { return KindConcat }

// Paths implements Block.
func (l *Concat) Paths() [][]Layer { return l.Branches }

// Sublayers implements Block.
func (l *Concat) Sublayers() []Layer { return sublayers(l) }

// WithPaths implements Block.
func (l *Concat) WithPaths(paths [][]Layer) Block { return NewConcat(l.LayerName, paths...) }

func (l *Concat) String() string {
	parts := make([]string, len(l.Branches))
	for i, p := range l.Branches {
		parts[i] = "[" + describePath(p) + "]"
	}
	return "concat: " + strings.Join(parts, " | ")
}

type concatDoc struct {
	Name     string              `json:"name"`
	Branches [][]json.RawMessage `json:"branches"`
}

// MarshalJSON writes the block with its layers' entries nested, a list
// per path.
func (l *Concat) MarshalJSON() ([]byte, error) {
	raws, err := encodePaths(l.Branches)
	if err != nil {
		return nil, err
	}
	for i := range raws {
		if raws[i] == nil {
			raws[i] = []json.RawMessage{} // an identity path: [], not null
		}
	}
	return json.Marshal(concatDoc{Name: l.LayerName, Branches: raws})
}

// UnmarshalJSON reads the block and its layers, without weights; too deep
// a document or too many paths are refused before any layer is decoded.
func (l *Concat) UnmarshalJSON(b []byte) error {
	if err := checkJSONDepth(b); err != nil {
		return err
	}
	var doc concatDoc
	if err := strictJSON(b, &doc); err != nil {
		return err
	}
	l.LayerName = doc.Name
	if len(doc.Branches) > MaxPaths {
		return fmt.Errorf("%s: %d paths, at most %d", l.label(KindConcat), len(doc.Branches), MaxPaths)
	}
	var err error
	l.Branches, err = decodePaths(l.label(KindConcat), doc.Branches)
	return err
}

func (l *Concat) check() error {
	label := l.label(KindConcat)
	if len(l.Branches) < 2 || len(l.Branches) > MaxPaths {
		return fmt.Errorf("%s: %d paths, want 2 to %d", label, len(l.Branches), MaxPaths)
	}
	return checkPaths(l, label, "path 0", "another path")
}

// Params implements Layer: its layers' tensors, each named after its
// layer.
func (l *Concat) Params() []Param { return blockParams(l) }

func (l *Concat) allocate() { allocateBlock(l) }

func (l *Concat) checkWeights() error { return checkBlockWeights(l, l.label(KindConcat)) }

// OutShape implements Layer: the paths' channels summed, on the height
// and width they share.
func (l *Concat) OutShape(in Shape) (Shape, error) {
	var out Shape
	for i, ls := range l.Branches {
		shapes, err := branchShapes(ls, in)
		if err != nil {
			return Shape{}, fmt.Errorf("%s: %w", l.label(KindConcat), err)
		}
		s := shapes[len(shapes)-1]
		if i > 0 && (s.H != out.H || s.W != out.W) {
			return Shape{}, fmt.Errorf("%s: on %v path 0 gives %d×%d and path %d %d×%d", l.label(KindConcat), in, out.H, out.W, i, s.H, s.W)
		}
		out.H, out.W = s.H, s.W
		out.C += s.C
		if out.C > MaxDim {
			return Shape{}, fmt.Errorf("%s: %d channels exceed %d", l.label(KindConcat), out.C, MaxDim)
		}
	}
	if out.Size() > MaxActivation {
		return Shape{}, fmt.Errorf("%s: output %v holds more than %d values", l.label(KindConcat), out, MaxActivation)
	}
	return out, nil
}

// concatKernel runs each path straight into its channels of the output:
// maps are channel-major, so those are one run of it.
type concatKernel struct {
	paths  []*branch
	runner pathRunner
}

func (l *Concat) newKernel(k kernels.Kernels) kernel {
	c := &concatKernel{}
	for _, ls := range l.Branches {
		b := newBranch(ls, k)
		c.paths = append(c.paths, &b)
	}
	return c
}

func (c *concatKernel) scratch(is, _ Shape) int { return pathsScratch(is, c.paths...) }

func (c *concatKernel) forward(x *exec, in []float32, is Shape, out []float32, _ Shape) bool {
	off := 0
	for _, b := range c.paths {
		shapes := b.shapesOn(is)
		n := shapes[len(shapes)-1].Size()
		if len(b.steps) == 0 {
			copy(out[off:off+n], in)
		} else {
			c.runner.run(x, b, in, is, out[off:off+n])
		}
		off += n
	}
	return true
}

func (c *concatKernel) pathCosts() [][]LayerCost { return branchCosts(c.paths...) }

// flops is its paths' (stacking is no product).
func (c *concatKernel) flops(is, _ Shape) int64 { return pathsFlops(is, c.paths...) }
