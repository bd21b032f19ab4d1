package detect_test

import (
	"image"
	"math"
	"math/rand"
	"sync"
	"testing"

	"github.com/fc2conv/fc2conv/detect"
	"github.com/fc2conv/fc2conv/nn"
	"github.com/fc2conv/fc2conv/nn/nntest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestScales(t *testing.T) {
	g := nn.Geometry{Stride: pair(4, 4), Window: pair(16, 20), Field: pair(16, 20)}
	// 100×80 image, window 20 wide and 16 high: 0.8^7 = 0.2097152 gives
	// 21×17 (fits), 0.8^8 = 0.16777216 gives 17×13 (does not).
	var want []float64
	for k := 0; k <= 7; k++ {
		want = append(want, math.Pow(0.8, float64(k)))
	}
	assert.InDeltaSlice(t, want, detect.Scales(100, 80, g, 1.25, false), 1e-12)

	// Upsampling adds 1.25, 1.5625 and 1.953125 (the next, 2.44, exceeds 2),
	// largest first.
	got := detect.Scales(100, 80, g, 1.25, true)
	require.Len(t, got, 11)
	assert.InDeltaSlice(t, []float64{1.953125, 1.5625, 1.25, 1}, got[:4], 1e-12)

	// A 12×10 image holds the window only at 1.953125 (23×20).
	assert.InDeltaSlice(t, []float64{1.953125}, detect.Scales(12, 10, g, 1.25, true), 1e-12)
	assert.Empty(t, detect.Scales(12, 10, g, 1.25, false))
	assert.Empty(t, detect.Scales(100, 80, g, 1, false), "factor must exceed 1")
	assert.Empty(t, detect.Scales(100, 80, g, math.NaN(), false))
}

// MinSize and MaxSize bound the pyramid by the window height in original
// pixels: at scale k the 8-high window covers 8/k.
func TestSizePyramid(t *testing.T) {
	net := squareFCN(t) // window 8×8
	scales := func(opt detect.Options, w, h int) []float64 {
		d, err := detect.New(net, opt)
		require.NoError(t, err)
		return d.Scales(w, h)
	}
	// MinSize 4: starts at 8/4 = 2 (upsampling), then 1.6, 1.28, 1.024,
	// 0.8192 (window covers 9.77 px); MaxSize 10 stops before 0.65536
	// (12.2 px).
	assert.InDeltaSlice(t, []float64{2, 1.6, 1.28, 1.024, 0.8192}, scales(detect.Options{MinSize: 4, MaxSize: 10}, 100, 100), 1e-12)
	// MaxSize alone: from 1 down to 8/20 = 0.4; 0.8^4 = 0.4096 covers
	// 19.5 px, 0.8^5 = 0.32768 would cover 24.4.
	assert.InDeltaSlice(t, []float64{1, 0.8, 0.64, 0.512, 0.4096}, scales(detect.Options{MaxSize: 20}, 100, 100), 1e-12)
	// MaxSize equal to a level's coverage keeps that level: 8/0.64 = 12.5
	// is not whole, so 16 = 8/0.5 with factor 2: 1, 0.5.
	assert.InDeltaSlice(t, []float64{1, 0.5}, scales(detect.Options{MaxSize: 16, ScaleFactor: 2}, 100, 100), 1e-12)
	// The image still bounds the pyramid: a 20×20 image holds the 8×8
	// window at scales ≥ 0.4 (8 px).
	assert.InDeltaSlice(t, []float64{2, 1, 0.5}, scales(detect.Options{MinSize: 4, ScaleFactor: 2}, 20, 20), 1e-12)
	// Explicit scales are returned as given; the default pyramid as Scales.
	assert.Equal(t, []float64{0.5, 3}, scales(detect.Options{Scales: []float64{0.5, 3}}, 20, 20))
	g, err := net.Geometry()
	require.NoError(t, err)
	assert.Equal(t, detect.Scales(60, 50, g, 1.25, true), scales(detect.Options{Upsample: true}, 60, 50))

	// Detect scans those scales: a 4×4 white square is found at scale 2
	// with MinSize 4 and not at all by the default pyramid.
	img := blackWithSquare(24, 24, 8, 8, 4)
	res := detectAll(t, net, img, detect.Options{MinSize: 4, ScaleFactor: 2})
	require.NotEmpty(t, res.Detections)
	assert.Equal(t, 2.0, res.Detections[0].Scale)
	assert.InDeltaSlice(t, []float64{8, 8, 12, 12}, res.Detections[0].Box[:], 1e-9)
	assert.Empty(t, detectAll(t, net, img, detect.Options{}).Detections)
}

