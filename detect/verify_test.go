package detect_test

import (
	"errors"
	"image"
	"math"
	"math/rand"
	"slices"
	"testing"

	"github.com/fc2conv/fc2conv/detect"
	"github.com/fc2conv/fc2conv/nn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// brightnessVerifier is an FC classifier on a 12×12 grey window (not the
// detector's 8×8: a verifier has its own) whose p(class 1) is
// softmax(w·Σ(pixel−0.5) + bias): w > 0 likes white boxes, w < 0 dark
// ones, w = 0 scores every box sigmoid(bias).
func brightnessVerifier(t *testing.T, w, bias float32, threshold float64) *nn.Network {
	dense := nn.NewDense("fc", 144, 2)
	for i := range 144 {
		dense.Weight.Data[144+i] = w // row 1: class 1
	}
	dense.Bias.Data[1] = bias
	net := &nn.Network{
		Input:     nn.InputSpec{Channels: 1, Height: 12, Width: 12, Mean: []float32{0.5}, Std: []float32{1}},
		Layers:    []nn.Layer{nn.NewFlatten("flat", nn.FlattenCHW), dense, nn.NewSoftmax("softmax")},
		Positive:  1,
		Threshold: threshold,
	}
	require.NoError(t, net.Validate())
	return net
}

func TestVerifierRescoresEachBox(t *testing.T) {
	// The white 8×8 square of TestDetectFindsSquare: the scan alone
	// reports it once, with score 1.
	img := blackWithSquare(40, 32, 12, 20, 8)
	detectWith := func(v *nn.Network, thr float64) []detect.Detection {
		t.Helper()
		d, err := detect.New(squareFCN(t), detect.Options{Verifier: v, Threshold: thr})
		require.NoError(t, err)
		res, err := d.Detect(img)
		require.NoError(t, err)
		return res.Detections
	}

	// A constant verifier (p = 0.64): the score is sqrt(1 × 0.64) = 0.8,
	// and the verifier's own threshold applies to it.
	logit := float32(math.Log(0.64 / 0.36))
	got := detectWith(brightnessVerifier(t, 0, logit, 0.75), 0)
	require.Len(t, got, 1)
	assert.Equal(t, [4]float64{12, 20, 20, 28}, got[0].Box)
	assert.InDelta(t, 0.8, got[0].Score, 1e-5)
	assert.True(t, got[0].Verified)
	assert.InDelta(t, 1, got[0].ScanScore, 1e-6, "the scan's own score is kept")
	assert.InDelta(t, 0.64, got[0].VerifierP, 1e-6, "and the verifier's p")
	assert.Empty(t, detectWith(brightnessVerifier(t, 0, logit, 0.85), 0), "0.8 is under the verifier's threshold")
	assert.Len(t, detectWith(brightnessVerifier(t, 0, logit, 0.85), 0.79), 1, "Options.Threshold wins over the verifier's")

	// Verifiers that look: the box is all white, so one that likes white
	// keeps the score near 1, and one that likes black removes the box.
	got = detectWith(brightnessVerifier(t, 1, 0, 0), 0.5)
	require.Len(t, got, 1)
	assert.InDelta(t, 1, got[0].Score, 1e-4)
	assert.Empty(t, detectWith(brightnessVerifier(t, -1, 0, 0), 0.5))

	// A verifier that overflows (∞ − ∞ in its second layer) drops every
	// box and counts it, as the scan's own non-finite cells are, whatever
	// the threshold.
	over := nn.NewDense("over", 144, 2)
	for i := range over.Weight.Data {
		over.Weight.Data[i] = 1e38
	}
	diff := nn.NewDense("diff", 2, 2)
	diff.Weight.Data[2], diff.Weight.Data[3] = 1, -1
	nan := &nn.Network{
		Input:    nn.InputSpec{Channels: 1, Height: 12, Width: 12, Mean: []float32{0.5}, Std: []float32{1}},
		Layers:   []nn.Layer{nn.NewFlatten("flat", nn.FlattenCHW), over, diff, nn.NewSoftmax("softmax")},
		Positive: 1,
	}
	require.NoError(t, nan.Validate())
	for _, opt := range []detect.Options{{}, {VerifierViews: 5, VerifierPool: detect.PoolMax}, {VerifierViews: 27, VerifierPool: detect.PoolMin}} { // the best or least of NaNs is NaN
		opt.Verifier, opt.Threshold = nan, detect.EveryWindow
		d, err := detect.New(squareFCN(t), opt)
		require.NoError(t, err)
		res, err := d.Detect(img)
		require.NoError(t, err)
		assert.Empty(t, res.Detections, "pool %v", opt.VerifierPool)
		assert.Positive(t, res.NonFinite, "pool %v", opt.VerifierPool)
	}
}

func TestVerifierWeight(t *testing.T) {
	// The square scores 1 in the scan; a constant verifier p = 0.64 makes
	// it 1^(1−w)·0.64^w.
	img := blackWithSquare(40, 32, 12, 20, 8)
	logit := float32(math.Log(0.64 / 0.36))
	for _, w := range []float64{0.2, 0.5, 0.8} {
		d, err := detect.New(squareFCN(t), detect.Options{Verifier: brightnessVerifier(t, 0, logit, 0), VerifierWeight: w, Threshold: 0.3})
		require.NoError(t, err)
		res, err := d.Detect(img)
		require.NoError(t, err)
		require.Len(t, res.Detections, 1, "w %v", w)
		got := res.Detections[0]
		assert.InDelta(t, math.Pow(0.64, w), got.Score, 1e-5, "w %v", w)
		assert.Equal(t, detect.VerifiedScore(got.ScanScore, got.VerifierP, w), got.Score, "w %v: the score is made of the two stages kept", w)
	}

	assert.Equal(t, math.Sqrt(0.3*0.7), detect.VerifiedScore(0.3, 0.7, 0.5), "the default is sqrt to the bit")
	assert.InDelta(t, math.Pow(0.3, 0.25)*math.Pow(0.7, 0.75), detect.VerifiedScore(0.3, 0.7, 0.75), 1e-15)
	assert.Equal(t, math.Pow(0.3, 0.25), detect.VerifiedScore(0.3, math.Inf(1), 0.75), "p is taken into [0,1]")
	assert.Zero(t, detect.VerifiedScore(0.3, -0.1, 0.75))
	assert.True(t, math.IsNaN(detect.VerifiedScore(0.3, math.NaN(), 0.75)))
}

func TestVerifierOptionErrors(t *testing.T) {
	noSoftmax := brightnessVerifier(t, 0, 0, 0)
	noSoftmax.Layers = noSoftmax.Layers[:2]
	assertOptionErrors(t, []optionErrorCase{
		{"logits", "Verifier", `last layer "fc" is a dense`, detect.Options{Verifier: noSoftmax}},
		{"class out of range", "Verifier", "class 2 out of range", detect.Options{Verifier: brightnessVerifier(t, 0, 0, 0), VerifierClass: detect.Class(2)}},
		{"class without verifier", "VerifierClass", "without a verifier", detect.Options{VerifierClass: detect.Class(0)}},
		{"views without verifier", "VerifierViews", "without a verifier", detect.Options{VerifierViews: 5}},
		{"max without verifier", "VerifierPool", "without a verifier", detect.Options{VerifierPool: detect.PoolMax}},
		{"max of one view", "VerifierPool", "it needs 5, 7 or 27 views", detect.Options{Verifier: brightnessVerifier(t, 0, 0, 0), VerifierPool: detect.PoolMax}},
		{"min of one view", "VerifierPool", "the min p of one view", detect.Options{Verifier: brightnessVerifier(t, 0, 0, 0), VerifierViews: 1, VerifierPool: detect.PoolMin}},
		{"unknown pool", "VerifierPool", "Pool(4): want", detect.Options{Verifier: brightnessVerifier(t, 0, 0, 0), VerifierViews: 27, VerifierPool: 4}},
		{"stored views not offered", "Verifier", "its stored views: 6 views: want 1, 5, 7 or 27", detect.Options{Verifier: withViews(brightnessVerifier(t, 0, 0, 0), 6, "")}},
		{"stored pool unknown", "Verifier", `invalid network: view pool "median"`, detect.Options{Verifier: withViews(brightnessVerifier(t, 0, 0, 0), 5, "median")}},
		{"mean without verifier", "VerifierPool", "without a verifier", detect.Options{VerifierPool: detect.PoolMean}},
		{"27 views without verifier", "VerifierViews", "without a verifier", detect.Options{VerifierViews: 27}},
		{"weight without verifier", "VerifierWeight", "without a verifier", detect.Options{VerifierWeight: 0.7}},
		{"weight 1", "VerifierWeight", "weight 1 out of range (0,1)", detect.Options{Verifier: brightnessVerifier(t, 0, 0, 0), VerifierWeight: 1}},
		{"weight NaN", "VerifierWeight", "out of range", detect.Options{Verifier: brightnessVerifier(t, 0, 0, 0), VerifierWeight: math.NaN()}},
		{"views not offered", "VerifierViews", "3 views: want 1, 5, 7 or 27", detect.Options{Verifier: brightnessVerifier(t, 0, 0, 0), VerifierViews: 3}},
	})
}

// optionErrorCase is options detect.New refuses, the option it names and
// part of its message.
type optionErrorCase struct {
	name, option, msg string
	opt               detect.Options
}

func assertOptionErrors(t *testing.T, cases []optionErrorCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := detect.New(squareFCN(t), c.opt)
			var oe *detect.OptionError
			require.True(t, errors.As(err, &oe), "%v", err)
			assert.Equal(t, c.option, oe.Option)
			assert.Contains(t, err.Error(), c.msg)
		})
	}
}

