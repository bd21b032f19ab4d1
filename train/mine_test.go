package train

import (
	"cmp"
	"fmt"
	"image"
	"math"
	"math/rand"
	"path/filepath"
	"slices"
	"testing"

	"github.com/fc2conv/fc2conv/convert"
	"github.com/fc2conv/fc2conv/detect"
	"github.com/fc2conv/fc2conv/fmnist"
	"github.com/fc2conv/fc2conv/models"
	"github.com/fc2conv/fc2conv/nn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Mining takes its windows from detect: with a random network, the mined
// negatives are the best-scoring windows of detect's heatmaps away from
// dresses, best first, and the FC network run on each mined patch gives
// that heatmap score; likewise for the positives, worst first.
func TestMineSceneMatchesDetect(t *testing.T) {
	for _, k := range []float64{0, 1.5} {
		t.Run(fmt.Sprintf("context %v", k), func(t *testing.T) { testMineScene(t, k) })
	}
}

// mineData is the tiny config's train items and training photographs.
func mineData(t *testing.T) (*fmnist.Set, []*image.Gray) {
	cfg := tinyConfig(t)
	items, err := fmnist.Load(cfg.DataDir, "train")
	require.NoError(t, err)
	photos, err := fmnist.Photos(cfg.PhotoDir, fmnist.PhotosTrain)
	require.NoError(t, err)
	return items, photos
}

// spreadNet is a random DressNet: a random net scores near 0.5, and its
// last bias spreads the scores to both sides.
func spreadNet() *nn.Network {
	net := DressNet()
	InitWeights(net, 5)
	net.Layers[9].(*nn.Dense).Bias.Data[1] = 0.3
	return net
}

// testMineScene checks mining with a network of context k: it scans at
// mineScales over k, so that its windows frame items of the same sizes,
// and judges each window by the box it frames, its middle 1/k.
func testMineScene(t *testing.T, k float64) {
	items, photos := mineData(t)
	net := spreadNet()
	net.Input.Context = k

	img, truth := fmnist.MakeScene(rand.New(rand.NewSource(2)), items, photos[0], mineW, mineH, mineItems)
	det, err := mineDetector(net)
	require.NoError(t, err)
	negs, poss, err := mineScene(det, img, truth, DefaultMineNegativeIoU)
	require.NoError(t, err)

	// The expected scores, from a detector of the test's own, without
	// context, its window boxes shrunk here.
	res, err := convert.Convert(net)
	require.NoError(t, err)
	res.Network.Input.Context = 0
	own, err := detect.New(res.Network, detect.Options{Class: detect.Class(1), Threshold: 0.5, NoFlip: true})
	require.NoError(t, err)
	framed := func(b [4]float64) [4]float64 {
		if k == 0 {
			return b
		}
		cx, cy, half := (b[0]+b[2])/2, (b[1]+b[3])/2, (b[2]-b[0])/k/2
		return [4]float64{cx - half, cy - half, cx + half, cy + half}
	}
	var negScores, posScores []float32
	for _, r := range mineScales {
		if k > 0 {
			r /= k
		}
		hm, err := own.Heatmap(img, r)
		require.NoError(t, err)
		for i := 0; i < hm.Rows; i++ {
			for j := 0; j < hm.Cols; j++ {
				best := 0.0
				for _, o := range truth {
					if o.Class == fmnist.Dress {
						best = max(best, detect.IoU(framed(hm.Box(i, j)), o.Box))
					}
				}
				switch p := hm.At(i, j); {
				case p >= 0.5 && best < DefaultMineNegativeIoU:
					negScores = append(negScores, p)
				case p < 0.5 && best >= 0.65:
					posScores = append(posScores, p)
				}
			}
		}
	}
	slices.Sort(negScores)
	slices.Reverse(negScores)
	slices.Sort(posScores)
	require.NotEmpty(t, negScores)
	require.NotEmpty(t, posScores)
	require.Len(t, negs, min(minePerScene, len(negScores)))
	require.Len(t, poss, min(minePerScene, len(posScores)))

	e := nn.NewEngine(net)
	score := func(patch []float32) float32 {
		x := make([]float32, len(patch))
		for i, v := range patch {
			require.True(t, v >= 0 && v <= 1, "patch value %v", v)
			x[i] = (v - 0.5) / 0.5
		}
		out, _, err := e.Forward(x, net.Input.Window())
		require.NoError(t, err)
		return out[1]
	}
	for k, p := range negs {
		require.Len(t, p, fmnist.PatchLen)
		assert.InDelta(t, negScores[k], score(p), 1e-5, "negative %d", k)
	}
	for k, p := range poss {
		assert.InDelta(t, posScores[k], score(p), 1e-5, "positive %d", k)
	}
}

// MineItems returns exactly the items the network gets wrong at 0.5, as
// [0,1] patches in item order: here p(dress) = σ(Σx − 2) over a 2×2
// window, so an item with three or four white pixels is called a dress.
func TestMineItems(t *testing.T) {
	d := nn.NewDense("fc", 4, 2)
	copy(d.Weight.Data, []float32{0, 0, 0, 0, 1, 1, 1, 1})
	copy(d.Bias.Data, []float32{0, -2})
	net := &nn.Network{Input: nn.InputSpec{Channels: 1, Height: 2, Width: 2, Mean: []float32{0}, Std: []float32{1}},
		Layers: []nn.Layer{nn.NewFlatten("flat", nn.FlattenCHW), d, nn.NewSoftmax("softmax")}, Labels: []string{"no", "dress"}, Positive: 1}
	const coat, shirt = 4, 6
	set := &fmnist.Set{Rows: 2, Cols: 2,
		Images: [][]uint8{{255, 255, 255, 255}, {0, 0, 51, 0}, {255, 255, 255, 255}, {0, 0, 0, 0}, {255, 255, 255, 0}, {255, 0, 0, 0}},
		Labels: []uint8{fmnist.Dress, fmnist.Dress, coat, shirt, coat, shirt}}
	got, err := MineItems(net, set)
	require.NoError(t, err)
	assert.Equal(t, [][]float32{{0, 0, 0.2, 0}}, got.Positives, "the dark dress")
	assert.Equal(t, [][]float32{{1, 1, 1, 1}, {1, 1, 1, 0}}, got.Negatives, "the bright coats")

	set.Rows = 3
	_, err = MineItems(net, set)
	assert.ErrorContains(t, err, "train: mining items: scores: items are 3×2")
}

// BenchmarkMineItems is one --mine-items round's cost: the shipped member
// 1 scoring the 60,000 Fashion-MNIST train items (the README's figure:
// GOMAXPROCS=1 go test ./train -run '^$' -bench MineItems -benchtime 1x -count 3,
// the median of the three).
func BenchmarkMineItems(b *testing.B) {
	items, err := fmnist.Load(DefaultDataDir, "train")
	if err != nil {
		b.Skipf("the full train split is not here: %v", err)
	}
	net, err := nn.Load(filepath.Join("..", "models", "members", "member-1.safetensors"))
	require.NoError(b, err)
	for b.Loop() {
		_, err := MineItems(net, items)
		require.NoError(b, err)
	}
}

// BenchmarkMineCascade is 100 mining scenes' cost for the shipped
// verifier, alone, with the shipped pair as --mine-cascade, and with
// --mine-cascade-views 27 too (the
// README's figures: GOMAXPROCS=1 go test ./train -run '^$' -bench
// MineCascade -benchtime 1x -count 3, the medians).
func BenchmarkMineCascade(b *testing.B) {
	items, err := fmnist.Load(DefaultDataDir, "train")
	if err != nil {
		b.Skipf("the full train split is not here: %v", err)
	}
	photos, err := fmnist.Photos(filepath.Join("..", "testdata", "photos"), fmnist.PhotosTrain)
	require.NoError(b, err)
	net, err := nn.Load(filepath.Join("..", "models", "verifier.safetensors"))
	require.NoError(b, err)
	pair, err := models.DressFCN()
	require.NoError(b, err)
	for _, c := range []struct {
		name  string
		scan  *nn.Network
		views int
	}{{"own", nil, 0}, {"cascade", pair, 0}, {"cascade27", pair, 27}} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				_, err := MineHardExamples(net, items, photos, 1, MineOptions{Scenes: 100, Cascade: c.scan, CascadeViews: c.views})
				require.NoError(b, err)
			}
		})
	}
}

