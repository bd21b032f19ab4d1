package nn_test

import (
	"math/rand"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fc2conv/fc2conv/nn"
	"github.com/fc2conv/fc2conv/nn/kernels"
	"github.com/fc2conv/fc2conv/nn/nntest"
)

// blockCases are random networks with residual blocks, concatenations or
// both, and the names their nested tensors take.
var blockCases = []struct {
	kind    nn.Kind
	opt     nntest.Options
	tensors string
}{
	{nn.KindResidual, nntest.Options{Residual: true}, `^block\d+\.block\d+_(conv1|conv2|down|bn1|bn2|downbn)\.`},
	{nn.KindConcat, nntest.Options{Concat: true, Padded: true}, `^mixed\d+\.mixed\d+_p\d_(1x1|bn|reduce|3x3|proj)\.`},
}

// hasKind reports whether one of net's layers is of kind k.
func hasKind(net *nn.Network, k nn.Kind) bool {
	for _, l := range net.Layers {
		if l.Kind() == k {
			return true
		}
	}
	return false
}

func TestBlockEngineMatchesPaths(t *testing.T) {
	for _, bc := range blockCases {
		blocks := 0
		for seed := int64(1); seed <= 30; seed++ {
			rng := rand.New(rand.NewSource(seed))
			opt := bc.opt
			opt.Padded = seed%2 == 0
			opt.Residual = opt.Residual || seed%3 == 0 // both kinds, sometimes
			net := nntest.RandomFC(rng, opt)
			require.NoError(t, net.Validate(), "%s seed %d", bc.kind, seed)
			if hasKind(net, bc.kind) {
				blocks++
			}
			x := nntest.Input(rng, net.Input.Window())
			want, ws := layerByLayer(t, net.Layers, x, net.Input.Window())
			for _, k := range []kernels.Kernels{kernels.Reference{}, kernels.Default} {
				e := nn.NewEngineWith(net, k)
				e.SetThreads(1 + int(seed%2))
				for range 2 { // the second pass reuses the paths' buffers
					got, gs, err := e.Forward(x, net.Input.Window())
					require.NoError(t, err)
					assert.Equal(t, ws, gs)
					assert.LessOrEqual(t, nntest.MaxAbsDiff(want, got), 1e-5, "%s seed %d, %T", bc.kind, seed, k)
				}
			}
		}
		assert.GreaterOrEqual(t, blocks, 10, "too few networks with a %s", bc.kind)
	}
}

func TestBlockModelFile(t *testing.T) {
	for _, bc := range blockCases {
		rng := rand.New(rand.NewSource(5))
		var net *nn.Network
		for net == nil || !hasKind(net, bc.kind) {
			net = nntest.RandomFC(rng, bc.opt)
		}
		path := filepath.Join(t.TempDir(), "block.safetensors")
		require.NoError(t, net.Save(path))
		back, err := nn.Load(path)
		require.NoError(t, err)
		x := nntest.Input(rng, net.Input.Window())
		a, _, err := nn.NewEngine(net).Forward(x, net.Input.Window())
		require.NoError(t, err)
		b, _, err := nn.NewEngine(back).Forward(x, net.Input.Window())
		require.NoError(t, err)
		assert.Equal(t, a, b, bc.kind)

		tensors, err := nn.ReadTensors(path)
		require.NoError(t, err)
		nested := 0
		for name := range tensors {
			if strings.Count(name, ".") == 2 {
				nested++
				assert.Regexp(t, bc.tensors, name)
			}
		}
		assert.Positive(t, nested, "%s: no tensor named <block>.<layer>.<param>", bc.kind)
		assert.Equal(t, a, cloned(t, net, x), bc.kind)
	}
}

// Blocks keep ForwardInto's promise: once an engine has seen an input
// size, a pass on one thread allocates nothing, paths included.
func TestBlockForwardIntoAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	rng := rand.New(rand.NewSource(3))
	one, three := nn.Pair{H: 1, W: 1}, nn.Pair{H: 3, W: 3}
	net := &nn.Network{
		Input: nn.InputSpec{Channels: 1, Height: 8, Width: 8, Mean: []float32{0}, Std: []float32{1}},
		Layers: []nn.Layer{
			nn.NewConv2D("stem", 1, 4, three, one, one), nn.NewReLU("r"),
			nn.NewResidual("block", []nn.Layer{nn.NewConv2D("bc", 4, 4, three, one, one)}, nil), nn.NewReLU("br"),
			nn.NewConcat("mixed", nil, []nn.Layer{nn.NewMaxPool2D("mp", three, one, one), nn.NewConv2D("mc", 4, 2, one, one, nn.Pair{})}),
			nn.NewConv2D("head", 6, 2, nn.Pair{H: 8, W: 8}, one, nn.Pair{}), nn.NewSoftmax("s"),
		},
	}
	nntest.Randomize(net, rng)
	require.NoError(t, net.Validate())
	assertWarmPassAllocatesNothing(t, net, nn.Shape{C: 1, H: 40, W: 56}, rng)
}
