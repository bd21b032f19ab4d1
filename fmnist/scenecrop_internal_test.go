package fmnist

import (
	"image"
	"image/color"
	"math"
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
			want := imagingGray(imaging.Crop(whole, c.Box), Side, Side)
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

// With Context, a crop is the whole scene cut at its box scaled about its
// centre, mid-grey beyond the scene; the boxes, classes and random stream
// are those without it.
func TestSceneCropperContext(t *testing.T) {
	items, err := Load("../testdata/fmnist", "train")
	require.NoError(t, err)
	photos, err := Photos("../testdata/photos", PhotosTrain)
	require.NoError(t, err)
	cfg := SceneCrops{Shift: 0.05, Scale: 0.12, Background: 1, Partial: 1}
	wide := cfg
	wide.Context = 1.5
	outside := 0
	for seed := int64(1); seed <= 6; seed++ {
		plain, _ := NewSceneCropper(rand.New(rand.NewSource(seed)), items, photos, cfg).Scene()
		crops, truth := NewSceneCropper(rand.New(rand.NewSource(seed)), items, photos, wide).Scene()
		require.Len(t, crops, len(plain))

		rng := rand.New(rand.NewSource(seed))
		photo := photos[rng.Intn(len(photos))]
		whole, _ := MakeScene(rng, items, photo, cropSceneW, cropSceneH, cropSceneItems)
		require.NotEmpty(t, truth)
		for i, c := range crops {
			require.Equal(t, plain[i].Box, c.Box, "seed %d crop %d: the box it frames", seed, i)
			require.Equal(t, plain[i].Class, c.Class)
			require.NotEqual(t, plain[i].Pix, c.Pix, "seed %d crop %d shows more", seed, i)
			r := c.Box
			w, h := float64(r.Dx())*1.5, float64(r.Dy())*1.5
			cx, cy := float64(r.Min.X+r.Max.X)/2, float64(r.Min.Y+r.Max.Y)/2
			cut := image.Rect(int(math.Round(cx-w/2)), int(math.Round(cy-h/2)), int(math.Round(cx+w/2)), int(math.Round(cy+h/2)))
			if !cut.In(whole.Rect) {
				outside++
			}
			window := image.NewGray(image.Rect(0, 0, cut.Dx(), cut.Dy()))
			for y := range cut.Dy() {
				for x := range cut.Dx() {
					p := image.Pt(cut.Min.X+x, cut.Min.Y+y)
					v := uint8(128)
					if p.In(whole.Rect) {
						v = whole.GrayAt(p.X, p.Y).Y
					}
					window.SetGray(x, y, color.Gray{Y: v})
				}
			}
			require.Equal(t, resized(window, Side, Side), c.Pix, "seed %d crop %d at %v", seed, i, c.Box)
		}
	}
	require.Positive(t, outside, "some crops reach past the scene")
}
