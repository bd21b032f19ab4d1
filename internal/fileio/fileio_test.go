package fileio_test

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fc2conv/fc2conv/internal/fileio"
)

func TestReadMax(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	require.NoError(t, os.WriteFile(p, []byte("0123456789"), 0o644))

	b, err := fileio.ReadMax(p, 10)
	require.NoError(t, err)
	assert.Equal(t, "0123456789", string(b), "a file of exactly the limit is read")

	_, err = fileio.ReadMax(p, 9)
	var se *fileio.SizeError
	require.True(t, errors.As(err, &se), "%v", err)
	assert.Equal(t, fileio.SizeError{Size: 10, Limit: 9}, *se)
	assert.EqualError(t, err, "file is 10 bytes, more than the 9 accepted")

	_, err = fileio.ReadMax(filepath.Join(dir, "none"), 9)
	assert.ErrorIs(t, err, os.ErrNotExist)
}

// A device has no size to check first: the read stops past the bound.
func TestReadMaxStopsAnEndlessFile(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("/dev/zero is Linux's here")
	}
	_, err := fileio.ReadMax("/dev/zero", 1<<10)
	var se *fileio.SizeError
	require.True(t, errors.As(err, &se), "%v", err)
	assert.Equal(t, fileio.SizeError{Size: -1, Limit: 1 << 10}, *se)
	assert.EqualError(t, err, "file gave more than the 1024 bytes accepted")
}
