package kernels

import (
	"fmt"
	"math"
	"math/rand"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/cpu"
)

// poolVariants are the 2×2 max-pools this machine can run: the exported
// one (whatever it picked), the pure-Go twin, and the assembly one called
// directly, past MaxPool2x2's fallbacks, where the CPU has it.
func poolVariants() map[string]func(o, a, c []float32, b, floor float32) {
	v := map[string]func(o, a, c []float32, b, floor float32){
		"MaxPool2x2": MaxPool2x2,
		"go":         maxPool2x2Go,
	}
	if poolAsm != nil {
		v[poolAsmName] = poolAsm
	}
	return v
}

// refPool2x2 spells MaxPool2x2's contract out with comparisons instead of
// Go's max: the largest of the four, +0 over −0, NaN if any is NaN.
func refPool2x2(o, a, c []float32, b, floor float32) {
	larger := func(m, v float32) float32 {
		switch {
		case math.IsNaN(float64(m)) || math.IsNaN(float64(v)):
			return float32(math.NaN())
		case v > m, v == m && !math.Signbit(float64(v)):
			return v
		}
		return m
	}
	for x := range o {
		m := a[2*x]
		for _, v := range []float32{a[2*x+1], c[2*x], c[2*x+1]} {
			m = larger(m, v)
		}
		o[x] = larger(floor, m+b)
	}
}

// poolRow draws n values of one of the kinds the tests mix: unit normals,
// only negative values, few distinct values (ties, ±0 among them), or
// normals salted with ±0 and ±Inf.
func poolRow(rng *rand.Rand, kind, n int) []float32 {
	r := make([]float32, n)
	negZero := float32(math.Copysign(0, -1))
	for i := range r {
		switch kind {
		case 0:
			r[i] = float32(rng.NormFloat64())
		case 1:
			r[i] = -float32(math.Abs(rng.NormFloat64())) - 0.01
		case 2:
			r[i] = []float32{0, negZero, 1, -1, 1}[rng.Intn(5)]
		default:
			r[i] = float32(rng.NormFloat64())
			switch rng.Intn(8) {
			case 0:
				r[i] = 0
			case 1:
				r[i] = negZero
			case 2:
				r[i] = float32(math.Inf(1 - 2*rng.Intn(2)))
			}
		}
	}
	return r
}

// sameBits compares outputs bit for bit, except that any NaN matches any
// NaN (the reference makes its own).
func sameBits(t *testing.T, want, got []float32, what string) {
	t.Helper()
	for i := range want {
		if math.IsNaN(float64(want[i])) && math.IsNaN(float64(got[i])) {
			continue
		}
		require.Equal(t, math.Float32bits(want[i]), math.Float32bits(got[i]), "%s: output %d is %v, want %v", what, i, got[i], want[i])
	}
}

// Every variant agrees with the reference, bit for bit, on every length
// across the 8-wide blocks and the tail, with rows longer than needed and
// guards around o that must stay untouched.
func TestMaxPool2x2AgreesWithReference(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	negZero := float32(math.Copysign(0, -1))
	lengths := []int{1000}
	for n := 0; n <= 40; n++ {
		lengths = append(lengths, n)
	}
	for name, pool := range poolVariants() {
		for _, n := range lengths {
			for kind := 0; kind < 4; kind++ {
				for _, b := range []float32{0, 0.75, -0.75, -3} {
					for _, floor := range []float32{0, negZero, float32(math.Inf(-1))} {
						what := fmt.Sprintf("%s n=%d kind=%d b=%v floor=%v", name, n, kind, b, floor)
						a, c := poolRow(rng, kind, 2*n+rng.Intn(3)), poolRow(rng, kind, 2*n+rng.Intn(3))
						want := make([]float32, n)
						refPool2x2(want, a, c, b, floor)
						out := make([]float32, n+2)
						out[0], out[n+1] = 42, 43
						pool(out[1:n+1], a, c, b, floor)
						sameBits(t, want, out[1:n+1], what)
						require.Equal(t, []float32{42, 43}, []float32{out[0], out[n+1]}, "%s: guards", what)
					}
				}
			}
		}
	}
}

// The cases the assembly hands to the Go loop come out of MaxPool2x2 with
// the twin's bits: b = −0 over zero maxima, a NaN b or floor, and a NaN in
// either row (one block and a tail; early and late in the row).
func TestMaxPool2x2FallbacksMatchTwin(t *testing.T) {
	rng := rand.New(rand.NewSource(11))
	negZero := float32(math.Copysign(0, -1))
	nan := float32(math.NaN())
	const n = 37
	check := func(what string, a, c []float32, b, floor float32) {
		t.Helper()
		want, got, ref := make([]float32, n), make([]float32, n), make([]float32, n)
		maxPool2x2Go(want, a, c, b, floor)
		MaxPool2x2(got, a, c, b, floor)
		refPool2x2(ref, a, c, b, floor)
		for i := range want {
			require.Equal(t, math.Float32bits(want[i]), math.Float32bits(got[i]), "%s: output %d is %v, want %v", what, i, got[i], want[i])
		}
		sameBits(t, ref, got, what+" against the reference")
	}
	zeros := poolRow(rng, 2, 2*n)
	check("b=-0 floor=-Inf", zeros, poolRow(rng, 2, 2*n), negZero, float32(math.Inf(-1)))
	check("b=-0 floor=0", zeros, poolRow(rng, 2, 2*n), negZero, 0)
	check("b=NaN", poolRow(rng, 0, 2*n), poolRow(rng, 0, 2*n), nan, 0)
	check("floor=NaN", poolRow(rng, 0, 2*n), poolRow(rng, 0, 2*n), 0.5, nan)
	for _, i := range []int{0, 5, 15, 16, 2*n - 9, 2*n - 1} {
		for row := 0; row < 2; row++ {
			a, c := poolRow(rng, 3, 2*n), poolRow(rng, 3, 2*n)
			[][]float32{a, c}[row][i] = nan
			check(fmt.Sprintf("NaN at %d of row %d", i, row), a, c, -0.25, float32(math.Inf(-1)))
			got := make([]float32, n)
			MaxPool2x2(got, a, c, -0.25, 0)
			assert.True(t, math.IsNaN(float64(got[i/2])), "NaN at %d of row %d: output %d is %v", i, row, i/2, got[i/2])
		}
	}
}

