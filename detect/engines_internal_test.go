package detect

import (
	"runtime"
	"testing"

	"github.com/fc2conv/fc2conv/nn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The pool lends back the engines it was given, keeps at most keep idle
// ones through collections (a sync.Pool alone would have dropped them by
// the second), and makes new ones only when none is idle.
func TestEnginePoolKeepsEngines(t *testing.T) {
	made := 0
	p := enginePool{keep: 2, new: func() *nn.Engine { made++; return &nn.Engine{} }}
	a, b, c := p.get(), p.get(), p.get()
	require.Equal(t, 3, made)
	require.NotSame(t, a, b)
	p.put(a)
	p.put(b)
	p.put(c) // beyond keep: a spare the collector may drop
	assert.Len(t, p.kept, 2)
	runtime.GC()
	runtime.GC() // a sync.Pool drops its items within two collections
	got := []*nn.Engine{p.get(), p.get()}
	assert.ElementsMatch(t, []*nn.Engine{a, b}, got, "the kept engines survive collections")
	assert.Equal(t, 3, made, "no engine made while one was kept")
}
