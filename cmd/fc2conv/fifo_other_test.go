//go:build !(linux || darwin || freebsd || netbsd || openbsd)

package main

import "errors"

func mkfifo(string) error { return errors.ErrUnsupported }
