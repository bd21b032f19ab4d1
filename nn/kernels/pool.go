package kernels

import (
	"fmt"
	"math"
)

// poolAsm is the assembly 2×2 max-pool for this CPU, or nil where there is
// none (other architectures, the purego tag, CPUs without AVX2); set once
// by init. It has MaxPool2x2's contract on slices already checked, for a b
// other than −0 and a floor that is not NaN.
var (
	poolAsm     func(o, a, c []float32, b, floor float32)
	poolAsmName string
)

// MaxPool2x2 max-pools two rows a and c into o and adds b:
// o[x] = max(floor, max(a[2x], a[2x+1], c[2x], c[2x+1]) + b), with Go's
// max. The engine calls it on two conv rows still without their bias b (a
// constant commutes with max), with floor 0 for a fused ReLU and −Inf
// otherwise. a and c must hold at least 2·len(o) values; it panics if not.
//
// Every backend gives the bits of the pure-Go loop: +0 beats −0, and an
// output is NaN when one of its four inputs, b or floor is NaN, with that
// NaN's bits. The AVX2 kernel gets there by leaving b = −0, a NaN floor,
// and rows holding a NaN, to the Go loop.
func MaxPool2x2(o, a, c []float32, b, floor float32) {
	n := len(o)
	if len(a) < 2*n || len(c) < 2*n {
		panic(fmt.Sprintf("kernels: MaxPool2x2 of %d outputs called with len(a)=%d len(c)=%d", n, len(a), len(c)))
	}
	a, c = a[:2*n], c[:2*n]
	// VMAXPS returns its second operand on ±0 and NaN; with b ≠ −0 no sum
	// m+b is −0, so the sign of a zero maximum m never shows (see pool_amd64.s).
	if poolAsm != nil && floor == floor && !(b == 0 && math.Signbit(float64(b))) {
		poolAsm(o, a, c, b, floor)
		return
	}
	maxPool2x2Go(o, a, c, b, floor)
}

// maxPool2x2Go is MaxPool2x2's pure-Go twin, on checked slices.
func maxPool2x2Go(o, a, c []float32, b, floor float32) {
	a, c = a[:2*len(o)], c[:2*len(o)]
	for px := range o {
		i := 2 * px
		o[px] = max(floor, max(a[i], a[i+1], c[i], c[i+1])+b)
	}
}

// poolArgAsm is the assembly MaxPool2x2Arg for this CPU, or nil; set once
// by init. It handles blocks·8 outputs on slices already checked.
var poolArgAsm func(o *float32, arg *int32, a, c *float32, blocks int, top, w int32)

// MaxPool2x2Arg is a training max-pool's forward over one output row:
// o[x] is the maximum of a[2x], a[2x+1], c[2x], c[2x+1] and arg[x] its
// index within the sample, where a starts at index top and c at top+w.
// The four are compared in that order with >, so the first of equal
// maxima wins and a NaN where the search starts is kept (a later one is
// passed over). Every backend gives the Go loop's bits and indices.
// a and c must hold 2·len(o) values and arg len(o); it panics if not.
func MaxPool2x2Arg(o []float32, arg []int32, a, c []float32, top, w int32) {
	n := len(o)
	if len(arg) < n || len(a) < 2*n || len(c) < 2*n {
		panic(fmt.Sprintf("kernels: MaxPool2x2Arg of %d outputs called with len(arg)=%d len(a)=%d len(c)=%d", n, len(arg), len(a), len(c)))
	}
	done := 0
	if poolArgAsm != nil {
		if done = n &^ 7; done > 0 {
			poolArgAsm(&o[0], &arg[0], &a[0], &c[0], done/8, top, w)
		}
	}
	maxPool2x2ArgGo(o[done:], arg[done:n], a[2*done:2*n], c[2*done:2*n], top+int32(2*done), w)
}

// maxPool2x2ArgGo is MaxPool2x2Arg's pure-Go twin, on checked slices.
func maxPool2x2ArgGo(o []float32, arg []int32, a, c []float32, top, w int32) {
	arg, a, c = arg[:len(o)], a[:2*len(o)], c[:2*len(o)]
	for x := range o {
		i := 2 * x
		best, bv := top+int32(i), a[i]
		if v := a[i+1]; v > bv {
			best, bv = top+int32(i+1), v
		}
		if v := c[i]; v > bv {
			best, bv = top+w+int32(i), v
		}
		if v := c[i+1]; v > bv {
			best, bv = top+w+int32(i+1), v
		}
		o[x], arg[x] = bv, best
	}
}
