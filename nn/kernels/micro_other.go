//go:build !amd64 || purego

package kernels

// asmBuilt tells whether this build has an assembly micro-kernel: not on
// this architecture, or not with the purego tag.
const asmBuilt = false
