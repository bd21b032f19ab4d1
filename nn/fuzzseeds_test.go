package nn_test

import (
	"math/rand"
	"testing"

	"github.com/fc2conv/fc2conv/nn"
	"github.com/fc2conv/fc2conv/nn/nntest"
)

// fcnTiny is a small fully convolutional network with every layer kind a
// converted model holds, for structured seeds.
func fcnTiny() *nn.Network {
	net := &nn.Network{
		Input: nn.InputSpec{Channels: 3, Height: 6, Width: 5, Mean: []float32{0.4, 0.5, 0.6}, Std: []float32{0.2, 0.3, 0.4}},
		Layers: []nn.Layer{
			nn.NewConv2D("c1", 3, 4, nn.Pair{H: 3, W: 2}, nn.Pair{H: 1, W: 1}, nn.Pair{H: 1, W: 0}), // 4×6×4
			nn.NewBatchNorm("bn", 4, 1e-3),
			nn.NewReLU("r"),
			nn.NewAvgPool2D("ap", nn.Pair{H: 2, W: 2}, nn.Pair{H: 2, W: 2}, nn.Pair{H: 1, W: 1}, false), // 4×4×3
			nn.NewMaxPool2D("mp", nn.Pair{H: 2, W: 1}, nn.Pair{H: 2, W: 1}, nn.Pair{}),                  // 4×2×3
			nn.NewConv2D("head", 4, 2, nn.Pair{H: 2, W: 3}, nn.Pair{H: 1, W: 1}, nn.Pair{}),             // 2×1×1
			nn.NewSoftmax("sm"),
		},
		Labels: []string{"bg", "dress"}, Positive: 1, Threshold: 0.75,
	}
	nntest.Randomize(net, rand.New(rand.NewSource(3)))
	return net
}

// structuredSeeds are valid files of every layer kind and edits of their
// architecture and header that a byte-level mutator rarely reaches: each
// field of each layer set out of range, of the wrong JSON type, or absent.
func structuredSeeds(t testing.TB) [][]byte {
	hand, fcn := marshal(t, handBuilt()), marshal(t, fcnTiny())
	seeds := [][]byte{hand, fcn}
	for s := int64(0); s < 3; s++ {
		seeds = append(seeds, marshal(t, nntest.RandomFC(rand.New(rand.NewSource(s)), nntest.Options{Padded: s%2 == 1})))
	}
	layer := func(b []byte, name, key string, v any) []byte {
		return editLayer(t, b, name, func(l map[string]any) {
			if v == nil {
				delete(l, key)
			} else {
				l[key] = v
			}
		})
	}
	arch := func(b []byte, key string, v any) []byte {
		return editArch(t, b, func(a map[string]any) { a[key] = v })
	}
	seeds = append(seeds,
		layer(fcn, "c1", "kernel", []int{0, 2}),
		layer(fcn, "c1", "stride", []int{1, 0}),
		layer(fcn, "c1", "padding", []int{-1, 0}),
		layer(fcn, "c1", "padding", []int{5, 5}),
		layer(fcn, "c1", "out_channels", 1<<20),
		layer(fcn, "c1", "in_channels", "3"),
		layer(fcn, "c1", "kernel", nil),
		layer(fcn, "ap", "count_include_pad", "yes"),
		layer(fcn, "ap", "kernel", []int{7, 7}),
		layer(fcn, "mp", "stride", []int{1 << 30, 1}),
		layer(fcn, "bn", "eps", -1),
		layer(fcn, "bn", "num_features", 0),
		layer(fcn, "sm", "type", "frobnicate"),
		layer(fcn, "sm", "name", "c1"),
		layer(fcn, "head", "extra", 1),
		layer(hand, "flat", "order", "WHC"),
		layer(hand, "drop", "rate", 1.5),
		layer(hand, "fc1", "out_features", 0),
		arch(fcn, "layers", []any{}),
		arch(fcn, "labels", []string{"only one"}),
		arch(fcn, "positive", 2),
		arch(fcn, "threshold", 1.5),
		arch(fcn, "input", map[string]any{"channels": 3, "height": 6, "width": 5, "mean": []float64{0, 0}, "std": []float64{1, 1, 1}}),
		arch(fcn, "input", map[string]any{"channels": 1, "height": 6, "width": 5, "mean": []float64{0}, "std": []float64{0}}),
		arch(fcn, "input", map[string]any{"channels": 1, "height": 1 << 20, "width": 5, "mean": []float64{0}, "std": []float64{1}}),
		arch(fcn, "layers", "not a list"),
		editEntry(t, fcn, "head.bias", func(e *stEntry) { e.Offsets = []int64{0, 8} }),
		editEntry(t, fcn, "c1.weight", func(e *stEntry) { e.Shape = []int64{4, 3, 2, 3} }),
		editEntry(t, fcn, "bn.running_var", func(e *stEntry) { e.Shape = nil }),
		rewrite(t, fcn, func(f *stFile) { f.remove(t, "bn.weight") }),
		setWeight(t, fcn, "bn.running_var", 0, 0),
		setWeight(t, fcn, "head.weight", 3, 3e38),
		// Trailing padding and ceil mode (format additions): valid, then not.
		layer(layer(fcn, "c1", "padding_end", []int{0, 1}), "mp", "ceil_mode", true),
		layer(fcn, "ap", "padding_end", []int{-1, 0}),
		layer(fcn, "mp", "ceil_mode", "yes"),
		// Residual blocks and concatenations (format additions): valid.
		marshal(t, nntest.RandomFC(rand.New(rand.NewSource(5)), nntest.Options{Padded: true, Residual: true})),
		marshal(t, nntest.RandomFC(rand.New(rand.NewSource(6)), nntest.Options{Padded: true, Concat: true})),
	)
	return seeds
}
