package onnx

import (
	"fmt"
	"math"

	pb "github.com/advancedclimatesystems/gonnx/onnx"

	"github.com/fc2conv/fc2conv/nn"
)

// inputScaling is what a graph does to its own input before its first
// layer: Keras's Rescaling as tf2onnx writes it (Mul, then Add), or
// torch's (x - mean) / std (Sub, then Div). Channel c of the input
// becomes scale[c]·x + shift[c]. Decode folds it into the network's
// input mean and std (foldScaling), which is where nn keeps
// preprocessing: a padded first convolution then pads the scaled map
// with zeros, as the graph does.
type inputScaling struct{ scale, shift []float64 }

// isScaling says whether n is an elementwise op a scaling is made of.
func isScaling(n *pb.NodeProto) bool {
	switch n.OpType {
	case "Mul", "Div", "Add", "Sub":
		return len(n.Input) == 2 && (n.Domain == "" || n.Domain == "ai.onnx")
	}
	return false
}

// scaleInput adds node n, which reads the chain's value cur and a
// constant, to im.scaling. The constant is a scalar or one value per
// channel (of c) in a shape that broadcasts along the channel axis,
// fromEnd axes before the last (0 on an N×H×W×C input, 2 on N×C×H×W).
func (im *importer) scaleInput(n *pb.NodeProto, cur string, c, fromEnd int) error {
	k := 1 // the constant's input
	switch {
	case n.Input[0] == cur && n.Input[1] != cur:
	case n.Input[1] == cur && (n.OpType == "Mul" || n.OpType == "Add"):
		k = 0
	case n.Input[1] == cur:
		return fmt.Errorf("%w: %s of the input from a constant; only input %s constant is read", ErrUnsupported, n.OpType, map[string]string{"Sub": "-", "Div": "/"}[n.OpType])
	default:
		return fmt.Errorf("%w: neither input is the chain's value %q", ErrUnsupported, cur)
	}
	if len(n.Attribute) > 0 {
		return fmt.Errorf("%w: attribute %s", ErrUnsupported, n.Attribute[0].GetName())
	}
	if len(n.Output) != 1 || n.Output[0] == "" {
		return fmt.Errorf("%w: want one output", ErrFormat)
	}
	v, dims, err := im.weight(n, k, "constant")
	if err != nil {
		return err
	}
	per := make([]float32, c)
	if err := addBroadcast(per, v, dims, 1, fromEnd); err != nil {
		return fmt.Errorf("input scaling: %w", err)
	}
	if im.scaling == nil {
		im.scaling = &inputScaling{scale: make([]float64, c), shift: make([]float64, c)}
		for i := range im.scaling.scale {
			im.scaling.scale[i] = 1
		}
	}
	s := im.scaling
	for i, x := range per {
		x := float64(x)
		switch n.OpType {
		case "Mul":
			s.scale[i], s.shift[i] = s.scale[i]*x, s.shift[i]*x
		case "Div":
			if x == 0 {
				return fmt.Errorf("%w: divides input channel %d by 0", ErrUnsupported, i)
			}
			s.scale[i], s.shift[i] = s.scale[i]/x, s.shift[i]/x
		case "Add":
			s.shift[i] += x
		case "Sub":
			s.shift[i] -= x
		}
	}
	return nil
}

// foldScaling folds the graph's input scaling into in's mean and std,
// which say how pixels in [0,1] become the graph's input x:
// scale·(p - mean)/std + shift = (p - mean')/std' with std' = std/scale
// and mean' = mean - shift·std/scale. A scale that is not positive has
// no std to fold into.
func (s *inputScaling) fold(in *nn.InputSpec) error {
	for c := range in.Std {
		a, b := s.scale[c], s.shift[c]
		if !(a > 0) || math.IsInf(a, 0) || math.IsInf(b, 0) || math.IsNaN(b) {
			return fmt.Errorf("%w: the graph scales input channel %d by %v (shift %v); only a positive, finite scale folds into the input's std", ErrUnsupported, c, a, b)
		}
		mean, std := float64(in.Mean[c]), float64(in.Std[c])
		in.Std[c] = float32(std / a)
		in.Mean[c] = float32(mean - b*std/a)
	}
	return nil
}
