// Package fileio reads whole files under a bound on their size, the one
// way every package that loads a user's file into memory does.
package fileio

import (
	"fmt"
	"io"
	"os"
)

// A SizeError is ReadMax's refusal of a file over its limit.
type SizeError struct {
	Size  int64 // the file's size, or -1 when it gave more than Limit bytes as it was read
	Limit int64
}

func (e *SizeError) Error() string {
	if e.Size < 0 {
		return fmt.Sprintf("file gave more than the %d bytes accepted", e.Limit)
	}
	return fmt.Sprintf("file is %d bytes, more than the %d accepted", e.Size, e.Limit)
}

// ReadMax reads the file at path, refusing one of more than limit bytes
// with a *SizeError: a regular file by its size before reading it,
// anything else (a pipe, a device, a file that grows meanwhile) once it
// has given limit+1 bytes, so that no more than that is ever held.
func ReadMax(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.Mode().IsRegular() && st.Size() > limit {
		return nil, &SizeError{Size: st.Size(), Limit: limit}
	}
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, &SizeError{Size: -1, Limit: limit}
	}
	return b, nil
}
