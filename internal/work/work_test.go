package work_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fc2conv/fc2conv/internal/work"
)

// Every piece runs once, on a worker index below both workers and n.
func TestEachRunsEveryPieceOnce(t *testing.T) {
	for _, c := range []struct{ n, workers, most int }{{0, 3, 0}, {1, 4, 1}, {7, 1, 1}, {100, 3, 3}, {5, 0, 1}, {2, 8, 2}} {
		var mu sync.Mutex
		runs := make([]int, c.n)
		used := map[int]bool{}
		require.NoError(t, work.Each(c.n, c.workers, func(w, i int) error {
			mu.Lock()
			defer mu.Unlock()
			runs[i]++
			used[w] = true
			return nil
		}))
		for i, r := range runs {
			assert.Equal(t, 1, r, "n %d workers %d: piece %d", c.n, c.workers, i)
		}
		for w := range used {
			assert.True(t, w >= 0 && w < c.most, "n %d workers %d: worker index %d", c.n, c.workers, w)
		}
	}
}

// The error returned is the lowest failed piece's, whichever finished
// first, and the other pieces still run.
func TestEachReturnsTheFirstPiecesError(t *testing.T) {
	var mu sync.Mutex
	ran := 0
	err := work.Each(50, 4, func(_, i int) error {
		mu.Lock()
		ran++
		mu.Unlock()
		if i == 7 || i == 31 {
			return fmt.Errorf("piece %d: %w", i, errors.ErrUnsupported)
		}
		return nil
	})
	require.ErrorIs(t, err, errors.ErrUnsupported)
	assert.EqualError(t, err, "piece 7: unsupported operation")
	assert.Equal(t, 50, ran)
}
