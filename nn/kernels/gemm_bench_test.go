package kernels

import (
	"math/rand"
	"testing"
)

// benchShapes are GEMMs as the engine issues them (nn/layer_conv.go): m
// output channels, k = InC·KH·KW, n output pixels in one im2col band (the
// band is capped at 2^18 floats), ldc the output plane. The "seed" ones
// are the seed FCN on a 1024×512 RGB image (BenchmarkSeedFCN1024x512 in
// package nn), "dress" one member's first 5×5 conv on a 1024×512 grey
// scene; then the nominal shapes of issue 18 and a square product.
var benchShapes = []struct {
	name              string
	m, n, k, ldb, ldc int
}{
	{"seed_conv1_m16k27", 16, 9216, 27, 9216, 512 * 1024},
	{"seed_conv2_m32k144", 32, 1536, 144, 1536, 256 * 512},
	{"seed_conv3_m64k288", 64, 768, 288, 768, 128 * 256},
	{"seed_conv4_m64k576", 64, 384, 576, 384, 64 * 128},
	{"seed_conv5_m128k576", 128, 448, 576, 448, 32 * 64},
	{"seed_fc1_m256k1024", 256, 248, 1024, 248, 13 * 31},
	{"seed_fc2_m1k256", 1, 403, 256, 403, 403},
	{"dress_conv1_m20k25", 20, 10200, 25, 10200, 508 * 1020},
	{"m16k27n65536", 16, 65536, 27, 65536, 65536},
	{"m32k144n16384", 32, 16384, 144, 16384, 16384},
	{"m128k576n1024", 128, 1024, 576, 1024, 1024},
	{"m256k1024n403", 256, 403, 1024, 403, 403},
	{"m1k256n403", 1, 403, 256, 403, 403},
	{"m1024k1024n1024", 1024, 1024, 1024, 1024, 1024},
}

// BenchmarkGemm runs every shape on each backend side by side and reports
// GFLOP/s: go test -run XXX -bench Gemm -count 5 ./nn/kernels
func BenchmarkGemm(b *testing.B) {
	backends := []struct {
		name string
		k    Kernels
	}{{"packed", Packed{}}, {"packedgo", Packed{pureGo: true}}, {"gonum", Gonum{}}, {"reference", Reference{}}}
	for _, s := range benchShapes {
		rng := rand.New(rand.NewSource(1))
		a, bm, c := random(rng, s.m*s.k), random(rng, (s.k-1)*s.ldb+s.n), make([]float32, (s.m-1)*s.ldc+s.n)
		for _, be := range backends {
			b.Run(s.name+"/"+be.name, func(b *testing.B) {
				b.ReportAllocs()
				be.k.Gemm(s.m, s.n, s.k, a, s.k, bm, s.ldb, c, s.ldc) // warm the pool
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					be.k.Gemm(s.m, s.n, s.k, a, s.k, bm, s.ldb, c, s.ldc)
				}
				b.ReportMetric(2*float64(s.m)*float64(s.n)*float64(s.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}
