package fmnist

import (
	"image"
	"math/rand"
	"testing"

	"github.com/disintegration/imaging"
	"github.com/stretchr/testify/require"
)

// The cropper paints only the photograph under its crops; every crop is
// still the whole scene's, byte for byte: MakeScene on the same stream,
// cut at the same boxes.
func TestSceneCropperPaintsWhatCropsRead(t *testing.T) {
	items, err := Load("../testdata/fmnist", "train")
	require.NoError(t, err)
	photos, err := Photos("../testdata/photos", PhotosTrain)
	require.NoError(t, err)
	cfg := SceneCrops{Shift: 0.05, Scale: 0.12, Background: 1}
	for seed := int64(1); seed <= 8; seed++ {
		crops, truth := NewSceneCropper(rand.New(rand.NewSource(seed)), items, photos, cfg).Scene()
		require.NotEmpty(t, crops)

		rng := rand.New(rand.NewSource(seed))
		photo := photos[rng.Intn(len(photos))]
		whole, wholeTruth := MakeScene(rng, items, photo, cropSceneW, cropSceneH, cropSceneItems)
		require.Equal(t, wholeTruth, truth)
		painted := 0
		for i, c := range crops {
			want := resized(imaging.Crop(whole, c.Box), Side, Side)
			require.Equal(t, want, c.Pix, "seed %d, crop %d at %v", seed, i, c.Box)
			painted += c.Box.Dx() * c.Box.Dy()
		}
		require.Less(t, painted, whole.Rect.Dx()*whole.Rect.Dy()/2, "the crops read under half the scene")
	}
}

// Painting leaves the plan as it was, on clutter as on a photograph.
func TestScenePlanPaintsTwiceAlike(t *testing.T) {
	items, err := Load("../testdata/fmnist", "train")
	require.NoError(t, err)
	photos, err := Photos("../testdata/photos", PhotosTrain)
	require.NoError(t, err)
	for _, photo := range []image.Image{nil, photos[0]} {
		plan := planScene(rand.New(rand.NewSource(3)), items, photo, 96, 64, 2)
		require.NotEmpty(t, plan.pastes)
		require.Equal(t, plan.paint(nil).Pix, plan.paint(nil).Pix, "photo %v", photo != nil)
	}
}
