//go:build amd64 && !purego

package kernels

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
)

// maxPool2x2AVX2Flag runs the assembly alone over len(o)/8 blocks and
// returns its NaN flag.
func maxPool2x2AVX2Flag(o, a, c []float32) bool {
	return maxPool2x2AVX2(&o[0], &a[0], &c[0], len(o)/8, 0, 0)
}

// The assembly flags a NaN in either row, in any lane of any block, and
// only then: the flag is what sends a row to the Go loop.
func TestMaxPool2x2AVX2FlagsNaN(t *testing.T) {
	if poolAsm == nil {
		t.Skip("no assembly max-pool on this CPU")
	}
	const blocks = 3
	o := make([]float32, 8*blocks)
	a, c := make([]float32, 16*blocks), make([]float32, 16*blocks)
	for i := range a {
		a[i], c[i] = float32(i), -float32(i)
	}
	c[3] = float32(math.Inf(1))
	assert.False(t, maxPool2x2AVX2Flag(o, a, c), "no NaN")
	for i := range a {
		for _, row := range [][]float32{a, c} {
			v := row[i]
			row[i] = float32(math.NaN())
			assert.True(t, maxPool2x2AVX2Flag(o, a, c), "NaN at %d", i)
			row[i] = v
		}
	}
}
