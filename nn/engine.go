package nn

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fc2conv/fc2conv/nn/kernels"
)

// Engine is the native forward pass. It runs a network on inputs of any
// size with nothing rebuilt: each layer's kernel is prepared once (a
// convolution absorbs the ReLU and max-pool after it where it can, so the
// large early maps are not swept three times), and activations ping-pong
// between two buffers sized for the largest one. An Engine is not safe
// for concurrent use; make one per goroutine (they can share the Network,
// which they only read). One engine may itself use several threads for a
// convolution (see SetThreads).
type Engine struct {
	net   *Network
	steps []step
	exec  exec
	bufA  []float32
	bufB  []float32
	// lastIn and lastShapes remember the shapes of the last input size,
	// so a repeated size allocates nothing.
	lastIn     Shape
	lastShapes []Shape
	kernels    kernels.Kernels
	// head is ForwardBatch's for input headInput (nil: none), once
	// headKnown.
	head      *batchHead
	headInput Shape
	headKnown bool
}

// step runs layers [from, to) with one kernel.
type step struct {
	from, to int
	k        kernel
}

// exec is what kernels share while they run: per-thread scratch and the
// number of threads they may use.
type exec struct {
	threads int
	need    int // scratch per thread
	scratch []float32
	// padded holds a padded convolution's zero-padded input while it
	// runs; the engine runs one layer at a time, so one buffer serves all.
	padded []float32
	// profile makes blocks time their paths' steps (Profile).
	profile bool
}

// parts is work cut into independent parts, each run with its own
// scratch. A kernel keeps its parts value between calls, so handing it to
// parallel allocates nothing.
type parts interface {
	run(i int, scratch []float32)
}

// parallel runs w's parts 0..n-1 on up to threads goroutines, each with
// its own scratch.
func (x *exec) parallel(n int, w parts) {
	t := min(x.threads, n)
	if t <= 1 {
		for i := 0; i < n; i++ {
			w.run(i, x.scratch[:x.need])
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for g := 0; g < t; g++ {
		wg.Add(1)
		go func(s []float32) {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				w.run(i, s)
			}
		}(x.scratch[g*x.need : (g+1)*x.need])
	}
	wg.Wait()
}

// NewEngine prepares an engine for net using the default kernels and one
// thread. The network must already be valid (see Network.Validate).
func NewEngine(net *Network) *Engine {
	return NewEngineWith(net, kernels.Default)
}

// NewEngineWith prepares an engine that uses the given numeric kernels.
func NewEngineWith(net *Network, k kernels.Kernels) *Engine {
	return &Engine{net: net, steps: planSteps(net.Layers, k), exec: exec{threads: 1}, kernels: k}
}

// planSteps prepares the kernels that run layers, each fusing what it can of
// the layers after it.
func planSteps(layers []Layer, k kernels.Kernels) []step {
	var steps []step
	for i := 0; i < len(layers); {
		kern := layers[i].newKernel(k)
		to := i + 1
		if f, ok := kern.(fuser); ok {
			to += f.fuse(layers[to:])
		}
		steps = append(steps, step{i, to, kern})
		i = to
	}
	return steps
}

// SetThreads lets the engine split each convolution's bands over n
// goroutines (n < 1 means runtime.GOMAXPROCS). The result does not depend
// on n.
func (e *Engine) SetThreads(n int) {
	if n < 1 {
		n = runtime.GOMAXPROCS(0)
	}
	e.exec.threads = n
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

// inputShapes checks that src holds an input of the given shape and
// returns the shapes of the pass.
func (e *Engine) inputShapes(src []float32, shape Shape) ([]Shape, error) {
	if len(src) != shape.Size() {
		return nil, fmt.Errorf("engine: input holds %d values, shape %v needs %d", len(src), shape, shape.Size())
	}
	return e.shapes(shape)
}

func (e *Engine) shapes(shape Shape) ([]Shape, error) {
	if e.lastShapes != nil && shape == e.lastIn {
		return e.lastShapes, nil
	}
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
	e.lastIn, e.lastShapes = shape, shapes
	return shapes, nil
}

// ForwardInto runs the network on src, a C×H×W input, and writes the
// output into dst, which must hold at least its size (see OutShape). It
// allocates nothing once the engine has seen an input this large.
func (e *Engine) ForwardInto(dst, src []float32, shape Shape) (Shape, error) {
	shapes, err := e.inputShapes(src, shape)
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

// run is the forward pass; with costs (one per step) it also times each
// step.
func (e *Engine) run(dst, src []float32, shapes []Shape, costs []LayerCost) {
	copy(dst, e.pass(src, shapes, len(e.steps), costs))
}

// pass runs the first steps of the forward pass on src and returns their
// output, which lives in the engine's buffers until the next pass.
func (e *Engine) pass(src []float32, shapes []Shape, steps int, costs []LayerCost) []float32 {
	e.reserve(shapes)
	cur := e.bufA[:shapes[0].Size()]
	copy(cur, src)
	other := e.bufB
	e.exec.profile = costs != nil
	defer func() { e.exec.profile = false }()
	for i, s := range e.steps[:steps] {
		is, os := shapes[s.from], shapes[s.to]
		out := other[:os.Size()]
		var t0 time.Time
		if costs != nil {
			t0 = time.Now()
		}
		if s.k.forward(&e.exec, cur, is, out, os) {
			cur, other = out, cur[:cap(cur)]
		}
		if costs != nil {
			costs[i].Time = time.Since(t0)
			if p, ok := s.k.(profiled); ok {
				costs[i].Paths = p.pathCosts()
			}
		}
	}
	return cur
}

// LayerCost is what one step of a forward pass did and how long it took:
// one layer, or a convolution with the layers fused into it.
type LayerCost struct {
	Layer   Layer
	Fused   []Layer // layers run inside Layer's kernel (a ReLU, a max-pool)
	In, Out Shape
	// FLOPs counts the multiplies and adds of the layer's products (two
	// per multiply-add) as the engine computes them; 0 for layers without
	// weights.
	FLOPs int64
	Time  time.Duration
	// Paths are a block's paths step by step, timed by Profile (nil
	// elsewhere and for other layers).
	Paths [][]LayerCost
}

// Profile runs the network on src like Forward and times every step.
func (e *Engine) Profile(src []float32, shape Shape) ([]LayerCost, error) {
	shapes, err := e.inputShapes(src, shape)
	if err != nil {
		return nil, err
	}
	costs := e.costs(shapes)
	e.run(make([]float32, shapes[len(shapes)-1].Size()), src, shapes, costs)
	return costs, nil
}

// reserve grows the buffers to hold the largest activation between steps
// (a fused convolution's own output is never held whole) and the scratch.
func (e *Engine) reserve(shapes []Shape) {
	maxAct, need := shapes[0].Size(), 0
	for _, s := range e.steps {
		maxAct = max(maxAct, shapes[s.to].Size())
		need = max(need, s.k.scratch(shapes[s.from], shapes[s.to]))
	}
	if len(e.bufA) < maxAct {
		e.bufA = make([]float32, maxAct)
		e.bufB = make([]float32, maxAct)
	}
	e.exec.reserve(need)
}

// reserve sets the scratch per thread to need, growing it when short.
func (x *exec) reserve(need int) {
	x.need = need
	if len(x.scratch) < need*x.threads {
		x.scratch = make([]float32, need*x.threads)
	}
}
