//go:build amd64 && !purego

package kernels

import "golang.org/x/sys/cpu"

// biasReLUAVX2 is reluAsm in assembly (relu_amd64.s).
//
//go:noescape
func biasReLUAVX2(x *float32, blocks int, b float32)

// reluGradAVX2 is reluGradAsm in assembly (relu_amd64.s).
//
//go:noescape
func reluGradAVX2(din, in, dout *float32, blocks int)

func init() {
	if cpu.X86.HasAVX2 {
		reluAsm = biasReLUAVX2
		reluGradAsm = reluGradAVX2
	}
}
