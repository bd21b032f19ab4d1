package nn_test

import (
	"fmt"
	"math"
	"math/rand"
	"testing"

	"github.com/fc2conv/fc2conv/models"
	"github.com/fc2conv/fc2conv/nn"
	"github.com/fc2conv/fc2conv/nn/kernels"
	"github.com/fc2conv/fc2conv/nn/nntest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// randomHeaded is a random fully convolutional classifier with a head: a
// random trunk (RandomFC's stages, padded or not), then a convolution
// whose kernel covers the trunk's output, and 1×1 convolutions, ReLUs, a
// batch norm and a softmax or sigmoid, as a converted FC head is. With
// groups the covering convolution's weights are block diagonal in two
// groups, as a merged ensemble's are. The trunk's maps stay larger than
// 1×1, so that the head starts at the covering convolution.
func randomHeaded(rng *rand.Rand, groups bool) *nn.Network {
	var net *nn.Network
	var last nn.Shape
	for net == nil {
		fc := nntest.RandomFC(rng, nntest.Options{Padded: true})
		var layers []nn.Layer
		for _, l := range fc.Layers {
			if l.Kind() == nn.KindFlatten {
				break
			}
			layers = append(layers, l)
		}
		net = &nn.Network{Input: fc.Input, Layers: layers}
		shapes, err := net.Shapes(net.Input.Window())
		if err != nil {
			panic(err)
		}
		for _, s := range shapes[1:] {
			if s.H == 1 && s.W == 1 {
				net = nil
				break
			}
		}
		last = shapes[len(shapes)-1]
	}
	hidden := 2 * (1 + rng.Intn(20))
	cover := nn.NewConv2D("cover", last.C, hidden, nn.Pair{H: last.H, W: last.W}, nn.Pair{H: 1, W: 1}, nn.Pair{})
	classes := 1 + rng.Intn(5)
	net.Layers = append(net.Layers, cover, nn.NewReLU("hrelu"),
		nn.NewConv2D("mid", hidden, 7, nn.Pair{H: 1, W: 1}, nn.Pair{H: 1, W: 1}, nn.Pair{}),
		nn.NewBatchNorm("hbn", 7, 1e-5), nn.NewReLU("mrelu"),
		nn.NewConv2D("out", 7, classes, nn.Pair{H: 1, W: 1}, nn.Pair{H: 1, W: 1}, nn.Pair{}))
	if classes > 1 {
		net.Layers = append(net.Layers, nn.NewSoftmax("softmax"))
	} else {
		net.Layers = append(net.Layers, nn.NewSigmoid("sigmoid"))
	}
	nntest.Randomize(net, rng)
	if groups && last.C%2 == 0 {
		// Zero the off-diagonal blocks: output half g reads input half g.
		k := last.C * last.H * last.W
		for oc := range hidden {
			for j := range k {
				if (oc < hidden/2) != (j < k/2) {
					cover.Weight.Data[oc*k+j] = 0
				}
			}
		}
	}
	return net
}

// sameBits reports the first index where a and b differ in their bits.
func sameBits(t *testing.T, a, b []float32, msg string) {
	t.Helper()
	require.Equal(t, len(a), len(b), msg)
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			t.Fatalf("%s: value %d is %v, want %v", msg, i, a[i], b[i])
		}
	}
}

// ForwardBatch gives each input ForwardInto's output, to the bit: with a
// head run once for the batch (converted networks, with and without
// groups, on one thread and on three) and without one (the FC networks
// themselves, and windows larger than the network's, whose maps do not
// shrink to 1×1).
func TestForwardBatchMatchesForwardInto(t *testing.T) {
	for seed := int64(1); seed <= 30; seed++ {
		rng := rand.New(rand.NewSource(seed))
		nets := map[string]*nn.Network{
			"headed":  randomHeaded(rng, false),
			"grouped": randomHeaded(rng, true),
			"fc":      nntest.RandomFC(rng, nntest.Options{Padded: true}),
		}
		for name, net := range nets {
			require.NoError(t, net.Validate(), "seed %d %s", seed, name)
			shapes := []nn.Shape{net.Input.Window()}
			if name == "headed" {
				w := net.Input.Window()
				shapes = append(shapes, nn.Shape{C: w.C, H: w.H + 3, W: w.W + 5})
			}
			for j, in := range shapes {
				// Only on their own window do the maps shrink to 1×1.
				// The head then starts at the flatten or the covering
				// convolution, unless the trunk already shrank (a padded
				// pool may grow it again).
				batched := nn.NewEngine(net).HeadBatched(in)
				switch {
				case j > 0:
					require.False(t, batched, "seed %d %s on %v", seed, name, in)
				case !trunkShrinks(t, net):
					require.True(t, batched, "seed %d %s on %v", seed, name, in)
				}
				for _, threads := range []int{1, 3} {
					n := []int{0, 1, 2, 5, 54}[rng.Intn(5)]
					msg := fmt.Sprintf("seed %d %s on %v, %d inputs, %d threads", seed, name, in, n, threads)
					checkBatch(t, net, in, n, threads, rng, msg)
				}
			}
		}
	}
}

// trunkShrinks reports whether a map of net's trunk (before its flatten
// or its layer "cover") is 1×1 on its window.
func trunkShrinks(t *testing.T, net *nn.Network) bool {
	shapes, err := net.Shapes(net.Input.Window())
	require.NoError(t, err)
	for i, l := range net.Layers {
		if l.Name() == "cover" || l.Kind() == nn.KindFlatten {
			return false
		}
		if s := shapes[i+1]; s.H == 1 && s.W == 1 {
			return true
		}
	}
	return false
}

