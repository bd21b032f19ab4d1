package fmnist

import (
	"image"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A share Print of the scenes is painted on a page of print the size of
// the scene, mostly paper; without Print every scene is on a photograph,
// as before the option existed.
func TestSceneCropperPrintPages(t *testing.T) {
	photos := []*image.Gray{image.NewGray(image.Rect(0, 0, 64, 64)), image.NewGray(image.Rect(0, 0, 80, 48))}
	onPage := func(p image.Image) bool {
		for _, ph := range photos {
			if p == image.Image(ph) {
				return false
			}
		}
		return true
	}
	share := func(print float64) float64 {
		c := NewSceneCropper(rand.New(rand.NewSource(9)), nil, photos, SceneCrops{Print: print})
		n := 0
		for range 200 {
			p := c.scenePhoto()
			if !onPage(p) {
				continue
			}
			n++
			page, ok := p.(*image.Gray)
			require.True(t, ok)
			require.Equal(t, image.Rect(0, 0, cropSceneW, cropSceneH), page.Bounds())
			var counts [256]int
			for _, v := range page.Pix {
				counts[v]++
			}
			most := 0
			for _, k := range counts {
				most = max(most, k)
			}
			assert.Greater(t, float64(most)/float64(len(page.Pix)), 0.4, "a page is mostly paper of one grey")
		}
		return float64(n) / 200
	}
	assert.Equal(t, 0.0, share(0))
	assert.Equal(t, 1.0, share(1))
	assert.InDelta(t, 0.3, share(0.3), 0.08)

	items, err := Load("../testdata/fmnist", "train")
	require.NoError(t, err)
	crops, truth := NewSceneCropper(rand.New(rand.NewSource(2)), items, photos, SceneCrops{Background: 1, Print: 1}).Scene()
	assert.NotEmpty(t, truth)
	assert.Len(t, crops, 2*len(truth), "an item and its background box each")
}