// A network with context frames the middle of its window: sizes, and the
// boxes it reports, are of that middle.
func TestSizePyramidWithContext(t *testing.T) {
	net := squareFCN(t)   // window 8×8
	net.Input.Context = 2 // frames the middle 4×4
	d, err := detect.New(net, detect.Options{MinSize: 2, MaxSize: 4, ScaleFactor: 2})
	require.NoError(t, err)
	// MinSize 2: the framed 4 px cover 2 at scale 2; MaxSize 4 stops at 1.
	assert.InDeltaSlice(t, []float64{2, 1}, d.Scales(100, 100), 1e-12)

	// An 8×8 square at (8, 8) fills the window there at scale 1: the box
	// reported is the middle the network frames, not the window.
	img := blackWithSquare(24, 24, 8, 8, 8)
	res := detectAll(t, net, img, detect.Options{ScaleFactor: 2})
	require.NotEmpty(t, res.Detections)
	assert.Equal(t, 1.0, res.Detections[0].Scale)
	assert.InDeltaSlice(t, []float64{10, 10, 14, 14}, res.Detections[0].Box[:], 1e-9)
}

func TestDetectFindsSquare(t *testing.T) {
	net := squareFCN(t)
	// A white 8×8 square at (12, 20), on the stride-4 grid: cell (5, 3).
	img := blackWithSquare(40, 32, 12, 20, 8)
	opt := detect.Options{}
	d, err := detect.New(net, opt)
	require.NoError(t, err)
	assert.Equal(t, 0.5, d.Threshold(), "network has no threshold: default")
	res, err := d.Detect(img)
	require.NoError(t, err)
	assert.Equal(t, [2]int{40, 32}, [2]int{res.Width, res.Height})
	assert.False(t, res.Padded)
	// Pyramid for 40×32 and an 8×8 window: 1, 0.8, 0.64, 0.512, 0.4096,
	// 0.32768 (13×10), 0.262 (10×8); 0.2097 gives 8×7.
	require.Len(t, res.Heatmaps, 7)
	hm := res.Heatmaps[0]
	assert.Equal(t, [2]int{7, 9}, [2]int{hm.Rows, hm.Cols}) // (32−8)/4+1, (40−8)/4+1
	assert.InDelta(t, 1, hm.At(5, 3), 1e-6)
	assert.InDelta(t, 0, hm.At(5, 2), 1e-6) // half white: sigmoid(−16)
	require.Len(t, res.Detections, 1)
	det := res.Detections[0]
	assert.Equal(t, [4]float64{12, 20, 20, 28}, det.Box)
	assert.Equal(t, 1.0, det.Scale)
	assert.InDelta(t, 1, det.Score, 1e-6)
	assert.False(t, det.Verified, "no verifier, no stages")

	// At scale 2 the square is 16×16 and nine windows lie inside it; they
	// overlap each other by more than the NMS IoU but the best survives.
	opt.Scales = []float64{2}
	d, err = detect.New(net, opt)
	require.NoError(t, err)
	res, err = d.Detect(img)
	require.NoError(t, err)
	require.Len(t, res.Heatmaps, 1)
	assert.Equal(t, 2.0, res.Heatmaps[0].Scale)
	require.NotEmpty(t, res.Detections)
	for _, det := range res.Detections {
		assert.Equal(t, 2.0, det.Scale)
		w, h := det.Box[2]-det.Box[0], det.Box[3]-det.Box[1]
		assert.Equal(t, [2]float64{4, 4}, [2]float64{w, h}, "8×8 window at scale 2 is 4×4")
		assert.GreaterOrEqual(t, det.Box[0], 12.0)
		assert.LessOrEqual(t, det.Box[2], 20.0)
	}
}

func TestDetectTooSmallAndPadSmall(t *testing.T) {
	net := squareFCN(t)
	img := blackWithSquare(5, 5, 0, 0, 5) // all white, smaller than 8×8
	d, err := detect.New(net, detect.Options{})
	require.NoError(t, err)
	_, err = d.Detect(img)
	var small detect.ErrTooSmall
	require.ErrorAs(t, err, &small)
	assert.Equal(t, detect.ErrTooSmall{Width: 5, Height: 5, Window: pair(8, 8)}, small)

	opt := detect.Options{}
	opt.PadSmall, opt.Threshold = true, detect.EveryWindow
	d, err = detect.New(net, opt)
	require.NoError(t, err)
	res, err := d.Detect(img)
	require.NoError(t, err)
	assert.True(t, res.Padded)
	require.Len(t, res.Heatmaps, 1)
	hm := res.Heatmaps[0]
	require.Equal(t, [2]int{1, 1}, [2]int{hm.Rows, hm.Cols})
	// 25 white pixels at +0.5 and 39 padded at 0: 12.5 − 16 = −3.5, and
	// sigmoid(−3.5) = 1/(1 + e^3.5) = 0.0293122.
	assert.InDelta(t, 0.0293122, hm.At(0, 0), 1e-6)
	require.Len(t, res.Detections, 1)
	assert.Equal(t, [4]float64{0, 0, 8, 8}, res.Detections[0].Box)
}

