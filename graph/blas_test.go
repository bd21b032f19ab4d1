package graph

import (
	"math"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// fastBLAS.Sgemm gives gonum's results for every transpose, alpha and beta,
// above and below the size where it switches to the engine's GEMM, with
// strides wider than the rows.
func TestFastSgemmMatchesGonum(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	rnd := func(n int) []float32 {
		s := make([]float32, n)
		for i := range s {
			s[i] = float32(rng.NormFloat64())
		}
		return s
	}
	for _, sz := range [][3]int{{3, 5, 7}, {37, 41, 29}, {64, 130, 75}} {
		m, n, k := sz[0], sz[1], sz[2]
		for _, tA := range []blas.Transpose{blas.NoTrans, blas.Trans} {
			for _, tB := range []blas.Transpose{blas.NoTrans, blas.Trans} {
				for _, ab := range [][2]float32{{1, 0}, {1, 1}, {1, 0.5}, {-2, 1}} {
					ar, ac := m, k
					if tA == blas.Trans {
						ar, ac = k, m
					}
					br, bc := k, n
					if tB == blas.Trans {
						br, bc = n, k
					}
					lda, ldb, ldc := ac+2, bc+3, n+1
					a, b, c := rnd(ar*lda), rnd(br*ldb), rnd(m*ldc)
					want := append([]float32(nil), c...)
					gonum.Implementation{}.Sgemm(tA, tB, m, n, k, ab[0], a, lda, b, ldb, ab[1], want, ldc)
					fastBLAS{}.Sgemm(tA, tB, m, n, k, ab[0], a, lda, b, ldb, ab[1], c, ldc)
					for i := range c {
						require.InDelta(t, want[i], c[i], 1e-4*math.Sqrt(float64(k)), "m%d n%d k%d tA %v tB %v alpha %v beta %v at %d", m, n, k, tA, tB, ab[0], ab[1], i)
					}
				}
			}
		}
	}
}