// withViews is net with the views it stores for a detector to show it.
func withViews(net *nn.Network, views int, pool string) *nn.Network {
	net.Views, net.ViewPool = views, pool
	return net
}

// TestVerifierOwnScoring: a verifier that stores its views and pool is
// shown them when the options leave them zero, as its threshold was
// chosen for them; options that name others win.
func TestVerifierOwnScoring(t *testing.T) {
	img := blackWithSquare(40, 32, 12, 20, 8)
	scoreWith := func(opt detect.Options) float64 {
		t.Helper()
		opt.Threshold = 0.01
		d, err := detect.New(squareFCN(t), opt)
		require.NoError(t, err)
		res, err := d.Detect(img)
		require.NoError(t, err)
		require.NotEmpty(t, res.Detections)
		return res.Detections[0].Score
	}
	plain := func() *nn.Network { return brightnessVerifier(t, 0.05, 0, 0) }
	alone := scoreWith(detect.Options{Verifier: plain()})
	least := scoreWith(detect.Options{Verifier: plain(), VerifierViews: 27, VerifierPool: detect.PoolMin})
	largest := scoreWith(detect.Options{Verifier: plain(), VerifierViews: 27, VerifierPool: detect.PoolMax})
	require.Less(t, least, alone, "the views off the white square are darker")
	require.Less(t, alone, largest+1e-12)

	assert.Equal(t, least, scoreWith(detect.Options{Verifier: withViews(plain(), 27, "min")}), "its own views and pool")
	assert.Equal(t, largest, scoreWith(detect.Options{Verifier: withViews(plain(), 27, "min"), VerifierPool: detect.PoolMax}), "the option's pool")
	assert.Equal(t, alone, scoreWith(detect.Options{Verifier: withViews(plain(), 27, "min"), VerifierViews: 1}), "one view is its own mean")

	views, pool, err := detect.VerifierScoring(detect.Options{Verifier: withViews(plain(), 27, "min")})
	require.NoError(t, err)
	assert.Equal(t, 27, views)
	assert.Equal(t, detect.PoolMin, pool)
	views, pool, err = detect.VerifierScoring(detect.Options{Verifier: withViews(plain(), 27, "min"), VerifierViews: 7})
	require.NoError(t, err)
	assert.Equal(t, 7, views)
	assert.Equal(t, detect.PoolMin, pool, "its own pool over the option's views")
	views, pool, err = detect.VerifierScoring(detect.Options{Verifier: plain()})
	require.NoError(t, err)
	assert.Equal(t, 1, views)
	assert.Equal(t, detect.PoolMean, pool)
}

