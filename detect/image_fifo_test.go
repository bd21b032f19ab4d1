//go:build linux || darwin || freebsd || netbsd || openbsd

package detect_test

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/fc2conv/fc2conv/detect"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A named pipe called like an image must not hang the loader (opening it
// would wait for a writer forever), nor must a device.
func TestLoadImageRefusesSpecialFiles(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "pipe.jpg")
	require.NoError(t, syscall.Mkfifo(fifo, 0o644))
	done := make(chan error, 1)
	go func() {
		_, err := detect.LoadImage(fifo)
		done <- err
	}()
	select {
	case err := <-done:
		require.Error(t, err)
		assert.ErrorContains(t, err, fifo)
		assert.ErrorContains(t, err, "not a regular file")
	case <-time.After(10 * time.Second):
		// Unblock the loader before failing, so the test binary can end.
		if f, err := os.OpenFile(fifo, os.O_WRONLY, 0); err == nil {
			f.Close()
		}
		t.Fatal("LoadImage blocked on a named pipe")
	}
	_, err := detect.LoadImage(os.DevNull)
	assert.ErrorContains(t, err, "not a regular file")
}
