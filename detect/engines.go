package detect

import (
	"sync"

	"github.com/fc2conv/fc2conv/nn"
)

// An enginePool lends a detector's (or its verifier's) engines to its
// calls. It keeps up to keep idle engines for good and the rest in a
// sync.Pool. A sync.Pool alone drops its engines every other
// collection, and the next call then allocates an engine's buffers (most
// of a scan's memory) while the dropped ones wait for the collector: with
// two workers on 16 scenes the peak memory varied from 508 to 732 MiB,
// and with the engines kept it stayed at 507 to 511 (docs/PERFORMANCE.md,
// "Every run against PyTorch").
type enginePool struct {
	keep  int
	new   func() *nn.Engine
	mu    sync.Mutex
	kept  []*nn.Engine
	spare sync.Pool
}

// get returns an idle engine, or a new one.
func (p *enginePool) get() *nn.Engine {
	p.mu.Lock()
	if n := len(p.kept); n > 0 {
		e := p.kept[n-1]
		p.kept = p.kept[:n-1]
		p.mu.Unlock()
		return e
	}
	p.mu.Unlock()
	if e, ok := p.spare.Get().(*nn.Engine); ok {
		return e
	}
	return p.new()
}

// put returns e, idle, to the pool.
func (p *enginePool) put(e *nn.Engine) {
	p.mu.Lock()
	if len(p.kept) < p.keep {
		p.kept = append(p.kept, e)
		p.mu.Unlock()
		return
	}
	p.mu.Unlock()
	p.spare.Put(e)
}
