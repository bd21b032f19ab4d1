package detect_test

import (
	"math/rand"
	"testing"

	"github.com/fc2conv/fc2conv/detect"
	"github.com/fc2conv/fc2conv/internal/resample"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// randomScenes makes images of clustered boxes with tied scores, as
// TestSweepAgreesWithRematching does.
func randomScenes(rng *rand.Rand, images int) ([][]detect.ScoredBox, [][][4]float64) {
	box := func(cx float64) [4]float64 {
		x, y := cx+rng.Float64()*6-3, rng.Float64()*6-3
		w := 10 + rng.Float64()*4
		return [4]float64{x, y, x + w, y + w}
	}
	dets := make([][]detect.ScoredBox, images)
	truth := make([][][4]float64, images)
	for k := range dets {
		for g := rng.Intn(4); g > 0; g-- {
			truth[k] = append(truth[k], box(float64(rng.Intn(3))*8))
		}
		for d := rng.Intn(10); d > 0; d-- {
			dets[k] = append(dets[k], detect.ScoredBox{Box: box(float64(rng.Intn(3)) * 8), Score: float64(rng.Intn(6)) / 5})
		}
	}
	return dets, truth
}

// Resampling a matching gives the figures of matching the repeated
// images afresh: the same sweep and AP.
func TestResampleAgreesWithRematching(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	for trial := 0; trial < 30; trial++ {
		images := 1 + rng.Intn(6)
		dets, truth := randomScenes(rng, images)
		m, err := detect.MatchBoxes(dets, truth, 0.5)
		require.NoError(t, err)
		counts := make([]int, images)
		var rdets [][]detect.ScoredBox
		var rtruth [][][4]float64
		for k := range counts {
			counts[k] = rng.Intn(3)
			for range counts[k] {
				rdets = append(rdets, dets[k])
				rtruth = append(rtruth, truth[k])
			}
		}
		got, err := m.Resample(counts)
		require.NoError(t, err)
		want, err := detect.MatchBoxes(rdets, rtruth, 0.5)
		require.NoError(t, err)
		assert.Equal(t, want.Truths, got.Truths, "trial %d", trial)
		assert.Equal(t, want.Images, got.Images, "trial %d", trial)
		assert.Equal(t, want.Sweep().Points, got.Sweep().Points, "trial %d", trial)
		wantAP, wantErr := want.AveragePrecision()
		gotAP, gotErr := got.AveragePrecision()
		assert.Equal(t, wantErr == nil, gotErr == nil, "trial %d", trial)
		assert.InDelta(t, wantAP, gotAP, 1e-12, "trial %d", trial)
	}
}

func TestResampleRejectsBadCounts(t *testing.T) {
	m, err := detect.MatchBoxes([][]detect.ScoredBox{nil, nil}, [][][4]float64{nil, nil}, 0.5)
	require.NoError(t, err)
	_, err = m.Resample([]int{1})
	assert.ErrorContains(t, err, "1 counts for a matching of 2 images")
	_, err = m.Resample([]int{1, -1})
	assert.ErrorContains(t, err, "image 1 taken -1 times")
	one, err := detect.MatchBoxes([][]detect.ScoredBox{{sb(0, 0, 1, 1, 0.5), sb(0, 0, 1, 1, 0.4)}}, [][][4]float64{nil}, 0.5)
	require.NoError(t, err)
	_, err = one.Resample([]int{detect.MaxResampledBoxes})
	assert.ErrorContains(t, err, "more than", "two predictions taken MaxResampledBoxes times")
	_, err = one.Resample([]int{detect.MaxResampledBoxes + 1})
	assert.ErrorContains(t, err, "taken")
	_, err = (&detect.Matching{Images: 1}).Resample([]int{1})
	assert.Error(t, err, "a matching not made by MatchBoxes has no per-image truths")
}

// Two scenes, one perfect (a hit at 0.9) and one with a dress missed and
// a false positive at 0.8. A resample takes the perfect scene twice, each
// once, or the other twice, with odds 1:2:1; their AP is 1, 51/101 and 0,
// and their recall at ≤ 0.1 FP/image 1, 0.5 and 0.
func TestBootstrapDrawsScenesWithReplacement(t *testing.T) {
	dets := [][]detect.ScoredBox{{sb(0, 0, 10, 10, 0.9)}, {sb(50, 50, 60, 60, 0.8)}}
	truth := [][][4]float64{{{0, 0, 10, 10}}, {{20, 20, 30, 30}}}
	m, err := detect.MatchBoxes(dets, truth, 0.5)
	require.NoError(t, err)
	out, err := detect.Bootstrap([]*detect.Matching{m, m}, 4000, 0.1, rand.New(rand.NewSource(1)))
	require.NoError(t, err)
	require.Len(t, out, 2)
	assert.Equal(t, out[0], out[1], "the same resamples for every matching")
	freq := map[float64]int{}
	for _, s := range out[0] {
		freq[s.Recall]++
		switch s.Recall {
		case 1:
			assert.Equal(t, 1.0, s.AP)
		case 0.5:
			// Hit then miss: precision 1 up to recall 0.5, none after.
			assert.InDelta(t, 51.0/101, s.AP, 1e-12)
		case 0:
			assert.Equal(t, 0.0, s.AP)
		default:
			t.Fatalf("recall %v is no resample's", s.Recall)
		}
	}
	assert.InDelta(t, 1000, freq[1], 100)
	assert.InDelta(t, 2000, freq[0.5], 130)
	assert.InDelta(t, 1000, freq[0], 100)

	again, err := detect.Bootstrap([]*detect.Matching{m}, 4000, 0.1, rand.New(rand.NewSource(1)))
	require.NoError(t, err)
	assert.Equal(t, out[0], again[0], "deterministic per seed")
}

func TestBootstrapRejectsBadInput(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	one, err := detect.MatchBoxes([][]detect.ScoredBox{nil}, [][][4]float64{nil}, 0.5)
	require.NoError(t, err)
	two, err := detect.MatchBoxes([][]detect.ScoredBox{nil, nil}, [][][4]float64{nil, nil}, 0.5)
	require.NoError(t, err)
	none, err := detect.MatchBoxes(nil, nil, 0.5)
	require.NoError(t, err)
	for _, c := range []struct {
		ms   []*detect.Matching
		b    int
		want string
	}{
		{nil, 10, "no matchings"},
		{[]*detect.Matching{one}, 0, "0 resamples"},
		{[]*detect.Matching{one}, resample.MaxResamples + 1, "want 1 to"},
		{[]*detect.Matching{one, two}, 10, "matching 1 has 2 images, matching 0 has 1"},
		{[]*detect.Matching{none}, 10, "no images"},
	} {
		_, err := detect.Bootstrap(c.ms, c.b, 0.1, rng)
		assert.ErrorContains(t, err, c.want)
	}
}
