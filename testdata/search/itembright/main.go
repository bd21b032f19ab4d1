// Command itembright prints, for every item a scene can draw, its mean
// brightness (fmnist.Brightness): the mean of its pixels above 0, the
// pixels a scene paints (fmnist's paste makes a pixel opaque from 40 up,
// and the photograph shows through the rest). One line an item, "SPLIT INDEX CLASS
// BRIGHTNESS", SPLIT being val (the held-out split `fc2conv scenes --items
// val` draws from, in its order) or t10k, INDEX the item's index as truth
// files name it ("item"). testdata/search/byitem.py --bright reads it.
// Run from the repository root:
//
//	go run ./testdata/search/itembright > /tmp/bright.txt
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"

	"github.com/fc2conv/fc2conv/fmnist"
	"github.com/fc2conv/fc2conv/train"
)

func main() {
	data := flag.String("data", train.DefaultDataDir, "Fashion-MNIST `dir`")
	valFraction := flag.Float64("val-fraction", train.DefaultConfig().ValFraction, "held-out fraction, as given to train and scenes")
	splitSeed := flag.Int64("split-seed", train.DefaultConfig().Seed, "the split seed given to train (scenes' --train-seed)")
	flag.Parse()
	all, err := fmnist.Load(*data, "train")
	if err != nil {
		fmt.Fprintf(os.Stderr, "itembright: -data: %v\n", err)
		os.Exit(1)
	}
	_, val := all.Split(*valFraction, *splitSeed)
	t10k, err := fmnist.Load(*data, "t10k")
	if err != nil {
		fmt.Fprintf(os.Stderr, "itembright: -data: %v\n", err)
		os.Exit(1)
	}
	w := bufio.NewWriter(os.Stdout)
	for _, s := range []struct {
		name string
		set  *fmnist.Set
	}{{"val", val}, {"t10k", t10k}} {
		for i := range min(len(s.set.Images), len(s.set.Labels)) {
			fmt.Fprintf(w, "%s %d %d %.2f\n", s.name, i, s.set.Labels[i], fmnist.Brightness(s.set.Images[i]))
		}
	}
	if err := w.Flush(); err != nil {
		fmt.Fprintf(os.Stderr, "itembright: %v\n", err)
		os.Exit(1)
	}
}
