// Package work shares numbered pieces of work among goroutines, for the
// packages whose pieces can fail and whose workers keep state of their
// own (nn's engine has an allocation-free loop of its own instead).
package work

import (
	"sync"
	"sync/atomic"
)

// Each calls do(w, i) once for every i in [0, n), on workers goroutines
// (w in [0, workers)) that each take the next i as they finish one, so
// that uneven pieces still keep every goroutine busy. w lets do use the
// state the caller made for that goroutine. Each returns once every call
// has returned, with the error of the lowest i that failed, or nil.
// workers below 1 count as 1; more than n run no more than n.
func Each(n, workers int, do func(w, i int) error) error {
	workers = max(1, min(workers, n))
	errs := make([]error, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				errs[i] = do(w, i)
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
