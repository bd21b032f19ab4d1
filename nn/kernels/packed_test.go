package kernels

import (
	"fmt"
	"math"
	"math/rand"
	"runtime"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/cpu"
)

// packedVariants are the Packed backends this machine can run: the pure-Go
// twin always, the assembly one where the CPU has it.
func packedVariants() map[string]Packed {
	v := map[string]Packed{"go": {kernel: goKernel}}
	for _, k := range asmKernels {
		v[k.name] = Packed{kernel: k}
	}
	return v
}

// Sizes around the blocking: below, at and above mr, nr, kc, mc, and nc
// is crossed by the larger n below.
var odd = []int{0, 1, 2, 3, 4, 5, 7, 13, 17, 23, 24, 25, 31, 63, 65, 129}

// Every size combination from odd, with random strides wider than the
// rows and C accumulated into, against the reference. The tolerance
// grows with k (sums of k products of unit normals).
func TestPackedAgreesWithReference(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	for name, p := range packedVariants() {
		for _, m := range odd {
			for _, n := range odd {
				for _, k := range odd {
					checkAgainstReference(t, rng, fmt.Sprintf("%s m=%d n=%d k=%d", name, m, n, k), p, m, n, k)
				}
			}
		}
	}
}

// Shapes that cross the k, m and n blocks (kc, mc, nc) and their edges.
func TestPackedAcrossBlocks(t *testing.T) {
	rng := rand.New(rand.NewSource(4))
	shapes := [][3]int{
		{mc + 3, 31, kc + 1}, {2*mc + mr + 1, nr + 1, 2*kc - 1}, {5, nc + nr + 7, 30}, {mr, nc, kc}, {1, 2*nc + 1, 3}, {9, 403, 1024},
	}
	for name, p := range packedVariants() {
		for _, s := range shapes {
			checkAgainstReference(t, rng, fmt.Sprintf("%s m=%d n=%d k=%d", name, s[0], s[1], s[2]), p, s[0], s[1], s[2])
		}
	}
}

func checkAgainstReference(t *testing.T, rng *rand.Rand, what string, p Packed, m, n, k int) {
	t.Helper()
	lda, ldb, ldc := k+rng.Intn(5), n+rng.Intn(5), n+rng.Intn(5)
	// The slices end exactly at the last element the product may touch,
	// so a read or write past it would panic.
	a, b, c0 := random(rng, max(0, (m-1)*lda+k)), random(rng, max(0, (k-1)*ldb+n)), random(rng, max(0, (m-1)*ldc+n))
	if m == 0 || k == 0 {
		a = nil
	}
	if k == 0 || n == 0 {
		b = nil
	}
	if m == 0 || n == 0 {
		c0 = nil
	}
	want := append([]float32(nil), c0...)
	Reference{}.Gemm(m, n, k, a, max(1, lda), b, max(1, ldb), want, max(1, ldc))
	got := append([]float32(nil), c0...)
	p.Gemm(m, n, k, a, max(1, lda), b, max(1, ldb), got, max(1, ldc))
	tol := 1e-5 * (1 + math.Sqrt(float64(k)))
	for i := range want {
		if math.Abs(float64(want[i]-got[i])) > tol {
			t.Fatalf("%s: element %d (row %d, col %d): got %v, want %v", what, i, i/max(1, ldc), i%max(1, ldc), got[i], want[i])
		}
	}
}

// Elements between the rows (the stride padding) must come back untouched.
func TestPackedLeavesStridePaddingAlone(t *testing.T) {
	for name, p := range packedVariants() {
		m, n, k, ldc := 7, 29, 11, 40
		a, b := make([]float32, m*k), make([]float32, k*n)
		fill := func(v []float32, x float32) {
			for i := range v {
				v[i] = x
			}
		}
		fill(a, 1)
		fill(b, 1)
		c := make([]float32, (m-1)*ldc+n)
		fill(c, -1)
		p.Gemm(m, n, k, a, k, b, n, c, ldc)
		for i, v := range c {
			want := float32(k - 1) // 11 ones summed into −1
			if i%ldc >= n {
				want = -1
			}
			assert.Equal(t, want, v, "%s: c[%d]", name, i)
		}
	}
}

