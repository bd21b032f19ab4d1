package kernels

import (
	"fmt"
	"math"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// unfold is the im2col matrix written out from its definition: row
// (c, ky, kx), column oy·OW+ox for the output rows [row0, row0+n/OW…).
func unfold(g *Im2col, in []float32, row0, n int) []float32 {
	b := make([]float32, g.K()*n)
	for c := 0; c < g.C; c++ {
		for ky := 0; ky < g.KH; ky++ {
			for kx := 0; kx < g.KW; kx++ {
				p := (c*g.KH+ky)*g.KW + kx
				for j := 0; j < n; j++ {
					oy, ox := row0+j/g.OW, j%g.OW
					iy, ix := oy*g.SH-g.PH+ky, ox*g.SW-g.PW+kx
					if iy >= 0 && iy < g.H && ix >= 0 && ix < g.W {
						b[p*n+j] = in[(c*g.H+iy)*g.W+ix]
					}
				}
			}
		}
	}
	return b
}

// GemmIm2col writes the reference product with the unfolded input over C,
// leaving the elements between C's rows alone, for
// both micro-kernels, across padding, strides, row ends inside and
// outside panels, bands that start mid-map, several k blocks (C·KH·KW >
// kc) and n blocks (n > nc).
func TestGemmIm2colAgreesWithUnfolded(t *testing.T) {
	rng := rand.New(rand.NewSource(11))
	type geom struct{ c, h, w, kh, kw, sh, sw, ph, pw, m int }
	cases := []geom{
		{1, 9, 30, 5, 5, 1, 1, 0, 0, 20},     // the dress model's first layer, rows longer than a panel
		{20, 14, 60, 5, 5, 1, 1, 0, 0, 40},   // its second (k = 500: two k blocks)
		{3, 12, 53, 3, 3, 1, 1, 1, 1, 16},    // the seed's, with padding
		{4, 11, 29, 3, 3, 2, 2, 1, 1, 7},     // stride 2: every panel takes the edge path
		{2, 7, 100, 4, 2, 1, 1, 0, 1, 5},     // asymmetric kernel, padding on one axis
		{1, 6, 7, 2, 2, 1, 1, 0, 0, 3},       // rows shorter than a panel
		{12, 6, 40, 4, 4, 1, 1, 0, 0, 9},     // a converted FC layer's 4×4 window
		{1, 5, 4100, 1, 3, 1, 1, 0, 1, 4},    // n past nc
		{3, 10, 50, 3, 3, 1, 2, 2, 0, 6},     // stride on one axis only
		{2, 9, 40, 3, 3, 1, 1, 1, 1, mc + 2}, // A past one mc block: B packed nc wide
		{3, 7, 3, 5, 5, 1, 1, 2, 2, 6},       // padding 2 on a map narrower than the kernel
		{3, 9, 7, 5, 5, 1, 1, 2, 2, 6},       // padding 2, a panel starting at the last output column: a segment wholly in padding
		{2, 28, 28, 3, 3, 1, 1, 1, 1, 32},    // a padded ("wide") verifier's first layer
	}
	for name, p := range packedVariants() {
		for _, s := range cases {
			for _, direct := range []bool{false, true} {
				oh := (s.h+2*s.ph-s.kh)/s.sh + 1
				ow := (s.w+2*s.pw-s.kw)/s.sw + 1
				var g Im2col
				require.NoError(t, g.Reset(s.c, s.h, s.w, s.kh, s.kw, s.sh, s.sw, s.ph, s.pw, oh, ow))
				g.SetDirect(direct)
				k := g.K()
				in := random(rng, s.c*s.h*s.w)
				a := random(rng, s.m*k)
				pa := PackA(s.m, k, a, k)
				for _, band := range [][2]int{{0, oh}, {1, min(oh, 3)}, {oh - 1, oh}} {
					row0, n := band[0], (band[1]-band[0])*ow
					if n <= 0 {
						continue
					}
					what := fmt.Sprintf("%s direct %v %+v rows %v", name, direct, s, band)
					ldc := n + 3
					c0 := random(rng, s.m*ldc)
					want := make([]float32, len(c0)) // GemmIm2col overwrites C
					Reference{}.Gemm(s.m, n, k, a, k, unfold(&g, in, row0, n), n, want, ldc)
					got := append([]float32(nil), c0...)
					p.GemmIm2col(pa, &g, in, row0, n, got, ldc)
					for i := range want {
						if i%ldc >= n {
							require.Equal(t, c0[i], got[i], "%s element %d between the rows", what, i)
							continue
						}
						require.InDelta(t, want[i], got[i], 1e-5*(1+math.Sqrt(float64(k))), "%s element %d", what, i)
					}
				}
			}
		}
	}
}

// The assembly gather and its Go twin copy the same values and nothing
// else.
func TestGatherTwinsAgree(t *testing.T) {
	if gatherAsm == nil {
		t.Skip("no assembly gather on this CPU")
	}
	rng := rand.New(rand.NewSource(12))
	in := random(rng, 5000)
	for _, s := range [][2]int{{1, 1}, {3, 1}, {1, 4}, {25, 7}, {7, 21}} {
		rows, panels := s[0], s[1]
		off := make([]int32, rows)
		for i := range off {
			off[i] = int32(rng.Intn(5000 - panels*nr - 10))
		}
		stride := rows*nr + 5
		want, got := make([]float32, panels*stride), make([]float32, panels*stride)
		for i := range want {
			want[i], got[i] = -1, -1
		}
		gather(want, in, 7, off, panels, stride, false)
		gather(got, in, 7, off, panels, stride, true)
		require.Equal(t, want, got, "rows %d panels %d", rows, panels)
		assert.Equal(t, in[7+off[0]:7+off[0]+nr], want[:nr])
		assert.Equal(t, float32(-1), want[rows*nr], "past the last row of a panel is untouched")
	}
}

func TestGemmIm2colPanicsOnBadArguments(t *testing.T) {
	var g Im2col
	require.NoError(t, g.Reset(1, 4, 4, 3, 3, 1, 1, 0, 0, 2, 2))
	pa := PackA(2, 9, make([]float32, 18), 9)
	assert.NotPanics(t, func() { Packed{}.GemmIm2col(pa, &g, make([]float32, 16), 0, 4, make([]float32, 8), 4) })
	assert.Panics(t, func() { Packed{}.GemmIm2col(pa, &g, make([]float32, 15), 0, 4, make([]float32, 8), 4) }, "short input")
	assert.Panics(t, func() { Packed{}.GemmIm2col(pa, &g, make([]float32, 16), 1, 4, make([]float32, 8), 4) }, "past the output")
	assert.Panics(t, func() { Packed{}.GemmIm2col(pa, &g, make([]float32, 16), 0, 4, make([]float32, 7), 4) }, "short C")
	assert.Panics(t, func() {
		Packed{}.GemmIm2col(PackA(2, 8, make([]float32, 16), 8), &g, make([]float32, 16), 0, 4, make([]float32, 8), 4)
	}, "k mismatch")
	assert.Error(t, g.Reset(1, 4, 4, 3, 3, 0, 1, 0, 0, 2, 2), "zero stride")
	assert.Error(t, g.Reset(1<<12, 1<<10, 1<<10, 1, 1, 1, 1, 0, 0, 1, 1), "too large for 32-bit offsets")
}

// In the wide layout (stride 1, no padding) C's columns run along whole
// input rows; the columns that are output pixels hold the same products as
// in the plain layout, and the filler between rows is ignored.
func TestGemmIm2colWideLayout(t *testing.T) {
	rng := rand.New(rand.NewSource(13))
	type geom struct{ c, h, w, kh, kw, m int }
	for name, p := range packedVariants() {
		for _, s := range []geom{{1, 9, 30, 5, 5, 20}, {20, 14, 60, 5, 5, 40}, {12, 6, 40, 4, 4, 9}, {2, 5, 7, 2, 2, 5}, {1, 4, 4100, 1, 3, mc + 1}} {
			for _, direct := range []bool{false, true} {
				oh, ow := s.h-s.kh+1, s.w-s.kw+1
				var g Im2col
				require.NoError(t, g.Reset(s.c, s.h, s.w, s.kh, s.kw, 1, 1, 0, 0, oh, ow))
				require.True(t, g.SetWide(true))
				g.SetDirect(direct)
				k := g.K()
				in, a := random(rng, s.c*s.h*s.w), random(rng, s.m*k)
				pa := PackA(s.m, k, a, k)
				for _, band := range [][2]int{{0, oh}, {1, min(oh, 3)}, {oh - 1, oh}} {
					rows := band[1] - band[0]
					if rows <= 0 {
						continue
					}
					n, nw := rows*ow, (rows-1)*s.w+ow
					want := make([]float32, s.m*n)
					Reference{}.Gemm(s.m, n, k, a, k, unfold(&g, in, band[0], n), n, want, n)
					got := random(rng, s.m*nw)
					p.GemmIm2col(pa, &g, in, band[0], nw, got, nw)
					for i := 0; i < s.m; i++ {
						for r := 0; r < rows; r++ {
							for x := 0; x < ow; x++ {
								if w, g := want[i*n+r*ow+x], got[i*nw+r*s.w+x]; math.Abs(float64(w-g)) > 1e-5*(1+math.Sqrt(float64(k))) {
									t.Fatalf("%s direct %v %+v rows %v: channel %d pixel (%d,%d): got %g, want %g", name, direct, s, band, i, r, x, g, w)
								}
							}
						}
					}
					if band[1] == oh {
						assert.Panics(t, func() { p.GemmIm2col(pa, &g, in, band[0], nw+1, make([]float32, s.m*(nw+1)), nw+1) }, "a column past the map's last pixel")
					}
				}
			}
		}
	}
	var g Im2col
	require.NoError(t, g.Reset(1, 6, 6, 3, 3, 1, 1, 1, 1, 6, 6))
	assert.False(t, g.SetWide(true), "padding: not wide")
	require.NoError(t, g.Reset(1, 6, 6, 3, 3, 2, 1, 0, 0, 2, 4))
	assert.False(t, g.SetWide(true), "vertical stride: not wide")
}

// Reading panels in place changes where B comes from, not the sums: the
// direct and the packed product are bit for bit the same, with each
// micro-kernel, wide or not, for full and edge tiles of A.
func TestGemmIm2colDirectIsPackedBitForBit(t *testing.T) {
	rng := rand.New(rand.NewSource(14))
	type geom struct{ c, h, w, kh, kw, ph, m int }
	for name, p := range packedVariants() {
		for _, s := range []geom{{20, 14, 60, 5, 5, 0, 42}, {3, 12, 53, 3, 3, 1, 16}, {12, 6, 40, 4, 4, 0, 9}, {1, 9, 300, 5, 5, 0, 20}} {
			for _, wide := range []bool{false, true} {
				oh, ow := s.h+2*s.ph-s.kh+1, s.w+2*s.ph-s.kw+1
				var g Im2col
				require.NoError(t, g.Reset(s.c, s.h, s.w, s.kh, s.kw, 1, 1, s.ph, s.ph, oh, ow))
				wide = g.SetWide(wide)
				k, n := g.K(), oh*g.rowStride()-(g.rowStride()-ow)
				in, a := random(rng, s.c*s.h*s.w), random(rng, s.m*k)
				pa := PackA(s.m, k, a, k)
				want, got := make([]float32, s.m*n), make([]float32, s.m*n)
				p.GemmIm2col(pa, &g, in, 0, n, want, n)
				require.True(t, g.SetDirect(true), "%+v", s)
				p.GemmIm2col(pa, &g, in, 0, n, got, n)
				require.Equal(t, want, got, "%s %+v wide %v", name, s, wide)
			}
		}
	}
}

// With the guard (small L1), planes a multiple of 4 KiB apart (give or
// take 256 bytes) stay packed; without it every plane goes direct.
func TestSetDirectAvoidsAliasedPlanes(t *testing.T) {
	defer func(g bool) { aliasGuard = g }(aliasGuard)
	var g Im2col
	for _, guard := range []bool{true, false} {
		aliasGuard = guard
		for _, s := range []struct {
			c, h, w int
			want    bool
		}{{32, 128, 256, false}, {32, 128, 250, true}, {40, 254, 510, true}, {1, 512, 1024, true}, {8, 32, 33, false}, {8, 32, 34, true}, {16, 510, 1022, false}} {
			require.NoError(t, g.Reset(s.c, s.h, s.w, 3, 3, 1, 1, 1, 1, s.h, s.w))
			assert.Equal(t, s.want || !guard, g.SetDirect(true), "%+v guard %v", s, guard)
			assert.False(t, g.SetDirect(false))
		}
	}
}

// CPUID's L1 data cache, where it reports one, has a size an L1 has.
func TestL1DataCacheSize(t *testing.T) {
	n := l1dBytes()
	if n == 0 {
		t.Skip("CPUID does not report the L1 data cache here")
	}
	assert.GreaterOrEqual(t, n, 8<<10)
	assert.LessOrEqual(t, n, 256<<10)
	assert.Zero(t, n%(4<<10), "%d bytes: not a whole number of 4 KiB", n)
	t.Logf("L1 data cache: %d KiB, alias guard %v", n>>10, aliasGuard)
}

// The direct micro-kernels in assembly and their Go twins agree, one
// panel wide and two (direct2), for a pair of row tiles and a last one
// alone, and the guard stops a read past the input.
func TestMicroDirectTwinsAgree(t *testing.T) {
	if len(asmKernels) == 0 {
		t.Skip("no assembly micro-kernel on this CPU")
	}
	rng := rand.New(rand.NewSource(15))
	in := random(rng, 4000)
	for _, k := range []int{1, 3, 4, 7, 25, 256} {
		off := make([]int32, k)
		for p := range off {
			off[p] = int32(p*13 + rng.Intn(5))
		}
		a := random(rng, 3*k*mr)
		for _, width := range []int{nr, 2 * nr} {
			for _, set := range []bool{false, true} {
				what := fmt.Sprintf("k %d width %d set %v", k, width, set)
				ldc := width + 5
				c0 := random(rng, 3*mr*ldc)
				want := append([]float32(nil), c0...)
				kernel := func(impl *microImpl) microDirectKernel {
					if width == nr {
						return impl.direct
					}
					return impl.direct2
				}
				kernel(goKernel)(k, a, 3, in[11:], off, want, ldc, set)
				results := asmResults(t, what, func(impl *microImpl) []float32 {
					got := append([]float32(nil), c0...)
					kernel(impl)(k, a, 3, in[11:], off, got, ldc, set)
					return got
				})
				for r, got := range results {
					for i := range want {
						if i%ldc >= width {
							require.Equal(t, c0[i], got[i], "%s %s element %d between the rows", asmKernels[r].name, what, i)
						}
						require.InDelta(t, want[i], got[i], 1e-5*(1+math.Sqrt(float64(k))), "%s %s element %d", asmKernels[r].name, what, i)
					}
				}
			}
		}
	}
	off := []int32{0, 3990}
	for _, impl := range asmKernels {
		assert.Panics(t, func() { impl.direct(2, random(rng, 2*mr), 1, in, off, make([]float32, mr*nr), nr, true) }, "%s: row 1 past the input", impl.name)
		assert.Panics(t, func() {
			impl.direct2(2, random(rng, 2*mr), 1, in[:3990+nr+10], off, make([]float32, mr*2*nr), 2*nr, true)
		}, "%s: 48 columns of row 1 past the input", impl.name)
	}
}

// InsideRun's ranges, worked out by hand: a run inside the row, cut at
// either end by the padding, past the row, and before it; then every
// small case, strided too, against the reads counted one by one.
func TestInsideRun(t *testing.T) {
	for _, c := range []struct{ start, stride, n, w, lo, hi int }{
		{0, 1, 5, 8, 0, 5},
		{-2, 1, 5, 8, 2, 5},
		{6, 1, 5, 8, 0, 2},
		{-2, 1, 12, 8, 2, 10},
		{9, 1, 5, 8, 0, 0},
		{-7, 1, 5, 8, 5, 5},
		{-1, 2, 5, 8, 1, 5}, // reads -1, 1, 3, 5, 7
		{-3, 2, 6, 8, 2, 6}, // reads -3, -1, 1, 3, 5, 7
		{1, 3, 5, 8, 0, 3},  // reads 1, 4, 7, 10, 13
		{-5, 3, 4, 2, 2, 3}, // reads -5, -2, 1, 4
		{-4, 3, 2, 8, 2, 2}, // reads -4, -1: none inside
	} {
		lo, hi := InsideRun(c.start, c.stride, c.n, c.w)
		require.Equal(t, [2]int{c.lo, c.hi}, [2]int{lo, hi}, "%+v", c)
	}
	for start := -9; start <= 9; start++ {
		for stride := 1; stride <= 4; stride++ {
			for n := 0; n <= 7; n++ {
				for w := 1; w <= 8; w++ {
					lo, hi := InsideRun(start, stride, n, w)
					require.True(t, 0 <= lo && lo <= hi && hi <= n, "start %d stride %d n %d w %d: [%d,%d)", start, stride, n, w, lo, hi)
					for i := range n {
						x := start + i*stride
						require.Equal(t, x >= 0 && x < w, i >= lo && i < hi, "start %d stride %d n %d w %d: read %d", start, stride, n, w, i)
					}
				}
			}
		}
	}
}