func TestMaxPool2x2PanicsOnShortRows(t *testing.T) {
	o := make([]float32, 4)
	assert.Panics(t, func() { MaxPool2x2(o, make([]float32, 7), make([]float32, 8), 0, 0) })
	assert.Panics(t, func() { MaxPool2x2(o, make([]float32, 8), make([]float32, 7), 0, 0) })
	assert.NotPanics(t, func() { MaxPool2x2(o, make([]float32, 8), make([]float32, 9), 0, 0) })
}

// On amd64 with AVX2 (this project's machines) MaxPool2x2 must use the
// assembly, not silently fall back to the Go loop.
func TestMaxPool2x2ChoosesAssemblyOnAVX2(t *testing.T) {
	if !asmBuilt || !cpu.X86.HasAVX2 {
		t.Skipf("no assembly in this build (%s) or no AVX2", runtime.GOARCH)
	}
	require.NotNil(t, poolAsm)
	assert.Equal(t, "avx2", poolAsmName)
}

// One pooled row of the dress model's first layer on a 1024-wide scene
// (1020 conv columns, 510 outputs), ReLU fused.
func BenchmarkMaxPool2x2(b *testing.B) {
	const n = 510
	rng := rand.New(rand.NewSource(1))
	o, a, c := make([]float32, n), random(rng, 2*n), random(rng, 2*n)
	for name, pool := range poolVariants() {
		if name == "MaxPool2x2" {
			continue
		}
		b.Run(name, func(b *testing.B) {
			b.SetBytes(4 * 4 * n)
			for b.Loop() {
				pool(o, a, c, 0.5, 0)
			}
		})
	}
}

// MaxPool2x2Arg gives its Go twin's maxima (bit for bit) and indices for
// every length, on rows with ties, both zeros, infinities and NaNs, and
// leaves the values past len(o) alone.
func TestMaxPool2x2ArgMatchesTwin(t *testing.T) {
	if poolArgAsm == nil {
		t.Skip("no assembly arg-max pool on this CPU")
	}
	rng := rand.New(rand.NewSource(23))
	for kind := 0; kind < 5; kind++ {
		for _, n := range []int{0, 1, 7, 8, 9, 16, 17, 24, 33} {
			a, c := poolRow(rng, kind%4, 2*n+1), poolRow(rng, kind%4, 2*n+1)
			if kind == 4 { // NaNs first, last and in between
				for i := range a {
					if rng.Intn(5) == 0 {
						a[i] = float32(math.NaN())
					}
					if rng.Intn(5) == 0 {
						c[i] = math.Float32frombits(0x7fc00123)
					}
				}
			}
			top, w := int32(rng.Intn(100)), int32(2*n+1+rng.Intn(5))
			want, got := make([]float32, n+1), make([]float32, n+1)
			wantArg, gotArg := make([]int32, n+1), make([]int32, n+1)
			want[n], got[n], wantArg[n], gotArg[n] = 7, 7, -7, -7
			maxPool2x2ArgGo(want[:n], wantArg[:n], a, c, top, w)
			MaxPool2x2Arg(got[:n], gotArg[:n], a, c, top, w)
			for i := range want {
				require.Equal(t, math.Float32bits(want[i]), math.Float32bits(got[i]), "kind %d n=%d output %d", kind, n, i)
				require.Equal(t, wantArg[i], gotArg[i], "kind %d n=%d index %d", kind, n, i)
			}
		}
	}
}

// The definition, by hand: the first of equal maxima, indices counted
// from top (row a) and top+w (row c), a NaN kept only where it starts.
func TestMaxPool2x2ArgByHand(t *testing.T) {
	nan := float32(math.NaN())
	a := []float32{1, 2, 5, 5, 0, 0, nan, 9}
	c := []float32{3, 0, 5, 6, 1, 0, 9, 9}
	o, arg := make([]float32, 4), make([]int32, 4)
	MaxPool2x2Arg(o, arg, a, c, 100, 10)
	assert.Equal(t, []float32{3, 6, 1}, o[:3])
	assert.True(t, math.IsNaN(float64(o[3])))
	assert.Equal(t, []int32{110, 113, 114, 106}, arg)
	// Past the assembly's blocks: 9 outputs, the last from the Go loop.
	a9, c9 := make([]float32, 18), make([]float32, 18)
	c9[17] = 1
	o9, arg9 := make([]float32, 9), make([]int32, 9)
	MaxPool2x2Arg(o9, arg9, a9, c9, 0, 20)
	assert.Equal(t, float32(1), o9[8])
	assert.Equal(t, []int32{0, 2, 4, 6, 8, 10, 12, 14, 37}, arg9)
	assert.Panics(t, func() { MaxPool2x2Arg(o9, arg9[:8], a9, c9, 0, 20) })
}
