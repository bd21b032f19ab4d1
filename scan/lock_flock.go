//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package scan

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

const staleHint = ""

// lockFile takes an exclusive flock on lp, creating it if needed. When the
// lock is held elsewhere it returns ErrLocked and the holder's pid as the
// file tells it.
func lockFile(lp string) (unlock func() error, holder string, err error) {
	for {
		f, err := os.OpenFile(lp, os.O_CREATE|os.O_RDWR, 0o644)
		if err != nil {
			return nil, "", err
		}
		if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
			b := make([]byte, 32)
			n, _ := f.ReadAt(b, 0)
			f.Close()
			if errors.Is(err, unix.EWOULDBLOCK) {
				return nil, string(b[:n]), ErrLocked
			}
			return nil, "", err
		}
		// The holder removes the file before it lets go, so a lock taken
		// on a file no longer at lp guards nothing: try again.
		fst, ferr := f.Stat()
		pst, perr := os.Stat(lp)
		if ferr != nil || perr != nil || !os.SameFile(fst, pst) {
			f.Close()
			continue
		}
		if err := f.Truncate(0); err == nil {
			_, _ = f.WriteAt(ownPID(), 0) // the pid only serves messages
		}
		return func() error {
			rerr := os.Remove(lp)
			if cerr := f.Close(); cerr != nil {
				return cerr
			}
			return rerr
		}, "", nil
	}
}
