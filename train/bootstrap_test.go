package train

import (
	"math/rand"
	"sort"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// With every item once, AUC (the weighted AUC with unit weights) is the
// Mann-Whitney rank-sum AUC; with item k taken counts[k] times the weighted
// AUC is the rank-sum AUC of the items physically repeated. Scores on a
// coarse grid, so ties are common.
func TestWeightedAUCAgreesWithRepeatedItems(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	for trial := 0; trial < 50; trial++ {
		n := 1 + rng.Intn(30)
		scores := make([]float64, n)
		pos := make([]bool, n)
		ones := make([]int, n)
		counts := make([]int, n)
		var rs []float64
		var rp []bool
		for k := range n {
			scores[k] = float64(rng.Intn(5)) / 4
			pos[k] = rng.Intn(3) == 0
			ones[k] = 1
			counts[k] = rng.Intn(3)
			for range counts[k] {
				rs = append(rs, scores[k])
				rp = append(rp, pos[k])
			}
		}
		order := ascending(scores)
		assert.InDelta(t, rankSumAUC(scores, pos), AUC(scores, pos), 1e-12, "trial %d", trial)
		assert.InDelta(t, rankSumAUC(scores, pos), weightedAUC(scores, pos, order, ones), 1e-12, "trial %d", trial)
		assert.InDelta(t, rankSumAUC(rs, rp), weightedAUC(scores, pos, order, counts), 1e-12, "trial %d", trial)
	}
}

// rankSumAUC is the test's oracle, computed another way than AUC: the
// Mann-Whitney statistic from the positives' mid-ranks, over a fresh sort.
func rankSumAUC(scores []float64, positive []bool) float64 {
	idx := make([]int, len(scores))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return scores[idx[a]] < scores[idx[b]] })
	var rankSum float64
	var nPos, nNeg int
	for i := 0; i < len(idx); {
		j := i
		for j < len(idx) && scores[idx[j]] == scores[idx[i]] {
			j++
		}
		mid := float64(i+j+1) / 2 // average 1-based rank of the tie group
		for k := i; k < j; k++ {
			if positive[idx[k]] {
				rankSum += mid
				nPos++
			} else {
				nNeg++
			}
		}
		i = j
	}
	if nPos == 0 || nNeg == 0 {
		return 0
	}
	return (rankSum - float64(nPos*(nPos+1))/2) / float64(nPos*nNeg)
}

// Two positives and two negatives that one model ranks perfectly and the
// other exactly backwards: every resample with both kinds gives AUC 1 and
// 0 respectively, and a resample without one kind 0 for both.
func TestBootstrapAUCPairsResamples(t *testing.T) {
	pos := []bool{true, true, false, false}
	good := []float64{0.9, 0.8, 0.2, 0.1}
	bad := []float64{0.1, 0.2, 0.8, 0.9}
	out, err := BootstrapAUC([][]float64{good, bad}, pos, 500, rand.New(rand.NewSource(1)))
	require.NoError(t, err)
	oneKind := 0
	for r := range out[0] {
		switch {
		case out[0][r] == 1 && out[1][r] == 0:
		case out[0][r] == 0 && out[1][r] == 0:
			oneKind++
		default:
			t.Fatalf("resample %d: AUCs %v and %v", r, out[0][r], out[1][r])
		}
	}
	// All four draws of one kind: 2 × (1/2)^4 = 1/8 of the resamples.
	assert.InDelta(t, 500.0/8, float64(oneKind), 25)

	again, err := BootstrapAUC([][]float64{good}, pos, 500, rand.New(rand.NewSource(1)))
	require.NoError(t, err)
	assert.Equal(t, out[0], again[0], "deterministic per seed")
}

func TestBootstrapAUCRejectsBadInput(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for _, c := range []struct {
		scores [][]float64
		pos    []bool
		b      int
		want   string
	}{
		{nil, []bool{true}, 10, "no score sets"},
		{[][]float64{{1}}, []bool{true}, 0, "0 resamples"},
		{[][]float64{{}}, nil, 10, "no items"},
		{[][]float64{{1}, {1, 2}}, []bool{true}, 10, "score set 1 has 2 scores for 1 items"},
	} {
		_, err := BootstrapAUC(c.scores, c.pos, c.b, rng)
		assert.ErrorContains(t, err, c.want)
	}
}
