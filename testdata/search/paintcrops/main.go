// Command paintcrops writes the training items of painted_ceiling.py: scene
// items painted on the training photographs as `fc2conv scenes` paints them
// (fmnist.MakeScene), from the train items that training keeps (the split
// of --split-seed 1 and --val-fraction 0.1 leaves the held-out items out),
// each cut at its truth box and resampled to 28×28 (fmnist.SceneCropper).
// One label byte and 784 pixel bytes per item. With -jitter or -scale-jitter each item is cut at
// a box moved off its truth box by those standard deviations (of the side,
// and of the log of the side), as a scan's voted boxes are; -background K
// adds K boxes per item that touch no item much (IoU < 0.4), labelled 10;
// -more-photos adds photographs as training's --more-photos does.
// Run from the repository root:
//
//	go run ./testdata/search/paintcrops 20000 /tmp/paint-train.bin
//	go run ./testdata/search/paintcrops -jitter 0.05 -scale-jitter 0.12 -background 1 20000 /tmp/verify-train.bin
package main

import (
	"bufio"
	"flag"
	"fmt"
	"image"
	"math/rand"
	"os"
	"strconv"

	"github.com/fc2conv/fc2conv/fmnist"
	"github.com/fc2conv/fc2conv/train"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "paintcrops:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("paintcrops", flag.ContinueOnError)
	jitter := fs.Float64("jitter", 0, "std of the box centre's offset, as a fraction of its side")
	scaleJitter := fs.Float64("scale-jitter", 0, "std of the log of the box side's factor")
	background := fs.Int("background", 0, "background boxes per item, labelled 10")
	var more []string
	fs.Func("more-photos", "a further photographs `dir` whose train split joins testdata/photos' (repeatable, as train's --more-photos)", func(dir string) error {
		more = append(more, dir)
		return nil
	})
	if err := fs.Parse(args); err != nil {
		return err
	}
	args = fs.Args()
	if len(args) != 2 {
		return fmt.Errorf("usage: paintcrops [-jitter S] [-scale-jitter S] [-background K] SCENES OUT.bin")
	}
	scenes, err := strconv.Atoi(args[0])
	if err != nil || scenes < 1 {
		return fmt.Errorf("SCENES %q: want a positive count", args[0])
	}
	all, err := fmnist.Load(train.DefaultDataDir, "train")
	if err != nil {
		return err
	}
	kept, _ := all.Split(train.DefaultConfig().ValFraction, 1) // the shipped members' --split-seed
	var photos []*image.Gray
	for _, dir := range append([]string{"testdata/photos"}, more...) {
		p, err := fmnist.Photos(dir, "train")
		if err != nil {
			return err
		}
		photos = append(photos, p...)
	}
	f, err := os.Create(args[1])
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	cropper := fmnist.NewSceneCropper(rand.New(rand.NewSource(7)), kept, photos,
		fmnist.SceneCrops{Shift: *jitter, Scale: *scaleJitter, Background: *background})
	items := 0
	for range scenes {
		crops, _ := cropper.Scene()
		for _, c := range crops {
			w.WriteByte(byte(c.Class))
			w.Write(c.Pix)
			items++
		}
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("%s: %w", args[1], err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("%s: %w", args[1], err)
	}
	fmt.Printf("%d items in %s\n", items, args[1])
	return nil
}
