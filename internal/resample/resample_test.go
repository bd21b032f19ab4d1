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

// Every subject is measured on the same resample, each resample is a new
// one, and the first error stops the run.
func TestPaired(t *testing.T) {
	sum := func(counts []int) (s int) {
		for k, c := range counts {
			s += (k + 1) * c * c
		}
		return s
	}
	out, err := Paired(3, 50, 20, rand.New(rand.NewSource(2)), func(i int, counts []int) (int, error) {
		return sum(counts), nil
	})
	assert.NoError(t, err)
	assert.Len(t, out, 3)
	assert.Equal(t, out[0], out[1])
	assert.Equal(t, out[0], out[2])
	assert.Len(t, out[0], 20)
	assert.NotEqual(t, out[0][0], out[0][1], "a new resample each time")

	calls := 0
	_, err = Paired(2, 5, 10, rand.New(rand.NewSource(2)), func(i int, counts []int) (int, error) {
		if calls++; calls == 3 {
			return 0, assert.AnError
		}
		return 0, nil
	})
	assert.ErrorIs(t, err, assert.AnError)
	assert.Equal(t, 3, calls)

	for _, b := range []int{0, MaxResamples + 1} {
		_, err = Paired(1, 5, b, rand.New(rand.NewSource(2)), func(int, []int) (int, error) { return 0, nil })
		assert.ErrorContains(t, err, "want 1 to", "b = %d", b)
	}
}