// TestBoxVerifier: a BoxVerifier gives the p a detector with the same
// options combines with the scan's score.
func TestBoxVerifier(t *testing.T) {
	img := blackWithSquare(40, 32, 12, 20, 8)
	opt := detect.Options{Verifier: withViews(brightnessVerifier(t, 0.05, 0, 0), 27, "min"), Threshold: 0.01}
	d, err := detect.New(squareFCN(t), opt)
	require.NoError(t, err)
	res, err := d.Detect(img)
	require.NoError(t, err)
	require.Len(t, res.Detections, 1)
	det := res.Detections[0]

	bv, err := detect.NewBoxVerifier(opt)
	require.NoError(t, err)
	ps, err := bv.Scores(img, [][4]float64{det.Box, {0, 0, 8, 8}})
	require.NoError(t, err)
	require.Len(t, ps, 2)
	assert.InDelta(t, det.Score, detect.VerifiedScore(1, ps[0], 0.5), 1e-6, "the scan scores the square 1 (to float32)")
	assert.Less(t, ps[1], ps[0], "a black corner is less white")

	for _, bad := range [][4]float64{{8, 0, 8, 8}, {0, math.NaN(), 8, 8}, {0, 0, 1e9, 8}, {-100, 0, 8, 8}} {
		_, err := bv.Scores(img, [][4]float64{bad})
		assert.ErrorContains(t, err, "box verifier: box 0", "%v", bad)
	}
	_, err = bv.Scores(nil, nil)
	assert.ErrorContains(t, err, "image is nil")
	_, err = detect.NewBoxVerifier(detect.Options{})
	var oe *detect.OptionError
	require.ErrorAs(t, err, &oe)
	assert.Equal(t, "Verifier", oe.Option)
	_, err = detect.NewBoxVerifier(detect.Options{Verifier: brightnessVerifier(t, 0, 0, 0), VerifierViews: 3})
	require.ErrorAs(t, err, &oe)
	assert.Equal(t, "VerifierViews", oe.Option)
}

