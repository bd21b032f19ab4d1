package onnx_test

import (
	"math"
	"math/rand"
	"testing"

	pb "github.com/advancedclimatesystems/gonnx/onnx"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fc2conv/fc2conv/nn"
	"github.com/fc2conv/fc2conv/nn/nntest"
	"github.com/fc2conv/fc2conv/onnx"
)

// GELU as other exporters write it, x·(1 + erf(x·(1/√2)))·0.5 with the
// constants first, is read as the GELU torch's Div form is: the small
// network with its ReLU replaced gives the same outputs.
func TestGateGELUVariant(t *testing.T) {
	b := edit(t, func(m *pb.ModelProto) {
		r := nodeOf(m, "Relu")
		r.OpType, r.Input, r.Output = "Mul", []string{"invsqrt2", "conv"}, []string{"z"}
		m.Graph.Initializer = append(m.Graph.Initializer,
			&pb.TensorProto{Name: "invsqrt2", DataType: int32(pb.TensorProto_FLOAT), FloatData: []float32{1 / math.Sqrt2}},
			&pb.TensorProto{Name: "one", DataType: int32(pb.TensorProto_FLOAT), FloatData: []float32{1}},
			&pb.TensorProto{Name: "half", DataType: int32(pb.TensorProto_FLOAT), FloatData: []float32{0.5}})
		rest := m.Graph.Node[2:]
		m.Graph.Node = append(m.Graph.Node[:2:2],
			&pb.NodeProto{Name: "erf", OpType: "Erf", Input: []string{"z"}, Output: []string{"e"}},
			&pb.NodeProto{Name: "plus", OpType: "Add", Input: []string{"one", "e"}, Output: []string{"a"}},
			&pb.NodeProto{Name: "gate", OpType: "Mul", Input: []string{"a", "conv"}, Output: []string{"g"}},
			&pb.NodeProto{Name: "halve", OpType: "Mul", Input: []string{"half", "g"}, Output: []string{"relu"}})
		m.Graph.Node = append(m.Graph.Node, rest...)
	})
	got, err := onnx.Decode(b, "", onnx.Options{})
	require.NoError(t, err)
	want := small(t)
	want.Layers[1] = nn.NewUnary("gelu", nn.KindGELU)
	var kinds, wantKinds []nn.Kind
	for i := range got.Layers {
		kinds, wantKinds = append(kinds, got.Layers[i].Kind()), append(wantKinds, want.Layers[i].Kind())
	}
	require.Equal(t, wantKinds, kinds)
	x := nntest.Input(rand.New(rand.NewSource(1)), want.Input.Window())
	a, _, err := nn.NewEngine(got).Forward(x, want.Input.Window())
	require.NoError(t, err)
	w, _, err := nn.NewEngine(want).Forward(x, want.Input.Window())
	require.NoError(t, err)
	assert.LessOrEqual(t, nntest.MaxAbsDiff(a, w), 1e-6)
}