func checkBatch(t *testing.T, net *nn.Network, in nn.Shape, n, threads int, rng *rand.Rand, msg string) {
	t.Helper()
	e := nn.NewEngine(net)
	e.SetThreads(threads)
	out, err := e.OutShape(in)
	require.NoError(t, err, msg)
	src := nntest.Input(rng, nn.Shape{C: in.C, H: in.H, W: in.W * max(n, 1)})[:n*in.Size()]
	want := make([]float32, n*out.Size())
	for i := range n {
		_, err := e.ForwardInto(want[i*out.Size():(i+1)*out.Size()], src[i*in.Size():(i+1)*in.Size()], in)
		require.NoError(t, err, msg)
	}
	got := make([]float32, n*out.Size())
	shape, err := e.ForwardBatch(got, src, n, in)
	require.NoError(t, err, msg)
	assert.Equal(t, out, shape, msg)
	sameBits(t, got, want, msg)
	// Again on the same engine: its buffers are reused, not reset.
	clear(got)
	_, err = e.ForwardBatch(got, src, n, in)
	require.NoError(t, err, msg)
	sameBits(t, got, want, msg+", second batch")
}

// Other kernels run the batch item by item, and still agree with
// ForwardInto.
func TestForwardBatchOtherKernels(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	net := randomHeaded(rng, false)
	in := net.Input.Window()
	src := nntest.Input(rng, nn.Shape{C: in.C, H: in.H, W: in.W * 4})
	for _, k := range []kernels.Kernels{kernels.Reference{}, kernels.Gonum{}} {
		e := nn.NewEngineWith(net, k)
		require.False(t, e.HeadBatched(in))
		out, err := e.OutShape(in)
		require.NoError(t, err)
		want := make([]float32, 4*out.Size())
		for i := range 4 {
			_, err := e.ForwardInto(want[i*out.Size():(i+1)*out.Size()], src[i*in.Size():(i+1)*in.Size()], in)
			require.NoError(t, err)
		}
		got := make([]float32, 4*out.Size())
		_, err = e.ForwardBatch(got, src, 4, in)
		require.NoError(t, err)
		sameBits(t, got, want, fmt.Sprintf("%T", k))
	}
}

// A batch whose sizes do not add up is refused before anything runs.
func TestForwardBatchRejectsBadSizes(t *testing.T) {
	rng := rand.New(rand.NewSource(2))
	net := randomHeaded(rng, false)
	e := nn.NewEngine(net)
	in := net.Input.Window()
	out, err := e.OutShape(in)
	require.NoError(t, err)
	_, err = e.ForwardBatch(make([]float32, 3*out.Size()), make([]float32, 3*in.Size()-1), 3, in)
	assert.ErrorContains(t, err, "batch input holds")
	_, err = e.ForwardBatch(make([]float32, 3*out.Size()-1), make([]float32, 3*in.Size()), 3, in)
	assert.ErrorContains(t, err, "batch output buffer holds")
	_, err = e.ForwardBatch(nil, nil, -1, in)
	assert.ErrorContains(t, err, "batch of -1")
	_, err = e.ForwardBatch(nil, nil, nn.MaxActivation, in)
	assert.ErrorContains(t, err, "split it")
	_, err = e.ForwardBatch(nil, nil, 2, nn.Shape{C: in.C + 1, H: in.H, W: in.W})
	assert.ErrorContains(t, err, "channels")
}

// With a head, a warm ForwardBatch on one thread allocates nothing.
func TestForwardBatchAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	rng := rand.New(rand.NewSource(4))
	net := randomHeaded(rng, false)
	in := net.Input.Window()
	e := nn.NewEngine(net)
	out, err := e.OutShape(in)
	require.NoError(t, err)
	src := nntest.Input(rng, nn.Shape{C: in.C, H: in.H, W: in.W * 8})
	dst := make([]float32, 8*out.Size())
	_, err = e.ForwardBatch(dst, src, 8, in)
	require.NoError(t, err)
	allocs := testing.AllocsPerRun(20, func() {
		if _, err := e.ForwardBatch(dst, src, 8, in); err != nil {
			t.Fatal(err)
		}
	})
	assert.Zero(t, allocs)
}

// The embedded verifier's former FC layers are such a head: its views
// batch them.
func TestEmbeddedVerifierBatchesItsHead(t *testing.T) {
	net, err := models.Verifier()
	require.NoError(t, err)
	require.True(t, nn.NewEngine(net).HeadBatched(net.Input.Window()))
	rng := rand.New(rand.NewSource(6))
	checkBatch(t, net, net.Input.Window(), 54, 1, rng, "embedded verifier")
}

// BenchmarkVerifierViews is one box's 54 windows (27 views, each mirrored)
// through the embedded verifier, one window at a time and as one batch,
// on one thread.
func BenchmarkVerifierViews(b *testing.B) {
	net, err := models.Verifier()
	if err != nil {
		b.Fatal(err)
	}
	in := net.Input.Window()
	const n = 54
	src := nntest.Input(rand.New(rand.NewSource(1)), nn.Shape{C: in.C, H: in.H, W: in.W * n})
	e := nn.NewEngine(net)
	out, err := e.OutShape(in)
	if err != nil {
		b.Fatal(err)
	}
	dst := make([]float32, n*out.Size())
	b.Run("one-by-one", func(b *testing.B) {
		for b.Loop() {
			for i := range n {
				if _, err := e.ForwardInto(dst[i*out.Size():(i+1)*out.Size()], src[i*in.Size():(i+1)*in.Size()], in); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("batch", func(b *testing.B) {
		for b.Loop() {
			if _, err := e.ForwardBatch(dst, src, n, in); err != nil {
				b.Fatal(err)
			}
		}
	})
}
