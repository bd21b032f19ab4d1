package train

import (
	"errors"
	"fmt"
	"math/rand"

	"github.com/fc2conv/fc2conv/internal/resample"
)

// BootstrapAUC measures how much an AUC owes to the particular items: it
// draws b resamples of the items (resample.Paired: as many draws as
// items, with replacement, b at most resample.MaxResamples) and returns the AUC of every score set on
// each, out[i][r] being scores[i] on resample r. All score sets are for
// the same items (say, two models on one split) and share each resample,
// so their differences are paired.
func BootstrapAUC(scores [][]float64, positive []bool, b int, rng *rand.Rand) ([][]float64, error) {
	if len(scores) == 0 {
		return nil, errors.New("bootstrap AUC: no score sets")
	}
	n := len(positive)
	if n == 0 {
		return nil, errors.New("bootstrap AUC: no items to resample")
	}
	orders := make([][]int, len(scores))
	for i, s := range scores {
		if len(s) != n {
			return nil, fmt.Errorf("bootstrap AUC: score set %d has %d scores for %d items", i, len(s), n)
		}
		orders[i] = ascending(s)
	}
	out, err := resample.Paired(len(scores), n, b, rng, func(i int, counts []int) (float64, error) {
		return weightedAUC(scores[i], positive, orders[i], counts), nil
	})
	if err != nil {
		return nil, fmt.Errorf("bootstrap AUC: %w", err)
	}
	return out, nil
}
