package kernels

import (
	"fmt"
	"strings"
)

// microImpl is one micro-kernel with its direct twin, and both over two
// panels side by side.
type microImpl struct {
	name   string
	micro  microKernel
	direct microDirectKernel
	// micro2 and direct2 are micro and direct over two panels side by
	// side (2·nr columns of C; for micro2 the second panel of B k rows of
	// ldb after the first, for direct2 rows of B 2·nr long): the AVX-512
	// kernel fills its registers better that wide, the others run on one
	// panel after the other.
	micro2  microKernel
	direct2 microDirectKernel
}

// goKernel is the pure-Go micro-kernel, the twin every assembly one is
// tested against.
var goKernel = &microImpl{"go", microGo, microDirectGo, twoPackedPanels(microGo), twoDirectPanels(microDirectGo)}

// twoPackedPanels is micro2 for a kernel without a wider form: micro on
// each of the two panels in turn.
func twoPackedPanels(micro microKernel) microKernel {
	return func(k int, a []float32, tiles int, b []float32, ldb int, c []float32, ldc int, set bool) {
		micro(k, a, tiles, b, ldb, c, ldc, set)
		micro(k, a, tiles, b[k*ldb:], ldb, c[nr:], ldc, set)
	}
}

// twoDirectPanels is direct2 for a kernel without a wider form: direct on
// each of the two panels in turn.
func twoDirectPanels(direct microDirectKernel) microDirectKernel {
	return func(k int, a []float32, tiles int, in []float32, off []int32, c []float32, ldc int, set bool) {
		direct(k, a, tiles, in, off, c, ldc, set)
		direct(k, a, tiles, in[nr:], off, c[nr:], ldc, set)
	}
}

// asmKernels are the assembly micro-kernels this CPU can run, fastest
// first; empty where there are none (other architectures, the purego tag,
// CPUs without AVX2+FMA). Set once by init.
var asmKernels []*microImpl

var (
	// packB4Asm, set with the AVX2 kernel, copies panels full panels of
	// four rows of b (row stride ldb) into dst, panel q at q·stride: the
	// inner loop of packB, which in Go costs a memmove call per 96 bytes.
	packB4Asm func(dst, b []float32, ldb, panels, stride int)
	// packBT8Asm, set with the AVX2 kernel, writes eight columns of a
	// panel from eight rows of Bᵀ (bt, ldbt apart), blocks·8 rows of the
	// panel, nr apart in dst: packBT's inner 8×8 blocks in registers.
	packBT8Asm func(dst, bt []float32, ldbt, blocks int)
	// gatherAsm, set with the AVX2 kernel, is gather's loop on pointers,
	// its bounds checked by gather.
	gatherAsm func(dst, in *float32, off *int32, rows, panels, stride int)
)

// MicroKernels names the micro-kernels Packed can run on this CPU, fastest
// first; the last is always "go", the pure-Go twin.
func MicroKernels() []string {
	names := make([]string, 0, len(asmKernels)+1)
	for _, k := range asmKernels {
		names = append(names, k.name)
	}
	return append(names, goKernel.name)
}

// PackedWith is Packed forced to the micro-kernel called name (one of
// MicroKernels), for comparing them side by side in one process.
func PackedWith(name string) (Packed, error) {
	if name == goKernel.name {
		return Packed{kernel: goKernel}, nil
	}
	for _, k := range asmKernels {
		if k.name == name {
			return Packed{kernel: k}, nil
		}
	}
	return Packed{}, fmt.Errorf("kernels: no micro-kernel %q on this CPU (it has %s)", name, strings.Join(MicroKernels(), ", "))
}
