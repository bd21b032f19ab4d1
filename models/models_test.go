package models

import (
	"testing"

	"github.com/fc2conv/fc2conv/convert"
	"github.com/fc2conv/fc2conv/nn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The shipped models load, the embedded one is the converted form of the
// FC one, and their equivalence holds within 1e-5.
func TestShippedModels(t *testing.T) {
	fcn, err := DressFCN()
	require.NoError(t, err)
	assert.True(t, fcn.IsFullyConvolutional())
	assert.Equal(t, []string{"not dress", "dress"}, fcn.Labels)
	assert.Greater(t, fcn.Threshold, 0.0, "the default threshold is chosen on validation scenes and stored")

	fc, err := nn.Load("dress.safetensors")
	require.NoError(t, err)
	assert.False(t, fc.IsFullyConvolutional())
	rep, err := convert.Verify(fc, fcn, convert.VerifyOptions{Seed: 1})
	require.NoError(t, err)
	assert.LessOrEqual(t, rep.MaxAbs(), 1e-5)

	geo, err := fcn.Geometry()
	require.NoError(t, err)
	assert.Equal(t, nn.Pair{H: 4, W: 4}, geo.Stride)
	assert.Equal(t, nn.Pair{H: 28, W: 28}, geo.Window)
	assert.False(t, geo.Padded)
}
