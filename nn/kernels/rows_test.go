package kernels

import (
	"fmt"
	"math"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
)

// rowsValue draws a normal, or now and then a NaN, ±0 or ±Inf.
func rowsValue(rng *rand.Rand) float32 {
	special := []float32{float32(math.NaN()), math.Float32frombits(0x7fc00123), 0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1)), 1e-39}
	if rng.Intn(6) == 0 {
		return special[rng.Intn(len(special))]
	}
	return float32(rng.NormFloat64())
}

// AddRows and CopyRows give their Go twins' bits for every width (the
// assembly's 8-, 4- and 1-value steps), with strides wider than the rows,
// and leave every value outside the block alone. A NaN need only be a
// NaN: which operand's payload a sum keeps is the hardware's.
func TestRowsMatchTwins(t *testing.T) {
	if addRowsAsm == nil || copyRowsAsm == nil {
		t.Skip("no assembly row kernels on this CPU")
	}
	rng := rand.New(rand.NewSource(22))
	kernels := []struct {
		name      string
		asm, twin func(dst []float32, dstStride int, src []float32, srcStride, rows, width int)
	}{{"AddRows", AddRows, addRowsGo}, {"CopyRows", CopyRows, copyRowsGo}}
	for _, k := range kernels {
		for _, width := range []int{1, 3, 4, 5, 7, 8, 9, 12, 14, 16, 31, 32, 34} {
			for _, rows := range []int{1, 2, 5} {
				dstStride, srcStride := width+rng.Intn(4), width+rng.Intn(3)
				dst := make([]float32, rows*dstStride+3)
				src := make([]float32, rows*srcStride)
				for i := range dst {
					dst[i] = rowsValue(rng)
				}
				for i := range src {
					src[i] = rowsValue(rng)
				}
				want := append([]float32(nil), dst...)
				k.twin(want, dstStride, src, srcStride, rows, width)
				k.asm(dst, dstStride, src, srcStride, rows, width)
				sameBits(t, want, dst, fmt.Sprintf("%s %d×%d strides %d,%d", k.name, rows, width, dstStride, srcStride))
			}
		}
	}
}

// The definitions, on values worked out by hand, on whatever backend this
// machine picks.
func TestRowsByHand(t *testing.T) {
	dst := []float32{1, 2, 3, 4, 5, 6, 7}
	src := []float32{10, 20, 99, 30, 40}
	AddRows(dst, 4, src, 3, 2, 2)
	assert.Equal(t, []float32{11, 22, 3, 4, 35, 46, 7}, dst)
	CopyRows(dst, 4, src, 3, 2, 2)
	assert.Equal(t, []float32{10, 20, 3, 4, 30, 40, 7}, dst)
	AddRows(dst, 4, src, 3, 0, 2) // an empty block does nothing, even on short slices
	CopyRows(nil, 4, nil, 3, 2, 0)
	assert.Equal(t, []float32{10, 20, 3, 4, 30, 40, 7}, dst)
	assert.Panics(t, func() { AddRows(dst, 4, src, 3, 3, 2) }, "a block past the end of dst")
	assert.Panics(t, func() { CopyRows(dst, 4, src[:4], 3, 2, 2) }, "a block past the end of src")
}
