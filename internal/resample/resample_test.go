package resample

import (
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
)

// A resample takes as many items as there are, each about once on
// average, some not at all (about 1/e of them), whatever counts held
// before.
func TestDraw(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	counts := make([]int, 10000)
	for i := range counts {
		counts[i] = 7
	}
	Draw(counts, rng)
	total, zero := 0, 0
	for _, c := range counts {
		total += c
		if c == 0 {
			zero++
		}
	}
	assert.Equal(t, len(counts), total)
	assert.InDelta(t, 3679, zero, 150)
}
