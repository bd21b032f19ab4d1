package kernels

import (
	"fmt"
	"math"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// BatchNormGrad gives its Go twin's bits for every length, with zeros,
// infinities and denormals among the values; a NaN comes out a NaN.
func TestBatchNormGradMatchesTwin(t *testing.T) {
	if bnGradAsm == nil {
		t.Skip("no assembly batch norm gradient on this CPU")
	}
	rng := rand.New(rand.NewSource(15))
	special := []float32{float32(math.NaN()), 0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), 1e-39, 3e38}
	for trial := 0; trial < 200; trial++ {
		n := rng.Intn(70)
		x, dy, dx := make([]float32, n), make([]float32, n), make([]float32, n+1)
		for i := range x {
			x[i], dy[i] = float32(rng.NormFloat64()), float32(rng.NormFloat64()*1e-3)
			if rng.Intn(9) == 0 {
				x[i] = special[rng.Intn(len(special))]
			}
		}
		mean, inv, count := rng.NormFloat64(), 1/(0.1+rng.Float64()), float64(1+rng.Intn(50000))
		dbeta, dgamma, k := rng.NormFloat64(), rng.NormFloat64(), rng.NormFloat64()/count
		want := make([]float32, n+1)
		want[n], dx[n] = 7, 7 // past the end: untouched
		batchNormGradGo(want[:n], x, dy, mean, inv, count, dbeta, dgamma, k)
		BatchNormGrad(dx[:n], x, dy, mean, inv, count, dbeta, dgamma, k)
		for i := range want {
			if math.IsNaN(float64(want[i])) {
				require.True(t, math.IsNaN(float64(dx[i])), "trial %d element %d: want NaN, got %v", trial, i, dx[i])
				continue
			}
			require.Equal(t, math.Float32bits(want[i]), math.Float32bits(dx[i]), "trial %d n=%d element %d", trial, n, i)
		}
	}
}

// The formula on values worked out by hand: mean 1, inv 2, count 4,
// dbeta 1, dgamma 0.5, k 0.25.
func TestBatchNormGradByHand(t *testing.T) {
	x := []float32{1, 2, 0, 3, 1.5}
	dy := []float32{1, 0, -1, 2, 0.5}
	dx := make([]float32, 5)
	BatchNormGrad(dx, x, dy, 1, 2, 4, 1, 0.5, 0.25)
	// x̂ = 0, 2, −2, 4, 1; 4·dy − 1 − x̂/2 = 3, −2, −4, 5, 0.5; times 1/4
	assert.Equal(t, []float32{0.75, -0.5, -1, 1.25, 0.125}, dx)
	assert.Panics(t, func() { BatchNormGrad(dx[:4], x, dy, 1, 2, 4, 1, 0.5, 0.25) })
}

// It runs once per channel and sample of every training step: no
// allocation (its constants once escaped to the heap through the
// assembly's function variable).
func TestBatchNormGradDoesNotAllocate(t *testing.T) {
	x, dy, dx := make([]float32, 676), make([]float32, 676), make([]float32, 676)
	allocs := testing.AllocsPerRun(20, func() { BatchNormGrad(dx, x, dy, 0.5, 2, 43264, 0.1, 0.2, 1e-5) })
	assert.Zero(t, allocs)
}

// BatchNormApply gives its Go twin's bits for every length, with zeros,
// infinities, denormals and values that overflow float32 once scaled; a
// NaN comes out a NaN.
func TestBatchNormApplyMatchesTwin(t *testing.T) {
	if bnApplyAsm == nil {
		t.Skip("no assembly batch norm on this CPU")
	}
	rng := rand.New(rand.NewSource(24))
	special := []float32{float32(math.NaN()), 0, float32(math.Copysign(0, -1)), float32(math.Inf(-1)), 1e-39, 3e38}
	for trial := 0; trial < 200; trial++ {
		n := rng.Intn(70)
		src, dst, want := make([]float32, n), make([]float32, n+1), make([]float32, n+1)
		for i := range src {
			src[i] = float32(rng.NormFloat64() * 3)
			if rng.Intn(9) == 0 {
				src[i] = special[rng.Intn(len(special))]
			}
		}
		scale, shift := rng.NormFloat64()*10, rng.NormFloat64()
		want[n], dst[n] = 7, 7 // past the end: untouched
		batchNormApplyGo(want[:n], src, scale, shift)
		BatchNormApply(dst[:n], src, scale, shift)
		sameBits(t, want, dst, fmt.Sprintf("trial %d n=%d", trial, n))
	}
}

