package onnx_test

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	pb "github.com/advancedclimatesystems/gonnx/onnx"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"github.com/fc2conv/fc2conv/nn"
	"github.com/fc2conv/fc2conv/onnx"
)

// small is a valid FC classifier: conv, relu, flatten, dense, softmax.
func small(t testing.TB) *nn.Network {
	conv := nn.NewConv2D("conv", 1, 2, nn.Pair{H: 3, W: 3}, nn.Pair{H: 1, W: 1}, nn.Pair{})
	dense := nn.NewDense("fc", 2*4*4, 3)
	for i := range conv.Weight.Data {
		conv.Weight.Data[i] = float32(i%5) / 10
	}
	for i := range dense.Weight.Data {
		dense.Weight.Data[i] = float32(i%7)/10 - 0.3
	}
	return &nn.Network{
		Input:  nn.InputSpec{Channels: 1, Height: 6, Width: 6, Mean: []float32{0}, Std: []float32{1}},
		Layers: []nn.Layer{conv, nn.NewReLU("relu"), nn.NewFlatten("flat", nn.FlattenCHW), dense, nn.NewSoftmax("softmax")},
	}
}

// edit exports small, lets f change the protobuf, and re-encodes it.
func edit(t *testing.T, f func(m *pb.ModelProto)) []byte {
	t.Helper()
	b, err := onnx.Marshal(small(t))
	require.NoError(t, err)
	m := &pb.ModelProto{}
	require.NoError(t, proto.Unmarshal(b, m))
	f(m)
	b, err = proto.Marshal(m)
	require.NoError(t, err)
	return b
}

func nodeOf(m *pb.ModelProto, op string) *pb.NodeProto {
	for _, n := range m.Graph.Node {
		if n.OpType == op {
			return n
		}
	}
	return nil
}

func initOf(m *pb.ModelProto, name string) *pb.TensorProto {
	for _, t := range m.Graph.Initializer {
		if t.Name == name {
			return t
		}
	}
	return nil
}

// scale puts an op of v and a constant (dims, values) in front of v's
// consumers, the constant first when constFirst.
func scale(m *pb.ModelProto, v, op string, constFirst bool, dims []int64, values ...float32) {
	n := &pb.NodeProto{Name: "scale", OpType: op, Input: []string{v, "k"}, Output: []string{"scaled"}}
	if constFirst {
		n.Input = []string{"k", v}
	}
	for _, x := range m.Graph.Node {
		for i, in := range x.Input {
			if in == v {
				x.Input[i] = "scaled"
			}
		}
	}
	m.Graph.Node = append(m.Graph.Node, n)
	m.Graph.Initializer = append(m.Graph.Initializer, &pb.TensorProto{Name: "k", DataType: int32(pb.TensorProto_FLOAT), Dims: dims, FloatData: values})
}

