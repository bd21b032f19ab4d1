//go:build linux || darwin || freebsd || netbsd || openbsd

package main

import "syscall"

// mkfifo makes a named pipe, for the hostile-input suite.
func mkfifo(path string) error { return syscall.Mkfifo(path, 0o644) }
