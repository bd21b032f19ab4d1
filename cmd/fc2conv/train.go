package main

import (
	"fmt"
	"io"
	"os"

	"github.com/fc2conv/fc2conv/convert"
	"github.com/fc2conv/fc2conv/train"
)

func runTrain(args []string, stdout, stderr io.Writer) int {
	d := train.DefaultConfig()
	fs := newFlags("train", "", "Trains the dress-vs-rest classifier (28×28 grey window, FC head) with gorgonia and\nwrites the FC model to --out and its converted form beside it (-fcn.safetensors).\nt10k is never read.", stderr)
	cfg := d
	fs.StringVar(&cfg.DataDir, "data", d.DataDir, "Fashion-MNIST `dir` (IDX files, gzipped or not)")
	fs.StringVar(&cfg.PhotoDir, "photos", d.PhotoDir, "background photographs `dir` (its SPLIT.txt train list is used)")
	fs.StringVar(&cfg.MorePhotos, "more-photos", "", "a second photographs `dir` whose SPLIT.txt train list joins --photos' (e.g. testdata/photos-extra)")
	fs.StringVar(&cfg.Out, "out", d.Out, "output model `file`")
	fs.IntVar(&cfg.Epochs, "epochs", d.Epochs, "epochs")
	fs.IntVar(&cfg.Steps, "steps", d.Steps, "batches per epoch")
	fs.IntVar(&cfg.Batch, "batch", d.Batch, "patches per batch")
	fs.Float64Var(&cfg.LR, "lr", d.LR, "Adam learning rate")
	fs.Int64Var(&cfg.Seed, "seed", d.Seed, "random seed (same seed, same model)")
	fs.Int64Var(&cfg.SplitSeed, "split-seed", 0, "seed of the held-out item split (0: --seed); give members of one ensemble the same")
	fs.Float64Var(&cfg.ValFraction, "val-fraction", d.ValFraction, "fraction of train items held out for validation")
	fs.IntVar(&cfg.MineFrom, "mine-from", d.MineFrom, "mine hard negatives before each epoch from this one on (0 = never)")
	fs.IntVar(&cfg.MineScenes, "mine-scenes", d.MineScenes, "training scenes scanned per mining round")
	fs.Float64Var(&cfg.MineLeaves, "mine-leaves", d.MineLeaves, "fraction of mining scenes on a synthetic dead-leaves background instead of a photo")
	fs.Float64Var(&cfg.MinePrint, "mine-print", d.MinePrint, "fraction of mining scenes on a page of synthetic print (random words in the Go fonts) instead of a photo")
	fs.StringVar(&cfg.Resume, "resume", "", "continue from a `checkpoint` (OUT.ckpt, written each epoch)")
	fs.StringVar(&cfg.Init, "init", "", "fine-tune: start from this FC `model`'s weights instead of random ones")
	fs.Float64Var(&cfg.MineNegIoU, "mine-negative-iou", train.DefaultMineNegativeIoU, "a mined window scored as dress is a negative when its IoU with every dress is below this (below 0.65; 0 means 0.3)")
	fs.Float64Var(&cfg.Sampler.Background.Black, "black", d.Sampler.Background.Black, "fraction of patches on black, as in the raw data")
	fs.Float64Var(&cfg.Sampler.Background.Photo, "photo", d.Sampler.Background.Photo, "fraction of patches on photographs (the rest: synthetic clutter)")
	fs.Float64Var(&cfg.Sampler.Mined.Positive, "hard-positive", d.Sampler.Mined.Positive, "fraction of positives drawn from the mined positives")
	fs.Float64Var(&cfg.Sampler.Background.Leaves, "leaves", d.Sampler.Background.Leaves, "fraction of synthetic backgrounds drawn as dead leaves (the rest: additive clutter)")
	fs.Float64Var(&cfg.Sampler.Background.Print, "print", d.Sampler.Background.Print, "fraction of backgrounds (other than black) drawn as synthetic print instead of a photo or other synthetic background")
	fs.Float64Var(&cfg.Sampler.Background.PrintBlocky, "print-blocky", d.Sampler.Background.PrintBlocky, "fraction of the print, in patches and in mining scenes, drawn binarised with stepped edges, as thresholded scans show it")
	fs.Float64Var(&cfg.Sampler.Background.PhotoVary, "photo-vary", d.Sampler.Background.PhotoVary, "fraction of photo crops turned 90° and given a random gamma")
	fs.Float64Var(&cfg.Sampler.Mix.NegScale, "neg-scale", d.Sampler.Mix.NegScale, "relative weight of wrong-scale dresses among the negatives (other garments: 0.6)")
	fs.Float64Var(&cfg.Sampler.Place.ScaleIoU, "scale-iou", d.Sampler.Place.ScaleIoU, "when > 0, wrong-scale dresses are any 0.4×–2.5× dress nested with the window at IoU below this (≥ 0.2)")
	fs.Float64Var(&cfg.Sampler.Background.Scene, "scene", d.Sampler.Background.Scene, "fraction of photo and clutter patches rendered scene-style (pasted at 1×–3×, resampled)")
	quiet := fs.Bool("quiet", false, "no progress bar")
	if code, ok := parse(fs, args); !ok {
		return code
	}
	if fs.NArg() != 0 {
		fmt.Fprintf(stderr, "fc2conv train: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	cfg.Log = stdout
	if !*quiet {
		cfg.Progress = os.Stderr
	}
	if err := cfg.Sampler.Validate(); err != nil {
		fmt.Fprintf(stderr, "fc2conv train: --black, --photo, --leaves, --print, --print-blocky, --photo-vary, --scene, --hard-positive, --neg-scale or --scale-iou: %v\n", err)
		return exitUsage
	}
	net, _, err := train.Run(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "fc2conv train: %v\n", err)
		return exitFail
	}
	res, err := convert.Convert(net)
	if err != nil {
		fmt.Fprintf(stderr, "fc2conv train: %v\n", err)
		return exitFail
	}
	fcnPath := fcnName(cfg.Out)
	if err := res.Network.Save(fcnPath); err != nil {
		fmt.Fprintf(stderr, "fc2conv train: %v\n", err)
		return exitFail
	}
	fmt.Fprintf(stdout, "wrote %s and %s\n", cfg.Out, fcnPath)
	return exitOK
}

// fcnName is where the converted form of model path p goes.
func fcnName(p string) string {
	const ext = ".safetensors"
	if len(p) > len(ext) && p[len(p)-len(ext):] == ext {
		p = p[:len(p)-len(ext)]
	}
	return p + "-fcn" + ext
}
