package detect_test

import (
	"io/fs"
	"math/rand"
	"path/filepath"
	"testing"

	"github.com/fc2conv/fc2conv/convert"
	"github.com/fc2conv/fc2conv/detect"
	"github.com/fc2conv/fc2conv/nn"
	"github.com/fc2conv/fc2conv/nn/nntest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Open takes an FC model or its converted twin and gives the same
// detector, with the threshold the model stores.
func TestOpenFCAndConverted(t *testing.T) {
	rng := rand.New(rand.NewSource(21))
	fc := nntest.RandomFC(rng, nntest.Options{})
	fc.Threshold = 0.625
	res, err := convert.Convert(fc)
	require.NoError(t, err)
	dir := t.TempDir()
	fcPath, fcnPath := filepath.Join(dir, "fc.safetensors"), filepath.Join(dir, "fcn.safetensors")
	require.NoError(t, fc.Save(fcPath))
	require.NoError(t, res.Network.Save(fcnPath))

	img := randomImage(rng, 64, 48)
	opt := detect.Options{PadSmall: true}
	want := detectAll(t, res.Network, img, opt)
	for _, p := range []string{fcPath, fcnPath} {
		d, err := detect.Open(p, opt)
		require.NoError(t, err, p)
		assert.Equal(t, 0.625, d.Threshold(), p)
		assert.True(t, d.Network().IsFullyConvolutional(), p)
		got, err := d.Detect(img)
		require.NoError(t, err, p)
		assert.Equal(t, want, got, p)
	}

	// NewConverted does the same for networks held in memory.
	for name, n := range map[string]*nn.Network{"fc": fc, "fcn": res.Network} {
		d, err := detect.NewConverted(n, opt)
		require.NoError(t, err, name)
		assert.True(t, d.Network().IsFullyConvolutional(), name)
		got, err := d.Detect(img)
		require.NoError(t, err, name)
		assert.Equal(t, want, got, name)
	}
	_, err = detect.New(fc, opt)
	assert.ErrorContains(t, err, "convert it to a fully convolutional network first", "New itself takes only the converted form")

	_, err = detect.Open(filepath.Join(dir, "absent.safetensors"), opt)
	assert.ErrorIs(t, err, fs.ErrNotExist)
	assert.ErrorContains(t, err, "detect: open model")
	_, err = detect.Open(fcPath, detect.Options{Step: -1})
	var oe *detect.OptionError
	require.ErrorAs(t, err, &oe)
	assert.Equal(t, "Step", oe.Option)
}