// TestClassOtherThanPositive: stored thresholds and a verifier are for the
// positive classes, so scoring another class neither borrows the threshold
// nor verifies with the wrong class.
func TestClassOtherThanPositive(t *testing.T) {
	net := unpaddedFCN(t, rand.New(rand.NewSource(1))) // two classes, Positive 1
	net.Threshold = 0.75
	thr := func(opt detect.Options) float64 {
		t.Helper()
		d, err := detect.New(net, opt)
		require.NoError(t, err)
		return d.Threshold()
	}
	assert.Equal(t, 0.75, thr(detect.Options{Class: detect.Class(1)}), "the positive class: the stored threshold")
	assert.Equal(t, detect.DefaultThreshold, thr(detect.Options{Class: detect.Class(0)}), "another class: not the positive's threshold")
	assert.Equal(t, 0.25, thr(detect.Options{Class: detect.Class(0), Threshold: 0.25}), "a given threshold is taken as given")

	verifier := brightnessVerifier(t, 0, 0, 0.6)
	assert.Equal(t, 0.6, thr(detect.Options{Verifier: verifier}), "the verifier's threshold, for the verified positive")
	_, err := detect.New(net, detect.Options{Class: detect.Class(0), Verifier: verifier})
	var oe *detect.OptionError
	require.True(t, errors.As(err, &oe), "%v", err)
	assert.Equal(t, "Class", oe.Option)
	assert.ErrorIs(t, err, detect.ErrUnverifiedClass)
	assert.Contains(t, err.Error(), "class 0 (the positive class is 1)")
	assert.Equal(t, detect.DefaultThreshold, thr(detect.Options{Class: detect.Class(0), Verifier: verifier, VerifierClass: detect.Class(0)}),
		"both stages on other classes: neither stored threshold")
	assert.Equal(t, detect.DefaultThreshold, thr(detect.Options{Verifier: verifier, VerifierClass: detect.Class(0)}),
		"the verifier on another class: its threshold was not chosen for it")
}

// TestVerifierWindows checks the windows training mines from: the
// verifier's view of each box as pixels in [0,1] whatever its mean and
// std, one pixel per pixel where the box is its window's size, the mean
// pixel beyond the image, and with context the box scaled about its
// centre.
func TestVerifierWindows(t *testing.T) {
	img := image.NewGray(image.Rect(0, 0, 40, 30))
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 7 % 251)
	}
	at := func(x, y int) float32 { return float32(img.Pix[y*40+x]) / 255 }
	windows := func(context float64, boxes ...[4]float64) [][]float32 {
		ver := brightnessVerifier(t, 0, 0, 0)
		ver.Input.Mean, ver.Input.Std, ver.Input.Context = []float32{0.3}, []float32{0.25}, context
		d, err := detect.New(squareFCN(t), detect.Options{Verifier: ver})
		require.NoError(t, err)
		w, err := d.VerifierWindows(img, boxes)
		require.NoError(t, err)
		require.Len(t, w, len(boxes))
		return w
	}
	plain := windows(0, [4]float64{5, 7, 17, 19}, [4]float64{-6, -6, 6, 6})
	wide := windows(2, [4]float64{11, 13, 17, 19}) // shows {8, 10, 20, 22}
	for y := range 12 {
		for x := range 12 {
			assert.InDelta(t, at(x+5, y+7), plain[0][y*12+x], 1e-5, "box inside, pixel (%d, %d)", x, y)
			want := float32(0.3) // the mean pixel, beyond the image
			if x >= 6 && y >= 6 {
				want = at(x-6, y-6)
			}
			assert.InDelta(t, want, plain[1][y*12+x], 1e-5, "box over the corner, pixel (%d, %d)", x, y)
			assert.InDelta(t, at(x+8, y+10), wide[0][y*12+x], 1e-5, "box with context 2, pixel (%d, %d)", x, y)
		}
	}

	d, err := detect.New(squareFCN(t), detect.Options{})
	require.NoError(t, err)
	_, err = d.VerifierWindows(img, [][4]float64{{0, 0, 8, 8}})
	assert.ErrorContains(t, err, "no verifier")
	d, err = detect.New(squareFCN(t), detect.Options{Verifier: brightnessVerifier(t, 0, 0, 0)})
	require.NoError(t, err)
	_, err = d.VerifierWindows(nil, nil)
	assert.ErrorContains(t, err, "image is nil")
}

