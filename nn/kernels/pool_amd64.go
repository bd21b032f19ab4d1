//go:build amd64 && !purego

package kernels

import "golang.org/x/sys/cpu"

// maxPool2x2AVX2 is the assembly 2×2 max-pool (pool_amd64.s): blocks·8
// outputs from blocks·16 values of each row. It reports whether a row held
// a NaN, in which case o is not what MaxPool2x2 promises.
//
//go:noescape
func maxPool2x2AVX2(o, a, c *float32, blocks int, b, floor float32) (nan bool)

func init() {
	if cpu.X86.HasAVX2 {
		poolAsm = maxPool2x2AVX2Checked
		poolAsmName = "avx2"
	}
}

// maxPool2x2AVX2Checked runs the assembly over whole blocks of 8 outputs
// and the Go loop over the rest; a NaN anywhere sends the whole row to the
// Go loop, so that its NaNs come out bit for bit. MaxPool2x2 has checked
// the lengths.
func maxPool2x2AVX2Checked(o, a, c []float32, b, floor float32) {
	n := len(o) &^ 7
	if n > 0 {
		_, _ = a[2*n-1], c[2*n-1]
		if maxPool2x2AVX2(&o[0], &a[0], &c[0], n/8, b, floor) {
			maxPool2x2Go(o, a, c, b, floor)
			return
		}
	}
	maxPool2x2Go(o[n:], a[2*n:], c[2*n:], b, floor)
}

// maxPool2x2ArgAVX2 is poolArgAsm in assembly (pool_amd64.s).
//
//go:noescape
func maxPool2x2ArgAVX2(o *float32, arg *int32, a, c *float32, blocks int, top, w int32)

func init() {
	if cpu.X86.HasAVX2 {
		poolArgAsm = maxPool2x2ArgAVX2
	}
}
