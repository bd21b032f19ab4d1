package nn_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/fc2conv/fc2conv/nn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLimits(t *testing.T) {
	// handBuilt's largest tensor is fc1.weight, 16×112 = 1792 elements;
	// all its weights are 224 (conv1) + 32 (bn1) + 1808 (fc1) + 64 (bn2) +
	// 34 (fc2) = 2162 floats.
	b := marshal(t, handBuilt())
	_, err := nn.UnmarshalLimits(b, nn.Limits{MaxTensorElements: 1792, MaxWeightBytes: 2162 * 4})
	require.NoError(t, err, "limits equal to the model's sizes")

	_, err = nn.UnmarshalLimits(b, nn.Limits{MaxTensorElements: 1791})
	require.ErrorIs(t, err, nn.ErrLimit)
	assert.ErrorContains(t, err, `"fc1.weight"`)
	assert.ErrorContains(t, err, "1792 elements, more than the 1791 allowed")

	_, err = nn.UnmarshalLimits(b, nn.Limits{MaxWeightBytes: 2162*4 - 1})
	require.ErrorIs(t, err, nn.ErrLimit)
	assert.ErrorContains(t, err, "more than the 8647 weight bytes allowed")

	_, err = nn.UnmarshalLimits(b, nn.Limits{MaxTensorElements: nn.MaxElements + 1})
	require.Error(t, err)
	assert.False(t, errors.Is(err, nn.ErrLimit), "a bad limit is not a model beyond it")

	// Load refuses a file larger than the weights and the largest header
	// could make before reading it.
	path := filepath.Join(t.TempDir(), "big.safetensors")
	require.NoError(t, os.WriteFile(path, make([]byte, 16<<20+8+101), 0o644))
	_, err = nn.LoadLimits(path, nn.Limits{MaxWeightBytes: 100})
	require.ErrorIs(t, err, nn.ErrLimit)
	assert.ErrorContains(t, err, path)
	assert.ErrorContains(t, err, "more than the 16777324 accepted")
	_, err = nn.LoadLimits(path, nn.Limits{MaxWeightBytes: 101})
	require.ErrorIs(t, err, nn.ErrFormat, "within the limit, it is read and found not to be a model")
}
