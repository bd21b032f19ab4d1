package kernels

import (
	"fmt"
	"math"
)

// reluAsm is the assembly AddBiasReLU loop for this CPU, or nil (other
// architectures, the purego tag, CPUs without AVX2); set once by init. It
// handles blocks·8 values at x, for a b that is neither NaN nor −0.
var reluAsm func(x *float32, blocks int, b float32)

// AddBiasReLU sets x[i] = max(x[i]+b, 0), with Go's max: a convolution's
// bias and ReLU, applied to a row of its output after the product. Every
// backend gives the pure-Go loop's values: +0 beats −0 and a NaN stays a
// NaN. VMAXPS returns its second operand on equal zeros and on NaN, so the
// assembly gets there by taking the sum as that operand and leaving b = −0
// (the one b whose sum can be −0) and a NaN b to the Go loop.
func AddBiasReLU(x []float32, b float32) {
	n := 0
	if reluAsm != nil && b == b && !(b == 0 && math.Signbit(float64(b))) {
		if n = len(x) &^ 7; n > 0 {
			reluAsm(&x[0], n/8, b)
		}
	}
	addBiasReLUGo(x[n:], b)
}

// addBiasReLUGo is AddBiasReLU's pure-Go twin.
func addBiasReLUGo(x []float32, b float32) {
	for i, v := range x {
		x[i] = max(v+b, 0)
	}
}

// reluGradAsm is the assembly ReLUGrad loop for this CPU, or nil; set
// once by init. It handles blocks·8 values.
var reluGradAsm func(din, in, dout *float32, blocks int)

// ReLUGrad writes a ReLU's input gradient (training): din[i] = dout[i]
// where in[i] > 0, else +0 (a NaN input passes nothing). A mask, not a
// branch: the inputs' signs are a coin toss, and the mispredicted branch
// cost a twentieth of a verifier's training. dout and din must hold
// len(in) values.
func ReLUGrad(din, in, dout []float32) {
	if len(dout) < len(in) || len(din) < len(in) {
		panic(fmt.Sprintf("kernels: ReLUGrad: len(dout)=%d len(din)=%d < len(in)=%d", len(dout), len(din), len(in)))
	}
	n := 0
	if reluGradAsm != nil {
		if n = len(in) &^ 7; n > 0 {
			reluGradAsm(&din[0], &in[0], &dout[0], n/8)
		}
	}
	reluGradGo(din[n:], in[n:], dout[n:])
}

// reluGradGo is ReLUGrad's pure-Go twin.
func reluGradGo(din, in, dout []float32) {
	dout, din = dout[:len(in)], din[:len(in)]
	for i, v := range in {
		var keep uint32
		if v > 0 {
			keep = ^uint32(0)
		}
		din[i] = math.Float32frombits(math.Float32bits(dout[i]) & keep)
	}
}
