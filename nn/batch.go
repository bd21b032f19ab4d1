package nn

import (
	"fmt"
	"slices"

	"github.com/fc2conv/fc2conv/nn/kernels"
)

// ForwardBatch runs the network on n inputs of one shape, held one after
// another in src, and writes their n outputs one after another into dst,
// which must hold n times the output's size. Each output is ForwardInto's
// for its input, bit for bit.
//
// What it saves is the head of a classifier run on its own window (a
// verifier's views, validation patches): the layers after its map has
// shrunk to 1×1 (dense layers, or in a converted network the convolutions
// that were its FC layers) run once for the whole batch. On one window
// such a layer is a matrix–vector product, which the GEMM runs at a few
// percent of its rate; on n windows it is one product with n columns.
// The rest of the network runs item by item. It allocates nothing once
// the engine has seen a batch this large.
func (e *Engine) ForwardBatch(dst, src []float32, n int, shape Shape) (Shape, error) {
	if n < 0 {
		return Shape{}, fmt.Errorf("engine: batch of %d inputs", n)
	}
	shapes, err := e.shapes(shape)
	if err != nil {
		return Shape{}, err
	}
	in, out := shape.Size(), shapes[len(shapes)-1].Size()
	if n > 0 && (in > MaxActivation/n || out > MaxActivation/n) {
		return Shape{}, fmt.Errorf("engine: batch of %d inputs of %v is more than %d values; split it", n, shape, MaxActivation)
	}
	if len(src) != n*in {
		return Shape{}, fmt.Errorf("engine: batch input holds %d values, %d inputs of %v need %d", len(src), n, shape, n*in)
	}
	if len(dst) < n*out {
		return Shape{}, fmt.Errorf("engine: batch output buffer holds %d values, %d outputs of %v need %d", len(dst), n, shapes[len(shapes)-1], n*out)
	}
	h := e.headFor(shape, shapes)
	if h == nil || n < 2 {
		for i := range n {
			e.run(dst[i*out:(i+1)*out], src[i*in:(i+1)*in], shapes, nil)
		}
		return shapes[len(shapes)-1], nil
	}
	h.run(e, dst, src, n, shapes)
	return shapes[len(shapes)-1], nil
}

// batchHead is an engine's head for one input shape: the steps after the
// map has shrunk to 1×1, run for a whole batch at once. n vectors side by
// side are one C×1×n map, on which pointwise layers compute each item as
// they would alone, and a dense layer each column as it would one vector;
// a convolution whose kernel covers its input is a 1×1 convolution over
// the items' inputs flattened into columns (K×1×n). The weights and their
// order are the same, and so is every sum: the packed GEMM's order does
// not depend on the number of columns, and each of its sums starts
// from +0 whether it overwrites its output or adds to a cleared one.
type batchHead struct {
	first int // the trunk is e.steps[:first]
	k     int // values per item entering the head: the columns' height
	// steps are the head's: e's own, the first rebuilt as a 1×1
	// convolution when it is a converted FC layer.
	steps []step
	// bufA and bufB hold the head's activations, the first its input:
	// the trunk's outputs as columns.
	bufA, bufB []float32
}

// headFor is the batch head of shape's pass (shapes), built on first use
// and kept for the last input shape, or nil when the network has none:
// no step shrinks the map to 1×1, or a layer after it is not pointwise
// (a window over more than one position, or with a stride). The head
// starts at the first step whose output is 1×1: there, a convolution
// whose kernel covers its input (a converted FC layer) is rebuilt as a
// 1×1 convolution over the columns; any other such step (a flatten, a
// pool over the whole map) stays in the trunk, item by item.
func (e *Engine) headFor(shape Shape, shapes []Shape) *batchHead {
	if e.headKnown && e.headInput == shape {
		return e.head
	}
	e.head, e.headInput, e.headKnown = nil, shape, true
	first := slices.IndexFunc(e.steps, func(s step) bool { o := shapes[s.to]; return o.H == 1 && o.W == 1 })
	// Only the packed GEMM is known to sum in an order that does not
	// depend on the number of columns.
	if _, ok := e.kernels.(kernels.Packed); !ok || first < 0 {
		return nil
	}
	s := e.steps[first]
	h := &batchHead{first: first + 1, k: shapes[s.to].C}
	after := s.to // the first layer that must be pointwise
	if kern := e.flatConv(s, shapes[s.from]); kern != nil {
		h.first, h.k, after = first, shapes[s.from].Size(), s.from+1
		h.steps = append(h.steps, step{s.from, s.to, kern})
	}
	for _, l := range e.net.Layers[after:] {
		if !pointwiseLayer(l) {
			return nil
		}
	}
	for _, s := range e.steps[first+1:] {
		if e.net.Layers[s.from].Kind() == KindFlatten {
			// A vector flattens to itself, in either order; on the
			// batch's C×1×n map an HWC flatten would transpose it.
			s.k = inPlace(func([]float32, Shape) {})
		}
		h.steps = append(h.steps, s)
	}
	if len(h.steps) == 0 {
		return nil // nothing to run once
	}
	e.head = h
	return h
}

