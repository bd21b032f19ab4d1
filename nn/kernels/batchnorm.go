package kernels

import "fmt"

// bnGradAsm is the assembly BatchNormGrad loop for this CPU, or nil
// (other architectures, the purego tag, CPUs without AVX2); set once by
// init. It handles blocks·4 values. The constants go by value: a pointer
// to them would escape through the function variable, an allocation
// per call.
var bnGradAsm func(dx, x, dy *float32, blocks int, mean, inv, count, dbeta, dgamma, k float64)

// BatchNormGrad writes a batch norm's input gradient for one channel of
// one sample (training): dx[i] = k·(count·dy[i] − dbeta − x̂·dgamma), with
// x̂ = (x[i] − mean)·inv, each operation in float64 and rounded in that
// order, then rounded to float32. Every backend gives the Go loop's bits
// (the assembly does four values at once, the same operations each).
// x and dx must hold len(dy) values.
func BatchNormGrad(dx, x, dy []float32, mean, inv, count, dbeta, dgamma, k float64) {
	if len(x) < len(dy) || len(dx) < len(dy) {
		panic(fmt.Sprintf("kernels: BatchNormGrad: len(x)=%d len(dx)=%d < len(dy)=%d", len(x), len(dx), len(dy)))
	}
	n := 0
	if bnGradAsm != nil {
		if n = len(dy) &^ 3; n > 0 {
			bnGradAsm(&dx[0], &x[0], &dy[0], n/4, mean, inv, count, dbeta, dgamma, k)
		}
	}
	batchNormGradGo(dx[n:], x[n:], dy[n:], mean, inv, count, dbeta, dgamma, k)
}

// batchNormGradGo is BatchNormGrad's pure-Go twin. The conversions to
// float64 of products keep the compiler from fusing a multiply and an
// add where it may (arm64, amd64 v3), so every architecture rounds
// where the assembly does.
func batchNormGradGo(dx, x, dy []float32, mean, inv, count, dbeta, dgamma, k float64) {
	x, dx = x[:len(dy)], dx[:len(dy)]
	for i, g := range dy {
		xh := float64((float64(x[i]) - mean) * inv)
		dx[i] = float32(k * (float64(count*float64(g)) - dbeta - float64(xh*dgamma)))
	}
}

// bnApplyAsm is the assembly BatchNormApply loop for this CPU, or nil;
// set once by init. It handles blocks·4 values.
var bnApplyAsm func(dst, src *float32, blocks int, scale, shift float64)

// BatchNormApply writes a batch norm's output for one channel of one
// sample (training): dst[i] = float32(src[i]·scale + shift), the product
// and the sum each in float64 and rounded, then rounded to float32.
// Every backend gives the Go loop's bits (a NaN comes out a NaN, its
// payload the hardware's). dst must hold len(src) values.
func BatchNormApply(dst, src []float32, scale, shift float64) {
	if len(dst) < len(src) {
		panic(fmt.Sprintf("kernels: BatchNormApply: len(dst)=%d < len(src)=%d", len(dst), len(src)))
	}
	n := 0
	if bnApplyAsm != nil {
		if n = len(src) &^ 3; n > 0 {
			bnApplyAsm(&dst[0], &src[0], n/4, scale, shift)
		}
	}
	batchNormApplyGo(dst[n:], src[n:], scale, shift)
}

// batchNormApplyGo is BatchNormApply's pure-Go twin; the conversion of
// the product keeps it from being fused with the sum.
func batchNormApplyGo(dst, src []float32, scale, shift float64) {
	dst = dst[:len(src)]
	for i, x := range src {
		dst[i] = float32(float64(float64(x)*scale) + shift)
	}
}
