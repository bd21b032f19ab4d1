// Package resample draws the bootstrap resamples that detect and train
// measure their figures' noise with, so both draw them the same way.
package resample

import "math/rand"

// Draw fills counts with how often each of len(counts) items is taken in
// one bootstrap resample: len(counts) draws with replacement, by
// rng.Intn.
func Draw(counts []int, rng *rand.Rand) {
	clear(counts)
	for range counts {
		counts[rng.Intn(len(counts))]++
	}
}
