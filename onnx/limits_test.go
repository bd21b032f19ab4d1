package onnx_test

import (
	"testing"

	pb "github.com/advancedclimatesystems/gonnx/onnx"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"github.com/fc2conv/fc2conv/nn"
	"github.com/fc2conv/fc2conv/onnx"
)

// The limits on weights and nodes hold exactly at their bounds. small's
// weights, counted by hand: conv 2·1·3·3 = 18 and bias 2, dense 3·32 = 96
// and bias 3: 119 floats, 476 bytes, the largest tensor 96 elements.
func TestImportLimits(t *testing.T) {
	b, err := onnx.Marshal(small(t))
	require.NoError(t, err)
	var m pb.ModelProto
	require.NoError(t, proto.Unmarshal(b, &m))
	nodes := len(m.Graph.Node)

	for _, tc := range []struct {
		name string
		opt  onnx.Options
		want string // "" when the model loads
	}{
		{"defaults", onnx.Options{}, ""},
		{"tensor at its bound", onnx.Options{Limits: nn.Limits{MaxTensorElements: 96}}, ""},
		{"tensor past its bound", onnx.Options{Limits: nn.Limits{MaxTensorElements: 95}}, "has 96 elements, at most 95"},
		{"weights at their bound", onnx.Options{Limits: nn.Limits{MaxWeightBytes: 476}}, ""},
		{"weights past their bound", onnx.Options{Limits: nn.Limits{MaxWeightBytes: 475}}, "at most 475"},
		{"nodes at their bound", onnx.Options{MaxNodes: nodes}, ""},
		{"nodes past their bound", onnx.Options{MaxNodes: nodes - 1}, "nodes, at most"},
	} {
		net, err := onnx.Decode(b, "", tc.opt)
		if tc.want == "" {
			require.NoError(t, err, tc.name)
			require.NotNil(t, net, tc.name)
			continue
		}
		require.ErrorIs(t, err, nn.ErrLimit, tc.name)
		assert.ErrorContains(t, err, tc.want, tc.name)
	}
	_, err = onnx.Decode(b, "", onnx.Options{MaxNodes: -1})
	assert.ErrorContains(t, err, "negative", "a negative node limit")
	_, err = onnx.Decode(b, "", onnx.Options{Limits: nn.Limits{MaxTensorElements: -1}})
	assert.ErrorContains(t, err, "out of range", "a negative tensor limit")
}
