package nn

import (
	"fmt"
	"time"

	"github.com/fc2conv/fc2conv/nn/kernels"
)

// Engine is the native forward pass. It runs a network on inputs of any
// size with nothing rebuilt: each layer's kernel is prepared once, and
// activations ping-pong between two buffers sized for the largest layer.
// An Engine is not safe for concurrent use; make one per goroutine (they
// can share the Network, which they only read).
type Engine struct {
	net     *Network
	kernels []kernel
	bufA    []float32
	bufB    []float32
	scratch []float32
}

// NewEngine prepares an engine for net using the default kernels. The
// network must already be valid (see Network.Validate).
func NewEngine(net *Network) *Engine {
	return NewEngineWith(net, kernels.Default)
}

// NewEngineWith prepares an engine that uses the given numeric kernels.
func NewEngineWith(net *Network, k kernels.Kernels) *Engine {
	e := &Engine{net: net}
	for _, l := range net.Layers {
		e.kernels = append(e.kernels, l.newKernel(k))
	}
	return e
}

// Network is the network the engine runs.
func (e *Engine) Network() *Network { return e.net }

// MaxActivation bounds one activation, in float32s (4 GiB); larger inputs
// are the detector's to tile.
const MaxActivation = 1 << 30

// Forward runs the network on a C×H×W input held in a flat slice and
// returns a newly allocated output and its shape.
func (e *Engine) Forward(src []float32, shape Shape) ([]float32, Shape, error) {
	out, err := e.OutShape(shape)
	if err != nil {
		return nil, Shape{}, err
	}
	dst := make([]float32, out.Size())
	if _, err := e.ForwardInto(dst, src, shape); err != nil {
		return nil, Shape{}, err
	}
	return dst, out, nil
}

// OutShape is the output shape for an input of the given shape, checked
// against the engine's limits.
func (e *Engine) OutShape(shape Shape) (Shape, error) {
	shapes, err := e.shapes(shape)
	if err != nil {
		return Shape{}, err
	}
	return shapes[len(shapes)-1], nil
}

func (e *Engine) shapes(shape Shape) ([]Shape, error) {
	if shape.C < 0 || shape.H < 0 || shape.W < 0 {
		return nil, fmt.Errorf("engine: input shape %v is negative", shape)
	}
	shapes, err := e.net.Shapes(shape)
	if err != nil {
		return nil, fmt.Errorf("engine: input %v: %w", shape, err)
	}
	for i, s := range shapes {
		if s.C > MaxActivation || s.H > MaxActivation || s.W > MaxActivation || s.Size() > MaxActivation {
			return nil, fmt.Errorf("engine: activation %d is %v, more than %d values; tile the input", i, s, MaxActivation)
		}
	}
	return shapes, nil
}

// ForwardInto runs the network on src, a C×H×W input, and writes the
// output into dst, which must hold at least its size (see OutShape). It
// allocates nothing once the engine has seen an input this large.
func (e *Engine) ForwardInto(dst, src []float32, shape Shape) (Shape, error) {
	if len(src) != shape.Size() {
		return Shape{}, fmt.Errorf("engine: input holds %d values, shape %v needs %d", len(src), shape, shape.Size())
	}
	shapes, err := e.shapes(shape)
	if err != nil {
		return Shape{}, err
	}
	final := shapes[len(shapes)-1]
	if len(dst) < final.Size() {
		return Shape{}, fmt.Errorf("engine: output buffer holds %d values, output %v needs %d", len(dst), final, final.Size())
	}
	e.run(dst, src, shapes, nil)
	return final, nil
}

// run is the forward pass; with costs (one per layer) it also times each
// layer.
func (e *Engine) run(dst, src []float32, shapes []Shape, costs []LayerCost) {
	e.reserve(shapes)
	cur := e.bufA[:shapes[0].Size()]
	copy(cur, src)
	other := e.bufB
	for i, k := range e.kernels {
		is, os := shapes[i], shapes[i+1]
		out := other[:os.Size()]
		var t0 time.Time
		if costs != nil {
			t0 = time.Now()
		}
		if k.forward(e.scratch, cur, is, out, os) {
			cur, other = out, cur[:cap(cur)]
		}
		if costs != nil {
			costs[i].Time = time.Since(t0)
		}
	}
	copy(dst, cur)
}

// LayerCost is what one layer of a forward pass did and how long it took.
type LayerCost struct {
	Layer   Layer
	In, Out Shape
	// FLOPs counts the multiplies and adds of the layer's products (two
	// per multiply-add) as the engine computes them; 0 for layers without
	// weights.
	FLOPs int64
	Time  time.Duration
}

// Profile runs the network on src like Forward and times every layer.
func (e *Engine) Profile(src []float32, shape Shape) ([]LayerCost, error) {
	if len(src) != shape.Size() {
		return nil, fmt.Errorf("engine: input holds %d values, shape %v needs %d", len(src), shape, shape.Size())
	}
	shapes, err := e.shapes(shape)
	if err != nil {
		return nil, err
	}
	costs := make([]LayerCost, len(e.net.Layers))
	for i, l := range e.net.Layers {
		costs[i] = LayerCost{Layer: l, In: shapes[i], Out: shapes[i+1]}
		if f, ok := e.kernels[i].(interface{ flops(is, os Shape) int64 }); ok {
			costs[i].FLOPs = f.flops(shapes[i], shapes[i+1])
		}
	}
	e.run(make([]float32, shapes[len(shapes)-1].Size()), src, shapes, costs)
	return costs, nil
}

// reserve grows the buffers to hold the largest activation and scratch.
func (e *Engine) reserve(shapes []Shape) {
	maxAct, need := 0, 0
	for i, s := range shapes {
		maxAct = max(maxAct, s.Size())
		if i < len(e.kernels) {
			need = max(need, e.kernels[i].scratch(s, shapes[i+1]))
		}
	}
	if len(e.bufA) < maxAct {
		e.bufA = make([]float32, maxAct)
		e.bufB = make([]float32, maxAct)
	}
	if len(e.scratch) < need {
		e.scratch = make([]float32, need)
	}
}