func TestNewRejects(t *testing.T) {
	rng := rand.New(rand.NewSource(5))
	fcn := unpaddedFCN(t, rng)
	_, err := detect.New(nntest.RandomFC(rng, nntest.Options{}), detect.Options{})
	assert.ErrorContains(t, err, "fully convolutional")
	_, err = detect.New(nil, detect.Options{})
	assert.ErrorContains(t, err, "nil")
	for _, tc := range []struct {
		edit func(*detect.Options)
		want string
	}{
		{func(o *detect.Options) { o.Class = detect.Class(2) }, "class 2 out of range"},
		{func(o *detect.Options) { o.Class = detect.Class(-1) }, "class -1 out of range"},
		{func(o *detect.Options) { o.NMS = 1.5 }, "NMS IoU 1.5"},
		{func(o *detect.Options) { o.Vote = -0.1 }, "vote IoU -0.1"},
		{func(o *detect.Options) { o.MaxDetections = -2 }, "max detections -2"},
		{func(o *detect.Options) { o.MinSize = 4; o.Scales = []float64{1} }, "MinSize: object sizes and explicit scales"},
		{func(o *detect.Options) { o.MaxSize = 40; o.Scales = []float64{1} }, "MaxSize: object sizes and explicit scales"},
		{func(o *detect.Options) { o.MinSize = 4; o.Upsample = true }, "MinSize: a min size and Upsample"},
		{func(o *detect.Options) { o.MinSize = 16; o.MaxSize = 12 }, "MaxSize: max size 12 is below the smallest object size scanned, 16 px"},
		// The window is 19 high: without MinSize the smallest object is 19 px.
		{func(o *detect.Options) { o.MaxSize = 18 }, "max size 18 is below the smallest object size scanned, 19 px"},
		{func(o *detect.Options) { o.MinSize = -1 }, "min size -1"},
		{func(o *detect.Options) { o.ScaleFactor = 0.9 }, "scale factor 0.9"},
		{func(o *detect.Options) { o.Scales = []float64{1, -1} }, "scale 1 is -1"},
		{func(o *detect.Options) { o.Threshold = math.Inf(1) }, "threshold"},
		{func(o *detect.Options) { o.MaxTilePixels = -1 }, "max tile pixels"},
		{func(o *detect.Options) { o.Step = -2 }, "step -2"},
		{func(o *detect.Options) { o.Threads = -1 }, "threads -1"},
	} {
		opt := detect.Options{}
		tc.edit(&opt)
		_, err := detect.New(fcn, opt)
		assert.ErrorContains(t, err, tc.want)
		var oe *detect.OptionError
		assert.ErrorAs(t, err, &oe, tc.want)
	}
	_, err = detect.New(fcn, detect.Options{MinSize: 4, Upsample: true})
	var oe *detect.OptionError
	require.ErrorAs(t, err, &oe)
	assert.Equal(t, [2]string{"MinSize", "Upsample"}, [2]string{oe.Option, oe.With})
}

