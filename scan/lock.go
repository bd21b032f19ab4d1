package scan

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// ErrLocked is wrapped by LockOutput's error when another process holds
// the lock.
var ErrLocked = errors.New("another scan is writing this output")

// LockOutput takes the lock of the output file at path, path+".lock", so
// that two scans never write one output at once. The returned function
// releases it and removes the lock file.
//
// On Linux, macOS and the BSDs the lock is flock(2) on the lock file: the
// system drops it when the process ends, however it ends, so a lock file
// left by a killed scan does not block the next one. Elsewhere the lock
// file is created exclusively and a stale one must be removed by hand
// (the error says so).
func LockOutput(path string) (unlock func() error, err error) {
	lp := path + ".lock"
	unlock, holder, err := lockFile(lp)
	if errors.Is(err, ErrLocked) {
		who := "another process"
		if pid, perr := strconv.Atoi(strings.TrimSpace(holder)); perr == nil && pid > 0 {
			who = fmt.Sprintf("process %d", pid)
		}
		return nil, fmt.Errorf("scan: %s: %w (its lock file %s is held by %s)%s", path, ErrLocked, lp, who, staleHint)
	}
	if err != nil {
		return nil, fmt.Errorf("scan: locking %s: %w", path, err)
	}
	return unlock, nil
}

// ownPID is what a lock file holds: the holder's process id.
func ownPID() []byte { return []byte(strconv.Itoa(os.Getpid()) + "\n") }
