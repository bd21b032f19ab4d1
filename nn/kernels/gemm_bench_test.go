package kernels

import (
	"math/rand"
	"testing"
)

// benchShapes are GEMMs as the engine issues them on one thread
// (nn/layer_conv.go, plan and band): m output channels, k = InC·KH·KW, n
// output pixels in one band (two rows here: a band's im2col columns and
// pooled output share 256 KiB), C the band's own buffer, or the output
// plane (ldc 403) for the unpooled first FC layer. The "seed" ones are the
// seed FCN on a 1024×512 RGB image (BenchmarkSeedFCN1024x512 in package
// nn), "dress" one ensemble member's first 5×5 conv on a 1024×512 grey
// scene; then the nominal shapes of issue 18 and a square product.
var benchShapes = []struct {
	name              string
	m, n, k, ldb, ldc int
}{
	{"seed_conv1_m16k27", 16, 2048, 27, 2048, 2048},
	{"seed_conv2_m32k144", 32, 1024, 144, 1024, 1024},
	{"seed_conv3_m64k288", 64, 512, 288, 512, 512},
	{"seed_conv4_m64k576", 64, 256, 576, 256, 256},
	{"seed_conv5_m128k576", 128, 128, 576, 128, 128},
	{"seed_fc1_m256k1024", 256, 62, 1024, 62, 403},
	{"seed_fc2_m1k256", 1, 403, 256, 403, 403},
	{"dress_conv1_m20k25", 20, 2040, 25, 2040, 2040},
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
	type backend struct {
		name string
		k    Kernels
	}
	backends := []backend{{"packed", Packed{}}, {"prepacked", prepacked{}}}
	for _, impl := range asmKernels[min(1, len(asmKernels)):] { // the slower assembly ones
		backends = append(backends, backend{"packed" + impl.name, Packed{kernel: impl}})
	}
	backends = append(backends, backend{"packedgo", Packed{kernel: goKernel}}, backend{"gonum", Gonum{}}, backend{"reference", Reference{}})
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

// prepacked is Packed with A packed by PackA once per shape, as an engine
// would pack its weights once, not on every call.
type prepacked struct{}

func (p prepacked) Gemm(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	pa := prepackedCache[&a[0]]
	if pa == nil {
		pa = PackA(m, k, a, lda)
		prepackedCache[&a[0]] = pa
	}
	Packed{}.GemmPacked(pa, n, b, ldb, c, ldc)
}

func (prepacked) GemmTransB(m, n, k int, a []float32, lda int, bt []float32, ldbt int, c []float32, ldc int) {
	Packed{}.GemmTransB(m, n, k, a, lda, bt, ldbt, c, ldc)
}

var prepackedCache = map[*float32]*PackedA{}

// BenchmarkGemmTransB times the trainer's weight gradients of a bn3s
// verifier (backprop/layers.go, conv.backward): dW (m×k) += dY (m×n
// pixels) · colᵀ, col being a sample's k×n unfolded input, one of 64
// in turn as in a batch, so each comes from beyond L2 as in training.
// "transB" packs col as Bᵀ; "copy" transposes it first and calls Gemm,
// as the trainer did before: go test -run XXX -bench GemmTransB -count 5 ./nn/kernels
func BenchmarkGemmTransB(b *testing.B) {
	shapes := []struct {
		name    string
		m, k, n int // output channels, InC·3·3, output pixels
	}{
		{"c1_m16k9n676", 16, 9, 676},
		{"c2_m32k144n576", 32, 144, 576},
		{"c3_m32k288n100", 32, 288, 100},
	}
	const samples = 64
	rng := rand.New(rand.NewSource(1))
	for _, s := range shapes {
		dy, dw := random(rng, s.m*s.n), make([]float32, s.m*s.k)
		cols := make([][]float32, samples)
		for i := range cols {
			cols[i] = random(rng, s.k*s.n)
		}
		colT := make([]float32, s.n*s.k)
		b.Run(s.name+"/transB", func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				Packed{}.GemmTransB(s.m, s.k, s.n, dy, s.n, cols[i%samples], s.n, dw, s.k)
			}
		})
		b.Run(s.name+"/copy", func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				col := cols[i%samples]
				for r := 0; r < s.k; r++ {
					for c, v := range col[r*s.n : (r+1)*s.n] {
						colT[c*s.k+r] = v
					}
				}
				Packed{}.Gemm(s.m, s.k, s.n, dy, s.n, colT, s.k, dw, s.k)
			}
		})
	}
}
