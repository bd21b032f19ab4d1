package nn

import (
	"fmt"
	"math"

	"github.com/fc2conv/fc2conv/nn/kernels"
	"gorgonia.org/tensor"
)

// Engine is the native forward pass. It runs a network on inputs of any
// size with nothing rebuilt: activations ping-pong between two buffers
// sized for the largest layer, and convolutions unfold (im2col) a band of
// output rows at a time into a small scratch buffer. An Engine is not safe
// for concurrent use; make one per goroutine (they can share the Network).
type Engine struct {
	net     *Network
	kern    kernels.Kernels
	bufA    []float32
	bufB    []float32
	scratch []float32
	bn      map[*BatchNorm][2][]float32 // per-channel scale and shift
	groups  map[*Conv2D]int             // block-diagonal convolutions (see convGroups)
}

// scratchBudget caps the im2col band, in float32s (1 MiB).
const scratchBudget = 1 << 18

// NewEngine prepares an engine for net using the default kernels. The
// network must already be valid (see Network.Validate).
func NewEngine(net *Network) *Engine {
	return NewEngineWith(net, kernels.Default)
}

// NewEngineWith prepares an engine that uses the given kernels.
func NewEngineWith(net *Network, k kernels.Kernels) *Engine {
	e := &Engine{net: net, kern: k, bn: map[*BatchNorm][2][]float32{}, groups: map[*Conv2D]int{}}
	for _, l := range net.Layers {
		switch l := l.(type) {
		case *BatchNorm:
			s, t := l.ScaleShift()
			e.bn[l] = [2][]float32{s, t}
		case *Conv2D:
			if g := convGroups(l); g > 1 {
				e.groups[l] = g
			}
		}
	}
	return e
}

