package detect_test

import (
	"context"
	"image"
	"math/rand"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fc2conv/fc2conv/detect"
	"github.com/fc2conv/fc2conv/nn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// overflowFCN has finite weights but overflows float32 on a white image:
// a 4×4 convolution of stride 4 sums sixteen 2e37·1 into two channels of
// 3.2e38, and a 1×1 head weighs them by a and b, so the score is
// 3.2e38·(a+b) rounded twice: +Inf when a, b > 1, NaN when a = −b (Inf − Inf).
func overflowFCN(t *testing.T, a, b float32) *nn.Network {
	c1 := nn.NewConv2D("c1", 1, 2, pair(4, 4), pair(4, 4), pair(0, 0))
	for i := range c1.Weight.Data {
		c1.Weight.Data[i] = 2e37
	}
	head := nn.NewConv2D("head", 2, 1, pair(1, 1), pair(1, 1), pair(0, 0))
	head.Weight.Data[0], head.Weight.Data[1] = a, b
	net := &nn.Network{Input: spec(1, 4, 4), Layers: []nn.Layer{c1, head}}
	require.NoError(t, net.Validate(), "the weights are finite, so the model loads")
	return net
}

func whiteImage(w, h int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = 255
	}
	return img
}

func TestNonFiniteScoresNeverDetect(t *testing.T) {
	for _, c := range []struct {
		name string
		a, b float32
	}{{"+Inf", 10, 10}, {"NaN", 10, -10}} {
		det, err := detect.New(overflowFCN(t, c.a, c.b), detect.Options{Scales: []float64{1}, NoFlip: true, Threshold: detect.EveryWindow})
		require.NoError(t, err)
		res, err := det.Detect(whiteImage(16, 8))
		require.NoError(t, err, c.name)
		// A 16×8 image gives 4×2 cells of stride 4, every one non-finite.
		require.Len(t, res.Heatmaps, 1)
		assert.Equal(t, 8, res.Heatmaps[0].Rows*res.Heatmaps[0].Cols, c.name)
		assert.Equal(t, 8, res.NonFinite, c.name)
		assert.Empty(t, res.Detections, "%s: a non-finite score became a detection", c.name)
	}
	// On a black image the same network is finite (0·w = 0): nothing to count.
	det, err := detect.New(overflowFCN(t, 10, 10), detect.Options{Scales: []float64{1}, NoFlip: true, Threshold: detect.EveryWindow})
	require.NoError(t, err)
	res, err := det.Detect(image.NewNRGBA(image.Rect(0, 0, 16, 8)))
	require.NoError(t, err)
	assert.Zero(t, res.NonFinite)
	assert.Len(t, res.Detections, 8, "every finite window is reported at EveryWindow; the boxes do not overlap")
}

// countingCtx is a context whose Err turns to Canceled at its n-th call,
// to see where DetectContext checks it.
type countingCtx struct {
	context.Context
	calls, cancelAt int32
}

func (c *countingCtx) Err() error {
	if atomic.AddInt32(&c.calls, 1) >= c.cancelAt {
		return context.Canceled
	}
	return nil
}

func TestDetectContextStopsBetweenTiles(t *testing.T) {
	net := unpaddedFCN(t, rand.New(rand.NewSource(1)))
	// One scale, no mirror, 4000-pixel tiles: a 200×120 image takes many
	// tiles, so a third check of the context comes between tiles.
	det, err := detect.New(net, detect.Options{Scales: []float64{1}, NoFlip: true, MaxTilePixels: 4000})
	require.NoError(t, err)
	ctx := &countingCtx{Context: context.Background(), cancelAt: 3}
	_, err = det.DetectContext(ctx, whiteImage(200, 120))
	require.ErrorIs(t, err, context.Canceled)
	assert.ErrorContains(t, err, "stopped before the tile")
	assert.Equal(t, int32(3), ctx.calls, "the scan stops at the first check that says so")

	done, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = det.DetectContext(done, whiteImage(200, 120))
	require.ErrorIs(t, err, context.Canceled)
	assert.ErrorContains(t, err, "stopped before scale 1")

	// Not cancelled: the same result as Detect.
	got, err := det.DetectContext(context.Background(), whiteImage(200, 120))
	require.NoError(t, err)
	want, err := det.Detect(whiteImage(200, 120))
	require.NoError(t, err)
	assert.Equal(t, want, got)
}

// lateTimerCtx has a deadline in the past and an Err that is still nil,
// as a context whose timer has not fired yet on a loaded machine.
type lateTimerCtx struct{ context.Context }

func (lateTimerCtx) Deadline() (time.Time, bool) { return time.Now().Add(-time.Second), true }

func TestDetectContextPastDeadlineBeforeItsTimer(t *testing.T) {
	net := unpaddedFCN(t, rand.New(rand.NewSource(1)))
	det, err := detect.New(net, detect.Options{Scales: []float64{1}, NoFlip: true})
	require.NoError(t, err)
	_, err = det.DetectContext(lateTimerCtx{context.Background()}, whiteImage(200, 120))
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.ErrorContains(t, err, "stopped before scale 1")
}