// Slices too short for the sizes are the caller's bug: a clear panic, not
// a read past the end.
func TestPackedPanicsOnShortSlices(t *testing.T) {
	a, b, c := make([]float32, 6), make([]float32, 6), make([]float32, 4)
	assert.NotPanics(t, func() { Packed{}.Gemm(2, 2, 3, a, 3, b, 2, c, 2) })
	assert.PanicsWithValue(t, "kernels: Packed.Gemm: len(a)=5 < 6 for 2×3 with lda=3", func() { Packed{}.Gemm(2, 2, 3, a[:5], 3, b, 2, c, 2) })
	assert.Panics(t, func() { Packed{}.Gemm(2, 2, 3, a, 3, b[:5], 2, c, 2) })
	assert.Panics(t, func() { Packed{}.Gemm(2, 2, 3, a, 3, b, 2, c[:3], 2) })
	assert.Panics(t, func() { Packed{}.Gemm(2, 2, 3, a, 2, b, 2, c, 2) })
	assert.Panics(t, func() { Packed{}.Gemm(-1, 2, 3, a, 3, b, 2, c, 2) })
}

// The hand-computed product of TestReferenceGemm, through both micro-kernels.
func TestPackedSmallProduct(t *testing.T) {
	for name, p := range packedVariants() {
		a := []float32{1, 2, 3, 4, 5, 6}
		b := []float32{7, 8, 9, 10, 11, 12}
		c := []float32{1, 1, 1, 1}
		p.Gemm(2, 2, 3, a, 3, b, 2, c, 2)
		assert.Equal(t, []float32{59, 65, 140, 155}, c, name)
	}
}

// On amd64 with AVX2 and FMA (this project's machines) Packed must use the
// fastest assembly micro-kernel the CPU has, not silently fall back to a
// slower one.
func TestPackedChoosesAssemblyOnAVX2(t *testing.T) {
	if !asmBuilt || !cpu.X86.HasAVX2 || !cpu.X86.HasFMA {
		t.Skipf("no assembly in this build (%s) or no AVX2+FMA", runtime.GOARCH)
	}
	want := "avx2-fma"
	if cpu.X86.HasAVX512F {
		want = "avx512"
	}
	assert.Equal(t, want, Packed{}.MicroKernel())
	assert.Equal(t, Kernels(Packed{}), Default, "the default backend")
	assert.Equal(t, "go", Packed{kernel: goKernel}.MicroKernel())
}

// The micro-kernels agree with the Go twin, one tile or several stacked
// down the rows, one panel wide or two (micro2), with a B row stride wider
// than the tile; the assembly ones agree with each other bit for bit (so
// training gives the same bytes on any of them).
func TestMicroKernelsAgree(t *testing.T) {
	if len(asmKernels) == 0 {
		t.Skip("no assembly micro-kernel on this CPU")
	}
	rng := rand.New(rand.NewSource(5))
	for _, k := range []int{1, 2, 3, 4, 5, 7, 8, 9, 255, 256} {
		for _, tiles := range []int{1, 2, 3} {
			for _, panels := range []int{1, 2} {
				kernel := func(impl *microImpl) microKernel {
					if panels == 1 {
						return impl.micro
					}
					return impl.micro2
				}
				w := panels * nr
				ldb, ldc := nr+rng.Intn(9), w+rng.Intn(9)
				a, b, c := random(rng, tiles*k*mr), random(rng, (panels*k-1)*ldb+nr), random(rng, (tiles*mr-1)*ldc+w)
				set := tiles == 2 // overwrite C rather than add to it
				what := fmt.Sprintf("k=%d tiles=%d panels=%d", k, tiles, panels)
				want := append([]float32(nil), c...)
				kernel(goKernel)(k, a, tiles, b, ldb, want, ldc, set)
				results := asmResults(t, what, func(impl *microImpl) []float32 {
					got := append([]float32(nil), c...)
					kernel(impl)(k, a, tiles, b, ldb, got, ldc, set)
					return got
				})
				for r, got := range results {
					name := asmKernels[r].name
					for i := range want {
						require.InDelta(t, want[i], got[i], 1e-5*(1+math.Sqrt(float64(k))), "%s %s element %d", name, what, i)
						// Elements between the rows are left alone.
						if i%ldc >= w {
							require.Equal(t, c[i], got[i], "%s %s element %d", name, what, i)
						}
					}
				}
			}
		}
	}
}

