package train

import (
	"math"
	"math/rand"
	"slices"
	"testing"

	"github.com/fc2conv/fc2conv/fmnist"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// With MineOptions.Confusable, that share of mining scenes draws from the
// dresses and confusable garments only (counted against the binomial, 4.5
// standard deviations); without it no random number is drawn, so mining
// sees the scenes it always did.
func TestMineConfusableScenes(t *testing.T) {
	items := &fmnist.Set{Rows: 1, Cols: 1}
	for c := range fmnist.NumClasses {
		items.Images = append(items.Images, []uint8{uint8(c)}, []uint8{uint8(c)})
		items.Labels = append(items.Labels, uint8(c), uint8(c))
	}
	opt := MineOptions{Confusable: 0.3}
	conf := confusableItems(items, opt)
	want := []uint8{0, 0, 2, 2, 3, 3, 4, 4, 6, 6}
	assert.Equal(t, want, conf.Labels)
	rng := rand.New(rand.NewSource(4))
	const n = 4000
	hits := 0
	for range n {
		if sceneItems(rng, items, conf, opt) == conf {
			hits++
		}
	}
	sd := math.Sqrt(n * 0.3 * 0.7)
	assert.InDelta(t, n*0.3, float64(hits), 4.5*sd)

	none := confusableItems(items, MineOptions{})
	assert.Nil(t, none)
	rng = rand.New(rand.NewSource(4))
	assert.Same(t, items, sceneItems(rng, items, none, MineOptions{}))
	assert.Equal(t, rand.New(rand.NewSource(4)).Int63(), rng.Int63(), "no random number drawn")
	assert.True(t, slices.Equal([]int{0, 2, 4, 6}, fmnist.Confusable))
}

// A mining round on confusable scenes runs and finds other windows than
// one on the usual scenes.
func TestMineHardExamplesConfusable(t *testing.T) {
	items, photos := mineData(t)
	all, err := MineHardExamples(constantNet(4), items, photos, 1, MineOptions{Scenes: 2})
	require.NoError(t, err)
	conf, err := MineHardExamples(constantNet(4), items, photos, 1, MineOptions{Scenes: 2, Confusable: 1})
	require.NoError(t, err)
	require.Len(t, conf.Negatives, 2*minePerScene)
	assert.NotEqual(t, all.Negatives, conf.Negatives)
}

// Label smoothing spreads eps of each target over all classes; without
// it the targets are the hard labels.
func TestTargets(t *testing.T) {
	for _, c := range []struct {
		lab     int
		eps     float64
		no, yes float32
	}{{1, 0, 0, 1}, {0, 0, 1, 0}, {1, 0.1, 0.05, 0.95}, {0, 0.2, 0.9, 0.1}} {
		y := make([]float32, 2)
		targets(y, c.lab, c.eps)
		assert.InDelta(t, c.no, y[0], 1e-7, "%+v", c)
		assert.InDelta(t, c.yes, y[1], 1e-7, "%+v", c)
		// The two-class targets are the very floats of the time before
		// classes were counted, so old runs keep their bytes.
		lo := float32(c.eps / 2)
		assert.Equal(t, 1-lo, y[c.lab], "%+v", c)
		assert.Equal(t, lo, y[1-c.lab], "%+v", c)
	}
	y := make([]float32, 11)
	targets(y, 3, 0.11)
	for k, v := range y {
		want := 0.01
		if k == 3 {
			want = 0.9
		}
		assert.InDelta(t, want, v, 1e-7, "class %d", k)
	}
}
