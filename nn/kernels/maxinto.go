package kernels

import "fmt"

// maxIntoAsm is the assembly MaxInto loop for this CPU, or nil (other
// architectures, the purego tag, CPUs without AVX); set once by init. It
// handles blocks·8 values.
var maxIntoAsm func(dst, a, b *float32, blocks int)

// MaxInto sets dst[i] = max(a[i], b[i]) with Go's max, for i < len(dst):
// the column or row maxima a pool is built from. dst may be a itself (or
// b), but must not overlap either at another offset. Every backend gives
// the Go loop's bits: +0 beats −0, and a NaN comes out a NaN (its payload
// as the compiled max gives it). It panics if a or b is shorter than dst.
func MaxInto(dst, a, b []float32) {
	n := len(dst)
	if len(a) < n || len(b) < n {
		panic(fmt.Sprintf("kernels: MaxInto of %d values with len(a)=%d len(b)=%d", n, len(a), len(b)))
	}
	a, b = a[:n], b[:n]
	done := 0
	if maxIntoAsm != nil {
		if done = n &^ 7; done > 0 {
			maxIntoAsm(&dst[0], &a[0], &b[0], done/8)
		}
	}
	maxIntoGo(dst[done:], a[done:], b[done:])
}

// maxIntoGo is MaxInto's pure-Go twin, on checked slices.
func maxIntoGo(dst, a, b []float32) {
	a, b = a[:len(dst)], b[:len(dst)]
	for i := range dst {
		dst[i] = max(a[i], b[i])
	}
}
