// Package resample draws the bootstrap resamples that detect and train
// measure their figures' noise with, so both draw them the same way.
package resample

import (
	"fmt"
	"math/rand"
)

// MaxResamples bounds Paired's work, whoever asks for it.
const MaxResamples = 100000

// Draw fills counts with how often each of len(counts) items is taken in
// one bootstrap resample: len(counts) draws with replacement, by
// rng.Intn.
func Draw(counts []int, rng *rand.Rand) {
	clear(counts)
	for range counts {
		counts[rng.Intn(len(counts))]++
	}
}

// Paired draws b resamples of n items and measures each of k subjects
// (say, two models) on every one: out[i][r] = measure(i, counts of
// resample r). All k share each resample, so their differences are
// paired. It refuses b outside 1 to MaxResamples before allocating; the
// first error of measure stops it.
func Paired[T any](k, n, b int, rng *rand.Rand, measure func(i int, counts []int) (T, error)) ([][]T, error) {
	if b < 1 || b > MaxResamples {
		return nil, fmt.Errorf("%d resamples, want 1 to %d", b, MaxResamples)
	}
	out := make([][]T, k)
	for i := range out {
		out[i] = make([]T, b)
	}
	counts := make([]int, n)
	for r := range b {
		Draw(counts, rng)
		for i := range k {
			v, err := measure(i, counts)
			if err != nil {
				return nil, err
			}
			out[i][r] = v
		}
	}
	return out, nil
}
