//go:build amd64 && !purego

package kernels

import "golang.org/x/sys/cpu"

// addRowsAVX is addRowsAsm in assembly (rows_amd64.s).
//
//go:noescape
func addRowsAVX(dst *float32, dstStride int, src *float32, srcStride, rows, width int)

// copyRowsAVX is copyRowsAsm in assembly (rows_amd64.s).
//
//go:noescape
func copyRowsAVX(dst *float32, dstStride int, src *float32, srcStride, rows, width int)

func init() {
	if cpu.X86.HasAVX {
		addRowsAsm = addRowsAVX
		copyRowsAsm = copyRowsAVX
	}
}
