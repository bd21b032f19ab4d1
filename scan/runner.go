package scan

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
)

// ScanFunc scans one image and returns its record; it never fails as a
// whole: a bad image is a record with Error set.
type ScanFunc func(path string) Record

// Options steer Run.
type Options struct {
	// Workers is how many images are scanned at once; 0 means
	// runtime.NumCPU().
	Workers int
	// NewScanner makes one ScanFunc per worker (engines are per goroutine).
	// It is required.
	NewScanner func() (ScanFunc, error)
	// OnRecord is called in input order, once per path, by one goroutine;
	// nil drops the records (Summary still counts them).
	OnRecord func(Record) error
}

// Summary counts what Run did.
type Summary struct {
	Scanned, Failed, Detections int
	Interrupted                 bool
}

// Run scans paths with opt.Workers workers. Records are delivered in input
// order as soon as each is ready and every earlier one has been delivered.
// When ctx is cancelled no new image is started; images in flight finish
// and are delivered, so that a resumed run neither loses nor repeats one.
func Run(ctx context.Context, paths []string, opt Options) (Summary, error) {
	if opt.NewScanner == nil {
		return Summary{}, errors.New("scan: Options.NewScanner is nil")
	}
	if opt.Workers < 0 {
		return Summary{}, fmt.Errorf("scan: %d workers", opt.Workers)
	}
	workers := opt.Workers
	if workers == 0 {
		workers = runtime.NumCPU()
	}
	type job struct {
		idx  int
		path string
	}
	type result struct {
		idx int
		rec Record
	}
	jobs := make(chan job)
	results := make(chan result, workers)
	scanners := make([]ScanFunc, workers)
	for w := range scanners {
		s, err := opt.NewScanner()
		if err != nil {
			return Summary{}, fmt.Errorf("scan: worker %d: %w", w, err)
		}
		scanners[w] = s
	}
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(scan ScanFunc) {
			defer wg.Done()
			for j := range jobs {
				results <- result{j.idx, scan(j.path)}
			}
		}(scanners[w])
	}
	var sum Summary
	go func() {
		defer close(jobs)
		for i, p := range paths {
			select {
			case <-ctx.Done():
				return
			case jobs <- job{i, p}:
			}
		}
	}()
	go func() {
		wg.Wait()
		close(results)
	}()
	// Deliver in order: hold results that arrive early.
	pending := map[int]Record{}
	next := 0
	var firstErr error
	for r := range results {
		pending[r.idx] = r.rec
		for {
			rec, ok := pending[next]
			if !ok {
				break
			}
			delete(pending, next)
			next++
			sum.Scanned++
			if rec.Error != "" {
				sum.Failed++
			}
			sum.Detections += len(rec.Detections)
			if firstErr == nil && opt.OnRecord != nil {
				if err := opt.OnRecord(rec); err != nil {
					firstErr = fmt.Errorf("scan: writing the record of %s: %w", rec.Image, err)
				}
			}
		}
	}
	// Jobs start in input order and every started job finishes, so the
	// delivered records are a prefix of paths; resume scans the rest.
	sum.Interrupted = next < len(paths)
	return sum, firstErr
}
