// Package backprop trains an nn.Network natively: the forward and
// backward passes of a batch run on the packed GEMM of nn/kernels, batch
// norms normalise with the batch's statistics, and Adam updates the
// network's own tensors in place.
//
// It exists for speed. Through gorgonia's graph, a training step spent
// most of its time outside the products: broadcasting biases and batch
// statistics into full tensors, transposing between layouts, im2col and
// col2im on generic iterators, allocating and clearing. The gorgonia graph
// (package graph) stays the reference these gradients are tested against.
//
// Sums over a batch are made in a fixed order whatever the number of
// threads, so a run is reproducible bit for bit.
package backprop

import (
	"fmt"
	"math"
	"math/rand"
	"runtime"
	"sync"

	"github.com/fc2conv/fc2conv/nn"
	"github.com/fc2conv/fc2conv/nn/kernels"
)

// chunk is how many samples one task of a parallel layer pass takes.
// Partial sums are kept per chunk and added in chunk order, so the
// result does not depend on how many threads ran the chunks.
const chunk = 8

// DefaultMomentum is the batch norms' running-statistics momentum, as in
// PyTorch: running = (1 − m)·running + m·batch.
const DefaultMomentum = 0.1

// Param is one learnable tensor: the network's own storage and its
// gradient after the last Step.
type Param struct {
	Name string
	Data []float32
	Grad []float32
	// Decays is true for convolution and dense weights, the tensors
	// Adam.WeightDecay shrinks; biases and batch norms keep their scale.
	Decays bool
}

// Options control a Net.
type Options struct {
	// Threads run a layer's chunks in parallel; 0 means GOMAXPROCS.
	// The result does not depend on it.
	Threads int
	// Momentum of the batch norms' running statistics; 0 means
	// DefaultMomentum.
	Momentum float64
	// Seed drives dropout.
	Seed int64
}

// Net is a network prepared for training on batches of one size. It
// holds the activations of the last forward pass; use one per goroutine.
type Net struct {
	batch    int
	shapes   []nn.Shape // shapes[i] is layer i's input, the last the logits
	layers   []layer
	acts     [][]float32 // acts[i]: the batch's input to layer i; the last the logits
	grads    [][]float32 // gradients of the loss with respect to acts
	params   []Param
	threads  int
	momentum float32
	rng      *rand.Rand
	gemm     kernels.Kernels
}

// layer is one layer's training passes over the whole batch.
type layer interface {
	forward(t *Net, in, out []float32)
	// backward writes the gradient with respect to the input into din
	// (nil for the first layer, whose input needs none) and the
	// parameters' gradients into their Params.
	backward(t *Net, in, out, dout, din []float32)
}

// New prepares net for training on batches of batch windows. The network
// must end in a softmax over its classes, before which every layer is a
// convolution (no groups), batch norm, ReLU, max-pool, channels-first
// flatten, dense layer or dropout.
func New(net *nn.Network, batch int, opt Options) (*Net, error) {
	if batch < 1 {
		return nil, fmt.Errorf("backprop: batch %d, want ≥ 1", batch)
	}
	if opt.Threads <= 0 {
		opt.Threads = runtime.GOMAXPROCS(0)
	}
	if opt.Momentum == 0 {
		opt.Momentum = DefaultMomentum
	}
	if !(opt.Momentum > 0 && opt.Momentum <= 1) {
		return nil, fmt.Errorf("backprop: batch norm momentum %v out of range (0,1]", opt.Momentum)
	}
	n := len(net.Layers)
	if n == 0 || net.Layers[n-1].Kind() != nn.KindSoftmax {
		return nil, fmt.Errorf("backprop: the network must end in a softmax")
	}
	in := nn.Shape{C: net.Input.Channels, H: net.Input.Height, W: net.Input.Width}
	shapes, err := net.Shapes(in)
	if err != nil {
		return nil, fmt.Errorf("backprop: %w", err)
	}
	t := &Net{batch: batch, shapes: shapes[:n], threads: opt.Threads, momentum: float32(opt.Momentum),
		rng: rand.New(rand.NewSource(opt.Seed)), gemm: kernels.Default}
	for i, l := range net.Layers[:n-1] {
		is, os := shapes[i], shapes[i+1]
		var tl layer
		switch l := l.(type) {
		case *nn.Conv2D:
			tl, err = t.newConv(l, is, os)
		case *nn.BatchNorm:
			tl, err = t.newBatchNorm(l, is)
		case *nn.ReLU:
			tl = relu{}
		case *nn.MaxPool2D:
			tl, err = newMaxPool(l, is, os, batch)
		case *nn.Flatten:
			if l.Order != nn.FlattenCHW && is.H*is.W > 1 {
				err = fmt.Errorf("only channels-first flattening is trained")
			}
			tl = identity{}
		case *nn.Dense:
			tl = t.newDense(l)
		case *nn.Dropout:
			if !(l.Rate >= 0 && l.Rate < 1) {
				err = fmt.Errorf("rate %v out of range [0,1)", l.Rate)
			}
			tl = &dropout{rate: l.Rate}
		default:
			err = fmt.Errorf("kind %s is not trained", l.Kind())
		}
		if err != nil {
			return nil, fmt.Errorf("backprop: layer %d %q: %w", i, l.Name(), err)
		}
		t.layers = append(t.layers, tl)
	}
	for _, s := range t.shapes {
		size := int64(batch) * int64(s.Size())
		if size > 1<<28 {
			return nil, fmt.Errorf("backprop: %d × %v activations are too large", batch, s)
		}
		t.acts = append(t.acts, make([]float32, size))
		t.grads = append(t.grads, make([]float32, size))
	}
	return t, nil
}