// Mining with a cascade adds the boxes the scan stage and the network,
// as its verifier, get wrong together; the network's own scans mine what
// they always did.
func TestMineHardExamplesCascade(t *testing.T) {
	items, photos := mineData(t)
	scan, err := convert.Convert(constantNet(4)) // a dress everywhere
	require.NoError(t, err)

	plain, err := MineHardExamples(constantNet(4), items, photos, 1, MineOptions{Scenes: 3})
	require.NoError(t, err)
	both, err := MineHardExamples(constantNet(4), items, photos, 1, MineOptions{Scenes: 3, Cascade: scan.Network})
	require.NoError(t, err)
	assert.Zero(t, plain.CascadeNegatives)
	require.Positive(t, both.CascadeNegatives, "boxes away from dresses, called a dress by both")
	assert.LessOrEqual(t, both.CascadeNegatives, 3*minePerScene)
	assert.Zero(t, both.CascadePositives)
	require.Len(t, both.Negatives, len(plain.Negatives)+both.CascadeNegatives)
	assert.Equal(t, plain.Negatives[:minePerScene], both.Negatives[:minePerScene], "the first scene's own windows come first, unchanged")

	// A weight of 3 puts a scene's cascade boxes in three times, one
	// whole copy after another, after its own windows; one scene keeps
	// the slices plain.
	once, err := MineHardExamples(constantNet(4), items, photos, 1, MineOptions{Scenes: 1, Cascade: scan.Network})
	require.NoError(t, err)
	thrice, err := MineHardExamples(constantNet(4), items, photos, 1, MineOptions{Scenes: 1, Cascade: scan.Network, CascadeWeight: 3})
	require.NoError(t, err)
	n := once.CascadeNegatives
	require.Positive(t, n)
	assert.Equal(t, n, thrice.CascadeNegatives, "counts are of distinct boxes")
	own := len(once.Negatives) - n
	require.Positive(t, own)
	require.Len(t, thrice.Negatives, own+3*n)
	assert.Equal(t, once.Negatives[:own], thrice.Negatives[:own], "the scene's own windows first, once")
	for k := range 3 {
		assert.Equal(t, once.Negatives[own:], thrice.Negatives[own+k*n:own+(k+1)*n], "copy %d of the cascade boxes", k+1)
	}

	// Behind the shipped pair, which frames dresses, a verifier that calls
	// nothing a dress (p ≈ 0.018) brings every box below 0.5: the dresses
	// the pair frames well are its positives.
	pair, err := models.DressFCN()
	require.NoError(t, err)
	missed, err := MineHardExamples(constantNet(-4), items, photos, 1, MineOptions{Scenes: 3, Cascade: pair})
	require.NoError(t, err)
	assert.Zero(t, missed.CascadeNegatives)
	require.Positive(t, missed.CascadePositives)
	assert.LessOrEqual(t, missed.CascadePositives, 3*minePerScene)
}

