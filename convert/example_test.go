package convert_test

import (
	"fmt"

	"github.com/fc2conv/fc2conv/convert"
	"github.com/fc2conv/fc2conv/nn"
)

// Convert a 28×28 classifier with a two-layer FC head and read the
// conversion table and geometry.
func ExampleConvert() {
	one, two := nn.Pair{H: 1, W: 1}, nn.Pair{H: 2, W: 2}
	fc := &nn.Network{
		Input: nn.InputSpec{Channels: 1, Height: 28, Width: 28, Mean: []float32{0.5}, Std: []float32{0.5}},
		Layers: []nn.Layer{
			nn.NewConv2D("conv", 1, 8, nn.Pair{H: 5, W: 5}, one, nn.Pair{}),
			nn.NewReLU("relu"),
			nn.NewMaxPool2D("pool", two, two, nn.Pair{}),
			nn.NewFlatten("flatten", nn.FlattenHWC),
			nn.NewDense("fc1", 8*12*12, 32),
			nn.NewDropout("drop", 0.5),
			nn.NewDense("fc2", 32, 2),
			nn.NewSoftmax("softmax"),
		},
	}
	res, err := convert.Convert(fc)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, s := range res.Steps {
		fmt.Printf("%-8s %-28s %s\n", s.Layer, s.From, s.To)
	}
	g := res.Geometry
	fmt.Println("stride", g.Stride, "window", g.Window, "cell (2,3) box", g.CellBox(2, 3))
	rows, cols, _ := res.Network.GridSize(512, 1024)
	fmt.Println("a 1024×512 image gives", rows, "×", cols, "windows")
	// Output:
	// conv     conv 8×1×5×5 /1×1 pad 0×0    conv 8×1×5×5 /1×1 pad 0×0
	// relu     relu                         relu
	// pool     maxpool 2×2 /2×2 pad 0×0     maxpool 2×2 /2×2 pad 0×0
	// flatten  flatten 8×12×12 (HWC)        removed: the next conv reads the map
	// fc1      dense 1152→32                conv 32×8×12×12
	// drop     dropout                      removed: identity at inference
	// fc2      dense 32→2                   conv 2×32×1×1
	// softmax  softmax over channels        softmax over channels
	// stride 2×2 window 28×28 cell (2,3) box {6 4 34 32}
	// a 1024×512 image gives 243 × 499 windows
}
