package detect_test

import (
	"math"
	"math/rand"
	"sort"
	"testing"

	"github.com/fc2conv/fc2conv/detect"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func sb(x1, y1, x2, y2, score float64) detect.ScoredBox {
	return detect.ScoredBox{Box: [4]float64{x1, y1, x2, y2}, Score: score}
}

func tpFlags(m *detect.Matching) []bool {
	var out []bool
	for _, r := range m.Ranked {
		out = append(out, r.TP)
	}
	return out
}

// Equal scores keep input order, even when the later box fits better.
func TestMatchScoreTiesKeepInputOrder(t *testing.T) {
	truth := [][][4]float64{{{0, 0, 10, 10}}}
	// IoU of the first with the truth 90/110; the second is exact.
	m, err := detect.MatchBoxes([][]detect.ScoredBox{{sb(1, 0, 11, 10, 0.8), sb(0, 0, 10, 10, 0.8)}}, truth, 0.5)
	require.NoError(t, err)
	assert.Equal(t, []bool{true, false}, tpFlags(m))
	assert.Equal(t, []int{0, 1}, []int{m.Ranked[0].Index, m.Ranked[1].Index})
}

// Of two truths at equal IoU the first is taken, which leaves the second
// for a later box that overlaps only it. Taking the last would make the
// later box a false positive.
func TestMatchIoUTiesTakeFirstTruth(t *testing.T) {
	truth := [][][4]float64{{{0, 0, 10, 10}, {4, 0, 14, 10}}}
	// (2,0,12,10) overlaps each truth by 80 of 120: IoU 2/3 both.
	// (6,0,16,10) overlaps the second by 80/120, the first by 40/160.
	m, err := detect.MatchBoxes([][]detect.ScoredBox{{sb(6, 0, 16, 10, 0.8), sb(2, 0, 12, 10, 0.9)}}, truth, 0.5)
	require.NoError(t, err)
	assert.Equal(t, []bool{true, true}, tpFlags(m))
	assert.Equal(t, 1, m.Ranked[0].Index, "0.9 ranks first")
	assert.Equal(t, 2, m.Truths)
	assert.Equal(t, 1, m.Images)
}

func TestMatchRejectsBadInput(t *testing.T) {
	_, err := detect.MatchBoxes([][]detect.ScoredBox{{}}, nil, 0.5)
	assert.ErrorContains(t, err, "1 images of detections, 0 of ground truth")
	_, err = detect.MatchBoxes(nil, nil, 1.5)
	assert.ErrorContains(t, err, "IoU threshold 1.5")
	_, err = detect.MatchBoxes([][]detect.ScoredBox{{sb(0, 0, 1, 1, 0.5), sb(0, 0, 1, 1, math.NaN())}}, [][][4]float64{{}}, 0.5)
	assert.ErrorContains(t, err, "image 0 prediction 1 has score NaN")
}

// Two images, one dress each. Ranked: 0.9 hit (image 0), 0.8 miss
// (image 0), 0.8 miss (image 1, tied), 0.6 shifted hit (image 1, IoU
// 81/119), 0.4 duplicate of the matched dress (image 1).
func TestSweep(t *testing.T) {
	gt := [][][4]float64{{{0, 0, 10, 10}}, {{20, 20, 30, 30}}}
	dets := [][]detect.ScoredBox{
		{sb(0, 0, 10, 10, 0.9), sb(50, 50, 60, 60, 0.8)},
		{sb(80, 80, 90, 90, 0.8), sb(21, 21, 31, 31, 0.6), sb(20, 20, 30, 30, 0.4)},
	}
	m, err := detect.MatchBoxes(dets, gt, 0.5)
	require.NoError(t, err)
	s := m.Sweep()
	assert.Equal(t, []detect.Point{
		{Threshold: 0.9, TP: 1, FP: 0, Recall: 0.5, FPPerImage: 0},
		{Threshold: 0.8, TP: 1, FP: 2, Recall: 0.5, FPPerImage: 1},
		{Threshold: 0.6, TP: 2, FP: 2, Recall: 1, FPPerImage: 1},
		{Threshold: 0.4, TP: 2, FP: 3, Recall: 1, FPPerImage: 1.5},
	}, s.Points)

	for _, c := range []struct {
		t       float64
		tp, fp  int
		recall  float64
		fpImage float64
	}{
		{0.95, 0, 0, 0, 0},
		{0.9, 1, 0, 0.5, 0},
		{0.85, 1, 0, 0.5, 0},
		{0.8, 1, 2, 0.5, 1},
		{0.5, 2, 2, 1, 1},
		{0.4, 2, 3, 1, 1.5},
		{0, 2, 3, 1, 1.5},
	} {
		assert.Equal(t, detect.Point{Threshold: c.t, TP: c.tp, FP: c.fp, Recall: c.recall, FPPerImage: c.fpImage}, s.At(c.t), "at %v", c.t)
	}

	p, ok := s.Lowest(0)
	assert.True(t, ok)
	assert.Equal(t, 0.9, p.Threshold)
	p, ok = s.Lowest(1) // 0.8 and 0.6 both give 1 FP/image; 0.6 is lower
	assert.True(t, ok)
	assert.Equal(t, 0.6, p.Threshold)
	assert.Equal(t, 1.0, p.Recall)
	p, ok = s.Lowest(2)
	assert.True(t, ok)
	assert.Equal(t, 0.4, p.Threshold)

	// A false positive at the top leaves no threshold with 0 FP/image.
	m, err = detect.MatchBoxes([][]detect.ScoredBox{{sb(50, 50, 60, 60, 0.99)}}, [][][4]float64{{{0, 0, 10, 10}}}, 0.5)
	require.NoError(t, err)
	_, ok = m.Sweep().Lowest(0)
	assert.False(t, ok)
}

// bruteForce matches the predictions scored ≥ t afresh, image by image,
// with its own loop: stable sort by score, then the best unmatched truth
// at IoU ≥ 0.5, first of equal IoUs.
func bruteForce(dets [][]detect.ScoredBox, truth [][][4]float64, t float64) (tp, fp int) {
	for k := range dets {
		var kept []detect.ScoredBox
		for _, d := range dets[k] {
			if d.Score >= t {
				kept = append(kept, d)
			}
		}
		sort.SliceStable(kept, func(a, b int) bool { return kept[a].Score > kept[b].Score })
		used := make([]bool, len(truth[k]))
		for _, d := range kept {
			bi, bv := -1, 0.0
			for g, box := range truth[k] {
				v := detect.IoU(d.Box, box)
				if !used[g] && v >= 0.5 && v > bv {
					bi, bv = g, v
				}
			}
			if bi >= 0 {
				used[bi] = true
				tp++
			} else {
				fp++
			}
		}
	}
	return tp, fp
}

// The sweep of one matching agrees with matching afresh at each
// threshold, on random clustered boxes with many tied scores.
func TestSweepAgreesWithRematching(t *testing.T) {
	rng := rand.New(rand.NewSource(5))
	box := func(cx, cy float64) [4]float64 {
		x, y := cx+rng.Float64()*6-3, cy+rng.Float64()*6-3
		w := 10 + rng.Float64()*4
		return [4]float64{x, y, x + w, y + w}
	}
	for trial := 0; trial < 20; trial++ {
		images := 1 + rng.Intn(5)
		dets := make([][]detect.ScoredBox, images)
		truth := make([][][4]float64, images)
		for k := range dets {
			for g := rng.Intn(4); g > 0; g-- {
				truth[k] = append(truth[k], box(float64(rng.Intn(3))*8, 0))
			}
			for d := rng.Intn(10); d > 0; d-- {
				// Scores on a coarse grid, so ties are common.
				score := float64(rng.Intn(6)) / 5
				dets[k] = append(dets[k], detect.ScoredBox{Box: box(float64(rng.Intn(3))*8, 0), Score: score})
			}
		}
		m, err := detect.MatchBoxes(dets, truth, 0.5)
		require.NoError(t, err)
		s := m.Sweep()
		truths := 0
		for _, g := range truth {
			truths += len(g)
		}
		for _, th := range []float64{-1, 0, 0.1, 0.2, 0.5, 0.6, 0.8, 1, 1.1} {
			tp, fp := bruteForce(dets, truth, th)
			p := s.At(th)
			require.Equal(t, [2]int{tp, fp}, [2]int{p.TP, p.FP}, "trial %d threshold %v", trial, th)
			if truths > 0 {
				assert.InDelta(t, float64(tp)/float64(truths), p.Recall, 1e-12)
			}
			assert.InDelta(t, float64(fp)/float64(images), p.FPPerImage, 1e-12)
		}
		for _, maxFP := range []float64{0, 0.5, 1, 3} {
			// Brute force: try each distinct score, highest first.
			var scores []float64
			for _, ds := range dets {
				for _, d := range ds {
					scores = append(scores, d.Score)
				}
			}
			sort.Sort(sort.Reverse(sort.Float64Slice(scores)))
			want, found := math.NaN(), false
			for _, th := range scores {
				if _, fp := bruteForce(dets, truth, th); float64(fp)/float64(images) > maxFP {
					break
				}
				want, found = th, true
			}
			p, ok := s.Lowest(maxFP)
			require.Equal(t, found, ok, "trial %d max FP %v", trial, maxFP)
			if found {
				assert.Equal(t, want, p.Threshold, "trial %d max FP %v", trial, maxFP)
			}
		}
	}
}