// The cascade's miner keeps its worst boxes in order, cut as its verifier
// sees them: the FC network scores each mined negative at least its
// verified score squared (that score is √(scan · p), scan ≤ 1).
func TestMineBoxes(t *testing.T) {
	items, photos := mineData(t)
	net := spreadNet()
	scan, err := convert.Convert(constantNet(4))
	require.NoError(t, err)
	img, truth := fmnist.MakeScene(rand.New(rand.NewSource(2)), items, photos[0], mineW, mineH, mineItems)

	c, err := newCascadeMiner(scan.Network, net, 0)
	require.NoError(t, err)
	negs, _, err := c.mine(img, truth, DefaultMineNegativeIoU)
	require.NoError(t, err)

	res, err := c.det.Detect(img)
	require.NoError(t, err)
	var want []detect.Detection
	for _, d := range res.Detections {
		if d.Score >= 0.5 && dressOverlap(d.Box, truth) < DefaultMineNegativeIoU {
			want = append(want, d)
		}
	}
	slices.SortStableFunc(want, func(a, b detect.Detection) int { return cmp.Compare(b.Score, a.Score) })
	want = want[:min(len(want), minePerScene)]
	require.NotEmpty(t, want)
	require.Len(t, negs, len(want))
	e := nn.NewEngine(net)
	for k, p := range negs {
		require.Len(t, p, fmnist.PatchLen)
		x := make([]float32, len(p))
		for i, v := range p {
			require.True(t, v >= 0 && v <= 1, "negative %d: value %v", k, v)
			x[i] = (v - 0.5) / 0.5
		}
		out, _, err := e.Forward(x, net.Input.Window())
		require.NoError(t, err)
		assert.GreaterOrEqual(t, float64(out[1]), want[k].Score*want[k].Score-1e-4, "negative %d", k)
	}
}