// Every refused model gets an error that says what and where, and wraps
// ErrFormat or ErrUnsupported; nothing panics or allocates by a declared
// size.
func TestRefused(t *testing.T) {
	good := edit(t, func(*pb.ModelProto) {})
	cases := []struct {
		name string
		b    []byte
		is   error
		want string
	}{
		{"truncated", good[:len(good)/2], onnx.ErrFormat, "malformed ONNX model"},
		{"not protobuf", []byte("hello, this is not ONNX"), onnx.ErrFormat, "malformed"},
		{"declared size exceeds bytes", edit(t, func(m *pb.ModelProto) {
			initOf(m, "conv.weight").Dims = []int64{2, 1, 3, 30}
		}), onnx.ErrFormat, `tensor "conv.weight": raw_data has 72 bytes, shape [2 1 3 30] of FLOAT needs 720`},
		{"dimension 2^40", edit(t, func(m *pb.ModelProto) {
			initOf(m, "conv.weight").Dims = []int64{1 << 40, 1, 3, 3}
		}), onnx.ErrFormat, "dimension 1099511627776 out of range"},
		{"elements overflow", edit(t, func(m *pb.ModelProto) {
			initOf(m, "conv.weight").Dims = []int64{1 << 20, 1 << 20, 1 << 20, 3}
		}), onnx.ErrFormat, "has more than"},
		{"input dimension 2^40", edit(t, func(m *pb.ModelProto) {
			m.Graph.Input[0].Type.GetTensorType().Shape.Dim[2].Value = &pb.TensorShapeProto_Dimension_DimValue{DimValue: 1 << 40}
		}), onnx.ErrUnsupported, `input "input": dimension 2 is 1099511627776`},
		{"missing initializer", edit(t, func(m *pb.ModelProto) {
			nodeOf(m, "Conv").Input[1] = "nowhere"
		}), onnx.ErrUnsupported, `node "conv" (Conv): unsupported ONNX model: input "nowhere" is computed, not a constant`},
		{"cycle", edit(t, func(m *pb.ModelProto) {
			// relu feeds back into conv's input: conv ← relu ← conv.
			nodeOf(m, "Relu").Output[0] = "input2"
			nodeOf(m, "Conv").Input[0] = "input2"
			m.Graph.Node = append(m.Graph.Node, &pb.NodeProto{Name: "start", OpType: "Identity", Input: []string{"input"}, Output: []string{"input2"}})
		}), onnx.ErrFormat, `node "conv" (Conv): malformed ONNX model: the graph has a cycle through this node`},
		{"branch", edit(t, func(m *pb.ModelProto) {
			m.Graph.Node = append(m.Graph.Node, &pb.NodeProto{Name: "side", OpType: "Relu", Input: []string{"conv"}, Output: []string{"side"}})
		}), onnx.ErrUnsupported, `value "conv" feeds "relu" (Relu) and "side" (Relu): the graph branches there`},
		{"free height", edit(t, func(m *pb.ModelProto) {
			m.MetadataProps = nil
			m.Graph.Input[0].Type.GetTensorType().Shape.Dim[2].Value = &pb.TensorShapeProto_Dimension_DimParam{DimParam: "H"}
		}), onnx.ErrUnsupported, "free height or width; the window must be fixed for conversion"},
		{"unknown op", edit(t, func(m *pb.ModelProto) { nodeOf(m, "Relu").OpType = "Erf" }),
			onnx.ErrUnsupported, `node "relu" (Erf): unsupported ONNX model: op type Erf`},
		{"tanh GELU", edit(t, func(m *pb.ModelProto) {
			r := nodeOf(m, "Relu")
			r.OpType, r.Attribute = "Gelu", []*pb.AttributeProto{{Name: "approximate", Type: pb.AttributeProto_STRING, S: []byte("tanh")}}
		}), onnx.ErrUnsupported, `node "relu" (Gelu): unsupported ONNX model: approximate "tanh" (only the exact GELU, "none")`},
		{"unknown attribute", edit(t, func(m *pb.ModelProto) {
			n := nodeOf(m, "Conv")
			n.Attribute = append(n.Attribute, &pb.AttributeProto{Name: "frobnicate", Type: pb.AttributeProto_INT, I: 1})
		}), onnx.ErrUnsupported, `node "conv" (Conv): unsupported ONNX model: attribute "frobnicate"`},
		{"dilation", edit(t, func(m *pb.ModelProto) {
			n := nodeOf(m, "Conv")
			n.Attribute = append(n.Attribute, &pb.AttributeProto{Name: "dilations", Type: pb.AttributeProto_INTS, Ints: []int64{2, 2}})
		}), onnx.ErrUnsupported, `attribute dilations 2×2`},
		{"int8 weights", edit(t, func(m *pb.ModelProto) {
			w := initOf(m, "conv.weight")
			w.DataType, w.RawData = int32(pb.TensorProto_INT8), w.RawData[:18]
		}), onnx.ErrUnsupported, `tensor "conv.weight": data type INT8`},
		{"opset 8", edit(t, func(m *pb.ModelProto) { m.OpsetImport[0].Version = 8 }),
			onnx.ErrUnsupported, "opset 8 of the default domain; supported are 9 to 21"},
		{"softmax on the batch axis", edit(t, func(m *pb.ModelProto) {
			nodeOf(m, "Softmax").Attribute[0].I = 0
		}), onnx.ErrUnsupported, `node "softmax" (Softmax): unsupported ONNX model: attribute axis 0`},
		{"clip with an open side", edit(t, func(m *pb.ModelProto) {
			n := nodeOf(m, "Relu")
			n.OpType, n.Input = "Clip", []string{n.Input[0], "", "hi"}
			m.Graph.Initializer = append(m.Graph.Initializer,
				&pb.TensorProto{Name: "hi", DataType: int32(pb.TensorProto_FLOAT), FloatData: []float32{6}})
		}), onnx.ErrUnsupported, "Clip to [-Inf, 6]: only finite bounds"},
		{"external data outside the folder", edit(t, func(m *pb.ModelProto) {
			w := initOf(m, "conv.weight")
			w.RawData, w.DataLocation = nil, pb.TensorProto_EXTERNAL
			w.ExternalData = []*pb.StringStringEntryProto{{Key: "location", Value: "../../etc/passwd"}}
		}), onnx.ErrFormat, `external data location "../../etc/passwd" must be a relative path inside the model's folder`},
		{"two outputs", edit(t, func(m *pb.ModelProto) {
			m.Graph.Output = append(m.Graph.Output, m.Graph.Output[0])
		}), onnx.ErrUnsupported, "2 graph outputs"},
		{"scaling after a ReLU", edit(t, func(m *pb.ModelProto) {
			scale(m, nodeOf(m, "Relu").Output[0], "Mul", false, []int64{}, 2)
		}), onnx.ErrUnsupported, `(Mul): unsupported ONNX model: Mul is read only right after a Conv, Gemm or MatMul, or as a scaling of the input`},
		{"division by 0 after a conv", edit(t, func(m *pb.ModelProto) {
			scale(m, nodeOf(m, "Conv").Output[0], "Div", false, []int64{1, 2, 1, 1}, 1, 0)
		}), onnx.ErrUnsupported, `node "scale" (Div): unsupported ONNX model: divides channel 1 by 0`},
		{"scale overflowing float32", edit(t, func(m *pb.ModelProto) {
			scale(m, nodeOf(m, "Conv").Output[0], "Div", false, []int64{}, 1e-45)
		}), onnx.ErrUnsupported, "Div makes a weight or bias overflow float32"},
		{"negative input scale", edit(t, func(m *pb.ModelProto) {
			scale(m, "input", "Mul", false, []int64{}, -2)
		}), onnx.ErrUnsupported, "scales input channel 0 by -2 (shift -0); only a positive, finite scale"},
		{"input subtracted from a constant", edit(t, func(m *pb.ModelProto) {
			scale(m, "input", "Sub", true, []int64{}, 1)
		}), onnx.ErrUnsupported, `node "scale" (Sub): unsupported ONNX model: Sub of the input from a constant; only input - constant is read`},
		{"input divided by 0", edit(t, func(m *pb.ModelProto) {
			scale(m, "input", "Div", false, []int64{}, 0)
		}), onnx.ErrUnsupported, "divides input channel 0 by 0"},
		{"cycle of input scalings", edit(t, func(m *pb.ModelProto) {
			// input → scale → scaled → again → b → back → scaled: the
			// walk past the input's scalings must end.
			scale(m, "input", "Mul", false, []int64{}, 2)
			nodeOf(m, "Conv").Input[0] = "b"
			m.Graph.Node = append(m.Graph.Node,
				&pb.NodeProto{Name: "again", OpType: "Mul", Input: []string{"scaled", "k"}, Output: []string{"b2"}},
				&pb.NodeProto{Name: "back", OpType: "Mul", Input: []string{"b2", "k"}, Output: []string{"scaled"}})
		}), onnx.ErrFormat, "cycle"},
		{"sigmoid read twice", edit(t, func(m *pb.ModelProto) {
			// conv → relu, and x·sigmoid(x) whose sigmoid also feeds a
			// second node: no SiLU, a branch.
			r := nodeOf(m, "Relu")
			r.OpType, r.Output = "Sigmoid", []string{"sig"}
			m.Graph.Node = append(m.Graph.Node,
				&pb.NodeProto{Name: "swish", OpType: "Mul", Input: []string{"conv", "sig"}, Output: []string{"relu"}},
				&pb.NodeProto{Name: "side", OpType: "Relu", Input: []string{"sig"}, Output: []string{"side"}})
		}), onnx.ErrUnsupported, `value "conv" feeds "relu" (Sigmoid) and "swish" (Mul): the graph branches there`},
		{"branches joined by a Concat on the height axis", edit(t, func(m *pb.ModelProto) {
			m.Graph.Node = append(m.Graph.Node,
				&pb.NodeProto{Name: "side", OpType: "Relu", Input: []string{"conv"}, Output: []string{"side"}},
				&pb.NodeProto{Name: "join", OpType: "Concat", Input: []string{"relu", "side"}, Output: []string{"joined"}, Attribute: []*pb.AttributeProto{{Name: "axis", Type: pb.AttributeProto_INT, I: 2}}})
			nodeOf(m, "Flatten").Input[0] = "joined"
		}), onnx.ErrUnsupported, `value "conv" feeds "relu" (Relu) and "side" (Relu): the graph branches there; only a chain from input to output, with residual blocks (two branches summed by an Add) and concatenations`},
		{"a Concat reading one branch twice", edit(t, func(m *pb.ModelProto) {
			m.Graph.Node = append(m.Graph.Node,
				&pb.NodeProto{Name: "side", OpType: "Relu", Input: []string{"conv"}, Output: []string{"side"}},
				&pb.NodeProto{Name: "join", OpType: "Concat", Input: []string{"relu", "side", "relu"}, Output: []string{"joined"}, Attribute: []*pb.AttributeProto{{Name: "axis", Type: pb.AttributeProto_INT, I: 1}}})
			nodeOf(m, "Flatten").Input[0] = "joined"
		}), onnx.ErrUnsupported, `value "conv" feeds "relu" (Relu) and "side" (Relu): the graph branches there`},
		{"concatenated branches of different sizes", edit(t, func(m *pb.ModelProto) {
			m.Graph.Node = append(m.Graph.Node,
				&pb.NodeProto{Name: "side", OpType: "MaxPool", Input: []string{"conv"}, Output: []string{"side"}, Attribute: []*pb.AttributeProto{
					{Name: "kernel_shape", Type: pb.AttributeProto_INTS, Ints: []int64{2, 2}}, {Name: "strides", Type: pb.AttributeProto_INTS, Ints: []int64{2, 2}}}},
				&pb.NodeProto{Name: "join", OpType: "Concat", Input: []string{"relu", "side"}, Output: []string{"joined"}, Attribute: []*pb.AttributeProto{{Name: "axis", Type: pb.AttributeProto_INT, I: 1}}})
			nodeOf(m, "Flatten").Input[0] = "joined"
		}), onnx.ErrUnsupported, `node "join" (Concat): unsupported ONNX model: concat "join": on 2×4×4 path 0 gives 4×4 and path 1 2×2`},
		{"residual branches of different shapes", edit(t, func(m *pb.ModelProto) {
			m.Graph.Node = append(m.Graph.Node, &pb.NodeProto{Name: "join", OpType: "Add", Input: []string{"relu", "input"}, Output: []string{"joined"}})
			nodeOf(m, "Flatten").Input[0] = "joined"
		}), onnx.ErrUnsupported, `node "join" (Add): unsupported ONNX model: residual "join": on 1×6×6 the body gives 2×4×4 and the shortcut 1×6×6`},
		{"residual block on a vector", edit(t, func(m *pb.ModelProto) {
			m.Graph.Node = append(m.Graph.Node, &pb.NodeProto{Name: "join", OpType: "Add", Input: []string{"flat", "fc"}, Output: []string{"joined"}})
			nodeOf(m, "Softmax").Input[0] = "joined"
		}), onnx.ErrUnsupported, `node "join" (Add): unsupported ONNX model: a residual block on a flattened vector`},
		{"residual blocks nested 9 deep", edit(t, func(m *pb.ModelProto) {
			// relu → block0 ⊃ block1 ⊃ … ⊃ block8, each an identity
			// shortcut around a ReLU and the next block.
			head, tail := m.Graph.Node[:2], m.Graph.Node[2:] // conv, relu; flatten, gemm, softmax
			m.Graph.Node = slices.Clone(head)
			var nest func(v string, d int) string
			nest = func(v string, d int) string {
				r := fmt.Sprintf("r%d", d)
				m.Graph.Node = append(m.Graph.Node, &pb.NodeProto{Name: r, OpType: "Relu", Input: []string{v}, Output: []string{r}})
				inner := r
				if d > 0 {
					inner = nest(r, d-1)
				}
				a := fmt.Sprintf("add%d", d)
				m.Graph.Node = append(m.Graph.Node, &pb.NodeProto{Name: a, OpType: "Add", Input: []string{v, inner}, Output: []string{a}})
				return a
			}
			tail[0].Input[0] = nest("relu", nn.MaxNesting)
			m.Graph.Node = append(m.Graph.Node, tail...) // in topological order
		}), onnx.ErrUnsupported, `node "add0" (Add): unsupported ONNX model: blocks nested more than 8 deep`},
		{"x times a hard sigmoid other than torch's", edit(t, func(m *pb.ModelProto) {
			// x·hardsigmoid(x) with ONNX's default alpha 0.2: no Hardswish.
			r := nodeOf(m, "Relu")
			r.OpType, r.Output = "HardSigmoid", []string{"hs"}
			m.Graph.Node = append(m.Graph.Node, &pb.NodeProto{Name: "gate", OpType: "Mul", Input: []string{"conv", "hs"}, Output: []string{"relu"}})
		}), onnx.ErrUnsupported, `value "conv" feeds "relu" (HardSigmoid) and "gate" (Mul): the graph branches there`},
		{"a branch that starts with a scaling", edit(t, func(m *pb.ModelProto) {
			// conv + relu(conv · 0.5): the Mul heads a residual body, where
			// it is no scaling of the network's input.
			r := nodeOf(m, "Relu")
			r.Input, r.Output = []string{"half"}, []string{"r"}
			m.Graph.Initializer = append(m.Graph.Initializer, &pb.TensorProto{Name: "k", DataType: int32(pb.TensorProto_FLOAT), FloatData: []float32{0.5}})
			m.Graph.Node = append(m.Graph.Node,
				&pb.NodeProto{Name: "scale", OpType: "Mul", Input: []string{"conv", "k"}, Output: []string{"half"}},
				&pb.NodeProto{Name: "join", OpType: "Add", Input: []string{"conv", "r"}, Output: []string{"relu"}})
			// In the graph's order: conv, scale, relu, join, then the rest.
			g := m.Graph.Node
			m.Graph.Node = []*pb.NodeProto{g[0], g[len(g)-2], g[1], g[len(g)-1], g[2], g[3], g[4]}
		}), onnx.ErrUnsupported, `node "scale" (Mul): unsupported ONNX model: Mul is read only right after a Conv, Gemm or MatMul`},
		{"squeeze-and-excitation", edit(t, func(m *pb.ModelProto) {
			// x · sigmoid(mean of x over the map), per channel: a Mul joins.
			r := nodeOf(m, "Relu")
			r.OpType, r.Output = "GlobalAveragePool", []string{"squeezed"}
			m.Graph.Node = append(m.Graph.Node,
				&pb.NodeProto{Name: "excite", OpType: "Sigmoid", Input: []string{"squeezed"}, Output: []string{"s"}},
				&pb.NodeProto{Name: "scale", OpType: "Mul", Input: []string{"conv", "s"}, Output: []string{"relu"}})
		}), onnx.ErrUnsupported, `value "conv" feeds "relu" (GlobalAveragePool) and "scale" (Mul): the graph branches there`},
		{"GELU's nodes without the final halving", edit(t, func(m *pb.ModelProto) {
			r := nodeOf(m, "Relu")
			r.OpType, r.Input, r.Output = "Div", []string{"conv", "sqrt2"}, []string{"d"}
			m.Graph.Initializer = append(m.Graph.Initializer,
				&pb.TensorProto{Name: "sqrt2", DataType: int32(pb.TensorProto_FLOAT), FloatData: []float32{math.Sqrt2}},
				&pb.TensorProto{Name: "one", DataType: int32(pb.TensorProto_FLOAT), FloatData: []float32{1}})
			m.Graph.Node = append(m.Graph.Node,
				&pb.NodeProto{Name: "erf", OpType: "Erf", Input: []string{"d"}, Output: []string{"e"}},
				&pb.NodeProto{Name: "plus", OpType: "Add", Input: []string{"e", "one"}, Output: []string{"a"}},
				&pb.NodeProto{Name: "gate", OpType: "Mul", Input: []string{"conv", "a"}, Output: []string{"relu"}})
		}), onnx.ErrUnsupported, `value "conv" feeds "relu" (Div) and "gate" (Mul): the graph branches there`},
		{"per-pixel input shift", edit(t, func(m *pb.ModelProto) {
			scale(m, "input", "Add", false, []int64{1, 1, 6, 6}, make([]float32, 36)...)
		}), onnx.ErrUnsupported, `node "scale" (Add): input scaling: unsupported ONNX model: a constant of shape [1 1 6 6] does not broadcast over 1 channels`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := onnx.Decode(c.b, t.TempDir(), onnx.Options{})
			require.Error(t, err)
			assert.True(t, errors.Is(err, c.is), "want %v, got %v", c.is, err)
			assert.Contains(t, err.Error(), c.want)
		})
	}
}

