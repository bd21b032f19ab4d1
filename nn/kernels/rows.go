package kernels

import "fmt"

// addRowsAsm and copyRowsAsm are the assembly AddRows and CopyRows for
// this CPU, or nil (other architectures, the purego tag, CPUs without
// AVX); set once by init. They take rows ≥ 1 and width ≥ 1 on slices already checked, and
// strides in values.
var (
	addRowsAsm  func(dst *float32, dstStride int, src *float32, srcStride, rows, width int)
	copyRowsAsm func(dst *float32, dstStride int, src *float32, srcStride, rows, width int)
)

// AddRows adds a rows×width block of src into one of dst, row r of each
// starting at r·stride: dst[r·dstStride+j] += src[r·srcStride+j], row by
// row. It is a convolution's fold (training): the gradient of one
// unfolded row added back into the input rows it was read from. Every
// backend gives the Go loop's bits: each value is one float32 addition
// (a NaN comes out a NaN; which payload is the hardware's, as in the Go
// loop's own sum). It panics if a slice is too short.
func AddRows(dst []float32, dstStride int, src []float32, srcStride, rows, width int) {
	if !checkRows("AddRows", dst, dstStride, src, srcStride, rows, width) {
		return
	}
	if addRowsAsm != nil {
		addRowsAsm(&dst[0], dstStride, &src[0], srcStride, rows, width)
		return
	}
	addRowsGo(dst, dstStride, src, srcStride, rows, width)
}

// CopyRows copies a rows×width block of src into one of dst, row r of
// each starting at r·stride: a convolution's unfolding (training), one
// window offset at a time. It panics if a slice is too short.
func CopyRows(dst []float32, dstStride int, src []float32, srcStride, rows, width int) {
	if !checkRows("CopyRows", dst, dstStride, src, srcStride, rows, width) {
		return
	}
	if copyRowsAsm != nil {
		copyRowsAsm(&dst[0], dstStride, &src[0], srcStride, rows, width)
		return
	}
	copyRowsGo(dst, dstStride, src, srcStride, rows, width)
}

// checkRows reports whether there is anything to do, and panics if the
// block does not fit either slice.
func checkRows(name string, dst []float32, dstStride int, src []float32, srcStride, rows, width int) bool {
	if rows <= 0 || width <= 0 {
		return false
	}
	if dstStride < 0 || srcStride < 0 || len(dst) < (rows-1)*dstStride+width || len(src) < (rows-1)*srcStride+width {
		panic(fmt.Sprintf("kernels: %s of %d×%d with strides %d and %d: len(dst)=%d len(src)=%d", name, rows, width, dstStride, srcStride, len(dst), len(src)))
	}
	return true
}

// addRowsGo is AddRows' pure-Go twin, on checked slices.
func addRowsGo(dst []float32, dstStride int, src []float32, srcStride, rows, width int) {
	for r := 0; r < rows; r++ {
		d, s := dst[r*dstStride:r*dstStride+width], src[r*srcStride:r*srcStride+width]
		for j, v := range s {
			d[j] += v
		}
	}
}

// copyRowsGo is CopyRows' pure-Go twin, on checked slices.
func copyRowsGo(dst []float32, dstStride int, src []float32, srcStride, rows, width int) {
	for r := 0; r < rows; r++ {
		copy(dst[r*dstStride:r*dstStride+width], src[r*srcStride:r*srcStride+width])
	}
}
