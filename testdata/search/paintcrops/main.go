// Command paintcrops writes the training items of painted_ceiling.py: scene
// items painted on the training photographs as `fc2conv scenes` paints them
// (fmnist.MakeScene), from the train items that training keeps (the split
// of --split-seed 1 and --val-fraction 0.1 leaves the held-out items out),
// each cut at its truth box and resampled to 28×28. One label byte and 784
// pixel bytes per item. Run from the repository root:
//
//	go run ./testdata/search/paintcrops 20000 /tmp/paint-train.bin
package main

import (
	"bufio"
	"fmt"
	"image"
	"math/rand"
	"os"
	"strconv"

	"github.com/disintegration/imaging"
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
	if len(args) != 2 {
		return fmt.Errorf("usage: paintcrops SCENES OUT.bin")
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
	photos, err := fmnist.Photos("testdata/photos", "train")
	if err != nil {
		return err
	}
	f, err := os.Create(args[1])
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	rng := rand.New(rand.NewSource(7))
	items := 0
	for range scenes {
		img, truth := fmnist.MakeScene(rng, kept, photos[rng.Intn(len(photos))], 512, 256, 6)
		for _, o := range truth {
			box := image.Rect(int(o.Box[0]), int(o.Box[1]), int(o.Box[2]), int(o.Box[3]))
			crop := imaging.Resize(imaging.Crop(img, box), fmnist.Side, fmnist.Side, imaging.Linear)
			w.WriteByte(byte(o.Class))
			for i := range fmnist.Side * fmnist.Side {
				w.WriteByte(crop.Pix[4*i]) // NRGBA, grey: R is the value
			}
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
