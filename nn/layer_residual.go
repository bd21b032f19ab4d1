package nn

import (
	"encoding/json"
	"fmt"

	"github.com/fc2conv/fc2conv/nn/kernels"
)

// KindResidual is a residual block: the sum of two branches that read the
// same map.
const KindResidual Kind = "residual"

func init() { register(KindResidual, func() Layer { return &Residual{} }) }

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

// Paths are the block's two layer lists, body first (Block).
func (l *Residual) Paths() [][]Layer { return [][]Layer{l.Body, l.Shortcut} }

// Sublayers lists the block's layers, body then shortcut, each block
// among them as one layer (Block).
func (l *Residual) Sublayers() []Layer { return sublayers(l) }

// WithPaths is the block named as l on body and shortcut paths[0] and
// paths[1] (Block).
func (l *Residual) WithPaths(paths [][]Layer) Block {
	return NewResidual(l.LayerName, paths[0], paths[1])
}

func (l *Residual) String() string {
	return fmt.Sprintf("residual: [%s] + [%s]", describePath(l.Body), describePath(l.Shortcut))
}

type residualDoc struct {
	Name     string            `json:"name"`
	Body     []json.RawMessage `json:"body"`
	Shortcut []json.RawMessage `json:"shortcut,omitempty"`
}

// MarshalJSON writes the block with its layers' entries nested.
func (l *Residual) MarshalJSON() ([]byte, error) {
	raws, err := encodePaths(l.Paths())
	if err != nil {
		return nil, err
	}
	return json.Marshal(residualDoc{Name: l.LayerName, Body: raws[0], Shortcut: raws[1]})
}

// UnmarshalJSON reads the block and its layers, without weights. A
// document nested deeper than MaxNesting blocks is refused before any of
// it is decoded.
func (l *Residual) UnmarshalJSON(b []byte) error {
	if err := checkJSONDepth(b); err != nil {
		return err
	}
	var doc residualDoc
	if err := strictJSON(b, &doc); err != nil {
		return err
	}
	l.LayerName = doc.Name
	paths, err := decodePaths(l.label(KindResidual), [][]json.RawMessage{doc.Body, doc.Shortcut})
	if err != nil {
		return err
	}
	l.Body, l.Shortcut = paths[0], paths[1]
	return nil
}

func (l *Residual) check() error {
	if len(l.Body) == 0 {
		return fmt.Errorf("%s: the body has no layers", l.label(KindResidual))
	}
	return checkPaths(l, l.label(KindResidual), "the body", "the shortcut")
}

// Params implements Layer: its layers' tensors, each named after its
// layer.
func (l *Residual) Params() []Param { return blockParams(l) }

func (l *Residual) allocate() { allocateBlock(l) }

func (l *Residual) checkWeights() error { return checkBlockWeights(l, l.label(KindResidual)) }

// OutShape implements Layer.
func (l *Residual) OutShape(in Shape) (Shape, error) {
	var outs [2]Shape
	for i, ls := range l.Paths() {
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
// one branch into out and the other added to it.
type residualKernel struct {
	body, shortcut branch
	runner         pathRunner
	relu           bool // a ReLU after the block, applied with the sum
}

func (l *Residual) newKernel(k kernels.Kernels) kernel {
	return &residualKernel{body: newBranch(l.Body, k), shortcut: newBranch(l.Shortcut, k)}
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

func (r *residualKernel) scratch(is, _ Shape) int { return pathsScratch(is, &r.body, &r.shortcut) }

// forward writes one branch straight into out and adds the other to it:
// the body, when the shortcut is the input itself, else the shortcut.
// Either way each value is shortcut + body, the same sum.
func (r *residualKernel) forward(x *exec, in []float32, is Shape, out []float32, os Shape) bool {
	out = out[:os.Size()]
	other := in
	if len(r.shortcut.steps) == 0 {
		r.runner.run(x, &r.body, in, is, out)
	} else {
		r.runner.run(x, &r.shortcut, in, is, out)
		other = r.runner.run(x, &r.body, in, is, nil)
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

func (r *residualKernel) pathCosts() [][]LayerCost { return branchCosts(&r.body, &r.shortcut) }

// flops is its branches' (the sum itself is not a product).
func (r *residualKernel) flops(is, _ Shape) int64 { return pathsFlops(is, &r.body, &r.shortcut) }
