package fmnist_test

import (
	"bytes"
	"image"
	"math/rand"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fc2conv/fc2conv/fmnist"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPhotosSplit(t *testing.T) {
	train, err := fmnist.PhotoNames(photoDir, fmnist.PhotosTrain)
	require.NoError(t, err)
	eval, err := fmnist.PhotoNames(photoDir, fmnist.PhotosEval)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, len(train), 10)
	assert.GreaterOrEqual(t, len(eval), 4)
	for _, n := range eval {
		assert.NotContains(t, train, n)
	}
	photos, err := fmnist.Photos(photoDir, fmnist.PhotosEval)
	require.NoError(t, err)
	require.Len(t, photos, len(eval))
	for i, p := range photos {
		b := p.Bounds()
		assert.LessOrEqual(t, max(b.Dx(), b.Dy()), 640, eval[i])
		assert.GreaterOrEqual(t, min(b.Dx(), b.Dy()), 100, eval[i])
	}
	_, err = fmnist.Photos(photoDir, "test")
	assert.ErrorContains(t, err, "unknown photo split")
	_, err = fmnist.Photos(t.TempDir(), fmnist.PhotosTrain)
	assert.ErrorContains(t, err, "SPLIT.txt")
}

// The committed training photographs beyond testdata/photos (train
// --more-photos) must all load, stay within the stored size, and list no
// evaluation photograph, or a rule's candidate would train on what it is
// judged on.
func TestMorePhotoDirs(t *testing.T) {
	seen := map[string]string{}
	for _, dir := range []string{"photos-extra", "photos-more", "photos-plus"} {
		path := filepath.Join("..", "testdata", dir)
		names, err := fmnist.PhotoNames(path, fmnist.PhotosTrain)
		require.NoError(t, err, dir)
		_, err = fmnist.PhotoNames(path, fmnist.PhotosEval)
		assert.ErrorContains(t, err, "lists no eval photos", dir)
		photos, err := fmnist.Photos(path, fmnist.PhotosTrain)
		require.NoError(t, err, dir)
		require.Len(t, photos, len(names), dir)
		for i, p := range photos {
			b := p.Bounds()
			assert.LessOrEqual(t, max(b.Dx(), b.Dy()), 640, "%s/%s", dir, names[i])
			assert.GreaterOrEqual(t, min(b.Dx(), b.Dy()), 100, "%s/%s", dir, names[i])
			prev, dup := seen[names[i]]
			assert.False(t, dup, "%s/%s also in %s", dir, names[i], prev)
			seen[names[i]] = dir
		}
	}
	assert.Len(t, seen, 22+32+19)
}

