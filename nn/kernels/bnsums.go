package kernels

import "fmt"

// BatchNormGradSums4 adds one sample's sums for four channels of a batch
// norm's backward pass (training): for k = 0 … 3, over the n values of
// channel k's planes dy[k·stride:] and x[k·stride:], in pixel order,
//
//	dbeta[k]  += dy
//	dgamma[k] += dy·(x − mean[k])·inv[k]
//
// each operation in float64 and rounded in that order. Every backend
// gives the Go loop's bits: the assembly holds the four channels in the
// lanes of one register, so each is still one chain of additions in
// pixel order. It panics if a plane is short.
func BatchNormGradSums4(dy, x []float32, stride, n int, mean, inv, dbeta, dgamma *[4]float64) {
	if n <= 0 {
		return
	}
	if stride < n || len(dy) < 3*stride+n || len(x) < 3*stride+n {
		panic(fmt.Sprintf("kernels: BatchNormGradSums4 of 4×%d values at stride %d: len(dy)=%d len(x)=%d", n, stride, len(dy), len(x)))
	}
	done := 0
	if useBNSumsAsm {
		if done = n &^ 3; done > 0 {
			bnGradSums4AVX2(&dy[0], &x[0], stride, done/4, mean, inv, dbeta, dgamma)
		}
	}
	bnGradSums4Go(dy[done:], x[done:], stride, n-done, mean, inv, dbeta, dgamma)
}

// bnGradSums4Go is BatchNormGradSums4's pure-Go twin, on checked slices:
// the four chains side by side. The conversions of the products keep
// the compiler from fusing them with the sums where it may.
func bnGradSums4Go(dy, x []float32, stride, n int, mean, inv, dbeta, dgamma *[4]float64) {
	g0, x0 := dy[:n], x[:n]
	g1, x1 := dy[stride:][:n], x[stride:][:n]
	g2, x2 := dy[2*stride:][:n], x[2*stride:][:n]
	g3, x3 := dy[3*stride:][:n], x[3*stride:][:n]
	m0, m1, m2, m3 := mean[0], mean[1], mean[2], mean[3]
	i0, i1, i2, i3 := inv[0], inv[1], inv[2], inv[3]
	b0, b1, b2, b3 := dbeta[0], dbeta[1], dbeta[2], dbeta[3]
	d0, d1, d2, d3 := dgamma[0], dgamma[1], dgamma[2], dgamma[3]
	for i, g := range g0 {
		b0 += float64(g)
		d0 += float64(float64(g) * (float64(x0[i]) - m0) * i0)
		b1 += float64(g1[i])
		d1 += float64(float64(g1[i]) * (float64(x1[i]) - m1) * i1)
		b2 += float64(g2[i])
		d2 += float64(float64(g2[i]) * (float64(x2[i]) - m2) * i2)
		b3 += float64(g3[i])
		d3 += float64(float64(g3[i]) * (float64(x3[i]) - m3) * i3)
	}
	dbeta[0], dbeta[1], dbeta[2], dbeta[3] = b0, b1, b2, b3
	dgamma[0], dgamma[1], dgamma[2], dgamma[3] = d0, d1, d2, d3
}
