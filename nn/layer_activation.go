package nn

import (
	"fmt"
	"math"

	"github.com/fc2conv/fc2conv/nn/kernels"
)

// The activations other frameworks' models bring (ONNX's LeakyRelu,
// PRelu, Elu, Tanh, x·Sigmoid(x) as SiLU, Clip as ReLU6, LogSoftmax).
// Each keeps the shape and works per position, so it converts as it is.
const (
	KindLeakyReLU  Kind = "leakyrelu"
	KindPReLU      Kind = "prelu"
	KindELU        Kind = "elu"
	KindTanh       Kind = "tanh"
	KindSiLU       Kind = "silu"
	KindClip       Kind = "clip"
	KindLogSoftmax Kind = "logsoftmax"
	// KindHardSigmoid is ONNX's HardSigmoid: torch's Hardsigmoid is
	// alpha 1/6, beta 0.5.
	KindHardSigmoid Kind = "hardsigmoid"
)

func init() {
	register(KindLeakyReLU, func() Layer { return &LeakyReLU{} })
	register(KindPReLU, func() Layer { return &PReLU{} })
	register(KindELU, func() Layer { return &ELU{} })
	register(KindTanh, func() Layer { return &Tanh{} })
	register(KindSiLU, func() Layer { return &SiLU{} })
	register(KindClip, func() Layer { return &Clip{} })
	register(KindLogSoftmax, func() Layer { return &LogSoftmax{} })
	register(KindHardSigmoid, func() Layer { return &HardSigmoid{} })
}

// LeakyReLU is x for x ≥ 0, Alpha·x below, elementwise.
type LeakyReLU struct {
	base
	Alpha float64 `json:"alpha"`
}

// NewLeakyReLU returns a leaky ReLU with slope alpha below zero.
func NewLeakyReLU(name string, alpha float64) *LeakyReLU {
	return &LeakyReLU{base: base{name}, Alpha: alpha}
}

// Kind implements Layer.
func (*LeakyReLU) Kind() Kind { return KindLeakyReLU }

// OutShape implements Layer.
func (*LeakyReLU) OutShape(in Shape) (Shape, error) { return in, nil }

func (l *LeakyReLU) String() string { return fmt.Sprintf("leaky relu %g", l.Alpha) }

func (l *LeakyReLU) check() error {
	if math.IsNaN(l.Alpha) || math.IsInf(l.Alpha, 0) {
		return fmt.Errorf("%s: alpha %v must be finite", l.label(KindLeakyReLU), l.Alpha)
	}
	return nil
}

func (l *LeakyReLU) newKernel(kernels.Kernels) kernel {
	a := float32(l.Alpha)
	return inPlace(func(x []float32, _ Shape) {
		for j, v := range x {
			if v < 0 {
				x[j] = a * v
			}
		}
	})
}

// PReLU is x for x ≥ 0, a learned slope times x below: one slope for
// every channel (Channels 1), or one per channel (PyTorch's PReLU and its
// num_parameters; MTCNN's networks use it).
type PReLU struct {
	base
	Channels int     `json:"num_parameters"`
	Slope    *Tensor `json:"-"`
}

// NewPReLU returns a zero-slope PReLU over channels slopes (1: shared).
func NewPReLU(name string, channels int) *PReLU {
	l := &PReLU{base: base{name}, Channels: channels}
	l.allocate()
	return l
}

// Kind implements Layer.
func (*PReLU) Kind() Kind { return KindPReLU }

// Params implements Layer.
func (l *PReLU) Params() []Param { return []Param{{"weight", []int{l.Channels}, l.Slope}} }

func (l *PReLU) allocate() { l.Slope = NewTensor(l.Channels) }

func (l *PReLU) check() error {
	if l.Channels < 1 || l.Channels > MaxDim {
		return fmt.Errorf("%s: %d slopes out of range [1,%d]", l.label(KindPReLU), l.Channels, MaxDim)
	}
	return nil
}

// OutShape implements Layer.
func (l *PReLU) OutShape(in Shape) (Shape, error) {
	if l.Channels != 1 && l.Channels != in.C {
		return Shape{}, fmt.Errorf("prelu %q: %d slopes for %d channels; want 1 or %d", l.LayerName, l.Channels, in.C, in.C)
	}
	return in, nil
}

func (l *PReLU) String() string { return fmt.Sprintf("prelu, %d slopes", l.Channels) }

func (l *PReLU) newKernel(kernels.Kernels) kernel {
	return inPlace(func(x []float32, s Shape) {
		plane := s.H * s.W
		for c := 0; c < s.C; c++ {
			a := l.Slope.Data[min(c, l.Channels-1)]
			for j, v := range x[c*plane : (c+1)*plane] {
				if v < 0 {
					x[c*plane+j] = a * v
				}
			}
		}
	})
}

// ELU is x for x > 0, Alpha·(eˣ − 1) below, elementwise.
type ELU struct {
	base
	Alpha float64 `json:"alpha"`
}

// NewELU returns an ELU with scale alpha below zero.
func NewELU(name string, alpha float64) *ELU { return &ELU{base: base{name}, Alpha: alpha} }

// Kind implements Layer.
func (*ELU) Kind() Kind { return KindELU }

// OutShape implements Layer.
func (*ELU) OutShape(in Shape) (Shape, error) { return in, nil }

func (l *ELU) String() string { return fmt.Sprintf("elu %g", l.Alpha) }

func (l *ELU) check() error {
	if math.IsNaN(l.Alpha) || math.IsInf(l.Alpha, 0) {
		return fmt.Errorf("%s: alpha %v must be finite", l.label(KindELU), l.Alpha)
	}
	return nil
}

