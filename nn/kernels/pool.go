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