// The zero Options mean the documented defaults: the positive class, the
// network's threshold (0.5 without one), the pyramid, NMS, voting and
// mirror averaging; explicit values turn each off.
func TestZeroOptionsAreDefaults(t *testing.T) {
	net := squareFCN(t)
	img := blackWithSquare(40, 32, 12, 20, 8)
	d, err := detect.New(net, detect.Options{})
	require.NoError(t, err)
	assert.Equal(t, net.Positive, d.Class())
	assert.Equal(t, 0.5, d.Threshold())
	net.Threshold = 0.75
	d, err = detect.New(net, detect.Options{})
	require.NoError(t, err)
	assert.Equal(t, 0.75, d.Threshold(), "the network's own threshold")
	net.Threshold = 0
	d, err = detect.New(net, detect.Options{Class: detect.Class(0), Threshold: detect.EveryWindow})
	require.NoError(t, err)
	assert.Equal(t, 0, d.Class())
	assert.Equal(t, detect.EveryWindow, d.Threshold())

	// Defaults spelled out give the same result as the zero value.
	spelled := detect.Options{Threshold: detect.DefaultThreshold, NMS: detect.DefaultNMS, Vote: detect.DefaultVote,
		ScaleFactor: detect.DefaultScaleFactor, MaxDetections: detect.DefaultMaxDetections, Class: detect.Class(net.Positive)}
	want := detectAll(t, net, img, spelled)
	assert.Equal(t, want, detectAll(t, net, img, detect.Options{}))
	require.Len(t, want.Heatmaps, 7, "the 1.25 pyramid")

	// Mirror averaging is on: with random weights the mirrored window
	// scores differently.
	rng := rand.New(rand.NewSource(12))
	rnet, rimg := unpaddedFCN(t, rng), randomImage(rng, 40, 32)
	flip := detectAll(t, rnet, rimg, detect.Options{})
	noFlip := detectAll(t, rnet, rimg, detect.Options{NoFlip: true})
	assert.NotEqual(t, flip.Heatmaps[0].Data, noFlip.Heatmaps[0].Data)
	assert.Equal(t, 1, rnet.Positive, "the class scored by default")
	class1 := detectAll(t, rnet, rimg, detect.Options{Class: detect.Class(1)})
	assert.Equal(t, class1.Heatmaps[0].Data, flip.Heatmaps[0].Data)

	// Every window, no NMS and no cap report every cell of every scale.
	all := detectAll(t, net, img, detect.Options{Threshold: detect.EveryWindow, NMS: detect.Off, Vote: detect.Off, MaxDetections: detect.Off})
	cells := 0
	for _, hm := range all.Heatmaps {
		cells += hm.Rows * hm.Cols
	}
	assert.Len(t, all.Detections, cells)
}

func detectAll(t *testing.T, net *nn.Network, img image.Image, opt detect.Options) *detect.Result {
	t.Helper()
	d, err := detect.New(net, opt)
	require.NoError(t, err)
	res, err := d.Detect(img)
	require.NoError(t, err)
	return res
}

// A Detector shared by goroutines gives every one the same answer.
func TestDetectConcurrent(t *testing.T) {
	rng := rand.New(rand.NewSource(6))
	net := unpaddedFCN(t, rng)
	img := randomImage(rng, 50, 44)
	opt := detect.Options{}
	opt.Threshold = detect.EveryWindow
	d, err := detect.New(net, opt)
	require.NoError(t, err)
	want, err := d.Detect(img)
	require.NoError(t, err)
	var wg sync.WaitGroup
	results := make([]*detect.Result, 4)
	errs := make([]error, 4)
	for g := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[g], errs[g] = d.Detect(img)
		}()
	}
	wg.Wait()
	for g := range results {
		require.NoError(t, errs[g])
		assert.Equal(t, want, results[g])
	}
}

func TestNMS(t *testing.T) {
	dets := []detect.Detection{
		{Box: [4]float64{0, 0, 10, 10}, Score: 0.6},
		{Box: [4]float64{1, 0, 11, 10}, Score: 0.9},   // IoU with the first 90/110 = 0.82
		{Box: [4]float64{5, 0, 15, 10}, Score: 0.8},   // IoU with the second 60/140 = 0.43
		{Box: [4]float64{7, 0, 17, 10}, Score: 0.7},   // with second 40/160 = 0.25, with third 80/120
		{Box: [4]float64{50, 50, 60, 60}, Score: 0.5}, // alone
	}
	// At 0.3 the 0.8 box goes; the 0.7 box overlaps only the kept 0.9 box,
	// by 0.25, so it stays.
	got := detect.NMS(dets, 0.3, 10)
	assert.Equal(t, []detect.Detection{dets[1], dets[3], dets[4]}, got)
	// A looser IoU keeps the 0.43 overlap, which then suppresses the 0.7 box.
	got = detect.NMS(dets, 0.5, 10)
	assert.Equal(t, []detect.Detection{dets[1], dets[2], dets[4]}, got)
	assert.Equal(t, []detect.Detection{dets[1]}, detect.NMS(dets, 0.3, 1))
	assert.Equal(t, 0.6, dets[0].Score, "input untouched")

	assert.InDelta(t, 90.0/110, detect.IoU(dets[0].Box, dets[1].Box), 1e-12)
	assert.Equal(t, 0.0, detect.IoU(dets[0].Box, dets[4].Box))
}