// Params are the learnable tensors, in layer order: each convolution's
// and dense layer's weight and bias, each batch norm's gamma and beta.
func (t *Net) Params() []Param { return t.params }

func (t *Net) param(name string, data []float32, decays bool) []float32 {
	g := make([]float32, len(data))
	t.params = append(t.params, Param{Name: name, Data: data, Grad: g, Decays: decays})
	return g
}

// Step runs one training pass over a batch: x holds the batch's windows
// (batch × C×H×W, normalised as the network's input spec says) and y the
// target distributions (batch × classes, each summing to 1). It returns
// the mean cross-entropy, sets every Param's Grad to its gradient, and
// moves the batch norms' running statistics towards the batch's. A loss
// that is not finite is returned without gradients.
func (t *Net) Step(x, y []float32) (float64, error) {
	classes := t.shapes[len(t.shapes)-1].Size()
	if len(x) != len(t.acts[0]) || len(y) != t.batch*classes {
		return 0, fmt.Errorf("backprop: step got %d inputs and %d targets, want %d and %d", len(x), len(y), len(t.acts[0]), t.batch*classes)
	}
	copy(t.acts[0], x)
	for i, l := range t.layers {
		l.forward(t, t.acts[i], t.acts[i+1])
	}
	last := len(t.layers)
	loss := softmaxCrossEntropy(t.acts[last], y, t.grads[last], t.batch, classes)
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		return loss, nil // the caller decides; the gradients would be meaningless
	}
	for i := last - 1; i >= 0; i-- {
		var din []float32
		if i > 0 {
			din = t.grads[i]
		}
		t.layers[i].backward(t, t.acts[i], t.acts[i+1], t.grads[i+1], din)
	}
	return loss, nil
}

// softmaxCrossEntropy returns the batch's mean of −Σ y·log softmax(z) and
// writes its gradient with respect to z into dz: (softmax(z)·Σy − y)/batch.
func softmaxCrossEntropy(z, y, dz []float32, batch, classes int) float64 {
	var loss float64
	for b := 0; b < batch; b++ {
		zb, yb, db := z[b*classes:(b+1)*classes], y[b*classes:(b+1)*classes], dz[b*classes:(b+1)*classes]
		hi := zb[0]
		for _, v := range zb {
			hi = max(hi, v)
		}
		var sum, ysum float64
		for _, v := range zb {
			sum += math.Exp(float64(v - hi))
		}
		lse := float64(hi) + math.Log(sum)
		for k, v := range zb {
			loss -= float64(yb[k]) * (float64(v) - lse)
			ysum += float64(yb[k])
		}
		for k, v := range zb {
			p := math.Exp(float64(v) - lse)
			db[k] = float32((p*ysum - float64(yb[k])) / float64(batch))
		}
	}
	return loss / float64(batch)
}

// chunks runs f on every chunk of the batch, on up to t.threads
// goroutines; f gets the chunk's index and its samples [b0, b1).
func (t *Net) chunks(f func(c, b0, b1 int)) {
	parallel(t.numChunks(), t.threads, func(c int) { f(c, c*chunk, min(t.batch, (c+1)*chunk)) })
}

// parallel runs f(0) … f(n−1) on up to threads goroutines.
func parallel(n, threads int, f func(i int)) {
	if threads <= 1 || n <= 1 {
		for i := 0; i < n; i++ {
			f(i)
		}
		return
	}
	var wg sync.WaitGroup
	next := make(chan int, n)
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	for w := 0; w < min(threads, n); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				f(i)
			}
		}()
	}
	wg.Wait()
}

// fixedA is an m×k matrix A that a pass multiplies many B by: packed once
// when the kernels are Packed (the values Gemm would pack on every call,
// in the same layout, so the products are the same to the bit), else
// passed to Gemm each time.
type fixedA struct {
	gemm   kernels.Kernels
	packed *kernels.PackedA // nil: through gemm
	m, k   int
	a      []float32
	lda    int
}

func (t *Net) fixedA(m, k int, a []float32, lda int) fixedA {
	f := fixedA{gemm: t.gemm, m: m, k: k, a: a, lda: lda}
	if _, ok := t.gemm.(kernels.Packed); ok {
		f.packed = kernels.PackA(m, k, a, lda)
	}
	return f
}

// times adds A·B into C, B being k×n.
func (f fixedA) times(n int, b []float32, ldb int, c []float32, ldc int) {
	if f.packed != nil {
		f.gemm.(kernels.Packed).GemmPacked(f.packed, n, b, ldb, c, ldc)
		return
	}
	f.gemm.Gemm(f.m, n, f.k, f.a, f.lda, b, ldb, c, ldc)
}

// numChunks is how many chunks a batch has.
func (t *Net) numChunks() int { return (t.batch + chunk - 1) / chunk }

// transpose writes the r×c matrix a into dst as c×r. It is kept out of
// line: inlined into conv.backward's closure, its loop counters spilled
// to the stack and it took a seventh of a verifier's training time.
//
//go:noinline
func transpose(dst, a []float32, r, c int) {
	for i := 0; i < r; i++ {
		k := i
		for _, v := range a[i*c : (i+1)*c] {
			dst[k] = v
			k += r
		}
	}
}