// Whole products, packed and convolutions, are bit for bit the same with
// every assembly micro-kernel.
func TestAssemblyKernelsGiveTheSameBits(t *testing.T) {
	if len(asmKernels) < 2 {
		t.Skip("fewer than two assembly micro-kernels on this CPU")
	}
	rng := rand.New(rand.NewSource(16))
	for _, s := range [][3]int{{64, 1020, 9}, {mc + 5, 403, kc + 7}, {7, 25, 3}, {256, 62, 1600}} {
		m, n, k := s[0], s[1], s[2]
		a, b, c0 := random(rng, m*k), random(rng, k*n), random(rng, m*n)
		asmResults(t, fmt.Sprintf("m=%d n=%d k=%d", m, n, k), func(impl *microImpl) []float32 {
			got := append([]float32(nil), c0...)
			Packed{kernel: impl}.Gemm(m, n, k, a, k, b, n, got, n)
			return got
		})
	}
	var g Im2col
	require.NoError(t, g.Reset(20, 14, 60, 5, 5, 1, 1, 0, 0, 10, 56))
	require.True(t, g.SetDirect(true))
	in, a := random(rng, 20*14*60), random(rng, 42*g.K())
	pa := PackA(42, g.K(), a, g.K())
	n := 10*g.rowStride() - (g.rowStride() - 56)
	asmResults(t, "convolution", func(impl *microImpl) []float32 {
		got := make([]float32, 42*n)
		Packed{kernel: impl}.GemmIm2col(pa, &g, in, 0, n, got, n)
		return got
	})
}

// asmResults runs run once with each assembly micro-kernel and requires
// every result bit for bit equal to the first's; it returns them in
// asmKernels' order.
func asmResults(t *testing.T, what string, run func(impl *microImpl) []float32) [][]float32 {
	t.Helper()
	out := make([][]float32, len(asmKernels))
	for i, impl := range asmKernels {
		out[i] = run(impl)
		require.Equal(t, out[0], out[i], "%s: %s against %s", what, impl.name, asmKernels[0].name)
	}
	return out
}

// After warm-up Gemm takes its buffers from the pool: no allocation.
func TestPackedDoesNotAllocateWhenWarm(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items at random under the race detector")
	}
	rng := rand.New(rand.NewSource(6))
	m, n, k := 16, 1000, 27
	a, b, c := random(rng, m*k), random(rng, k*n), make([]float32, m*n)
	p := Packed{}
	p.Gemm(m, n, k, a, k, b, n, c, n)
	allocs := testing.AllocsPerRun(20, func() { p.Gemm(m, n, k, a, k, b, n, c, n) })
	assert.Zero(t, allocs)
	// b read as the transpose of an n×k matrix: C is m×k.
	allocs = testing.AllocsPerRun(20, func() { p.GemmTransB(m, k, n, b[:m*n], n, b, n, c, k) })
	assert.Zero(t, allocs, "GemmTransB")
}

// One Packed value (like Default) serves concurrent engines: each call
// takes its own buffers from the pool. Run with -race to check.
func TestPackedConcurrentUse(t *testing.T) {
	const workers = 4
	rng := rand.New(rand.NewSource(7))
	type job struct {
		m, n, k int
		a, b    []float32
		want    []float32
	}
	jobs := make([]job, workers)
	for w := range jobs {
		m, n, k := 5+7*w, 50+31*w, 30+100*w
		j := job{m: m, n: n, k: k, a: random(rng, m*k), b: random(rng, k*n), want: make([]float32, m*n)}
		Reference{}.Gemm(m, n, k, j.a, k, j.b, n, j.want, n)
		jobs[w] = j
	}
	got := make([][]float32, workers)
	var wg sync.WaitGroup
	for w, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				c := make([]float32, j.m*j.n)
				Default.Gemm(j.m, j.n, j.k, j.a, j.k, j.b, j.n, c, j.n)
				got[w] = c
			}
		}()
	}
	wg.Wait()
	for w, j := range jobs {
		for i := range j.want {
			require.InDelta(t, j.want[i], got[w][i], 1e-5*(1+math.Sqrt(float64(j.k))), "worker %d element %d", w, i)
		}
	}
}