// Box voting: the kept box moves to the score-weighted mean of the
// candidates overlapping it at IoU ≥ the vote's and scoring at least half
// as much, itself included; scores and scales stay.
func TestVote(t *testing.T) {
	kept := []detect.Detection{{Box: [4]float64{0, 0, 10, 10}, Score: 0.9, Scale: 1}}
	cands := []detect.Detection{
		kept[0],
		{Box: [4]float64{2, 0, 12, 10}, Score: 0.6, Scale: 1},     // IoU 80/120 = 0.67
		{Box: [4]float64{0, 4, 10, 14}, Score: 0.5, Scale: 0.8},   // IoU 60/140 = 0.43
		{Box: [4]float64{0, 1, 10, 11}, Score: 0.4, Scale: 1},     // IoU 0.82, but below half of 0.9
		{Box: [4]float64{50, 50, 60, 60}, Score: 0.8, Scale: 0.8}, // apart
	}
	got := detect.Vote(kept, cands, 0.5)
	require.Len(t, got, 1)
	// x: (0.9·0 + 0.6·2) / 1.5 and (0.9·10 + 0.6·12) / 1.5; y unmoved.
	assert.InDeltaSlice(t, []float64{0.8, 0, 10.8, 10}, got[0].Box[:], 1e-12)
	assert.Equal(t, 0.9, got[0].Score)
	assert.Equal(t, 1.0, got[0].Scale)
	// A looser vote takes the third box in too (weights sum to 2).
	got = detect.Vote(kept, cands, 0.4)
	assert.InDeltaSlice(t, []float64{0.6, 1, 10.6, 11}, got[0].Box[:], 1e-12)
	assert.Equal(t, [4]float64{0, 0, 10, 10}, kept[0].Box, "input untouched")
	// Off, or only the box itself: nothing moves.
	assert.Equal(t, kept, detect.Vote(kept, cands, 0))
	assert.Equal(t, kept, detect.Vote(kept, cands, 1))
}

// Detect with Vote reports the same detections, scores and scales as
// without, with boxes moved by the windows around them.
func TestDetectVote(t *testing.T) {
	rng := rand.New(rand.NewSource(8))
	net := unpaddedFCN(t, rng)
	img := randomImage(rng, 64, 48)
	opt := detect.Options{}
	opt.Threshold, opt.Vote = detect.EveryWindow, detect.Off
	plain, err := detect.New(net, opt)
	require.NoError(t, err)
	opt.Vote = 0.5
	voting, err := detect.New(net, opt)
	require.NoError(t, err)
	want, err := plain.Detect(img)
	require.NoError(t, err)
	got, err := voting.Detect(img)
	require.NoError(t, err)
	require.Len(t, got.Detections, len(want.Detections))
	moved := 0
	for i, d := range got.Detections {
		assert.Equal(t, want.Detections[i].Score, d.Score)
		assert.Equal(t, want.Detections[i].Scale, d.Scale)
		if d.Box != want.Detections[i].Box {
			moved++
		}
	}
	assert.Positive(t, moved, "some boxes have neighbours that vote")
}

// With voting a box does not depend on the threshold it passed: a scan at
// threshold t reports exactly the detections of a scan at 0 that score
// ≥ t, boxes included, though windows below t vote.
func TestDetectVoteThresholdFree(t *testing.T) {
	rng := rand.New(rand.NewSource(9))
	net := unpaddedFCN(t, rng)
	img := randomImage(rng, 64, 48)
	scan := func(thr float64) []detect.Detection {
		opt := detect.Options{}
		opt.Threshold, opt.Vote, opt.MaxDetections = thr, 0.4, detect.Off
		d, err := detect.New(net, opt)
		require.NoError(t, err)
		res, err := d.Detect(img)
		require.NoError(t, err)
		return res.Detections
	}
	all := scan(detect.EveryWindow)
	require.NotEmpty(t, all)
	thr := all[len(all)/2].Score
	var want []detect.Detection
	for _, d := range all {
		if d.Score >= thr {
			want = append(want, d)
		}
	}
	assert.Equal(t, want, scan(thr))
}

// How many goroutines a Detect call uses changes no score and no box.
func TestThreadsChangeNothing(t *testing.T) {
	rng := rand.New(rand.NewSource(9))
	fcn := unpaddedFCN(t, rng)
	img := randomImage(rng, 200, 150)
	var want *detect.Result
	for _, threads := range []int{1, 2, 5} {
		d, err := detect.New(fcn, detect.Options{Threads: threads, Threshold: 0.2})
		require.NoError(t, err)
		got, err := d.Detect(img)
		require.NoError(t, err)
		if want == nil {
			want = got
			continue
		}
		assert.Equal(t, want, got, "%d threads", threads)
	}
}
