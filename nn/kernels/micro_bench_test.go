package kernels

import (
	"math/rand"
	"testing"
)

// BenchmarkMicro runs each micro-kernel alone on data that stays in L1
// (a 256-deep panel of B and 4 row tiles of A, 42 KiB in all): the ceiling
// the packed GEMM's blocking works towards.
func BenchmarkMicro(b *testing.B) {
	const k, tiles = 256, 4
	rng := rand.New(rand.NewSource(1))
	a, bp, c := random(rng, tiles*k*mr), random(rng, k*nr), make([]float32, tiles*mr*nr)
	for _, impl := range append([]*microImpl{goKernel}, asmKernels...) {
		b.Run(impl.name, func(b *testing.B) {
			for b.Loop() {
				impl.micro(k, a, tiles, bp, nr, c, nr, true)
			}
			b.ReportMetric(2*float64(k*tiles*mr*nr)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
