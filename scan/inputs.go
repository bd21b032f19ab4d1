// Package scan runs a detector over batches of image files: it expands
// paths, directories, globs and stdin lists, shards and resumes the list,
// runs workers in parallel and writes one record per input in input order.
package scan

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"unicode/utf8"
)

// ImageExts are the extensions a directory walk treats as images.
var ImageExts = map[string]bool{
	".jpg": true, ".jpeg": true, ".png": true, ".gif": true, ".bmp": true,
	".tif": true, ".tiff": true, ".webp": true,
}

// IsImageName reports whether a file name has an image extension.
func IsImageName(name string) bool { return ImageExts[strings.ToLower(filepath.Ext(name))] }

// Inputs is the expanded input list.
type Inputs struct {
	Paths   []string // in order: arguments in order, directories walked lexically
	Skipped int      // files inside directories without an image extension
	Missing []string // glob arguments that matched nothing (reported as error records)
	Empty   []string // directories that hold no file with an image extension
}

// Expand turns PATH arguments into the list of images to scan. A PATH is
// an image file (scanned whatever its extension), a directory (walked
// recursively; only image extensions), a glob, or "-" (paths from stdin,
// one per line). Duplicates are scanned once.
func Expand(args []string, stdin io.Reader) (*Inputs, error) {
	in := &Inputs{}
	seen := map[string]bool{}
	add := func(p string) {
		if !seen[p] {
			seen[p] = true
			in.Paths = append(in.Paths, p)
		}
	}
	var expandOne func(arg string, explicit bool) error
	expandOne = func(arg string, explicit bool) error {
		st, err := os.Stat(arg)
		switch {
		case err == nil && st.IsDir():
			images := 0
			defer func() {
				if images == 0 {
					in.Empty = append(in.Empty, arg)
				}
			}()
			return filepath.WalkDir(arg, func(p string, d fs.DirEntry, err error) error {
				if err != nil {
					// An unreadable sub-directory becomes an error record, not a stop.
					add(p)
					return nil
				}
				if d.IsDir() {
					return nil
				}
				if IsImageName(p) {
					add(p)
					images++
				} else {
					in.Skipped++
				}
				return nil
			})
		case err == nil:
			add(arg)
			return nil
		}
		if strings.ContainsAny(arg, "*?[") {
			matches, gerr := filepath.Glob(arg)
			if gerr != nil {
				return fmt.Errorf("scan: glob %q: %w", arg, gerr)
			}
			sort.Strings(matches)
			for _, m := range matches {
				if err := expandOne(m, false); err != nil {
					return err
				}
			}
			if len(matches) == 0 {
				in.Missing = append(in.Missing, arg)
			}
			return nil
		}
		// A named file that does not exist still gets a record saying so.
		add(arg)
		return nil
	}
	for _, a := range args {
		if a == "-" {
			if stdin == nil {
				return nil, errors.New("scan: '-' given but there is no standard input")
			}
			sc := bufio.NewScanner(stdin)
			sc.Buffer(make([]byte, 64<<10), 1<<20)
			for sc.Scan() {
				line := strings.TrimRight(sc.Text(), "\r")
				if line == "" {
					continue
				}
				if err := expandOne(line, true); err != nil {
					return nil, err
				}
			}
			if err := sc.Err(); err != nil {
				return nil, fmt.Errorf("scan: reading paths from stdin: %w", err)
			}
			continue
		}
		if err := expandOne(a, true); err != nil {
			return nil, err
		}
	}
	return in, nil
}

// Shard is part I of N (0 ≤ I < N) of an input list; the zero Shard, like
// N = 1, is the whole list.
type Shard struct{ I, N int }

// ParseShard parses "i/N".
func ParseShard(s string) (Shard, error) {
	var sh Shard
	if _, err := fmt.Sscanf(s, "%d/%d", &sh.I, &sh.N); err != nil || sh.N < 1 || sh.I < 0 || sh.I >= sh.N || fmt.Sprintf("%d/%d", sh.I, sh.N) != s {
		return Shard{}, fmt.Errorf("scan: shard %q: want i/N with 0 ≤ i < N, e.g. 0/4", s)
	}
	return sh, nil
}

// Keep reports whether path belongs to this shard. The split hashes the
// path, so it does not depend on the order or the machine that lists the
// inputs, and every path falls in exactly one shard.
func (s Shard) Keep(path string) bool {
	if s.N <= 1 {
		return true
	}
	h := fnv.New64a()
	h.Write([]byte(path))
	return int(h.Sum64()%uint64(s.N)) == s.I
}

// Filter keeps the paths of this shard that are not already done.
func Filter(paths []string, s Shard, done map[string]bool) []string {
	out := paths[:0:0]
	for _, p := range paths {
		if s.Keep(p) && !IsDone(done, p) {
			out = append(out, p)
		}
	}
	return out
}

// IsDone reports whether done (from Done) records path. A name that is
// not valid UTF-8 is recorded as JSON writes it, with U+FFFD for the
// invalid bytes, so it is looked up that way too; otherwise it would be
// scanned, and recorded, again on every resume.
func IsDone(done map[string]bool, path string) bool {
	if done[path] || utf8.ValidString(path) {
		return done[path]
	}
	b, _ := json.Marshal(path) // a string always marshals
	var as string
	_ = json.Unmarshal(b, &as)
	return done[as]
}
