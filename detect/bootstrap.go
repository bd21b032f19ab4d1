package detect

import (
	"errors"
	"fmt"
	"math"
	"math/rand"

	"github.com/fc2conv/fc2conv/internal/resample"
)

// Resample returns the matching of a resampled set of images: image k
// taken counts[k] times (0 leaves it out). Matching never crosses images,
// so every copy keeps its predictions' true and false positives, and the
// result equals MatchBoxes over the images so repeated, without matching
// again. Copies share their Image index.
func (m *Matching) Resample(counts []int) (*Matching, error) {
	if len(counts) != m.Images || len(m.truthsPer) != m.Images {
		return nil, fmt.Errorf("resample: %d counts for a matching of %d images", len(counts), m.Images)
	}
	r := &Matching{truthsPer: make([]int, m.Images)}
	n := 0
	for k, c := range counts {
		if c < 0 || c > MaxResampledBoxes {
			return nil, fmt.Errorf("resample: image %d taken %d times", k, c)
		}
		r.Images += c
		r.Truths += c * m.truthsPer[k]
		r.truthsPer[k] = c * m.truthsPer[k]
	}
	for _, p := range m.Ranked {
		if n += counts[p.Image]; n > MaxResampledBoxes {
			return nil, fmt.Errorf("resample: more than %d predictions", MaxResampledBoxes)
		}
	}
	r.Ranked = make([]Ranked, 0, n)
	// Within equal scores MatchBoxes keeps input order, image by image, and
	// AP reads that order; so an image's run of tied predictions is
	// repeated whole, as matching the repeated images would rank them.
	for i := 0; i < len(m.Ranked); {
		j := i + 1
		for j < len(m.Ranked) && m.Ranked[j].Image == m.Ranked[i].Image && m.Ranked[j].Score == m.Ranked[i].Score {
			j++
		}
		for range counts[m.Ranked[i].Image] {
			r.Ranked = append(r.Ranked, m.Ranked[i:j]...)
		}
		i = j
	}
	return r, nil
}

// Summary is what the model card compares detectors by: the AP, and the
// recall at the lowest threshold with at most the given false positives
// per image (0 where no threshold gets that low).
type Summary struct {
	AP, Recall float64
}

// Summarize returns the matching's AP (NaN without ground truth) and its
// recall at ≤ maxFP false positives per image.
func (m *Matching) Summarize(maxFP float64) Summary {
	s := Summary{AP: math.NaN()}
	if ap, err := m.AveragePrecision(); err == nil {
		s.AP = ap
	}
	if p, ok := m.Sweep().Lowest(maxFP); ok {
		s.Recall = p.Recall
	}
	return s
}

// MaxResampledBoxes bounds the predictions of one resample (and how often
// one image may be taken), so counts cannot ask for an unbounded
// allocation.
const MaxResampledBoxes = 1 << 26

// Bootstrap measures how much a detector's figures owe to the particular
// scenes: it draws b resamples of the images (resample.Paired: as many
// draws as images, with replacement, b at most resample.MaxResamples) and summarises every matching on each,
// out[i][r] being ms[i] on resample r. The matchings must be over the
// same images in the same order (say, two models' scans of one scene
// set); each resample is applied to all of them, so their differences are
// paired, which is what tells a better model from luckier scenes.
func Bootstrap(ms []*Matching, b int, maxFP float64, rng *rand.Rand) ([][]Summary, error) {
	if len(ms) == 0 {
		return nil, errors.New("bootstrap: no matchings")
	}
	n := ms[0].Images
	for i, m := range ms {
		if m.Images != n {
			return nil, fmt.Errorf("bootstrap: matching %d has %d images, matching 0 has %d", i, m.Images, n)
		}
	}
	if n == 0 {
		return nil, errors.New("bootstrap: no images to resample")
	}
	out, err := resample.Paired(len(ms), n, b, rng, func(i int, counts []int) (Summary, error) {
		rm, err := ms[i].Resample(counts)
		if err != nil {
			return Summary{}, fmt.Errorf("matching %d: %w", i, err)
		}
		return rm.Summarize(maxFP), nil
	})
	if err != nil {
		return nil, fmt.Errorf("bootstrap: %w", err)
	}
	return out, nil
}
