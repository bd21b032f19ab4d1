// Package kernels holds the numeric inner loops of the native engine behind
// one narrow interface, so that faster implementations (SIMD, assembly) can
// be swapped in and tested against the plain-Go reference.
package kernels

import (
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
)

// Kernels is what the engine needs from a numeric backend.
type Kernels interface {
	// Gemm computes C += A·B for row-major A (m×k, row stride lda),
	// B (k×n, ldb) and C (m×n, ldc).
	Gemm(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int)
	// GemmTransB computes C += A·Bᵀ, with B given as its transpose bt
	// (n×k, row stride ldbt): a gradient's product with an unfolded
	// input, without a transposed copy.
	GemmTransB(m, n, k int, a []float32, lda int, bt []float32, ldbt int, c []float32, ldc int)
}

// Reference is the plain-Go implementation every other backend is tested
// against. It is simple rather than fast.
type Reference struct{}

// Gemm implements Kernels.
func (Reference) Gemm(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	if m == 0 || n == 0 || k == 0 {
		return // nothing to add, and the slices may be empty
	}
	for i := 0; i < m; i++ {
		ci := c[i*ldc : i*ldc+n]
		for p := 0; p < k; p++ {
			av := a[i*lda+p]
			if av == 0 {
				continue
			}
			bp := b[p*ldb : p*ldb+n]
			for j := range ci {
				ci[j] += av * bp[j]
			}
		}
	}
}

// GemmTransB implements Kernels.
func (Reference) GemmTransB(m, n, k int, a []float32, lda int, bt []float32, ldbt int, c []float32, ldc int) {
	if m == 0 || n == 0 || k == 0 {
		return
	}
	for i := 0; i < m; i++ {
		ai := a[i*lda : i*lda+k]
		for j := 0; j < n; j++ {
			var sum float32
			for p, v := range bt[j*ldbt : j*ldbt+k] {
				sum += ai[p] * v
			}
			c[i*ldc+j] += sum
		}
	}
}

// Gonum uses gonum's pure-Go BLAS, whose float32 inner loops have SIMD
// assembly on amd64 and a Go fallback elsewhere.
type Gonum struct{}

// Gemm implements Kernels.
func (Gonum) Gemm(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	if m == 0 || n == 0 || k == 0 {
		return
	}
	blas32.Implementation().Sgemm(blas.NoTrans, blas.NoTrans, m, n, k, 1, a, lda, b, ldb, 1, c, ldc)
}

// GemmTransB implements Kernels.
func (Gonum) GemmTransB(m, n, k int, a []float32, lda int, bt []float32, ldbt int, c []float32, ldc int) {
	if m == 0 || n == 0 || k == 0 {
		return
	}
	blas32.Implementation().Sgemm(blas.NoTrans, blas.Trans, m, n, k, 1, a, lda, bt, ldbt, 1, c, ldc)
}

// Default is the backend new engines use: the packed GEMM, several times
// faster than gonum's at the engine's shapes (see BenchmarkGemm), except
// on amd64 CPUs without AVX2+FMA, where it is Gonum (see micro_amd64.go).
// One value serves every engine; both are safe for concurrent use.
var Default Kernels = Packed{}
