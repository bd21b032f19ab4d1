package kernels

// microAsm is the assembly micro-kernel for this CPU, or nil where there
// is none (other architectures, the purego tag, CPUs without AVX2+FMA);
// set once by init.
var (
	microAsm     microKernel
	microAsmName string
)
