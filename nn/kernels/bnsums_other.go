//go:build !amd64 || purego

package kernels

// useBNSumsAsm is false: there is no assembly here.
const useBNSumsAsm = false

// bnGradSums4AVX2 is never called where useBNSumsAsm is false.
func bnGradSums4AVX2(dy, x *float32, stride, blocks int, mean, inv, dbeta, dgamma *[4]float64) {
	panic("kernels: no assembly batch norm sums on this architecture")
}