func TestMakeScene(t *testing.T) {
	items := loadTiny(t, "t10k")
	photos, err := fmnist.Photos(photoDir, fmnist.PhotosEval)
	require.NoError(t, err)
	rng := rand.New(rand.NewSource(1))
	dresses := 0
	total := 0
	for s := 0; s < 6; s++ {
		n := 4 + s%5
		img, truth := fmnist.MakeScene(rng, items, photos[s%len(photos)], fmnist.SceneWidth, fmnist.SceneHeight, n)
		require.Equal(t, image.Rect(0, 0, 1024, 512), img.Bounds())
		require.Len(t, truth, n, "scene %d: all items fit", s)
		for i, o := range truth {
			b := o.Box
			side := b[2] - b[0]
			assert.Equal(t, side, b[3]-b[1], "square box")
			assert.True(t, side >= 28 && side <= 84, "side %v", side)
			assert.True(t, b[0] >= 0 && b[1] >= 0 && b[2] <= 1024 && b[3] <= 512, "box %v inside", b)
			for j := 0; j < i; j++ {
				c := truth[j].Box
				overlap := b[0] < c[2] && c[0] < b[2] && b[1] < c[3] && c[1] < b[3]
				assert.False(t, overlap, "boxes %v and %v", b, c)
			}
			if o.Class == fmnist.Dress {
				dresses++
			}
			// The truth names the item drawn, of the class it says.
			if assert.True(t, o.HasItem, "box %v", b) {
				require.Less(t, o.Item, len(items.Labels))
				assert.Equal(t, o.Class, int(items.Labels[o.Item]), "item %d", o.Item)
			}
			// The garment is pasted: its box is not just background. Check
			// the box holds pixels that differ from each other.
			lo, hi := uint8(255), uint8(0)
			for y := int(b[1]); y < int(b[3]); y++ {
				for x := int(b[0]); x < int(b[2]); x++ {
					v := img.GrayAt(x, y).Y
					lo, hi = min(lo, v), max(hi, v)
				}
			}
			assert.Greater(t, int(hi)-int(lo), 40, "box %v", b)
		}
		total += len(truth)
	}
	assert.InDelta(t, float64(total)/3, float64(dresses), float64(total)/6)

	// Same seed, same scene.
	a, ta := fmnist.MakeScene(rand.New(rand.NewSource(9)), items, photos[0], 300, 200, 5)
	b, tb := fmnist.MakeScene(rand.New(rand.NewSource(9)), items, photos[0], 300, 200, 5)
	assert.Equal(t, a.Pix, b.Pix)
	assert.Equal(t, ta, tb)

	// Degenerate inputs: no panics.
	img, truth := fmnist.MakeScene(rng, nil, nil, 64, 32, 5)
	assert.Equal(t, image.Rect(0, 0, 64, 32), img.Bounds())
	assert.Empty(t, truth)
	img, truth = fmnist.MakeScene(rng, items, photos[0], 20, 20, 3)
	assert.Equal(t, 20, img.Bounds().Dx())
	assert.Empty(t, truth, "nothing fits in 20×20")
	img, _ = fmnist.MakeScene(rng, items, photos[0], -1, 5, 3)
	assert.True(t, img.Bounds().Empty())
}

func TestTruthRoundTrip(t *testing.T) {
	in := []fmnist.Truth{
		{Image: "scene_000.png", Photo: "rose.jpg", Width: 1024, Height: 512, Objects: []fmnist.Object{
			{Box: [4]float64{10, 20, 66, 76}, Class: fmnist.Dress},
			{Box: [4]float64{100, 0, 128, 28}, Class: 0, Item: 0, HasItem: true},
		}},
		{Image: "scene_001.png", Width: 1024, Height: 512, Objects: []fmnist.Object{}},
	}
	var b bytes.Buffer
	require.NoError(t, fmnist.WriteTruth(&b, in))
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	require.Len(t, lines, 2)
	assert.Equal(t, `{"image":"scene_000.png","photo":"rose.jpg","width":1024,"height":512,"objects":[{"box":[10,20,66,76],"class":3,"label":"Dress"},{"box":[100,0,128,28],"class":0,"label":"T-shirt/top","item":0}]}`, lines[0])
	assert.Equal(t, `{"image":"scene_001.png","width":1024,"height":512,"objects":[]}`, lines[1])
	out, err := fmnist.ReadTruth(&b, "truth.jsonl")
	require.NoError(t, err)
	assert.Equal(t, in, out)

	bad := []struct{ line, want string }{
		{`{"image":"a.png","width":10,"height":10,"objects":[{"box":[0,0,11,5],"class":3}]}`, "not inside"},
		{`{"image":"a.png","width":10,"height":10,"objects":[{"box":[0,0,5,5],"class":12}]}`, "class 12"},
		{`{"image":"a.png","width":10,"height":10,"objects":[{"box":[0,0,5,5],"class":3,"label":"Coat"}]}`, "does not match"},
		{`{"image":"a.png","width":10,"height":10,"objects":[{"box":[0,0,5,5],"class":3,"item":-1}]}`, "item -1 is negative"},
		{`{"image":"","width":10,"height":10,"objects":[]}`, "no image name"},
		{`{"image":"a.png","width":0,"height":10,"objects":[]}`, "size 0×10"},
		{`{"image":"a.png","width":10,"height":10,"objects":[]`, "unexpected EOF"},
	}
	for _, c := range bad {
		_, err := fmnist.ReadTruth(strings.NewReader("\n"+c.line+"\n"), "t.jsonl")
		require.Error(t, err, c.line)
		assert.Contains(t, err.Error(), "t.jsonl:2:", c.line)
		assert.Contains(t, err.Error(), c.want, c.line)
	}
}
