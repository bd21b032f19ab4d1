package kernels

import (
	"fmt"
	"math/rand"
	"testing"
)

// BenchmarkMicro runs each micro-kernel alone on data that stays in L1
// (a 256-deep panel of B, or two side by side, and 4 row tiles of A: 42 or
// 66 KiB in all): the ceiling the packed GEMM's blocking works towards.
func BenchmarkMicro(b *testing.B) {
	const k, tiles = 256, 4
	rng := rand.New(rand.NewSource(1))
	a, bp, c := random(rng, tiles*k*mr), random(rng, 2*k*nr), make([]float32, tiles*mr*2*nr)
	for _, impl := range append([]*microImpl{goKernel}, asmKernels...) {
		for i, kernel := range []microKernel{impl.micro, impl.micro2} {
			panels := i + 1
			b.Run(fmt.Sprintf("%s/panels=%d", impl.name, panels), func(b *testing.B) {
				for b.Loop() {
					kernel(k, a, tiles, bp, nr, c, panels*nr, true)
				}
				b.ReportMetric(2*float64(k*tiles*mr*panels*nr)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}
