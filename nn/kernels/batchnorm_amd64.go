//go:build amd64 && !purego

package kernels

import "golang.org/x/sys/cpu"

// bnGradAVX2 is bnGradAsm in assembly (batchnorm_amd64.s).
//
//go:noescape
func bnGradAVX2(dx, x, dy *float32, blocks int, mean, inv, count, dbeta, dgamma, k float64)

// bnApplyAVX is bnApplyAsm in assembly (batchnorm_amd64.s).
//
//go:noescape
func bnApplyAVX(dst, src *float32, blocks int, scale, shift float64)

func init() {
	if cpu.X86.HasAVX2 {
		bnGradAsm = bnGradAVX2
	}
	if cpu.X86.HasAVX {
		bnApplyAsm = bnApplyAVX
	}
}
