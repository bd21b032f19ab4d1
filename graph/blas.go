package graph

import (
	"sync"

	"github.com/fc2conv/fc2conv/nn/kernels"
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
	G "gorgonia.org/gorgonia"
)

// minPackedWork is the smallest m·n·k handed to the engine's GEMM; below
// it the copies a transposed operand needs cost more than they save.
const minPackedWork = 1 << 15

// fastBLAS is gonum's BLAS with Sgemm, which gorgonia spends its training
// time in (convolutions are im2col products), done by the engine's
// kernels.Default: the packed AVX2 GEMM where the CPU has it.
type fastBLAS struct{ gonum.Implementation }

var useOnce sync.Once

// UseFastGEMM makes gorgonia run its float32 matrix products on the
// engine's GEMM. It is global to gorgonia and idempotent.
func UseFastGEMM() { useOnce.Do(func() { G.Use(fastBLAS{}) }) }

// transposed holds transposed copies of operands between calls.
var transposed = sync.Pool{New: func() any { return new([]float32) }}

// Sgemm computes C = alpha·op(A)·op(B) + beta·C.
func (f fastBLAS) Sgemm(tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if alpha != 1 || m*n*k < minPackedWork || m == 0 || n == 0 || k == 0 {
		f.Implementation.Sgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	if beta != 1 {
		for i := 0; i < m; i++ {
			row := c[i*ldc : i*ldc+n]
			if beta == 0 {
				clear(row)
				continue
			}
			for j := range row {
				row[j] *= beta
			}
		}
	}
	if tA != blas.NoTrans {
		buf := transposed.Get().(*[]float32)
		defer transposed.Put(buf)
		a, lda = transpose(buf, a, lda, k, m), k
	}
	if tB != blas.NoTrans {
		buf := transposed.Get().(*[]float32)
		defer transposed.Put(buf)
		b, ldb = transpose(buf, b, ldb, n, k), n
	}
	kernels.Default.Gemm(m, n, k, a, lda, b, ldb, c, ldc)
}

// transpose writes the transpose of the rows×cols matrix src (row stride
// ld) into *buf, grown as needed, and returns it (cols×rows, row-major).
func transpose(buf *[]float32, src []float32, ld, rows, cols int) []float32 {
	if cap(*buf) < rows*cols {
		*buf = make([]float32, rows*cols)
	}
	dst := (*buf)[:rows*cols]
	for i := 0; i < rows; i++ {
		for j, v := range src[i*ld : i*ld+cols] {
			dst[j*rows+i] = v
		}
	}
	return dst
}
