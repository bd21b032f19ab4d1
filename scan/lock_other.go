//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package scan

import (
	"errors"
	"os"
)

const staleHint = "; if no scan is running, a killed one left it: remove it"

// lockFile creates lp exclusively; where it exists, another scan holds it,
// or a killed one left it behind (without flock that cannot be told).
func lockFile(lp string) (unlock func() error, holder string, err error) {
	f, err := os.OpenFile(lp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if errors.Is(err, os.ErrExist) {
		b, _ := os.ReadFile(lp)
		if len(b) > 32 {
			b = b[:32]
		}
		return nil, string(b), ErrLocked
	}
	if err != nil {
		return nil, "", err
	}
	_, werr := f.Write(ownPID())
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		os.Remove(lp)
		return nil, "", werr
	}
	return func() error { return os.Remove(lp) }, "", nil
}
