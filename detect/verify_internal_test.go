package detect

import (
	"encoding/json"
	"image"
	"math"
	"math/rand"
	"os"
	"testing"

	"github.com/fc2conv/fc2conv/models"
	"github.com/fc2conv/fc2conv/nn"
	"github.com/stretchr/testify/assert"
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

func TestViewBoxes(t *testing.T) {
	box := [4]float64{10.3, 20.7, 30.3, 40.7}
	views, err := verifierViews(7)
	require.NoError(t, err)
	require.Len(t, views, 7)
	require.Equal(t, box, views[0].at(box), "the box itself, to the bit")
	s := math.Exp(ViewScale)
	want := [][4]float64{
		{9.3, 20.7, 29.3, 40.7}, {11.3, 20.7, 31.3, 40.7}, // 0.05 of the side is 1 px
		{10.3, 19.7, 30.3, 39.7}, {10.3, 21.7, 30.3, 41.7},
		{20.3 - 10/s, 30.7 - 10/s, 20.3 + 10/s, 30.7 + 10/s}, {20.3 - 10*s, 30.7 - 10*s, 20.3 + 10*s, 30.7 + 10*s},
	}
	for i, w := range want {
		got := views[i+1].at(box)
		for k := range got {
			require.InDelta(t, w[k], got[k], 1e-9, "view %d coordinate %d", i+1, k)
		}
	}
	five, err := verifierViews(5)
	require.NoError(t, err)
	require.Equal(t, views[:5], five)
	for _, n := range []int{0, 1} {
		one, err := verifierViews(n)
		require.NoError(t, err)
		require.Equal(t, views[:1], one)
	}
	for _, n := range []int{-1, 2, 3, 9} {
		_, err := verifierViews(n)
		require.ErrorContains(t, err, "want 1, 5, 7 or 27")
	}
}

// randomVerifier is a 12×12 grey classifier of random weights, one dense
// layer to a softmax over two classes.
func randomVerifier(rng *rand.Rand) *nn.Network {
	dense := nn.NewDense("fc", 144, 2)
	for i := range dense.Weight.Data {
		dense.Weight.Data[i] = float32(rng.NormFloat64()) / 12
	}
	return &nn.Network{
		Input:    nn.InputSpec{Channels: 1, Height: 12, Width: 12, Mean: []float32{0.5}, Std: []float32{1}},
		Layers:   []nn.Layer{nn.NewFlatten("flat", nn.FlattenCHW), dense, nn.NewSoftmax("softmax")},
		Positive: 1,
	}
}

// TestRescoreAveragesViews checks that a box's verifier p is the mean of
// what each view alone gives, mirror averaged.
func TestRescoreAveragesViews(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	net := randomVerifier(rng)
	v, err := newVerifier([]*nn.Network{net}, nil, 1)
	require.NoError(t, err)
	img := greyNRGBA(rng, 64, 48)
	box := [4]float64{13.5, 9.25, 37.5, 33.25}
	p := func(views []view, noFlip bool) float64 {
		v.views = views
		dets := []Detection{{Box: box, Score: 1}}
		require.NoError(t, v.rescore(img, dets, noFlip))
		return dets[0].Score * dets[0].Score // sqrt(1 × p)
	}
	all, err := verifierViews(7)
	require.NoError(t, err)
	for _, noFlip := range []bool{false, true} {
		var sum float64
		each := map[float64]bool{}
		for _, w := range all {
			q := p([]view{w}, noFlip)
			sum += q
			each[q] = true
		}
		require.Len(t, each, 7, "every view sees a different crop")
		require.InDelta(t, sum/7, p(all, noFlip), 1e-6, "noFlip %v", noFlip)
		require.InDelta(t, (sum-p(all[5:], noFlip)*2)/5, p(all[:5], noFlip), 1e-6, "five views, noFlip %v", noFlip)

		// With max, p is the best view's, which is above the mean; with
		// min the least view's, below it.
		best, least := math.Inf(-1), math.Inf(1)
		for q := range each {
			best, least = max(best, q), min(least, q)
		}
		v.pool = PoolMax
		require.InDelta(t, best, p(all, noFlip), 1e-6, "the largest of seven, noFlip %v", noFlip)
		require.Greater(t, p(all, noFlip), sum/7+1e-6)
		v.pool = PoolMin
		require.InDelta(t, least, p(all, noFlip), 1e-6, "the least of seven, noFlip %v", noFlip)
		require.Less(t, p(all, noFlip), sum/7-1e-6)
		v.pool = PoolMean
	}
}

// TestViewGrid checks the 27 views: the box itself first, then each
// centre moved by −ViewShift, 0 or +ViewShift of the side each way with
// the sides scaled by exp(−ViewScale), 1 or exp(ViewScale), each once,
// and the seven views among them.
func TestViewGrid(t *testing.T) {
	grid, err := verifierViews(27)
	require.NoError(t, err)
	require.Len(t, grid, 27)
	assert.Equal(t, boxItself, grid[0])
	box := [4]float64{10, 20, 30, 60} // 20×40 about (20, 40)
	seen := map[[4]float64]bool{}
	for _, w := range grid {
		b := w.at(box)
		seen[b] = true
		cx, cy := (b[0]+b[2])/2, (b[1]+b[3])/2
		scale := (b[2] - b[0]) / 20
		assert.InDelta(t, scale, (b[3]-b[1])/40, 1e-12, "one scale for both sides")
		for _, x := range []float64{(cx - 20) / (20 * ViewShift), (cy - 40) / (40 * ViewShift), math.Log(scale) / ViewScale} {
			assert.InDelta(t, math.Round(x), x, 1e-9, "view %+v: a step of the grid", w)
			assert.LessOrEqual(t, math.Abs(x), 1+1e-9, "view %+v", w)
		}
	}
	assert.Len(t, seen, 27, "every view a different box")
	seven, err := verifierViews(7)
	require.NoError(t, err)
	for _, w := range seven {
		assert.True(t, seen[w.at(box)], "view %+v of the seven is in the grid", w)
	}
}

func TestPoolNames(t *testing.T) {
	for _, p := range []Pool{PoolMean, PoolMax, PoolMin} {
		got, err := ParsePool(p.String())
		require.NoError(t, err)
		assert.Equal(t, p, got)
	}
	_, err := ParsePool("median")
	assert.ErrorContains(t, err, `pool "median": want mean, max or min`)
	assert.Equal(t, "Pool(7)", Pool(7).String())
	assert.ErrorContains(t, Pool(7).check(27), "Pool(7): want PoolMean, PoolMax or PoolMin")
	assert.ErrorContains(t, PoolMin.check(1), "the min p of one view is its mean: it needs 5, 7 or 27 views")
	assert.NoError(t, PoolMin.check(27))
}

// TestRescoreWithContext checks that a verifier with context k is shown
// each box scaled by k about its centre: it scores a box as the same
// network without context scores the box 1.5 times as wide and high.
func TestRescoreWithContext(t *testing.T) {
	rng := rand.New(rand.NewSource(4))
	net := randomVerifier(rng)
	img := greyNRGBA(rng, 64, 48)
	score := func(context float64, box [4]float64) float64 {
		net.Input.Context = context
		v, err := newVerifier([]*nn.Network{net}, nil, 1)
		require.NoError(t, err)
		dets := []Detection{{Box: box, Score: 1}}
		require.NoError(t, v.rescore(img, dets, false))
		return dets[0].Score
	}
	box := [4]float64{20, 14, 36, 30}  // 16 px about (28, 22)
	wide := [4]float64{16, 10, 40, 34} // 24 px about the same centre
	edge := [4]float64{50, 2, 62, 14}  // its context leaves the image
	require.Equal(t, score(0, wide), score(1.5, box))
	require.Equal(t, score(0, [4]float64{47, -1, 65, 17}), score(1.5, edge))
	require.NotEqual(t, score(0, box), score(1.5, box), "context changes what the verifier sees")
	require.Equal(t, score(0, box), score(1, box), "context 1 is none")
}

// TestHeatmapBoxWithContext checks that a cell's box is the part of its
// window the network frames: the window shrunk by Context about its centre.
func TestHeatmapBoxWithContext(t *testing.T) {
	hm := Heatmap{Scale: 0.5, Step: nn.Pair{H: 4, W: 4}, Window: nn.Pair{H: 42, W: 42}, Rows: 3, Cols: 3, Data: make([]float32, 9)}
	// cell (1, 2): window at x 8, y 4 of the scaled image, 42 px; ×2 back
	require.Equal(t, [4]float64{16, 8, 100, 92}, hm.Box(1, 2))
	hm.Context = 1.5 // frames the middle 28 px: 56 px about (58, 50)
	require.Equal(t, [4]float64{30, 22, 86, 78}, hm.Box(1, 2))
}

// refCrop is the crop written plainly: each output pixel sums its taps'
// weights times their pixels, normalised as read, in the order cropBox
// sums them; a pixel outside the image is 0, the mean.
func refCrop(img *image.NRGBA, box [4]float64, win nn.Pair, norm *normalizer) []float32 {
	taps := func(lo, hi float64, n, size int) [][]tap {
		scale := (hi - lo) / float64(n)
		support := max(1, scale)
		out := make([][]tap, n)
		for k := range out {
			centre := lo + (float64(k)+0.5)*scale
			var sum float64
			for i := int(math.Floor(centre - support)); i <= int(math.Ceil(centre+support)); i++ {
				if w := 1 - math.Abs(float64(i)+0.5-centre)/support; w > 0 {
					out[k] = append(out[k], tap{i, float32(w)})
					sum += w
				}
			}
			for t := range out[k] {
				out[k][t].w = float32(float64(out[k][t].w) / sum)
			}
		}
		return out
	}
	xs, ys := taps(box[0], box[2], win.W, img.Rect.Dx()), taps(box[1], box[3], win.H, img.Rect.Dy())
	dst := make([]float32, norm.channels*win.H*win.W)
	for ch := range norm.channels {
		for r, ty := range ys {
			for c, tx := range xs {
				var acc float32
				for _, y := range ty {
					for _, x := range tx {
						var v float32
						if x.i >= 0 && y.i >= 0 && x.i < img.Rect.Dx() && y.i < img.Rect.Dy() {
							p := img.Pix[y.i*img.Stride+4*x.i:]
							if v = norm.lut[ch][p[ch]]; norm.channels == 1 {
								v = norm.grey(p)
							}
						}
						w := y.w * x.w
						acc += w * v
					}
				}
				dst[ch*win.H*win.W+r*win.W+c] = acc
			}
		}
	}
	return dst
}

// TestCropBitForBit holds the crops, alone and read from one region
// shared by many windows as a box's views share it, to refCrop bit for
// bit, grey and RGB, for boxes inside, across and outside the image,
// larger and smaller than the window.
func TestCropBitForBit(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	img := image.NewNRGBA(image.Rect(0, 0, 97, 61))
	rng.Read(img.Pix)
	rgb, err := newNormalizer(nn.InputSpec{Channels: 3, Height: 16, Width: 12, Mean: []float32{0.4, 0.5, 0.6}, Std: []float32{0.2, 0.25, 0.3}})
	require.NoError(t, err)
	for _, norm := range []*normalizer{unitGrey(t), rgb} {
		win := nn.Pair{H: 16, W: 12}
		var boxes [][4]float64
		for range 40 {
			x, y := rng.Float64()*160-40, rng.Float64()*110-30
			w, h := 1+rng.Float64()*120, 1+rng.Float64()*90
			boxes = append(boxes, [4]float64{x, y, x + w, y + h})
		}
		boxes = append(boxes, [4]float64{-50, -50, -20, -20}, [4]float64{0, 0, 97, 61}, [4]float64{-97, -61, 194, 122})
		windows := make([]window, len(boxes))
		for i, box := range boxes {
			windows[i].set(box, img.Rect.Size(), win)
		}
		var shared region
		shared.normalise(img, reach(windows), norm)
		got := make([]float32, norm.channels*win.H*win.W)
		for i, box := range boxes {
			want := refCrop(img, box, win, norm)
			cropBox(got, img, box, win, norm)
			require.Equal(t, want, got, "%d channels, box %v alone", norm.channels, box)
			clear(got)
			shared.resample(got, windows[i])
			require.Equal(t, want, got, "%d channels, box %v from the shared region", norm.channels, box)
		}
	}
}

// A box's views, and with few views several boxes', run through the
// verifier as one batch; each p is still what the views give one window
// at a time, to the bit. The embedded verifier has a head (its former FC
// layers) that the batch runs once.
func TestBatchedViewsMatchOneByOne(t *testing.T) {
	net, err := models.Verifier()
	require.NoError(t, err)
	rng := rand.New(rand.NewSource(5))
	img := greyNRGBA(rng, 160, 120)
	boxes := [][4]float64{{20, 15, 80, 75}, {-10, 30, 40, 80}, {100.5, 60.25, 158, 119}, {5, 5, 19, 19}}
	for range 16 {
		x, y, side := rng.Float64()*140, rng.Float64()*100, 8+rng.Float64()*60
		boxes = append(boxes, [4]float64{x, y, x + side, y + side*(0.8+0.4*rng.Float64())})
	}
	e := nn.NewEngine(net)
	for _, nviews := range []int{1, 5, 27} {
		for _, noFlip := range []bool{false, true} {
			views, err := verifierViews(nviews)
			require.NoError(t, err)
			v, err := newVerifier([]*nn.Network{net}, nil, 1)
			require.NoError(t, err)
			v.views = views
			vn := v.nets[0]
			shape := nn.Shape{C: vn.norm.channels, H: vn.win.H, W: vn.win.W}
			crop := make([]float32, shape.Size())
			out := make([]float32, v.out)
			passes := 2
			if noFlip {
				passes = 1
			}
			want := map[Pool][]float64{}
			for _, box := range boxes {
				// One window at a time, as the scorer did before it batched.
				sum, least, best := 0.0, math.Inf(1), math.Inf(-1)
				for _, w := range views {
					pv := 0.0
					vn.crop(crop, img, w.at(box))
					for pass := range passes {
						if pass == 1 {
							mirrorRows(crop, shape.W)
						}
						_, err := e.ForwardInto(out, crop, shape)
						require.NoError(t, err)
						pv += float64(out[v.class])
						sum += float64(out[v.class])
					}
					least, best = min(least, pv), max(best, pv)
				}
				want[PoolMin] = append(want[PoolMin], least/float64(passes))
				want[PoolMax] = append(want[PoolMax], best/float64(passes))
				want[PoolMean] = append(want[PoolMean], sum/float64(passes*nviews))
			}
			for pool, want := range want {
				v.pool = pool
				got, err := v.p(img, boxes, noFlip)
				require.NoError(t, err)
				for b := range boxes {
					require.Equal(t, math.Float64bits(want[b]), math.Float64bits(got[b]), "%d views, noFlip %v, box %d %v, pool %v: %v against %v", nviews, noFlip, b, boxes[b], pool, got[b], want[b])
				}
			}
		}
	}
}
