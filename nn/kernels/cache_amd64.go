//go:build amd64 && !purego

package kernels

// cpuid runs the CPUID instruction with leaf eax and subleaf ecx
// (cache_amd64.s).
func cpuid(eax, ecx uint32) (a, b, c, d uint32)

// l1dBytes is the size of one core's L1 data cache as CPUID gives it, or
// 0 when it does not say.
func l1dBytes() int {
	// Intel: leaf 4 describes one cache per subleaf, until type 0.
	if maxLeaf, _, _, _ := cpuid(0, 0); maxLeaf >= 4 {
		for i := uint32(0); i < 16; i++ {
			a, b, c, _ := cpuid(4, i)
			kind, level := a&0x1f, a>>5&7
			if kind == 0 {
				break
			}
			if kind == 1 && level == 1 { // data cache, level 1
				ways, partitions, line := int(b>>22)+1, int(b>>12&0x3ff)+1, int(b&0xfff)+1
				return ways * partitions * line * (int(c) + 1)
			}
		}
	}
	// AMD: leaf 0x80000005 gives the L1 data cache in KiB in ECX[31:24]
	// (on Intel it is reserved and reads 0).
	if maxExt, _, _, _ := cpuid(0x80000000, 0); maxExt >= 0x80000005 {
		_, _, c, _ := cpuid(0x80000005, 0)
		return int(c>>24) << 10
	}
	return 0
}
