// Command paintcrops writes the training items of painted_ceiling.py: scene
// items painted on the training photographs as `fc2conv scenes` paints them
// (fmnist.MakeScene), from the train items that training keeps (the split
// of --split-seed 1 and --val-fraction 0.1 leaves the held-out items out),
// each cut at its truth box and resampled to 28×28 (fmnist.SceneCropper).
// One label byte and 784 pixel bytes per item (at the default -side). With -jitter or -scale-jitter each item is cut at
// a box moved off its truth box by those standard deviations (of the side,
// and of the log of the side), as a scan's voted boxes are; -background K
// adds K boxes per item that touch no item much (IoU < 0.4), labelled 10;
// -more-photos adds photographs as training's --more-photos does;
// -context K cuts each box with K times its side around it, as a verifier
// with that nn.InputSpec.Context is shown one; -side N resamples each cut
// to N×N instead of 28×28 (N² pixel bytes per item); -print paints that share
// of the scenes on synthetic print. With -clean each item's pixels are
// followed by its clean twin's (fmnist.SceneCrops.Clean: the same cut with
// black under the items), N² bytes more. With -targets each item
// also carries where its truth box lies from the box it was cut at, for
// a box regressor (recentre.py): three little-endian float32, the centre's
// offset in x and y as fractions of the cut box's side and the log of the
// truth side over the cut side (zeros for background boxes).
// Run from the repository root:
//
//	go run ./testdata/search/paintcrops 20000 /tmp/paint-train.bin
//	go run ./testdata/search/paintcrops -jitter 0.05 -scale-jitter 0.12 -background 1 20000 /tmp/verify-train.bin
//	go run ./testdata/search/paintcrops -jitter 0.1 -scale-jitter 0.2 -context 1.2857142857142858 -print 0.2 -targets 20000 /tmp/recentre-train.bin
//	go run ./testdata/search/paintcrops -jitter 0.05 -scale-jitter 0.12 -background 1 -context 1.2857142857142858 -print 0.2 -side 36 -clean 20000 /tmp/twins.bin
package main

import (
	"bufio"
	"encoding/binary"
	"flag"
	"fmt"
	"image"
	"math"
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
	context := fs.Float64("context", 0, "each box cut with this many times its side around it (0 or 1: the box)")
	side := fs.Int("side", fmnist.Side, "side of the square each cut is resampled to")
	printShare := fs.Float64("print", 0, "share of scenes painted on synthetic print, as training's --crop-print")
	clean := fs.Bool("clean", false, "after each item's pixels, its clean twin's: the same cut with black under the items")
	targets := fs.Bool("targets", false, "after each item's pixels, its truth box's offset from the cut box (3 float32)")
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
		return fmt.Errorf("usage: paintcrops [-jitter S] [-scale-jitter S] [-background K] [-context K] [-side N] [-print P] [-clean] [-targets] SCENES OUT.bin")
	}
	if !(*printShare >= 0 && *printShare <= 1) {
		return fmt.Errorf("-print %v: want a share from 0 to 1", *printShare)
	}
	if !(*context >= 0) || math.IsInf(*context, 0) {
		return fmt.Errorf("-context %v: want a finite factor ≥ 0", *context)
	}
	if *side < 8 || *side > 112 {
		return fmt.Errorf("-side %d: want 8 to 112 pixels", *side)
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
		fmnist.SceneCrops{Shift: *jitter, Scale: *scaleJitter, Background: *background, Context: *context, Print: *printShare, Side: *side, Clean: *clean})
	items := 0
	for range scenes {
		crops, truth := cropper.Scene()
		next := 0 // each truth item's own crop comes first among its crops
		for _, c := range crops {
			w.WriteByte(byte(c.Class))
			w.Write(c.Pix)
			w.Write(c.Clean) // nil without -clean
			items++
			if !*targets {
				continue
			}
			var t [3]float32
			if c.Class != fmnist.NoItem {
				if next == len(truth) {
					return fmt.Errorf("scene crops: more item crops than items (%d)", len(truth))
				}
				t = offset(c.Box, truth[next].Box)
				next++
			}
			binary.Write(w, binary.LittleEndian, t)
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

// offset is where truth lies from the square box cut: its centre's move
// in x and y as fractions of cut's side, and the log of its side over
// cut's.
func offset(cut image.Rectangle, truth [4]float64) [3]float32 {
	side := float64(cut.Dx())
	cx, cy := float64(cut.Min.X+cut.Max.X)/2, float64(cut.Min.Y+cut.Max.Y)/2
	return [3]float32{
		float32(((truth[0]+truth[2])/2 - cx) / side),
		float32(((truth[1]+truth[3])/2 - cy) / side),
		float32(math.Log((truth[2] - truth[0]) / side)),
	}
}
