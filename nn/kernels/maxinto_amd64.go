//go:build amd64 && !purego

package kernels

import "golang.org/x/sys/cpu"

// maxIntoAVX is maxIntoAsm in assembly (maxinto_amd64.s).
//
//go:noescape
func maxIntoAVX(dst, a, b *float32, blocks int)

func init() {
	if cpu.X86.HasAVX {
		maxIntoAsm = maxIntoAVX
	}
}
