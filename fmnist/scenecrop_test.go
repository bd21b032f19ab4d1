package fmnist_test

import (
	"image"
	"math"
	"math/rand"
	"slices"
	"testing"

	"github.com/fc2conv/fc2conv/fmnist"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func iou(a, b image.Rectangle) float64 {
	in := a.Intersect(b)
	i := float64(in.Dx() * in.Dy())
	return i / (float64(a.Dx()*a.Dy()+b.Dx()*b.Dy()) - i)
}

func truthRect(o fmnist.Object) image.Rectangle {
	return image.Rect(int(o.Box[0]), int(o.Box[1]), int(o.Box[2]), int(o.Box[3]))
}

// Each item is cut near its truth box, as far off as Shift and Scale say,
// and followed by background boxes that overlap no item much.
func TestSceneCropperBoxes(t *testing.T) {
	items, photos := loadTiny(t, "train"), trainPhotos(t)
	cfg := fmnist.SceneCrops{Shift: 0.05, Scale: 0.12, Background: 2}
	c := fmnist.NewSceneCropper(rand.New(rand.NewSource(5)), items, photos, cfg)
	var dx, logs []float64
	backgrounds, dresses := 0, 0
	for range 60 {
		crops, truth := c.Scene()
		require.NotEmpty(t, truth)
		k := 0
		for _, o := range truth {
			item := crops[k]
			k++
			require.Equal(t, o.Class, item.Class)
			require.Len(t, item.Pix, fmnist.Side*fmnist.Side)
			side := o.Box[2] - o.Box[0]
			dx = append(dx, (float64(item.Box.Min.X+item.Box.Max.X)/2-(o.Box[0]+o.Box[2])/2)/side)
			logs = append(logs, math.Log(float64(item.Box.Dx())/side))
			if o.Class == fmnist.Dress {
				dresses++
			}
			for k < len(crops) && crops[k].Class == fmnist.NoItem {
				for _, other := range truth {
					require.Less(t, iou(crops[k].Box, truthRect(other)), fmnist.BackgroundIoU)
				}
				backgrounds++
				k++
			}
		}
		require.Equal(t, len(crops), k)
	}
	std := func(v []float64) float64 {
		var s, s2 float64
		for _, x := range v {
			s, s2 = s+x, s2+x*x
		}
		m := s / float64(len(v))
		return math.Sqrt(s2/float64(len(v)) - m*m)
	}
	// Rounding to whole pixels adds a little to both.
	assert.InDelta(t, 0.05, std(dx), 0.015, "centre offset")
	assert.InDelta(t, 0.12, std(logs), 0.03, "log scale")
	assert.InDelta(t, 2*len(dx), backgrounds, float64(len(dx))/5, "two background boxes per item, nearly all found")
	assert.InDelta(t, 1.0/3, float64(dresses)/float64(len(dx)), 0.08, "scenes paint a third dresses")

	a, _ := fmnist.NewSceneCropper(rand.New(rand.NewSource(9)), items, photos, cfg).Scene()
	b, _ := fmnist.NewSceneCropper(rand.New(rand.NewSource(9)), items, photos, cfg).Scene()
	assert.Equal(t, a, b, "same stream, same crops")
}

// With Confusable, that share of scenes holds only dresses and the
// confusable garments (counted over 200 scenes: a scene of the usual kind
// with no other class among its four or so other items is rare, about
// (4/9)^4 = 4%). At 0 nothing changes (TestSamplerPinned, "scene crops").
func TestSceneCropperConfusable(t *testing.T) {
	items, photos := loadTiny(t, "train"), trainPhotos(t)
	onlyConfusable := func(truth []fmnist.Object) bool {
		for _, o := range truth {
			if o.Class != fmnist.Dress && !slices.Contains(fmnist.Confusable, o.Class) {
				return false
			}
		}
		return true
	}
	share := func(confusable float64) float64 {
		c := fmnist.NewSceneCropper(rand.New(rand.NewSource(3)), items, photos, fmnist.SceneCrops{Background: 1, Confusable: confusable})
		n := 0
		for range 200 {
			_, truth := c.Scene()
			if onlyConfusable(truth) {
				n++
			}
		}
		return float64(n) / 200
	}
	assert.Equal(t, 1.0, share(1))
	assert.InDelta(t, 0.5+0.5*0.04, share(0.5), 0.12)
	assert.Less(t, share(0), 0.12)
}

// With Dark 1 every scene's items are the darkest quarter of their class,
// by a cut worked out here from the items' pixels; at 0 nothing changes
// (TestSamplerPinned, "scene crops").
func TestSceneCropperDark(t *testing.T) {
	items, photos := loadTiny(t, "train"), trainPhotos(t)
	byClass := map[int][]float64{}
	for i, img := range items.Images {
		sum, n := 0.0, 0.0
		for _, p := range img {
			if p > 0 {
				sum, n = sum+float64(p), n+1
			}
		}
		byClass[int(items.Labels[i])] = append(byClass[int(items.Labels[i])], sum/max(n, 1))
	}
	cut := map[int]float64{}
	for c, b := range byClass {
		slices.Sort(b)
		cut[c] = b[max(1, int(0.25*float64(len(b))+0.5))-1]
	}
	dark := items.Darkest(fmnist.DarkFraction)
	c := fmnist.NewSceneCropper(rand.New(rand.NewSource(3)), items, photos, fmnist.SceneCrops{Dark: 1})
	classes := map[int]bool{}
	for range 50 {
		_, truth := c.Scene()
		for _, o := range truth {
			require.True(t, o.HasItem)
			require.Less(t, o.Item, dark.Len())
			assert.Equal(t, o.Class, int(dark.Labels[o.Item]))
			assert.LessOrEqual(t, fmnist.Brightness(dark.Images[o.Item]), cut[o.Class], "class %d", o.Class)
			classes[o.Class] = true
		}
	}
	assert.Len(t, classes, fmnist.NumClasses, "dark scenes still hold every class")
}

// Without jitter an item is cut at its truth box.
func TestSceneCropperExactBoxes(t *testing.T) {
	c := fmnist.NewSceneCropper(rand.New(rand.NewSource(2)), loadTiny(t, "train"), nil, fmnist.SceneCrops{})
	crops, truth := c.Scene()
	require.Len(t, crops, len(truth))
	for i, o := range truth {
		assert.Equal(t, truthRect(o), crops[i].Box)
	}
}

func TestSamplerSceneCrops(t *testing.T) {
	cfg := fmnist.DefaultSamplerConfig()
	cfg.Mix.SceneCrop = 1
	s, err := fmnist.NewSamplerWith(loadTiny(t, "train"), trainPhotos(t), 3, cfg)
	require.NoError(t, err)
	counts := map[int]int{}
	p := make([]float32, fmnist.PatchLen)
	for range 600 {
		c := s.SampleClass(p)
		require.True(t, c >= 0 && c <= fmnist.NoItem, "class %d", c)
		counts[c]++
		for _, v := range p {
			require.True(t, v >= 0 && v <= 1)
		}
	}
	// One background box per item, a third of the items dresses.
	assert.InDelta(t, 300, counts[fmnist.NoItem], 40)
	assert.InDelta(t, 100, counts[fmnist.Dress], 35)

	for _, c := range []struct {
		set   func(*fmnist.SamplerConfig)
		field string
	}{
		{func(c *fmnist.SamplerConfig) { c.Mix.SceneCrop = 1.5 }, "Mix.SceneCrop"},
		{func(c *fmnist.SamplerConfig) { c.Crops.Shift = 0.6 }, "Crops.Shift"},
		{func(c *fmnist.SamplerConfig) { c.Crops.Scale = -0.1 }, "Crops.Scale"},
		{func(c *fmnist.SamplerConfig) { c.Crops.Background = 11 }, "Crops.Background"},
		{func(c *fmnist.SamplerConfig) { c.Crops.Confusable = 1.01 }, "Crops.Confusable"},
		{func(c *fmnist.SamplerConfig) { c.Crops.Partial = -1 }, "Crops.Partial"},
		{func(c *fmnist.SamplerConfig) { c.Crops.Confusable = math.NaN() }, "Crops.Confusable"},
		{func(c *fmnist.SamplerConfig) { c.Crops.Dark = -0.5 }, "Crops.Dark"},
		{func(c *fmnist.SamplerConfig) { c.Crops.Dark = math.NaN() }, "Crops.Dark"},
		{func(c *fmnist.SamplerConfig) { c.Crops.Print = 1.5 }, "Crops.Print"},
		{func(c *fmnist.SamplerConfig) { c.Crops.Print = math.NaN() }, "Crops.Print"},
	} {
		bad := fmnist.DefaultSamplerConfig()
		c.set(&bad)
		var ce *fmnist.ConfigError
		require.ErrorAs(t, bad.Validate(), &ce, c.field)
		assert.Equal(t, c.field, ce.Field)
	}
}

// Partial boxes cut across part of their item and frame no item: IoU from
// 0.1 to 0.4 with their own (the crop before them), under 0.4 with every
// item, labelled "no item". Each draw fails only rarely.
func TestSceneCropperPartial(t *testing.T) {
	c := fmnist.NewSceneCropper(rand.New(rand.NewSource(4)), loadTiny(t, "train"), trainPhotos(t), fmnist.SceneCrops{Partial: 2})
	items, partial := 0, 0
	for range 40 {
		crops, truth := c.Scene()
		own := -1
		for _, cr := range crops {
			if cr.Class != fmnist.NoItem {
				own++
				require.Equal(t, truthRect(truth[own]), cr.Box, "an item at its truth box")
				items++
				continue
			}
			partial++
			overlap := iou(cr.Box, truthRect(truth[own]))
			assert.GreaterOrEqual(t, overlap, fmnist.PartialMinIoU, "box %v on item %v", cr.Box, truth[own].Box)
			for _, o := range truth {
				assert.Less(t, iou(cr.Box, truthRect(o)), fmnist.BackgroundIoU, "box %v on item %v", cr.Box, o.Box)
			}
			assert.True(t, cr.Box.In(image.Rect(0, 0, 512, 256)), "box %v", cr.Box)
		}
		require.Equal(t, len(truth)-1, own)
	}
	assert.Greater(t, partial, items*3/2, "most of the two draws per item find a box")
}

// Side changes only how finely a crop is resampled: the same stream cuts
// the same boxes with the same classes, and a crop's mean grey is nearly
// the same at either side (a crop of one item, not of another).
func TestSceneCropperSide(t *testing.T) {
	items, photos := loadTiny(t, "train"), trainPhotos(t)
	cfg := fmnist.SceneCrops{Shift: 0.05, Scale: 0.12, Background: 1, Context: 9.0 / 7}
	big := cfg
	big.Side = 36
	a, ta := fmnist.NewSceneCropper(rand.New(rand.NewSource(4)), items, photos, cfg).Scene()
	b, tb := fmnist.NewSceneCropper(rand.New(rand.NewSource(4)), items, photos, big).Scene()
	require.Equal(t, ta, tb)
	require.Len(t, b, len(a))
	mean := func(p []uint8) float64 {
		s := 0.0
		for _, v := range p {
			s += float64(v)
		}
		return s / float64(len(p))
	}
	for i := range a {
		assert.Equal(t, a[i].Box, b[i].Box)
		assert.Equal(t, a[i].Class, b[i].Class)
		require.Len(t, a[i].Pix, fmnist.Side*fmnist.Side)
		require.Len(t, b[i].Pix, 36*36)
		assert.InDelta(t, mean(a[i].Pix), mean(b[i].Pix), 3, "crop %d", i)
	}
}

// A sampler whose Crops.Side is 36 draws 36×36 patches of every kind it
// allows (scene crops, raw items in their margin, mined windows), the
// same stream for the same seed; the painted kinds, drawn at 28 only,
// are refused.
func TestSamplerSide(t *testing.T) {
	items, photos := loadTiny(t, "train"), trainPhotos(t)
	cfg := fmnist.DefaultSamplerConfig()
	cfg.Mix.SceneCrop, cfg.Mix.Raw = 0.5, 1
	cfg.Crops = fmnist.SceneCrops{Shift: 0.05, Scale: 0.12, Background: 1, Context: 9.0 / 7, Side: 36}
	cfg.Mined.Negative = 0.5
	s, err := fmnist.NewSamplerWith(items, photos, 3, cfg)
	require.NoError(t, err)
	require.Equal(t, 36, s.Side())
	require.Error(t, s.AddNegative(make([]float32, fmnist.PatchLen)), "a 28×28 patch is no 36×36 one")
	mined := make([]float32, 36*36)
	for i := range mined {
		mined[i] = 0.25
	}
	require.NoError(t, s.AddNegative(mined))
	require.Equal(t, -1, s.SampleClass(make([]float32, fmnist.PatchLen)), "too short for a patch")
	dst := make([]float32, 36*36)
	var minedSeen, rawSeen int
	for range 200 {
		c := s.SampleClass(dst)
		require.GreaterOrEqual(t, c, 0)
		require.LessOrEqual(t, c, fmnist.NoItem)
		if dst[0] == 0.25 && dst[36*36-1] == 0.25 {
			minedSeen++
		}
		// A raw item's margin (4 px at 36 with context 9/7) is black.
		if dst[0] == 0 && dst[3] == 0 && dst[3*36] == 0 && dst[36*36-1] == 0 {
			rawSeen++
		}
	}
	assert.Greater(t, minedSeen, 10)
	assert.Greater(t, rawSeen, 10)

	a, b := make([]float32, 36*36), make([]float32, 36*36)
	s1, err := fmnist.NewSamplerWith(items, photos, 8, cfg)
	require.NoError(t, err)
	s2, err := fmnist.NewSamplerWith(items, photos, 8, cfg)
	require.NoError(t, err)
	for range 20 {
		require.Equal(t, s1.SampleClass(a), s2.SampleClass(b))
		require.Equal(t, a, b)
	}

	painted := cfg
	painted.Mix.Raw = 0.5
	_, err = fmnist.NewSamplerWith(items, photos, 3, painted)
	require.ErrorContains(t, err, "Crops.Side = 36 needs Mix.Raw 1 or Mix.SceneCrop 1")
	big := cfg
	big.Crops.Side = fmnist.MaxPatchSide + 1
	_, err = fmnist.NewSamplerWith(items, photos, 3, big)
	require.ErrorContains(t, err, "Crops.Side = 113")
}

// Clean leaves every crop's bytes as they were and adds its twin: on a
// black photograph the twin is the crop itself, on the training
// photographs every twin differs from its crop, and a background box's
// twin is mostly dark.
func TestSceneCropperClean(t *testing.T) {
	items, photos := loadTiny(t, "train"), trainPhotos(t)
	cfg := fmnist.SceneCrops{Shift: 0.05, Scale: 0.12, Background: 1}
	twin := cfg
	twin.Clean = true
	a, ta := fmnist.NewSceneCropper(rand.New(rand.NewSource(6)), items, photos, cfg).Scene()
	b, tb := fmnist.NewSceneCropper(rand.New(rand.NewSource(6)), items, photos, twin).Scene()
	require.Equal(t, ta, tb)
	require.Len(t, b, len(a))
	differ := 0
	for i := range a {
		assert.Nil(t, a[i].Clean)
		assert.Equal(t, a[i].Pix, b[i].Pix, "crop %d", i)
		require.Len(t, b[i].Clean, fmnist.Side*fmnist.Side)
		if !slices.Equal(b[i].Pix, b[i].Clean) {
			differ++
		}
		if b[i].Class == fmnist.NoItem {
			dark := 0
			for _, v := range b[i].Clean {
				if v < 8 {
					dark++
				}
			}
			assert.Greater(t, dark, len(b[i].Clean)/2, "background crop %d", i)
		}
	}
	assert.Equal(t, len(b), differ, "a twin equal to its crop on a photograph")

	black := image.NewGray(image.Rect(0, 0, 64, 64))
	c, _ := fmnist.NewSceneCropper(rand.New(rand.NewSource(6)), items, []*image.Gray{black}, twin).Scene()
	require.NotEmpty(t, c)
	for i := range c {
		assert.Equal(t, c[i].Pix, c[i].Clean, "crop %d on black", i)
	}
}
