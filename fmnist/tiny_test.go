package fmnist_test

import (
	"flag"
	"os"
	"testing"

	"github.com/fc2conv/fc2conv/fmnist"
	"github.com/stretchr/testify/require"
)

// Regenerate the committed subset with
//
//	go test ./fmnist -run TestMakeTiny -tiny
var (
	makeTiny = flag.Bool("tiny", false, "rewrite testdata/fmnist from the Debian Fashion-MNIST files")
	tinySrc  = flag.String("tiny.src", "/usr/share/datasets/fashion-mnist", "directory of the full Fashion-MNIST files")
)

const (
	tinyDir   = "../testdata/fmnist"
	tinyTrain = 350 // the first 350 train items hold 35 dresses
	tinyT10k  = 100
)

func TestMakeTiny(t *testing.T) {
	if !*makeTiny {
		t.Skip("run with -tiny to rewrite " + tinyDir)
	}
	require.NoError(t, os.MkdirAll(tinyDir, 0o755))
	for _, sp := range []struct {
		split string
		n     int
	}{{"train", tinyTrain}, {"t10k", tinyT10k}} {
		full, err := fmnist.Load(*tinySrc, sp.split)
		require.NoError(t, err)
		require.GreaterOrEqual(t, full.Len(), sp.n)
		idx := make([]int, sp.n)
		for i := range idx {
			idx[i] = i
		}
		sub, err := full.Subset(idx)
		require.NoError(t, err)
		require.NoError(t, sub.Save(tinyDir, sp.split))
		t.Logf("%s: %d items, %d dresses", sp.split, sub.Len(), sub.Count(fmnist.Dress))
	}
}
