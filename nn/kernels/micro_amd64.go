//go:build amd64 && !purego

package kernels

import (
	"fmt"

	"golang.org/x/sys/cpu"
)

// micro4x24AVX2FMA is the assembly micro-kernel (micro_amd64.s): the
// contract of microKernel, on pointers, with strides in elements.
//
//go:noescape
func micro4x24AVX2FMA(k int, a *float32, tiles int, b *float32, ldb int, c *float32, ldc int, set bool)

// asmBuilt tells whether this build has an assembly micro-kernel.
const asmBuilt = true

func init() {
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		asmKernels = []*microImpl{{"avx2-fma", microAVX2FMA, microDirectAVX2FMA, twoPackedPanels(microAVX2FMA), twoDirectPanels(microDirectAVX2FMA)}}
		packB4Asm = packB4AVXChecked
		packBT8Asm = packBT8AVXChecked
		gatherAsm = gatherAVX
		if cpu.X86.HasAVX512F {
			// 1.45–1.67× the AVX2 kernel's rate at the engine's shapes
			// (BenchmarkGemm; its 4×48 tiles do most of that), with the
			// same bits out.
			asmKernels = append([]*microImpl{{"avx512", microAVX512, microDirectAVX512, micro2AVX512, microDirect2AVX512}}, asmKernels...)
		}
		return
	}
	// Without AVX2, gonum's SSE loops beat the pure-Go micro-kernel
	// (about 5 against 2 GFLOP/s in BenchmarkGemm on this project's machine).
	Default = Gonum{}
}

// microAVX2FMA checks that the slices cover the tiles, then hands their
// pointers to the assembly.
func microAVX2FMA(k int, a []float32, tiles int, b []float32, ldb int, c []float32, ldc int, set bool) {
	checkMicro(k, a, tiles, b, ldb, c, ldc)
	micro4x24AVX2FMA(k, &a[0], tiles, &b[0], ldb, &c[0], ldc, set)
}

// packB4AVX is packB4Asm in assembly (micro_amd64.s).
//
//go:noescape
func packB4AVX(dst, b *float32, ldb, panels, stride int)

// packB4AVXChecked checks that the slices hold every value copied, then
// hands their pointers to the assembly.
func packB4AVXChecked(dst, b []float32, ldb, panels, stride int) {
	if panels < 1 || ldb < panels*nr || stride < 4*nr || len(b) < 3*ldb+panels*nr || len(dst) < (panels-1)*stride+4*nr {
		panic(fmt.Sprintf("kernels: packB4 called with ldb=%d panels=%d stride=%d len(b)=%d len(dst)=%d", ldb, panels, stride, len(b), len(dst)))
	}
	packB4AVX(&dst[0], &b[0], ldb, panels, stride)
}

// packBT8AVX is packBT8Asm in assembly (micro_amd64.s).
//
//go:noescape
func packBT8AVX(dst, bt *float32, ldbt, blocks int)

// packBT8AVXChecked checks that the slices hold every value moved, then
// hands their pointers to the assembly.
func packBT8AVXChecked(dst, bt []float32, ldbt, blocks int) {
	if blocks < 1 || ldbt < 8*blocks || len(bt) < 7*ldbt+8*blocks || len(dst) < (8*blocks-1)*nr+8 {
		panic(fmt.Sprintf("kernels: packBT8 called with ldbt=%d blocks=%d len(bt)=%d len(dst)=%d", ldbt, blocks, len(bt), len(dst)))
	}
	packBT8AVX(&dst[0], &bt[0], ldbt, blocks)
}

// gatherAVX is gatherAsm in assembly (micro_amd64.s).
//
//go:noescape
func gatherAVX(dst, in *float32, off *int32, rows, panels, stride int)

// micro4x24DirectAVX2FMA is the direct micro-kernel (micro_amd64.s):
// microAVX2FMA with row p of B at b + off[p].
//
//go:noescape
func micro4x24DirectAVX2FMA(k int, a *float32, tiles int, b *float32, off *int32, c *float32, ldc int, set bool)

// microDirectAVX2FMA checks that the slices cover every value the tiles
// read and write, then hands their pointers to the assembly.
func microDirectAVX2FMA(k int, a []float32, tiles int, in []float32, off []int32, c []float32, ldc int, set bool) {
	checkMicroDirect(k, a, tiles, in, off, c, ldc)
	micro4x24DirectAVX2FMA(k, &a[0], tiles, &in[0], &off[0], &c[0], ldc, set)
}

// micro4x24AVX512 is micro4x24AVX2FMA in AVX-512 (micro_amd64.s), with
// bit-identical results.
//
//go:noescape
func micro4x24AVX512(k int, a *float32, tiles int, b *float32, ldb int, c *float32, ldc int, set bool)

// microAVX512 is microAVX2FMA for the AVX-512 kernel.
func microAVX512(k int, a []float32, tiles int, b []float32, ldb int, c []float32, ldc int, set bool) {
	checkMicro(k, a, tiles, b, ldb, c, ldc)
	micro4x24AVX512(k, &a[0], tiles, &b[0], ldb, &c[0], ldc, set)
}

// micro4x24DirectAVX512 is micro4x24DirectAVX2FMA in AVX-512.
//
//go:noescape
func micro4x24DirectAVX512(k int, a *float32, tiles int, b *float32, off *int32, c *float32, ldc int, set bool)

// microDirectAVX512 is microDirectAVX2FMA for the AVX-512 kernel.
func microDirectAVX512(k int, a []float32, tiles int, in []float32, off []int32, c []float32, ldc int, set bool) {
	checkMicroDirect(k, a, tiles, in, off, c, ldc)
	micro4x24DirectAVX512(k, &a[0], tiles, &in[0], &off[0], &c[0], ldc, set)
}

// micro4x48DirectAVX512 is micro4x24DirectAVX512 over two panels side by
// side: row p of B is the 48 floats at b + off[p].
//
//go:noescape
func micro4x48DirectAVX512(k int, a *float32, tiles int, b *float32, off *int32, c *float32, ldc int, set bool)

// microDirect2AVX512 checks that the slices cover every value the tiles
// read and write, then hands their pointers to the assembly.
func microDirect2AVX512(k int, a []float32, tiles int, in []float32, off []int32, c []float32, ldc int, set bool) {
	checkMicroDirectPanels(k, a, tiles, in, off, c, ldc, 2)
	micro4x48DirectAVX512(k, &a[0], tiles, &in[0], &off[0], &c[0], ldc, set)
}

// micro4x48AVX512 is micro4x24AVX512 over two packed panels side by side,
// the second k rows of ldb after the first.
//
//go:noescape
func micro4x48AVX512(k int, a *float32, tiles int, b *float32, ldb int, c *float32, ldc int, set bool)

// micro2AVX512 checks that the slices cover both panels and every tile,
// then hands their pointers to the assembly.
func micro2AVX512(k int, a []float32, tiles int, b []float32, ldb int, c []float32, ldc int, set bool) {
	checkMicroPanels(k, a, tiles, b, ldb, c, ldc, 2)
	micro4x48AVX512(k, &a[0], tiles, &b[0], ldb, &c[0], ldc, set)
}
