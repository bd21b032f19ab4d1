package kernels

import "math"

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
