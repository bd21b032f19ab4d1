package fmnist_test

import (
	"image"
	"math"
	"testing"

	"github.com/fc2conv/fc2conv/fmnist"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const photoDir = "../testdata/photos"

func trainPhotos(t *testing.T) []*image.Gray {
	t.Helper()
	p, err := fmnist.Photos(photoDir, fmnist.PhotosTrain)
	require.NoError(t, err)
	return p
}

func draw(s *fmnist.Sampler, n int) (patches [][]float32, labels []int) {
	for i := 0; i < n; i++ {
		p := make([]float32, fmnist.PatchLen)
		labels = append(labels, s.Sample(p))
		patches = append(patches, p)
	}
	return patches, labels
}

func TestSamplerDeterministic(t *testing.T) {
	items := loadTiny(t, "train")
	photos := trainPhotos(t)
	a, la := draw(fmnist.NewSampler(items, photos, 42), 100)
	b, lb := draw(fmnist.NewSampler(items, photos, 42), 100)
	assert.Equal(t, la, lb)
	assert.Equal(t, a, b)
	c, _ := draw(fmnist.NewSampler(items, photos, 43), 100)
	assert.NotEqual(t, a, c)
	for i, p := range a {
		for _, v := range p {
			require.True(t, v >= 0 && v <= 1, "patch %d value %v", i, v)
		}
	}
	assert.Equal(t, -1, fmnist.NewSampler(items, photos, 1).Sample(make([]float32, 10)))
}

func TestSamplerBalance(t *testing.T) {
	items := loadTiny(t, "train")
	photos := trainPhotos(t)
	for _, frac := range []float64{1.0 / 3, 0.5} {
		cfg := fmnist.DefaultSamplerConfig()
		cfg.Mix.Positive = frac
		s, err := fmnist.NewSamplerWith(items, photos, 5, cfg)
		require.NoError(t, err)
		_, labels := draw(s, 900)
		pos := 0
		for _, l := range labels {
			require.Contains(t, []int{0, 1}, l)
			pos += l
		}
		// binomial standard deviation is under 17 here
		assert.InDelta(t, frac*900, float64(pos), 60, "positive fraction %v", frac)
	}
}

// centreContrast is the mean of the central 12×12 minus the mean of the
// 3-pixel border.
func centreContrast(p []float32) float64 {
	var in, out float64
	var nin, nout int
	for y := 0; y < 28; y++ {
		for x := 0; x < 28; x++ {
			v := float64(p[y*28+x])
			switch {
			case x >= 8 && x < 20 && y >= 8 && y < 20:
				in += v
				nin++
			case x < 3 || x >= 25 || y < 3 || y >= 25:
				out += v
				nout++
			}
		}
	}
	return in/float64(nin) - out/float64(nout)
}

// With only pure-background negatives, positives have a bright centred
// garment and negatives nothing in particular in the centre; on plain
// black backgrounds the garment stands out more.
func TestSamplerPositivesHaveCentredGarment(t *testing.T) {
	items := loadTiny(t, "train")
	photos := trainPhotos(t)
	for _, mode := range []string{"photo", "black", "scene"} {
		cfg := fmnist.DefaultSamplerConfig()
		cfg.Mix.NegOther, cfg.Mix.NegOffCentre, cfg.Mix.NegScale, cfg.Mix.NegBackground = 0, 0, 0, 1
		cfg.Background.Invert, cfg.Place.Neighbour = 0, 0
		minPos := 0.08
		switch mode {
		case "black":
			cfg.Background.Black, cfg.Background.Photo, minPos = 1, 0, 0.3
		case "scene":
			cfg.Background.Black, cfg.Background.Scene = 0, 1
		}
		s, err := fmnist.NewSamplerWith(items, photos, 9, cfg)
		require.NoError(t, err)
		patches, labels := draw(s, 600)
		var sum [2]float64
		var n [2]int
		for i, p := range patches {
			sum[labels[i]] += centreContrast(p)
			n[labels[i]]++
		}
		require.Positive(t, n[0])
		require.Positive(t, n[1])
		pos, neg := sum[1]/float64(n[1]), sum[0]/float64(n[0])
		t.Logf("%s: centre contrast: positives %.3f, negatives %.3f", mode, pos, neg)
		assert.Greater(t, pos, minPos, mode)
		assert.Less(t, math.Abs(neg), 0.05, mode)
	}
}

func TestSamplerHardNegatives(t *testing.T) {
	items := loadTiny(t, "train")
	cfg := fmnist.DefaultSamplerConfig()
	cfg.Mix.Positive, cfg.Mined.Negative, cfg.Mined.Cap = 0, 1, 2
	s, err := fmnist.NewSamplerWith(items, nil, 3, cfg)
	require.NoError(t, err)
	assert.Error(t, s.AddNegative(make([]float32, 5)))
	marker := make([]float32, fmnist.PatchLen)
	for i := range marker {
		marker[i] = 0.25
	}
	for i := 0; i < 3; i++ { // the third replaces the first
		require.NoError(t, s.AddNegative(marker))
	}
	assert.Equal(t, 2, s.HardNegatives())
	patches, labels := draw(s, 20)
	for i, p := range patches {
		assert.Equal(t, 0, labels[i])
		assert.Equal(t, marker, p, "sample %d is a mined negative", i)
	}
}

// Scene-style samples are resampled from a magnified canvas, so they differ
// from the same stream without it, and (before jitter) sit on the 8-bit
// grid the detector reads scenes at.
func TestSamplerSceneStyle(t *testing.T) {
	items := loadTiny(t, "train")
	photos := trainPhotos(t)
	cfg := fmnist.DefaultSamplerConfig()
	cfg.Background.Black, cfg.Background.Invert, cfg.Jitter.Contrast, cfg.Jitter.Brightness, cfg.Jitter.Noise = 0, 0, 0, 0, 0
	plain, _ := draw(mustSampler(t, items, photos, cfg), 50)
	cfg.Background.Scene = 1
	scene, _ := draw(mustSampler(t, items, photos, cfg), 50)
	assert.NotEqual(t, plain, scene)
	assert.Zero(t, offGrid(scene), "scene-style values off the 8-bit grid")
	assert.Positive(t, offGrid(plain), "plain patches are painted in float")
}

func offGrid(patches [][]float32) int {
	n := 0
	for _, p := range patches {
		for _, v := range p {
			if q := float64(v) * 255; math.Abs(q-math.Round(q)) > 1e-3 {
				n++
			}
		}
	}
	return n
}

func mustSampler(t *testing.T, items *fmnist.Set, photos []*image.Gray, cfg fmnist.SamplerConfig) *fmnist.Sampler {
	t.Helper()
	s, err := fmnist.NewSamplerWith(items, photos, 11, cfg)
	require.NoError(t, err)
	return s
}

func TestSamplerHardPositives(t *testing.T) {
	items := loadTiny(t, "train")
	cfg := fmnist.DefaultSamplerConfig()
	cfg.Mix.Positive, cfg.Mined.Positive, cfg.Mined.Cap = 1, 1, 2
	s := mustSampler(t, items, nil, cfg)
	assert.Error(t, s.AddPositive(make([]float32, 5)))
	// Without mined positives the sampler paints its own.
	patches, labels := draw(s, 5)
	marker := make([]float32, fmnist.PatchLen)
	for i := range marker {
		marker[i] = 0.75
	}
	for i, p := range patches {
		assert.Equal(t, 1, labels[i])
		assert.NotEqual(t, marker, p)
	}
	for i := 0; i < 3; i++ { // the third replaces the first
		require.NoError(t, s.AddPositive(marker))
	}
	assert.Equal(t, 2, s.HardPositives())
	assert.Equal(t, 0, s.HardNegatives())
	patches, labels = draw(s, 20)
	for i, p := range patches {
		assert.Equal(t, 1, labels[i])
		assert.Equal(t, marker, p, "sample %d is a mined positive", i)
	}
}

func TestSamplerConfigAndDegenerateInputs(t *testing.T) {
	items := loadTiny(t, "train")
	bad := fmnist.DefaultSamplerConfig()
	bad.Mix.Positive = 1.5
	_, err := fmnist.NewSamplerWith(items, nil, 1, bad)
	assert.ErrorContains(t, err, "Positive")
	bad = fmnist.DefaultSamplerConfig()
	bad.Place.Shift = 12
	_, err = fmnist.NewSamplerWith(items, nil, 1, bad)
	assert.ErrorContains(t, err, "Shift")
	bad = fmnist.DefaultSamplerConfig()
	bad.Background.Scene = -0.1
	_, err = fmnist.NewSamplerWith(items, nil, 1, bad)
	assert.ErrorContains(t, err, "Scene")

	noDress := &fmnist.Set{Rows: 28, Cols: 28}
	for i, l := range items.Labels {
		if l != fmnist.Dress {
			noDress.Images = append(noDress.Images, items.Images[i])
			noDress.Labels = append(noDress.Labels, l)
		}
	}
	_, err = fmnist.NewSamplerWith(noDress, nil, 1, fmnist.DefaultSamplerConfig())
	assert.ErrorContains(t, err, "0 dresses")
	// The unchecked constructor degrades to negatives only, without panics.
	_, labels := draw(fmnist.NewSampler(noDress, nil, 1), 50)
	assert.NotContains(t, labels, 1)
	_, labels = draw(fmnist.NewSampler(nil, []*image.Gray{nil, image.NewGray(image.Rect(0, 0, 3, 2))}, 1), 50)
	assert.NotContains(t, labels, 1)
}

// With OffCentreIoU, off-centre dresses may sit diagonally close to the
// centre, but never overlap the centred window by that IoU or more: the
// garment's centre of mass (bright on black) moves far enough.
func TestSamplerOffCentreByIoU(t *testing.T) {
	items := loadTiny(t, "train")
	cfg := fmnist.DefaultSamplerConfig()
	cfg.Mix.Positive, cfg.Background.Black, cfg.Background.Photo, cfg.Place.Neighbour = 0, 1, 0, 0
	cfg.Mix.NegOther, cfg.Mix.NegBackground, cfg.Mix.NegOffCentre, cfg.Mix.NegScale = 0, 0, 1, 0
	cfg.Jitter.Contrast, cfg.Jitter.Brightness, cfg.Jitter.Noise, cfg.Place.ScaleMin, cfg.Place.ScaleMax = 0, 0, 0, 1, 1
	cfg.Place.OffCentreIoU = 0.4
	patches, _ := draw(mustSampler(t, items, nil, cfg), 300)
	diagonal := 0
	for i, p := range patches {
		var sx, sy, sum float64
		for y := 0; y < 28; y++ {
			for x := 0; x < 28; x++ {
				v := float64(p[y*28+x])
				sx, sy, sum = sx+v*float64(x), sy+v*float64(y), sum+v
			}
		}
		if sum == 0 {
			continue // shifted out of sight
		}
		dx, dy := math.Abs(sx/sum-13.5), math.Abs(sy/sum-13.5)
		// A shift keeping IoU < 0.4 moves the item at least 7 px on both
		// axes or 10 on one; the visible part's centre moves at least half
		// of that (a dress's own centre of mass is within 2 px of the middle).
		require.True(t, dx+dy > 2.5, "patch %d: garment barely off centre (%.1f, %.1f)", i, dx, dy)
		if dx > 3 && dy > 3 {
			diagonal++
		}
	}
	assert.Positive(t, diagonal, "some off-centre dresses are diagonal")
}

// ScaleIoU changes what a wrong-scale negative is, keeps it a negative,
// and refuses bounds no nested dress can meet.
func TestSamplerScaleIoU(t *testing.T) {
	items := loadTiny(t, "train")
	cfg := fmnist.DefaultSamplerConfig()
	cfg.Mix.Positive, cfg.Background.Black, cfg.Background.Photo, cfg.Place.Neighbour = 0, 1, 0, 0
	cfg.Mix.NegOther, cfg.Mix.NegBackground, cfg.Mix.NegOffCentre, cfg.Mix.NegScale = 0, 0, 0, 1
	before, labels := draw(mustSampler(t, items, nil, cfg), 50)
	assert.NotContains(t, labels, 1)
	cfg.Place.ScaleIoU = 0.45
	after, labels := draw(mustSampler(t, items, nil, cfg), 50)
	assert.NotContains(t, labels, 1)
	assert.NotEqual(t, before, after)
	cfg.Place.ScaleIoU = 0.1
	_, err := fmnist.NewSamplerWith(items, nil, 1, cfg)
	assert.ErrorContains(t, err, "ScaleIoU")
}

// Validate names the setting at fault in a *ConfigError, so a caller can
// say which of its own knobs set it.
func TestSamplerConfigErrorField(t *testing.T) {
	for _, c := range []struct {
		set   func(*fmnist.SamplerConfig)
		field string
		msg   string
	}{
		{func(c *fmnist.SamplerConfig) { c.Background.Scene = 2 }, "Background.Scene", "Background.Scene = 2, want a fraction in [0,1]"},
		{func(c *fmnist.SamplerConfig) { c.Background.Black, c.Background.Photo = 0.5, 0.7 }, "Background.Photo", "Black + Photo = 1.2"},
		{func(c *fmnist.SamplerConfig) { c.Mix.NegScale = -1 }, "Mix.NegScale", "Mix.NegScale = -1, want a finite weight ≥ 0"},
		{func(c *fmnist.SamplerConfig) { c.Mined.Cap = -2 }, "Mined.Cap", "Mined.Cap = -2"},
		{func(c *fmnist.SamplerConfig) { c.Jitter.GainMax = 5 }, "Jitter.GainMax", "range [0.7,5]"},
		{func(c *fmnist.SamplerConfig) { c.Crops.Context = 0.9 }, "Crops.Context", "Crops.Context = 0.9, want 0 or in [1, 8]"},
	} {
		cfg := fmnist.DefaultSamplerConfig()
		c.set(&cfg)
		err := cfg.Validate()
		var ce *fmnist.ConfigError
		require.ErrorAs(t, err, &ce, c.field)
		assert.Equal(t, c.field, ce.Field)
		assert.ErrorContains(t, err, "fmnist: sampler config: ")
		assert.ErrorContains(t, err, c.msg)
	}
	assert.NoError(t, fmnist.DefaultSamplerConfig().Validate())
}

// SampleClass draws the very patches Sample draws, and names the class of
// the item each one frames: here coats are white squares and sandals are
// blank, so a patch's brightness tells which was pasted.
func TestSampleClass(t *testing.T) {
	const side = 28
	set := &fmnist.Set{Rows: side, Cols: side}
	add := func(class int, v uint8, n int) {
		for range n {
			img := make([]uint8, side*side)
			for i := range img {
				img[i] = v
			}
			set.Images = append(set.Images, img)
			set.Labels = append(set.Labels, uint8(class))
		}
	}
	add(fmnist.Dress, 255, 5)
	add(4, 255, 5) // Coat
	add(5, 0, 5)   // Sandal
	cfg := fmnist.DefaultSamplerConfig()
	cfg.Mix = fmnist.SampleMix{Positive: 0.3, NegOther: 1, NegBackground: 0.2}
	cfg.Background.Black, cfg.Background.Photo, cfg.Background.Invert, cfg.Place.Neighbour = 1, 0, 0, 0
	cfg.Jitter = fmnist.Jitter{GainMin: 1, GainMax: 1}

	byClass, byLabel := mustSampler(t, set, nil, cfg), mustSampler(t, set, nil, cfg)
	count := map[int]int{}
	for i := range 600 {
		p, q := make([]float32, fmnist.PatchLen), make([]float32, fmnist.PatchLen)
		c, l := byClass.SampleClass(p), byLabel.Sample(q)
		require.Equal(t, q, p, "patch %d", i)
		require.Equal(t, c == fmnist.Dress, l == 1, "patch %d: class %d, label %d", i, c, l)
		count[c]++
		var mean float64
		for _, v := range p {
			mean += float64(v) / fmnist.PatchLen
		}
		switch c {
		case fmnist.Dress, 4:
			assert.Greater(t, mean, 0.4, "patch %d: class %d", i, c)
		case 5, fmnist.NoItem:
			assert.Less(t, mean, 0.01, "patch %d: class %d", i, c)
		default:
			t.Fatalf("patch %d: class %d, not among the items", i, c)
		}
	}
	for _, c := range []int{fmnist.Dress, 4, 5, fmnist.NoItem} {
		assert.Positive(t, count[c], "class %d never drawn: %v", c, count)
	}
	assert.Equal(t, -1, byClass.SampleClass(make([]float32, 10)))
}

// TestSamplerRaw checks Mix.Raw: that share of the samples are an item's
// bytes /255 exactly (or their mirror), of the class returned, with
// negatives drawn by NegClass; the rest are painted as before.
func TestSamplerRaw(t *testing.T) {
	items := loadTiny(t, "train")
	for _, k := range []float64{0, 9.0 / 7} {
		testSamplerRaw(t, items, k)
	}
}

// testSamplerRaw checks raw items shown with context k (Crops.Context).
func testSamplerRaw(t *testing.T, items *fmnist.Set, k float64) {
	cfg := fmnist.DefaultSamplerConfig()
	cfg.Mix.Raw = 0.4
	cfg.Mix.NegClass[4] = 1 // coats only, when a raw negative is drawn
	cfg.Crops.Context = k
	s := mustSampler(t, items, trainPhotos(t), cfg)
	shown, err := items.InContext(k)
	require.NoError(t, err)
	if k > 1 {
		require.NotEqual(t, items.Images[0], shown.Images[0])
	}

	// rawClass finds p among the items as shown, as is or mirrored, and
	// returns the item's class, or -1.
	rawClass := func(p []float32) int {
		for i, img := range shown.Images {
			same, mirrored := true, true
			for y := 0; y < fmnist.PatchSize && (same || mirrored); y++ {
				for x := 0; x < fmnist.PatchSize; x++ {
					v := p[y*fmnist.PatchSize+x]
					same = same && v == float32(img[y*fmnist.PatchSize+x])/255
					mirrored = mirrored && v == float32(img[y*fmnist.PatchSize+fmnist.PatchSize-1-x])/255
				}
			}
			if same || mirrored {
				return int(items.Labels[i])
			}
		}
		return -1
	}
	const n = 1500
	raw := map[int]int{}
	for i := range n {
		p := make([]float32, fmnist.PatchLen)
		c := s.SampleClass(p)
		rc := rawClass(p)
		if rc < 0 {
			continue
		}
		require.Equal(t, rc, c, "patch %d is a raw class-%d item, SampleClass says %d", i, rc, c)
		raw[c]++
	}
	total := 0
	for c, k := range raw {
		require.Contains(t, []int{fmnist.Dress, 4}, c, "raw negatives must follow NegClass (coats only): %v", raw)
		total += k
	}
	// 0.4 of 1500 is 600; a painted patch is never bit-equal to an item.
	assert.InDelta(t, 0.4*n, total, 60, "context %v, raw samples: %v", k, raw)
	assert.InDelta(t, 0.4*cfg.Mix.Positive*n, raw[fmnist.Dress], 40, "context %v, raw dresses: %v", k, raw)

	// Raw needs items of the patch's size.
	small := &fmnist.Set{Rows: 14, Cols: 14, Images: [][]uint8{make([]uint8, 196), make([]uint8, 196)}, Labels: []uint8{fmnist.Dress, 4}}
	_, err = fmnist.NewSamplerWith(small, nil, 1, cfg)
	var ce *fmnist.ConfigError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, "Mix.Raw", ce.Field)
	assert.Contains(t, err.Error(), "14×14")
}

// DressScale gives the size a painted dress was drawn at, inside the
// configured range, and 1 for every other patch, raw dresses included.
func TestSamplerDressScale(t *testing.T) {
	items := loadTiny(t, "train")
	cfg := fmnist.DefaultSamplerConfig()
	cfg.Mix.Raw = 0.3
	cfg.Place.ScaleMin, cfg.Place.ScaleMax = 0.8, 1.25
	s := mustSampler(t, items, trainPhotos(t), cfg)
	assert.Equal(t, 1.0, s.DressScale(), "before any patch")
	painted, off := 0, 0
	for i := range 600 {
		p := make([]float32, fmnist.PatchLen)
		c := s.SampleClass(p)
		k := s.DressScale()
		if c != fmnist.Dress {
			require.Equal(t, 1.0, k, "patch %d, class %d", i, c)
			continue
		}
		if k != 1 {
			painted++
			require.GreaterOrEqual(t, k, 0.8, "patch %d", i)
			require.LessOrEqual(t, k, 1.25, "patch %d", i)
			if k < 0.894 || k > 1.118 {
				off++
			}
		}
	}
	assert.Greater(t, painted, 50, "painted dresses with their scale")
	assert.Greater(t, off, 10, "dresses drawn off the half step")
}
