package kernels

// microAsm is the assembly micro-kernel for this CPU, or nil where there
// is none (other architectures, the purego tag, CPUs without AVX2+FMA);
// set once by init.
var (
	microAsm     microKernel
	microAsmName string
	// packB4Asm, set with microAsm, copies panels full panels of four
	// rows of b (row stride ldb) into dst, panel q at q·stride: the inner
	// loop of packB, which in Go costs a memmove call per 96 bytes.
	packB4Asm func(dst, b []float32, ldb, panels, stride int)
	// gatherAsm, set with microAsm, is gather's loop on pointers, its
	// bounds checked by gather.
	gatherAsm func(dst, in *float32, off *int32, rows, panels, stride int)
	// microDirectAsm, set with microAsm, is the direct micro-kernel.
	microDirectAsm microDirectKernel
)