// A packed once by PackA gives the same products as Gemm packing it on
// every call, across the k and m blocks and their edges, and can be used
// again.
func TestGemmPackedAgreesWithReference(t *testing.T) {
	rng := rand.New(rand.NewSource(8))
	shapes := [][3]int{{1, 1, 1}, {3, 5, 7}, {4, 24, 4}, {13, 31, 63}, {20, 403, 25}, {mc + 5, 29, kc + 3}, {2*mc + 1, nr + 1, 2*kc + 1}, {0, 5, 3}, {5, 0, 3}, {5, 3, 0}}
	for name, p := range packedVariants() {
		for _, s := range shapes {
			m, n, k := s[0], s[1], s[2]
			lda, ldb, ldc := k+1, n+2, n+3
			a, b, c0 := random(rng, m*lda), random(rng, k*ldb), random(rng, m*ldc)
			pa := PackA(m, k, a, lda)
			gm, gk := pa.Size()
			require.Equal(t, [2]int{m, k}, [2]int{gm, gk})
			want := append([]float32(nil), c0...)
			Reference{}.Gemm(m, n, k, a, lda, b, ldb, want, ldc)
			for round := 0; round < 2; round++ {
				got := append([]float32(nil), c0...)
				p.GemmPacked(pa, n, b, ldb, got, ldc)
				for i := range want {
					require.InDelta(t, want[i], got[i], 1e-5*(1+math.Sqrt(float64(k))), "%s m=%d n=%d k=%d round %d element %d", name, m, n, k, round, i)
				}
			}
		}
	}
}

func TestGemmPackedPanicsOnShortSlices(t *testing.T) {
	pa := PackA(2, 3, make([]float32, 6), 3)
	assert.NotPanics(t, func() { Packed{}.GemmPacked(pa, 2, make([]float32, 6), 2, make([]float32, 4), 2) })
	assert.Panics(t, func() { Packed{}.GemmPacked(pa, 2, make([]float32, 5), 2, make([]float32, 4), 2) })
	assert.Panics(t, func() { Packed{}.GemmPacked(pa, 2, make([]float32, 6), 2, make([]float32, 3), 2) })
	assert.Panics(t, func() { PackA(2, 3, make([]float32, 5), 3) })
}

// GemmTransB on Bᵀ gives what Gemm gives on B, to the bit (the trainer's
// byte-for-byte rebuilds rest on it), for every size combination from
// odd and across the blocks, with Bᵀ ending at its last element.
func TestGemmTransBIsGemmOnTheTranspose(t *testing.T) {
	rng := rand.New(rand.NewSource(5))
	var shapes [][3]int
	for _, m := range odd {
		for _, n := range odd {
			for _, k := range odd {
				shapes = append(shapes, [3]int{m, n, k})
			}
		}
	}
	shapes = append(shapes, [3]int{mc + 3, 31, kc + 1}, [3]int{5, nc + nr + 7, 30}, [3]int{64, 288, 196})
	for name, p := range packedVariants() {
		for _, s := range shapes {
			m, n, k := s[0], s[1], s[2]
			lda, ldbt, ldc := max(1, k+rng.Intn(3)), max(1, k+rng.Intn(3)), max(1, n+rng.Intn(3))
			a, bt, c0 := random(rng, max(0, (m-1)*lda+k)), random(rng, max(0, (n-1)*ldbt+k)), random(rng, max(0, (m-1)*ldc+n))
			b := make([]float32, k*n) // B = (Bᵀ)ᵀ, dense
			for j := 0; j < n; j++ {
				for p := 0; p < k; p++ {
					b[p*n+j] = bt[j*ldbt+p]
				}
			}
			want := append([]float32(nil), c0...)
			p.Gemm(m, n, k, a, lda, b, max(1, n), want, ldc)
			got := append([]float32(nil), c0...)
			p.GemmTransB(m, n, k, a, lda, bt, ldbt, got, ldc)
			require.Equal(t, want, got, "%s m=%d n=%d k=%d", name, m, n, k)
		}
	}
}

func TestGemmTransBRejectsAShortTranspose(t *testing.T) {
	a, c := make([]float32, 2*3), make([]float32, 2*4)
	assert.PanicsWithValue(t, "kernels: Packed.GemmTransB: len(bt)=11 < 12 for 4×3 with ldbt=3", func() {
		Packed{}.GemmTransB(2, 4, 3, a, 3, make([]float32, 11), 3, c, 4)
	})
	assert.PanicsWithValue(t, "kernels: Packed.GemmTransB: ldbt=2 too small for 3 columns", func() {
		Packed{}.GemmTransB(2, 4, 3, a, 3, make([]float32, 12), 2, c, 4)
	})
}