func (l *ELU) newKernel(kernels.Kernels) kernel {
	return inPlace(func(x []float32, _ Shape) {
		for j, v := range x {
			if v < 0 { // Expm1 keeps the digits exp(v) − 1 would cancel near 0
				x[j] = float32(l.Alpha * math.Expm1(float64(v)))
			}
		}
	})
}

// Tanh is the hyperbolic tangent, elementwise.
type Tanh struct{ base }

// NewTanh returns a tanh layer.
func NewTanh(name string) *Tanh { return &Tanh{base{name}} }

// Kind implements Layer.
func (*Tanh) Kind() Kind { return KindTanh }

// OutShape implements Layer.
func (*Tanh) OutShape(in Shape) (Shape, error) { return in, nil }

func (*Tanh) String() string { return string(KindTanh) }

func (*Tanh) newKernel(kernels.Kernels) kernel {
	return inPlace(func(x []float32, _ Shape) {
		for j, v := range x {
			x[j] = float32(math.Tanh(float64(v)))
		}
	})
}

// SiLU is x·sigmoid(x) (swish), elementwise.
type SiLU struct{ base }

// NewSiLU returns a SiLU layer.
func NewSiLU(name string) *SiLU { return &SiLU{base{name}} }

// Kind implements Layer.
func (*SiLU) Kind() Kind { return KindSiLU }

// OutShape implements Layer.
func (*SiLU) OutShape(in Shape) (Shape, error) { return in, nil }

func (*SiLU) String() string { return string(KindSiLU) }

func (*SiLU) newKernel(kernels.Kernels) kernel {
	return inPlace(func(x []float32, _ Shape) {
		for j, v := range x {
			x[j] = float32(float64(v) / (1 + math.Exp(-float64(v))))
		}
	})
}

// HardSigmoid is max(0, min(1, Alpha·x + Beta)), elementwise.
type HardSigmoid struct {
	base
	Alpha float64 `json:"alpha"`
	Beta  float64 `json:"beta"`
}

// NewHardSigmoid returns a hard sigmoid of slope alpha and offset beta.
func NewHardSigmoid(name string, alpha, beta float64) *HardSigmoid {
	return &HardSigmoid{base: base{name}, Alpha: alpha, Beta: beta}
}

// Kind implements Layer.
func (*HardSigmoid) Kind() Kind { return KindHardSigmoid }

// OutShape implements Layer.
func (*HardSigmoid) OutShape(in Shape) (Shape, error) { return in, nil }

func (l *HardSigmoid) String() string { return fmt.Sprintf("hardsigmoid %g·x + %g", l.Alpha, l.Beta) }

func (l *HardSigmoid) check() error {
	for _, v := range []float64{l.Alpha, l.Beta} {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("%s: alpha %v and beta %v must be finite", l.label(KindHardSigmoid), l.Alpha, l.Beta)
		}
	}
	return nil
}

func (l *HardSigmoid) newKernel(kernels.Kernels) kernel {
	return inPlace(func(x []float32, _ Shape) {
		for j, v := range x {
			x[j] = float32(min(max(l.Alpha*float64(v)+l.Beta, 0), 1))
		}
	})
}

// Clip bounds every value to [Min, Max]; Clip 0..6 is ReLU6.
type Clip struct {
	base
	Min float64 `json:"min"`
	Max float64 `json:"max"`
}

// NewClip returns a clip to [lo, hi].
func NewClip(name string, lo, hi float64) *Clip { return &Clip{base: base{name}, Min: lo, Max: hi} }

// Kind implements Layer.
func (*Clip) Kind() Kind { return KindClip }

// OutShape implements Layer.
func (*Clip) OutShape(in Shape) (Shape, error) { return in, nil }

func (l *Clip) String() string { return fmt.Sprintf("clip [%g, %g]", l.Min, l.Max) }

func (l *Clip) check() error {
	if math.IsNaN(l.Min) || math.IsNaN(l.Max) || math.IsInf(l.Min, 0) || math.IsInf(l.Max, 0) || l.Min > l.Max {
		return fmt.Errorf("%s: bounds [%v, %v] must be finite with min ≤ max", l.label(KindClip), l.Min, l.Max)
	}
	return nil
}

func (l *Clip) newKernel(kernels.Kernels) kernel {
	lo, hi := float32(l.Min), float32(l.Max)
	return inPlace(func(x []float32, _ Shape) {
		for j, v := range x {
			x[j] = min(max(v, lo), hi) // NaN stays NaN, as in PyTorch
		}
	})
}

// LogSoftmax is the log of the softmax over channels, at each position.
type LogSoftmax struct{ base }

// NewLogSoftmax returns a log-softmax layer.
func NewLogSoftmax(name string) *LogSoftmax { return &LogSoftmax{base{name}} }

// Kind implements Layer.
func (*LogSoftmax) Kind() Kind { return KindLogSoftmax }

// OutShape implements Layer.
func (*LogSoftmax) OutShape(in Shape) (Shape, error) { return in, nil }

func (*LogSoftmax) String() string { return "log-softmax over channels" }

func (*LogSoftmax) newKernel(kernels.Kernels) kernel {
	return inPlace(func(x []float32, s Shape) {
		plane := s.H * s.W
		for p := 0; p < plane; p++ {
			m := float32(math.Inf(-1))
			for c := 0; c < s.C; c++ {
				m = max(m, x[c*plane+p])
			}
			var sum float64
			for c := 0; c < s.C; c++ {
				sum += math.Exp(float64(x[c*plane+p] - m))
			}
			lse := float64(m) + math.Log(sum)
			for c := 0; c < s.C; c++ {
				x[c*plane+p] = float32(float64(x[c*plane+p]) - lse)
			}
		}
	})
}