// A symbolic link beside the model cannot lead external data out of the
// model's folder, and a short external file is refused before reading.
func TestExternalDataPaths(t *testing.T) {
	dir := t.TempDir()
	outside := filepath.Join(t.TempDir(), "weights.bin")
	require.NoError(t, os.WriteFile(outside, make([]byte, 72), 0o644))
	require.NoError(t, os.Symlink(outside, filepath.Join(dir, "link.bin")))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "short.bin"), make([]byte, 10), 0o644))
	for loc, want := range map[string]string{
		"link.bin":  `external data "link.bin" leads outside the model's folder`,
		"short.bin": `external file "short.bin" has 10 bytes, too few for 72 at offset 0`,
	} {
		b := edit(t, func(m *pb.ModelProto) {
			w := initOf(m, "conv.weight")
			w.RawData, w.DataLocation = nil, pb.TensorProto_EXTERNAL
			w.ExternalData = []*pb.StringStringEntryProto{{Key: "location", Value: loc}}
		})
		_, err := onnx.Decode(b, dir, onnx.Options{})
		require.Error(t, err, loc)
		assert.True(t, errors.Is(err, onnx.ErrFormat), "%v", err)
		assert.Contains(t, err.Error(), want)
	}
}

// An Add of a constant after a Gemm is its bias, either way round; an Add
// anywhere else is refused.
func TestAddBias(t *testing.T) {
	ref, err := onnx.Decode(edit(t, func(*pb.ModelProto) {}), "", onnx.Options{})
	require.NoError(t, err)
	x := make([]float32, 36)
	for i := range x {
		x[i] = float32(i%7) / 7
	}
	want, _, err := nn.NewEngine(ref).Forward(x, ref.Input.Window())
	require.NoError(t, err)
	for _, swap := range []bool{false, true} {
		b := edit(t, func(m *pb.ModelProto) {
			g := nodeOf(m, "Gemm")
			g.Output[0] = "gemm_out"
			in := []string{"gemm_out", "extra"}
			if swap {
				in = []string{"extra", "gemm_out"}
			}
			nodeOf(m, "Softmax").Input[0] = "added"
			m.Graph.Node = append(m.Graph.Node, &pb.NodeProto{Name: "add", OpType: "Add", Input: in, Output: []string{"added"}})
			m.Graph.Initializer = append(m.Graph.Initializer,
				&pb.TensorProto{Name: "extra", DataType: int32(pb.TensorProto_FLOAT), Dims: []int64{1, 3}, FloatData: []float32{1, 0, -1}})
		})
		net, err := onnx.Decode(b, "", onnx.Options{})
		require.NoError(t, err, "swap %v", swap)
		got, _, err := nn.NewEngine(net).Forward(x, net.Input.Window())
		require.NoError(t, err)
		// Softmax of logits + (1, 0, -1) against the reference's logits.
		e := []float64{math.E, 1, 1 / math.E}
		var sum float64
		for i := range want {
			sum += float64(want[i]) * e[i]
		}
		for i := range want {
			assert.InDelta(t, float64(want[i])*e[i]/sum, got[i], 1e-6, "swap %v, class %d", swap, i)
		}
	}
	_, err = onnx.Decode(edit(t, func(m *pb.ModelProto) {
		nodeOf(m, "Flatten").Input[0] = "added"
		m.Graph.Node = append(m.Graph.Node, &pb.NodeProto{Name: "add", OpType: "Add", Input: []string{"relu", "one"}, Output: []string{"added"}})
		m.Graph.Initializer = append(m.Graph.Initializer,
			&pb.TensorProto{Name: "one", DataType: int32(pb.TensorProto_FLOAT), FloatData: []float32{1}})
	}), "", onnx.Options{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `node "add" (Add): unsupported ONNX model: Add is supported only as the bias right after a Conv, Gemm or MatMul`)
}

// Options must fit the input's channels.
func TestOptionsChannels(t *testing.T) {
	b := edit(t, func(*pb.ModelProto) {})
	_, err := onnx.Decode(b, "", onnx.Options{Mean: []float32{0.1, 0.2}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "input mean has 2 values for 1 channels")
	net, err := onnx.Decode(b, "", onnx.Options{Labels: []string{"a", "b", "c"}, Positive: 2})
	require.NoError(t, err)
	assert.Equal(t, []string{"a", "b", "c"}, net.Labels)
	assert.Equal(t, 2, net.Positive)
	_, err = onnx.Decode(b, "", onnx.Options{Labels: []string{"a"}})
	require.Error(t, err)
	assert.True(t, strings.Contains(err.Error(), "1 labels for 3 output channels"), "%v", err)
}

// FuzzImport: no input may panic the importer, and whatever it accepts is
// a valid network. Seeds: the PyTorch fixtures and an exported model.
func FuzzImport(f *testing.F) {
	paths, _ := filepath.Glob(filepath.Join("..", "testdata", "onnx", "*.onnx"))
	for _, p := range paths {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	if b, err := onnx.Marshal(small(f)); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		net, err := onnx.Decode(b, "", onnx.Options{})
		if err != nil {
			if !errors.Is(err, onnx.ErrFormat) && !errors.Is(err, onnx.ErrUnsupported) {
				t.Fatalf("error wraps neither ErrFormat nor ErrUnsupported: %v", err)
			}
			return
		}
		if err := net.Validate(); err != nil {
			t.Fatalf("accepted an invalid network: %v", err)
		}
	})
}

// A scaling of the input folds into its mean and std, by hand: with
// pixels read as x = (p - 0.5) / 0.25 and the graph computing 4·x - 1
// (Mul with the constant first, then Sub), the network reads
// (p - 0.5625) / 0.0625.
func TestInputScalingFolds(t *testing.T) {
	b := edit(t, func(m *pb.ModelProto) {
		scale(m, "input", "Mul", true, []int64{1}, 4)
		n := &pb.NodeProto{Name: "shift", OpType: "Sub", Input: []string{"scaled", "one"}, Output: []string{"shifted"}}
		for _, x := range m.Graph.Node {
			for i, in := range x.Input {
				if in == "scaled" {
					x.Input[i] = "shifted"
				}
			}
		}
		m.Graph.Node = append(m.Graph.Node, n)
		m.Graph.Initializer = append(m.Graph.Initializer, &pb.TensorProto{Name: "one", DataType: int32(pb.TensorProto_FLOAT), FloatData: []float32{1}})
	})
	net, err := onnx.Decode(b, "", onnx.Options{Mean: []float32{0.5}, Std: []float32{0.25}})
	require.NoError(t, err)
	assert.Equal(t, []float32{0.5625}, net.Input.Mean)
	assert.Equal(t, []float32{0.0625}, net.Input.Std)
	assert.Len(t, net.Layers, len(small(t).Layers), "the scaling is no layer")
}
