package kernels

import (
	"math"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
)

// Every backend must agree with the plain-Go reference, including with
// leading dimensions wider than the rows and with C accumulated into.
func TestGemmBackendsAgree(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for trial := 0; trial < 50; trial++ {
		m, n, k := 1+rng.Intn(40), 1+rng.Intn(70), 1+rng.Intn(90)
		lda, ldb, ldc := k+rng.Intn(3), n+rng.Intn(3), n+rng.Intn(3)
		a, b := random(rng, m*lda), random(rng, k*ldb)
		c0 := random(rng, m*ldc)
		want := append([]float32(nil), c0...)
		Reference{}.Gemm(m, n, k, a, lda, b, ldb, want, ldc)
		got := append([]float32(nil), c0...)
		Gonum{}.Gemm(m, n, k, a, lda, b, ldb, got, ldc)
		for i := range want {
			assert.InDelta(t, want[i], got[i], 1e-4*math.Sqrt(float64(k)), "trial %d element %d", trial, i)
		}
	}
}

// GemmTransB agrees across the backends too, Bᵀ with a wider stride.
func TestGemmTransBBackendsAgree(t *testing.T) {
	rng := rand.New(rand.NewSource(2))
	for trial := 0; trial < 50; trial++ {
		m, n, k := 1+rng.Intn(40), 1+rng.Intn(70), 1+rng.Intn(90)
		lda, ldbt, ldc := k+rng.Intn(3), k+rng.Intn(3), n+rng.Intn(3)
		a, bt := random(rng, m*lda), random(rng, n*ldbt)
		c0 := random(rng, m*ldc)
		want := append([]float32(nil), c0...)
		Reference{}.GemmTransB(m, n, k, a, lda, bt, ldbt, want, ldc)
		for _, backend := range []Kernels{Gonum{}, Packed{}} {
			got := append([]float32(nil), c0...)
			backend.GemmTransB(m, n, k, a, lda, bt, ldbt, got, ldc)
			for i := range want {
				assert.InDelta(t, want[i], got[i], 1e-4*math.Sqrt(float64(k)), "%T trial %d element %d", backend, trial, i)
			}
		}
	}
}

// The reference's GemmTransB against a hand-computed product.
func TestReferenceGemmTransB(t *testing.T) {
	a := []float32{1, 2, 3, 4, 5, 6}           // 2×3
	bt := []float32{7, 9, 11, 0, 8, 10, 12, 0} // Bᵀ of TestReferenceGemm's B, stride 4
	c := []float32{1, 1, 1, 1}
	Reference{}.GemmTransB(2, 2, 3, a, 3, bt, 4, c, 2)
	assert.Equal(t, []float32{59, 65, 140, 155}, c)
}

// The reference itself against a hand-computed product.
func TestReferenceGemm(t *testing.T) {
	a := []float32{1, 2, 3, 4, 5, 6}    // 2×3
	b := []float32{7, 8, 9, 10, 11, 12} // 3×2
	c := []float32{1, 1, 1, 1}          // accumulated into
	Reference{}.Gemm(2, 2, 3, a, 3, b, 2, c, 2)
	assert.Equal(t, []float32{59, 65, 140, 155}, c) // [58 64; 139 154] + 1
}

func random(rng *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(rng.NormFloat64())
	}
	return v
}
