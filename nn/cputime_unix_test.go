//go:build unix

package nn

import (
	"syscall"
	"time"
)

// cpuTime is the user and system CPU time this process has used. On a
// shared machine it moves far less with other load than wall time does.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