// convGroups is the largest g > 1 such that l's weights are block
// diagonal in g groups (output channel block i reads only input channel
// block i), or 1. Merged ensembles (convert.Ensemble) are built this way;
// running the blocks as g smaller products skips the zeros, which would
// otherwise double or quadruple their cost.
func convGroups(l *Conv2D) int {
	w := f32(l.Weight)
	kk := l.Kernel.H * l.Kernel.W
	rowLen := l.InC * kk
	for g := gcd(l.InC, l.OutC); g > 1; g-- {
		if l.InC%g != 0 || l.OutC%g != 0 {
			continue
		}
		outG, colG := l.OutC/g, l.InC/g*kk
		diagonal := true
		for oc := 0; oc < l.OutC && diagonal; oc++ {
			lo := oc / outG * colG
			row := w[oc*rowLen : (oc+1)*rowLen]
			for j, v := range row {
				if v != 0 && (j < lo || j >= lo+colG) {
					diagonal = false
					break
				}
			}
		}
		if diagonal {
			return g
		}
	}
	return 1
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// Network is the network the engine runs.
func (e *Engine) Network() *Network { return e.net }

// Forward runs the network on a C×H×W tensor and returns a new C×H×W
// output tensor.
func (e *Engine) Forward(in *tensor.Dense) (*tensor.Dense, error) {
	shp := in.Shape()
	if len(shp) != 3 {
		return nil, fmt.Errorf("engine: input has shape %v, want C×H×W", []int(shp))
	}
	data, ok := in.Data().([]float32)
	if !ok {
		return nil, fmt.Errorf("engine: input is %v, want float32", in.Dtype())
	}
	out, os, err := e.ForwardSlice(data, Shape{shp[0], shp[1], shp[2]})
	if err != nil {
		return nil, err
	}
	return tensor.New(tensor.WithShape(os.C, os.H, os.W), tensor.WithBacking(out)), nil
}

// ForwardSlice runs the network on a C×H×W input held in a flat slice and
// returns a newly allocated output and its shape.
func (e *Engine) ForwardSlice(in []float32, shape Shape) ([]float32, Shape, error) {
	if len(in) != shape.Size() {
		return nil, Shape{}, fmt.Errorf("engine: input holds %d values, shape %v needs %d", len(in), shape, shape.Size())
	}
	shapes, err := e.net.Shapes(shape)
	if err != nil {
		return nil, Shape{}, fmt.Errorf("engine: input %v: %w", shape, err)
	}
	if err := e.reserve(shapes); err != nil {
		return nil, Shape{}, err
	}
	cur := e.bufA[:shape.Size()]
	copy(cur, in)
	other := e.bufB
	for i, l := range e.net.Layers {
		is, os := shapes[i], shapes[i+1]
		dst := other[:os.Size()]
		inPlace := true
		switch l := l.(type) {
		case *Conv2D:
			e.conv(l, cur, is, dst, os)
			inPlace = false
		case *Dense:
			e.dense(l, cur, dst)
			inPlace = false
		case *MaxPool2D:
			maxPool(l, cur, is, dst, os)
			inPlace = false
		case *Flatten:
			if l.Order == FlattenHWC {
				toHWC(cur, is, dst)
				inPlace = false
			}
		case *ReLU:
			for j, v := range cur {
				if v < 0 {
					cur[j] = 0
				}
			}
		case *Sigmoid:
			for j, v := range cur {
				cur[j] = sigmoid(v)
			}
		case *Softmax:
			softmaxChannels(cur, is)
		case *BatchNorm:
			st := e.bn[l]
			affineChannels(cur, is, st[0], st[1])
		case *Dropout:
		default:
			return nil, Shape{}, fmt.Errorf("engine: layer %q: unsupported kind %s", l.Name(), l.Kind())
		}
		if !inPlace {
			cur, other = dst, cur[:cap(cur)]
		}
	}
	final := shapes[len(shapes)-1]
	out := make([]float32, final.Size())
	copy(out, cur)
	return out, final, nil
}

// MaxActivation bounds one activation, in float32s (4 GiB); larger inputs
// are the detector's to tile.
const MaxActivation = 1 << 30

// reserve grows the buffers to hold the largest activation and band.
func (e *Engine) reserve(shapes []Shape) error {
	maxAct := 0
	for i, s := range shapes {
		if s.C > MaxActivation || s.H > MaxActivation || s.W > MaxActivation || s.Size() > MaxActivation {
			return fmt.Errorf("engine: activation %d is %v, more than %d values; tile the input", i, s, MaxActivation)
		}
		maxAct = max(maxAct, s.Size())
	}
	if len(e.bufA) < maxAct {
		e.bufA = make([]float32, maxAct)
		e.bufB = make([]float32, maxAct)
	}
	need := 0
	for i, l := range e.net.Layers {
		if c, ok := l.(*Conv2D); ok && !c.isPointwise() {
			k := c.InC * c.Kernel.H * c.Kernel.W
			ow := shapes[i+1].W
			rows := bandRows(k, ow, shapes[i+1].H)
			need = max(need, k*ow*rows)
		}
	}
	if len(e.scratch) < need {
		e.scratch = make([]float32, need)
	}
	return nil
}

// bandRows is how many output rows one im2col band holds.
func bandRows(k, ow, oh int) int {
	return max(1, min(oh, scratchBudget/max(1, k*ow)))
}

func (c *Conv2D) isPointwise() bool {
	return c.Kernel == Pair{1, 1} && c.Stride == Pair{1, 1} && c.Padding == Pair{0, 0}
}

func (e *Engine) conv(l *Conv2D, in []float32, is Shape, out []float32, os Shape) {
	w, b := f32(l.Weight), f32(l.Bias)
	plane := os.H * os.W
	for oc := 0; oc < os.C; oc++ {
		fill(out[oc*plane:(oc+1)*plane], b[oc])
	}
	k := l.InC * l.Kernel.H * l.Kernel.W
	// Group i multiplies its diagonal block of the weights with its own
	// rows of the unfolded input; with one group that is the whole product.
	g := max(1, e.groups[l])
	outG, kG := os.C/g, k/g
	gemm := func(b []float32, ldb, n int, c []float32) {
		for i := 0; i < g; i++ {
			e.kern.Gemm(outG, n, kG, w[i*outG*k+i*kG:], k, b[i*kG*ldb:], ldb, c[i*outG*plane:], plane)
		}
	}
	if l.isPointwise() {
		gemm(in, plane, plane, out)
		return
	}
	rows := bandRows(k, os.W, os.H)
	for r0 := 0; r0 < os.H; r0 += rows {
		r1 := min(os.H, r0+rows)
		n := (r1 - r0) * os.W
		col := e.scratch[:k*n]
		im2colBand(l, in, is, os, r0, r1, col)
		gemm(col, n, n, out[r0*os.W:])
	}
}

// im2colBand unfolds output rows [r0,r1) into col, a K×N matrix with
// K = InC·KH·KW and N = (r1−r0)·OW; padding reads as zero.
func im2colBand(l *Conv2D, in []float32, is, os Shape, r0, r1 int, col []float32) {
	n := (r1 - r0) * os.W
	kh, kw := l.Kernel.H, l.Kernel.W
	sh, sw := l.Stride.H, l.Stride.W
	ph, pw := l.Padding.H, l.Padding.W
	row := 0
	for c := 0; c < is.C; c++ {
		src := in[c*is.H*is.W : (c+1)*is.H*is.W]
		for ky := 0; ky < kh; ky++ {
			for kx := 0; kx < kw; kx++ {
				dst := col[row*n : (row+1)*n]
				row++
				d := 0
				for oy := r0; oy < r1; oy++ {
					iy := oy*sh - ph + ky
					if iy < 0 || iy >= is.H {
						for ox := 0; ox < os.W; ox++ {
							dst[d] = 0
							d++
						}
						continue
					}
					srow := src[iy*is.W : (iy+1)*is.W]
					for ox := 0; ox < os.W; ox++ {
						ix := ox*sw - pw + kx
						if ix < 0 || ix >= is.W {
							dst[d] = 0
						} else {
							dst[d] = srow[ix]
						}
						d++
					}
				}
			}
		}
	}
}

func (e *Engine) dense(l *Dense, in, out []float32) {
	copy(out, f32(l.Bias))
	e.kern.Gemm(l.Out, 1, l.In, f32(l.Weight), l.In, in, 1, out, 1)
}

func maxPool(l *MaxPool2D, in []float32, is Shape, out []float32, os Shape) {
	for c := 0; c < is.C; c++ {
		src := in[c*is.H*is.W : (c+1)*is.H*is.W]
		dst := out[c*os.H*os.W : (c+1)*os.H*os.W]
		for oy := 0; oy < os.H; oy++ {
			y0 := oy*l.Stride.H - l.Padding.H
			y1 := min(y0+l.Kernel.H, is.H)
			y0 = max(y0, 0)
			for ox := 0; ox < os.W; ox++ {
				x0 := ox*l.Stride.W - l.Padding.W
				x1 := min(x0+l.Kernel.W, is.W)
				x0 = max(x0, 0)
				m := float32(math.Inf(-1))
				for y := y0; y < y1; y++ {
					for _, v := range src[y*is.W+x0 : y*is.W+x1] {
						if v > m {
							m = v
						}
					}
				}
				dst[oy*os.W+ox] = m
			}
		}
	}
}

// toHWC writes a C×H×W map as an HWC-ordered vector.
func toHWC(in []float32, s Shape, out []float32) {
	plane := s.H * s.W
	for c := 0; c < s.C; c++ {
		for p := 0; p < plane; p++ {
			out[p*s.C+c] = in[c*plane+p]
		}
	}
}

func sigmoid(v float32) float32 {
	return float32(1 / (1 + math.Exp(-float64(v))))
}

// softmaxChannels normalises over channels at each spatial position.
func softmaxChannels(x []float32, s Shape) {
	plane := s.H * s.W
	for p := 0; p < plane; p++ {
		m := float32(math.Inf(-1))
		for c := 0; c < s.C; c++ {
			m = max(m, x[c*plane+p])
		}
		var sum float64
		for c := 0; c < s.C; c++ {
			v := math.Exp(float64(x[c*plane+p] - m))
			x[c*plane+p] = float32(v)
			sum += v
		}
		for c := 0; c < s.C; c++ {
			x[c*plane+p] = float32(float64(x[c*plane+p]) / sum)
		}
	}
}

func affineChannels(x []float32, s Shape, scale, shift []float32) {
	plane := s.H * s.W
	for c := 0; c < s.C; c++ {
		ch := x[c*plane : (c+1)*plane]
		for i, v := range ch {
			ch[i] = v*scale[c] + shift[c]
		}
	}
}
