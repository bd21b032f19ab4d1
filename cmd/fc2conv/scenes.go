package main

import (
	"fmt"
	"image"
	"image/png"
	"io"
	"math/rand"
	"os"
	"path/filepath"

	"github.com/fc2conv/fc2conv/fmnist"
	"github.com/fc2conv/fc2conv/train"
)

func runScenes(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("scenes", "", "Writes evaluation scenes: Fashion-MNIST items (dresses among other garments) pasted\nat 1×–3× onto photographs, as PNGs plus truth.jsonl with the ground-truth boxes.\nTest scenes: --items t10k --photo-split eval. Validation scenes (for choosing the\nthreshold): --items val --photo-split train.", stderr)
	data := fs.String("data", train.DefaultDataDir, "Fashion-MNIST `dir`")
	photos := fs.String("photos", "testdata/photos", "photographs `dir` with SPLIT.txt")
	items := fs.String("items", "t10k", "item source: t10k, or val (the train items training holds out)")
	photoSplit := fs.String("photo-split", fmnist.PhotosEval, "photo list: eval or train")
	valFraction := fs.Float64("val-fraction", train.DefaultConfig().ValFraction, "held-out fraction, as given to train")
	trainSeed := fs.Int64("train-seed", train.DefaultConfig().Seed, "the --split-seed (or else --seed) given to train: it fixes the held-out items")
	n := fs.Int("n", 50, "number of scenes")
	perScene := fs.Int("items-per-scene", 6, "garments per scene")
	w := fs.Int("width", fmnist.SceneWidth, "scene width")
	h := fs.Int("height", fmnist.SceneHeight, "scene height")
	seed := fs.Int64("seed", 1, "random seed")
	out := fs.String("out", "", "output `dir` (required)")
	if code, ok := parse(fs, args); !ok {
		return code
	}
	usageErr := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "fc2conv scenes: "+format+"\n", a...)
		return exitUsage
	}
	switch {
	case fs.NArg() > 0:
		return usageErr("unexpected argument %q (scenes takes flags only; try --help)", fs.Arg(0))
	case *out == "":
		return usageErr("missing --out DIR")
	case *n < 1 || *n > 1_000_000:
		return usageErr("--n %d out of range [1,1000000]", *n)
	case *w < 28 || *w > fmnist.MaxSceneSide:
		return usageErr("--width %d out of range [28,%d]", *w, fmnist.MaxSceneSide)
	case *h < 28 || *h > fmnist.MaxSceneSide:
		return usageErr("--height %d out of range [28,%d]", *h, fmnist.MaxSceneSide)
	case *photoSplit != fmnist.PhotosEval && *photoSplit != fmnist.PhotosTrain:
		return usageErr("--photo-split %q: want %s or %s", *photoSplit, fmnist.PhotosEval, fmnist.PhotosTrain)
	}
	var set *fmnist.Set
	var err error
	switch *items {
	case "t10k":
		set, err = fmnist.Load(*data, "t10k")
	case "val":
		var all *fmnist.Set
		if all, err = fmnist.Load(*data, "train"); err == nil {
			_, set = all.Split(*valFraction, *trainSeed)
		}
	default:
		fmt.Fprintf(stderr, "fc2conv scenes: --items %q: want t10k or val\n", *items)
		return exitUsage
	}
	if err != nil {
		fmt.Fprintf(stderr, "fc2conv scenes: --data: %v\n", err)
		return exitFail
	}
	picNames, pics, err := fmnist.NamedPhotos(*photos, *photoSplit)
	if err != nil {
		fmt.Fprintf(stderr, "fc2conv scenes: --photos: %v\n", err)
		return exitFail
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		fmt.Fprintf(stderr, "fc2conv scenes: --out: %v\n", err)
		return exitFail
	}
	rng := rand.New(rand.NewSource(*seed))
	truths := make([]fmnist.Truth, 0, *n)
	for k := 0; k < *n; k++ {
		var photo image.Image
		photoName := ""
		if len(pics) > 0 {
			photo, photoName = pics[k%len(pics)], picNames[k%len(pics)]
		}
		img, objs := fmnist.MakeScene(rng, set, photo, *w, *h, *perScene)
		name := fmt.Sprintf("scene_%03d.png", k)
		if err := writePNG(filepath.Join(*out, name), img); err != nil {
			fmt.Fprintf(stderr, "fc2conv scenes: %v\n", err)
			return exitFail
		}
		truths = append(truths, fmnist.Truth{Image: name, Photo: photoName, Width: *w, Height: *h, Objects: objs})
	}
	f, err := os.Create(filepath.Join(*out, "truth.jsonl"))
	if err != nil {
		fmt.Fprintf(stderr, "fc2conv scenes: %v\n", err)
		return exitFail
	}
	defer f.Close()
	if err := fmnist.WriteTruth(f, truths); err != nil {
		fmt.Fprintf(stderr, "fc2conv scenes: %v\n", err)
		return exitFail
	}
	fmt.Fprintf(stdout, "wrote %d scenes and truth.jsonl to %s\n", *n, *out)
	return exitOK
}

func writePNG(path string, img image.Image) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	return f.Close()
}
