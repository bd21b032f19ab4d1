//go:build amd64 && !purego

package kernels

import "golang.org/x/sys/cpu"

// useBNSumsAsm is whether BatchNormGradSums4 runs its assembly. The
// assembly is called directly, not through a function variable, so that
// the caller's sums stay on its stack.
var useBNSumsAsm = cpu.X86.HasAVX2

// bnGradSums4AVX2 is BatchNormGradSums4's assembly (bnsums_amd64.s), over
// blocks·4 pixels.
//
//go:noescape
func bnGradSums4AVX2(dy, x *float32, stride, blocks int, mean, inv, dbeta, dgamma *[4]float64)
