//go:build !amd64 || purego

package kernels

// l1dBytes is the L1 data cache's size where CPUID is at hand: here
// unknown, 0.
func l1dBytes() int { return 0 }
