//go:build race

package kernels

// raceEnabled: the race detector makes sync.Pool drop a quarter of what
// it is given, so allocation counts mean nothing under it.
const raceEnabled = true
