package scan_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fc2conv/fc2conv/scan"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLockOutput(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out.jsonl")
	unlock, err := scan.LockOutput(out)
	require.NoError(t, err)
	// flock conflicts between two opens of the file even in one process,
	// and the exclusive create of the fallback does too.
	_, err = scan.LockOutput(out)
	require.ErrorIs(t, err, scan.ErrLocked)
	assert.ErrorContains(t, err, out+".lock")
	assert.ErrorContains(t, err, fmt.Sprintf("held by process %d", os.Getpid()))
	require.NoError(t, unlock())
	assert.NoFileExists(t, out+".lock", "unlock removes the lock file")

	unlock, err = scan.LockOutput(out)
	require.NoError(t, err, "free again after unlock")
	require.NoError(t, unlock())
}

func TestLockOutputStaleFile(t *testing.T) {
	switch runtime.GOOS {
	case "linux", "darwin", "freebsd", "netbsd", "openbsd", "dragonfly":
	default:
		t.Skip("without flock a stale lock file cannot be told from a held one")
	}
	// A killed scan leaves its lock file, but the system dropped its lock.
	out := filepath.Join(t.TempDir(), "out.jsonl")
	require.NoError(t, os.WriteFile(out+".lock", []byte("999999\n"), 0o644))
	unlock, err := scan.LockOutput(out)
	require.NoError(t, err, "a lock file nobody holds does not block")
	b, err := os.ReadFile(out + ".lock")
	require.NoError(t, err)
	assert.Equal(t, fmt.Sprintf("%d\n", os.Getpid()), string(b), "the lock file names its holder")
	require.NoError(t, unlock())

	_, err = scan.LockOutput(filepath.Join(t.TempDir(), "no", "such", "dir", "out.jsonl"))
	require.Error(t, err)
	assert.False(t, errors.Is(err, scan.ErrLocked))
}

// Memory stays within the workers' images: Run never has more images in
// flight than workers, however many paths there are, so a batch of large
// images holds at most Workers decoded images and their tiles at once.
func TestRunBoundsImagesInFlight(t *testing.T) {
	paths := make([]string, 200)
	for i := range paths {
		paths[i] = fmt.Sprintf("img%03d.png", i)
	}
	for _, workers := range []int{1, 3} {
		var inFlight, most atomic.Int32
		sum, err := scan.Run(context.Background(), paths, scan.Options{
			Workers: workers,
			NewScanner: func() (scan.ScanFunc, error) {
				return func(p string) scan.Record {
					n := inFlight.Add(1)
					for {
						m := most.Load()
						if n <= m || most.CompareAndSwap(m, n) {
							break
						}
					}
					time.Sleep(100 * time.Microsecond)
					inFlight.Add(-1)
					return scan.Record{Image: p}
				}, nil
			},
		})
		require.NoError(t, err)
		assert.Equal(t, len(paths), sum.Scanned)
		assert.LessOrEqual(t, most.Load(), int32(workers), "images in flight with %d workers", workers)
		assert.Positive(t, most.Load())
	}
}
