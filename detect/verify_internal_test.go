package detect

import (
	"encoding/json"
	"image"
	"math/rand"
	"os"
	"testing"

	"github.com/fc2conv/fc2conv/nn"
	"github.com/stretchr/testify/require"
)

// unitGrey is a grey input read as pixel/255 − 0.5.
func unitGrey(t *testing.T) *normalizer {
	n, err := newNormalizer(nn.InputSpec{Channels: 1, Height: 28, Width: 28, Mean: []float32{0.5}, Std: []float32{1}})
	require.NoError(t, err)
	return n
}

func greyNRGBA(rng *rand.Rand, w, h int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < w*h; i++ {
		v := uint8(rng.Intn(256))
		copy(img.Pix[4*i:], []uint8{v, v, v, 255})
	}
	return img
}

func TestCropBoxOnePixelPerPixel(t *testing.T) {
	img := greyNRGBA(rand.New(rand.NewSource(1)), 40, 36)
	win := nn.Pair{H: 28, W: 28}
	got := make([]float32, 28*28)
	mirrored := make([]float32, 28*28)
	cropBox(got, img, [4]float64{5, 7, 33, 35}, win, unitGrey(t))
	copy(mirrored, got)
	mirrorRows(mirrored, 28)
	for y := range 28 {
		for x := range 28 {
			want := float32(img.Pix[(y+7)*img.Stride+4*(x+5)])/255 - 0.5
			require.InDelta(t, want, got[y*28+x], 1e-5, "pixel (%d, %d)", x, y)
			require.Equal(t, got[y*28+x], mirrored[y*28+27-x], "mirror of (%d, %d)", x, y)
		}
	}
}

func TestCropBoxOutsideReadsTheMean(t *testing.T) {
	img := greyNRGBA(rand.New(rand.NewSource(2)), 20, 20)
	got := make([]float32, 28*28)
	for i := range got {
		got[i] = 9
	}
	cropBox(got, img, [4]float64{100, 100, 156, 156}, nn.Pair{H: 28, W: 28}, unitGrey(t))
	for i, v := range got {
		require.Zero(t, v, "pixel %d", i)
	}
}

// TestCropBoxMatchesPIL holds the crops to PIL's (testdata/verify/crops.py),
// the resampling under which a verifier was shown to help.
func TestCropBoxMatchesPIL(t *testing.T) {
	f, err := os.Open("../testdata/verify/image.png")
	require.NoError(t, err)
	defer f.Close()
	src, _, err := image.Decode(f)
	require.NoError(t, err)
	img := image.NewNRGBA(src.Bounds())
	for y := range img.Rect.Dy() {
		for x := range img.Rect.Dx() {
			img.Set(x, y, src.At(x, y))
		}
	}
	b, err := os.ReadFile("../testdata/verify/crops.json")
	require.NoError(t, err)
	var fix struct {
		Window int
		Crops  []struct {
			Box    [4]float64
			Pixels []float32
		}
	}
	require.NoError(t, json.Unmarshal(b, &fix))
	require.Len(t, fix.Crops, 6)
	win := nn.Pair{H: fix.Window, W: fix.Window}
	got := make([]float32, win.H*win.W)
	for _, c := range fix.Crops {
		cropBox(got, img, c.Box, win, unitGrey(t))
		require.Len(t, c.Pixels, len(got))
		for i, want := range c.Pixels {
			require.InDelta(t, want-0.5, got[i], 2e-5, "box %v pixel %d", c.Box, i)
		}
	}
}