// Boxes are verified several at a time: how many changes no p, and each
// box's p is the one it has alone.
func TestBoxVerifierThreadsChangeNothing(t *testing.T) {
	rng := rand.New(rand.NewSource(5))
	img := randomImage(rng, 90, 70)
	var boxes [][4]float64
	for range 23 {
		x, y := rng.Float64()*80, rng.Float64()*60
		boxes = append(boxes, [4]float64{x, y, x + 2 + rng.Float64()*40, y + 2 + rng.Float64()*30})
	}
	ver := withViews(brightnessVerifier(t, 0.03, -0.2, 0), 27, "min")
	var want []float64
	for _, threads := range []int{1, 2, 3, 8, 64} {
		bv, err := detect.NewBoxVerifier(detect.Options{Verifier: ver, Threads: threads})
		require.NoError(t, err)
		got, err := bv.Scores(img, boxes)
		require.NoError(t, err)
		if want == nil {
			want = got
			assert.NotEqual(t, got[0], got[1], "boxes of other pixels score apart")
			for i, box := range boxes {
				alone, err := bv.Scores(img, [][4]float64{box})
				require.NoError(t, err)
				require.Equal(t, got[i], alone[0], "box %d", i)
			}
			continue
		}
		assert.Equal(t, want, got, "%d threads", threads)
	}
}

// TestViewBoxesDecideThePool checks that ViewBoxes are the boxes a
// verifier with views pools: each scored alone, their least is the p of
// the box scored with 27 views and their least, and their mean with the
// mean, to the bit; the box itself comes first.
func TestViewBoxesDecideThePool(t *testing.T) {
	rng := rand.New(rand.NewSource(9))
	img := randomImage(rng, 90, 70)
	box := [4]float64{21.5, 14.25, 55.5, 48.25}
	views, err := detect.ViewBoxes(box, 27)
	require.NoError(t, err)
	require.Len(t, views, 27)
	assert.Equal(t, box, views[0])
	ver := brightnessVerifier(t, 0.03, -0.2, 0)
	one, err := detect.NewBoxVerifier(detect.Options{Verifier: ver, NoFlip: true})
	require.NoError(t, err)
	each, err := one.Scores(img, views)
	require.NoError(t, err)
	var sum float64
	for _, p := range each {
		sum += p
	}
	for pool, want := range map[string]float64{"min": slices.Min(each), "mean": sum / 27} {
		bv, err := detect.NewBoxVerifier(detect.Options{Verifier: withViews(ver, 27, pool), NoFlip: true})
		require.NoError(t, err)
		got, err := bv.Scores(img, [][4]float64{box})
		require.NoError(t, err)
		assert.InDelta(t, want, got[0], 1e-12, "pool %s", pool)
	}
	assert.Greater(t, slices.Max(each)-slices.Min(each), 1e-3, "the views see different pixels")

	for _, n := range []int{0, 1} {
		got, err := detect.ViewBoxes(box, n)
		require.NoError(t, err)
		assert.Equal(t, [][4]float64{box}, got, "%d views", n)
	}
	_, err = detect.ViewBoxes(box, 9)
	assert.ErrorContains(t, err, "detect: view boxes: 9 views: want 1, 5, 7 or 27")
}
