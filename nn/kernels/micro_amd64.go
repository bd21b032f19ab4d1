//go:build amd64 && !purego

package kernels

import "golang.org/x/sys/cpu"

// micro4x24AVX2FMA is the assembly micro-kernel (micro_amd64.s): the
// contract of microKernel, on pointers, with strides in elements.
//
//go:noescape
func micro4x24AVX2FMA(k int, a *float32, tiles int, b *float32, ldb int, c *float32, ldc int)

// asmBuilt tells whether this build has an assembly micro-kernel.
const asmBuilt = true

func init() {
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		microAsm = microAVX2FMA
		microAsmName = "avx2-fma"
	}
}

// microAVX2FMA checks that the slices cover the tiles, then hands their
// pointers to the assembly.
func microAVX2FMA(k int, a []float32, tiles int, b []float32, ldb int, c []float32, ldc int) {
	checkMicro(k, a, tiles, b, ldb, c, ldc)
	micro4x24AVX2FMA(k, &a[0], tiles, &b[0], ldb, &c[0], ldc)
}