// With views, the cascade's positives are its boxes on dresses whose
// least view, scored by the FC network itself, brings the verified score
// below the mining threshold, worst first, each cut at that view; its
// negatives are those of the box alone.
func TestMineCascadeViews(t *testing.T) {
	items, photos := mineData(t)
	pair, err := models.DressFCN()
	require.NoError(t, err)
	net := spreadNet()
	// p(dress) about 0.25 on these windows, so that the verified score
	// of a dress the pair frames sits near 0.5 and the views decide it.
	net.Layers[9].(*nn.Dense).Bias.Data[1] = -0.8
	e := nn.NewEngine(net)
	pOf := func(win []float32) float64 {
		x := make([]float32, len(win))
		for i, v := range win {
			x[i] = (v - 0.5) / 0.5
		}
		out, _, err := e.Forward(x, net.Input.Window())
		require.NoError(t, err)
		return float64(out[1])
	}
	one, err := newCascadeMiner(pair, net, 1)
	require.NoError(t, err)
	require.Nil(t, one.views, "one view is the box alone")
	views, err := newCascadeMiner(pair, net, 27)
	require.NoError(t, err)

	var moved, more int
	for seed := int64(1); seed <= 6; seed++ {
		img, truth := fmnist.MakeScene(rand.New(rand.NewSource(seed)), items, photos[0], mineW, mineH, mineItems)
		negs1, poss1, err := one.mine(img, truth, DefaultMineNegativeIoU)
		require.NoError(t, err)
		negs, poss, err := views.mine(img, truth, DefaultMineNegativeIoU)
		require.NoError(t, err)
		assert.Equal(t, negs1, negs, "scene %d: negatives as with the box alone", seed)

		res, err := views.det.Detect(img)
		require.NoError(t, err)
		type want struct {
			score float64
			win   []float32
		}
		var wants []want
		for _, d := range res.Detections {
			if dressOverlap(d.Box, truth) < minePositiveIoU {
				continue
			}
			boxes, err := detect.ViewBoxes(d.Box, 27)
			require.NoError(t, err)
			wins, err := views.det.VerifierWindows(img, boxes)
			require.NoError(t, err)
			k := 0
			for i := range wins {
				if pOf(wins[i]) < pOf(wins[k]) {
					k = i
				}
			}
			if s := math.Sqrt(d.ScanScore * pOf(wins[k])); s < mineThreshold {
				wants = append(wants, want{s, wins[k]})
				if k != 0 {
					moved++
				}
			}
		}
		slices.SortStableFunc(wants, func(a, b want) int { return cmp.Compare(a.score, b.score) })
		require.Len(t, poss, min(len(wants), minePerScene), "scene %d", seed)
		for i, w := range wants[:len(poss)] {
			assert.Equal(t, w.win, poss[i], "scene %d positive %d", seed, i)
		}
		assert.GreaterOrEqual(t, len(poss), len(poss1), "scene %d: the least view is at most the box's", seed)
		more += len(poss) - len(poss1)
	}
	assert.Positive(t, more, "the views find dresses the box alone does not")
	assert.Positive(t, moved, "and cut them where they are lost")

	_, err = MineHardExamples(net, items, photos, 1, MineOptions{Scenes: 1, Cascade: pair, CascadeViews: 9})
	assert.ErrorContains(t, err, "MineOptions.CascadeViews 9, want 0, 1, 5, 7 or 27")
}