// The formula by hand, with a sum that rounds in float64 before float32:
// 1 + 2⁻³⁰ is kept in float64 and lost in float32.
func TestBatchNormApplyByHand(t *testing.T) {
	src := []float32{1, -2, 0, 0.5, 4}
	dst := make([]float32, 5)
	BatchNormApply(dst, src, 2, 1)
	assert.Equal(t, []float32{3, -3, 1, 2, 9}, dst)
	BatchNormApply(dst, src, math.Ldexp(1, -30), 1)
	assert.Equal(t, []float32{1, 1, 1, 1, 1}, dst)
	assert.Panics(t, func() { BatchNormApply(dst[:4], src, 1, 0) })
}

// BatchNormGradSums4 gives its Go twin's bits for every length (whole
// blocks of four pixels and the tail), with planes apart by more than
// their length, sums that start from nonzero values, and zeros, denormals
// and large values among the inputs; a NaN comes out a NaN.
func TestBatchNormGradSums4MatchesTwin(t *testing.T) {
	if !useBNSumsAsm {
		t.Skip("no assembly batch norm sums on this CPU")
	}
	rng := rand.New(rand.NewSource(25))
	special := []float32{float32(math.NaN()), 0, float32(math.Copysign(0, -1)), 1e-39, 3e38, -3e38}
	for trial := 0; trial < 300; trial++ {
		n := rng.Intn(40)
		stride := n + rng.Intn(5)
		dy, x := make([]float32, 3*stride+n), make([]float32, 3*stride+n)
		for i := range dy {
			dy[i], x[i] = float32(rng.NormFloat64()), float32(rng.NormFloat64()*4)
			if trial%3 == 0 && rng.Intn(15) == 0 {
				x[i] = special[rng.Intn(len(special))]
			}
		}
		var mean, inv, wantB, wantG, gotB, gotG [4]float64
		for k := range mean {
			mean[k], inv[k] = rng.NormFloat64(), 1/(0.1+rng.Float64())
			wantB[k], wantG[k] = rng.NormFloat64(), rng.NormFloat64()
		}
		gotB, gotG = wantB, wantG
		bnGradSums4Go(dy, x, stride, n, &mean, &inv, &wantB, &wantG)
		BatchNormGradSums4(dy, x, stride, n, &mean, &inv, &gotB, &gotG)
		for k := range wantB {
			for _, p := range [][2]float64{{wantB[k], gotB[k]}, {wantG[k], gotG[k]}} {
				if math.IsNaN(p[0]) {
					require.True(t, math.IsNaN(p[1]), "trial %d channel %d: want NaN, got %v", trial, k, p[1])
					continue
				}
				require.Equal(t, math.Float64bits(p[0]), math.Float64bits(p[1]), "trial %d n=%d channel %d", trial, n, k)
			}
		}
	}
}

// The sums by hand: channel k's planes start k·stride values in, and only
// the first n values of each count.
func TestBatchNormGradSums4ByHand(t *testing.T) {
	// stride 6, n 5: channel k's dy is all k+1, its x is 0 1 2 3 4; the
	// sixth value of each plane is outside and would add 100.
	dy, x := make([]float32, 3*6+5), make([]float32, 3*6+5)
	for k := 0; k < 4; k++ {
		for i := 0; i < 6 && k*6+i < len(dy); i++ {
			dy[k*6+i], x[k*6+i] = float32(k+1), float32(i)
			if i == 5 {
				dy[k*6+i], x[k*6+i] = 100, 100
			}
		}
	}
	mean, inv := [4]float64{2, 2, 0, 0}, [4]float64{1, 0.5, 1, 2}
	dbeta, dgamma := [4]float64{1, 0, 0, 0}, [4]float64{}
	BatchNormGradSums4(dy, x, 6, 5, &mean, &inv, &dbeta, &dgamma)
	// Σ dy = 5(k+1); Σ (x − mean) = 0 for mean 2 and 10 for mean 0.
	assert.Equal(t, [4]float64{6, 10, 15, 20}, dbeta)
	assert.Equal(t, [4]float64{0, 0, 30, 80}, dgamma)
	assert.Panics(t, func() { BatchNormGradSums4(dy[:22], x, 6, 5, &mean, &inv, &dbeta, &dgamma) })
}