// flatConv is step s (on input is) as a 1×1 convolution over its input
// flattened, when s is a convolution whose kernel covers its unpadded
// input; else nil. The weights are the same, read as OutC×(InC·KH·KW)×1×1:
// PyTorch's layout flattens each filter as the input flattens.
func (e *Engine) flatConv(s step, is Shape) kernel {
	conv, ok := e.net.Layers[s.from].(*Conv2D)
	orig, _ := s.k.(*convKernel)
	if !ok || orig == nil || conv.Window().Padded() || conv.Kernel != (Pair{is.H, is.W}) {
		return nil
	}
	flat := &Conv2D{base: base{conv.LayerName}, InC: is.Size(), OutC: conv.OutC, Kernel: Pair{1, 1}, Stride: Pair{1, 1}, Weight: conv.Weight, Bias: conv.Bias}
	// Its groups are the convolution's own: each group's products then
	// cover the same columns of the weights.
	kern := &convKernel{l: flat, gemm: e.kernels}
	kern.setGroups(orig.groups)
	if kern.fuse(e.net.Layers[s.from+1:]) != s.to-s.from-1 {
		return nil
	}
	return kern
}

// pointwise reports whether a window reads each position alone, so that
// items side by side in a map do not mix.
func pointwise(w Window) bool {
	return w.Kernel == Pair{1, 1} && w.Stride == Pair{1, 1} && !w.Padded()
}

// pointwiseLayer reports whether l reads each position alone: a layer
// without a window, one whose window is pointwise, or a block
// whose layers all are.
func pointwiseLayer(l Layer) bool {
	switch l := l.(type) {
	case Windowed:
		return pointwise(l.Window())
	case Block:
		return !slices.ContainsFunc(l.Sublayers(), func(s Layer) bool { return !pointwiseLayer(s) })
	}
	return true
}

// run computes the batch: the trunk item by item into the head's input,
// then the head once, its C×1×n output written out item by item.
func (h *batchHead) run(e *Engine, dst, src []float32, n int, shapes []Shape) {
	// The head's shapes for n items: each step's output C×1×1 becomes
	// C×1×n, and its input that of the step before.
	is := Shape{C: h.k, H: 1, W: n}
	maxAct, need := is.Size(), 0
	for _, s := range h.steps {
		os := Shape{C: shapes[s.to].C, H: 1, W: n}
		maxAct = max(maxAct, os.Size())
		need = max(need, s.k.scratch(is, os))
		is = os
	}
	h.bufA, h.bufB = slices.Grow(h.bufA[:0], maxAct)[:maxAct], slices.Grow(h.bufB[:0], maxAct)[:maxAct]
	// The trunk, item by item, each output a column of the head's input.
	cur, other := h.bufA[:h.k*n], h.bufB
	in := shapes[0].Size()
	for i := range n {
		x := e.pass(src[i*in:(i+1)*in], shapes, h.first, nil)
		for r, v := range x[:h.k] {
			cur[r*n+i] = v
		}
	}
	e.exec.reserve(need)
	is = Shape{C: h.k, H: 1, W: n}
	for _, s := range h.steps {
		os := Shape{C: shapes[s.to].C, H: 1, W: n}
		out := other[:os.Size()]
		if s.k.forward(&e.exec, cur, is, out, os) {
			cur, other = out, cur[:cap(cur)]
		}
		is = os
	}
	// cur is C×1×n; each item's output is its column.
	c := is.C
	for i := range n {
		for r := range c {
			dst[i*c+r] = cur[r*n+i]
		}
	}
}
