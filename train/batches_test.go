package train

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Batches drawn ahead on their own goroutine train the model that batches
// drawn just before each step train, on both training paths and with the
// options that draw from random streams of their own: the same bytes.
// (With one buffer reused, as the gorgonia path once assumed, the graph
// would train on its first batch again and again and this would fail.)
func TestBatchesAheadTrainTheSameModel(t *testing.T) {
	for _, c := range []struct {
		name string
		set  func(*Config)
	}{
		{"native", func(c *Config) {}},
		{"gorgonia", func(c *Config) { c.Trainer = "gorgonia" }},
		{"native, every stream", func(c *Config) {
			c.Mixup, c.Erase, c.ScaleSoft, c.GarmentClasses = 0.3, 0.5, 0.5, true
			c.Sampler.Mix.SceneCrop = 0.3
		}},
	} {
		cfg := tinyConfig(t)
		c.set(&cfg)
		var files [2][]byte
		for i, inline := range []bool{false, true} {
			run := cfg
			run.drawInline = inline
			run.Out = filepath.Join(t.TempDir(), "m.safetensors")
			_, _, err := Run(run)
			require.NoError(t, err, c.name)
			files[i] = modelBytes(t, run)
		}
		assert.Equal(t, files[1], files[0], "%s: drawn ahead against drawn inline", c.name)
	}
}

// A maker stopped early ends its goroutine and closes its channel.
func TestBatchMakerStops(t *testing.T) {
	free := make(chan batch, batchesAhead)
	stop := make(chan struct{})
	close(stop)
	ready := (&batchMaker{}).run(10, free, stop)
	_, open := <-ready
	assert.False(t, open)
}
