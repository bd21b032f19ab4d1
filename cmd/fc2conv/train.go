package main

import (
	"cmp"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"runtime/pprof"
	"slices"
	"strings"

	"github.com/fc2conv/fc2conv/convert"
	"github.com/fc2conv/fc2conv/fmnist"
	"github.com/fc2conv/fc2conv/models"
	"github.com/fc2conv/fc2conv/nn"
	"github.com/fc2conv/fc2conv/train"
)

// Defaults the CLI adds to train.DefaultConfig, relative to the current
// directory: the model goes beside the user, never into models/.
const (
	defaultTrainOut    = "dress.safetensors"
	defaultTrainPhotos = "testdata/photos"
)

func runTrain(args []string, stdout, stderr io.Writer) int {
	d := train.DefaultConfig()
	fs := newFlags("train", "", "Trains the dress-vs-rest classifier (28×28 grey window, FC head) with gorgonia and\nwrites the FC model to --out and its converted form beside it (-fcn.safetensors).\nExisting files are not overwritten without --force. t10k is never read.\n\nexample: fc2conv train --out /tmp/dress.safetensors --epochs 10", stderr)
	cfg := d
	// flagOf maps the library's setting names (train.FieldError,
	// fmnist.ConfigError) to the flags that set them.
	flagOf := map[string]string{}
	fl := func(field, name string) string { flagOf[field] = "--" + name; return name }
	fs.StringVar(&cfg.DataDir, fl("Config.DataDir", "data"), d.DataDir, "Fashion-MNIST `dir` (IDX files, gzipped or not)")
	fs.StringVar(&cfg.PhotoDir, fl("Config.PhotoDir", "photos"), defaultTrainPhotos, "background photographs `dir` (its SPLIT.txt train list is used); '' for synthetic backgrounds only")
	fs.Var((*multiFlag)(&cfg.MorePhotos), fl("Config.MorePhotos", "more-photos"), "more photographs: a `dir` whose SPLIT.txt train list joins --photos' (e.g. testdata/photos-extra); repeat for more, the order counts")
	fs.IntVar(&cfg.PhotoVariants, fl("Config.PhotoVariants", "photo-variants"), 0, fmt.Sprintf("add this many varied copies of each training photograph (turned 90°, upside down, a gamma; 0 to %d) for patches, scene crops and mining scenes", fmnist.MaxPhotoVariants))
	fs.StringVar(&cfg.Out, fl("Config.Out", "out"), defaultTrainOut, "output model `file`; the converted model goes beside it as NAME-fcn.safetensors")
	force := fs.Bool("force", false, "overwrite --out and its -fcn twin if they exist")
	fs.IntVar(&cfg.Epochs, fl("Config.Epochs", "epochs"), d.Epochs, "epochs (1 to 1000)")
	fs.IntVar(&cfg.Steps, fl("Config.Steps", "steps"), d.Steps, "batches per epoch")
	fs.IntVar(&cfg.Batch, fl("Config.Batch", "batch"), d.Batch, "patches per batch")
	fs.Float64Var(&cfg.LR, fl("Config.LR", "lr"), d.LR, "Adam learning rate")
	fs.Int64Var(&cfg.Seed, "seed", d.Seed, "random seed (same seed, same model)")
	fs.Int64Var(&cfg.SplitSeed, "split-seed", 0, "seed of the held-out item split (0: --seed); give members of one ensemble the same")
	fs.Float64Var(&cfg.ValFraction, fl("Config.ValFraction", "val-fraction"), d.ValFraction, "fraction of train items held out for validation")
	fs.IntVar(&cfg.MineFrom, fl("Config.MineFrom", "mine-from"), d.MineFrom, "mine hard negatives before each epoch from this one on (0 = never)")
	fs.IntVar(&cfg.MineScenes, fl("Config.MineScenes", "mine-scenes"), d.MineScenes, "training scenes scanned per mining round")
	fs.Float64Var(&cfg.MineLeaves, fl("Config.MineLeaves", "mine-leaves"), d.MineLeaves, "fraction of mining scenes on a synthetic dead-leaves background instead of a photo")
	fs.Float64Var(&cfg.MinePrint, fl("Config.MinePrint", "mine-print"), d.MinePrint, "fraction of mining scenes on a page of synthetic print (random words in the Go fonts) instead of a photo")
	fs.StringVar(&cfg.Resume, fl("Config.Resume", "resume"), "", "continue from a `checkpoint` (OUT.ckpt, written each epoch)")
	fs.StringVar(&cfg.Init, fl("Config.Init", "init"), "", "fine-tune: start from this FC `model`'s weights instead of random ones")
	fs.StringVar(&cfg.Arch, fl("Config.Arch", "arch"), "", "architecture of a fresh model: dressnet (the default), bn3, bn4, bn3s, bn3t, bn4s, wide (a verifier's only: padded, stride 8), or a spec such as c32,c32,p,c64,p,f256 (see README)")
	fs.StringVar(&cfg.Trainer, fl("Config.Trainer", "trainer"), "native", "training path: native (package backprop, 2.7–3.4× faster per step; see README) or gorgonia (the graph path that trained the members shipped before issue 22)")
	fs.BoolVar(&cfg.GarmentClasses, fl("Config.GarmentClasses", "garment-classes"), false, "a fresh model scores the ten Fashion-MNIST classes and \"no item\" instead of {not dress, dress}; its heatmap is still p(dress) (native trainer only)")
	fs.Float64Var(&cfg.LabelSmoothing, fl("Config.LabelSmoothing", "label-smoothing"), 0, "move this much of each target onto all classes equally (0: hard labels)")
	fs.Float64Var(&cfg.ScaleSoft, fl("Config.ScaleSoft", "scale-soft"), 0, "lower the dress target of a dress painted outside the pyramid's half step (1.25^±½ of the window), linearly in log size, to 1-W at --scale-min and --scale-max (0: off)")
	fs.Float64Var(&cfg.Mixup, fl("Config.Mixup", "mixup"), 0, "blend each batch with a shuffled copy of itself, windows and targets, by weights from Beta(A, A) (mixup; 0: off; 0.2 to 0.4 is usual)")
	fs.Float64Var(&cfg.Erase, fl("Config.Erase", "erase"), 0, "with this `probability` overwrite one random rectangle (2–40% of the window) of each training window with noise, its label kept (random erasing; 0: off; 0.5 is usual)")
	fs.Float64Var(&cfg.EMA, fl("Config.EMA", "ema"), 0, "save an exponential moving average of the weights and batch-norm statistics, decay `D` per step (0.999 to 0.9999 is usual), instead of the last step's (0: off; native trainer only)")
	fs.Float64Var(&cfg.WeightDecay, fl("Config.WeightDecay", "weight-decay"), 0, "shrink convolution and dense weights by LR·`D` of themselves each step (decoupled weight decay, as AdamW; 0: off; native trainer only)")
	confusable := fs.Float64("confusable-weight", 0, "draw each confusable class (T-shirt/top, pullover, coat, shirt) this many times as often as each other class among the other-garment negatives (0: items uniformly)")
	flagOf["Mix.NegClass"] = "--confusable-weight"
	fs.Float64Var(&cfg.MineConfusable, fl("Config.MineConfusable", "mine-confusable"), 0, "fraction of mining scenes whose other garments are only T-shirts/tops, pullovers, coats and shirts")
	fs.BoolVar(&cfg.MineItems, fl("Config.MineItems", "mine-items"), false, "each mining round also scores every raw training item and adds the ones it gets wrong to the mined pools")
	fs.StringVar(&cfg.MineCascade, fl("Config.MineCascade", "mine-cascade"), "", "with --mine-from: each mining round also scans its scenes with this converted scan `model` (such as the shipped pair's dress-fcn.safetensors), shows its boxes to the network being trained as their verifier, and mines the boxes they get wrong, as a cascade's second stage sees them")
	fs.IntVar(&cfg.MineCascadeWeight, fl("Config.MineCascadeWeight", "mine-cascade-weight"), 0, "with --mine-cascade: each of the cascade's mined boxes enters the mined pools this many `times` (0 or 1: once; at most 64)")
	fs.IntVar(&cfg.MineCascadeViews, fl("Config.MineCascadeViews", "mine-cascade-views"), 0, "with --mine-cascade: score each of the cascade's boxes on a dress as scan does with this many verifier `views` and their least (5, 7 or 27), and mine it, cut at its least view, when that brings it below the mining threshold (0 or 1: the box alone)")
	fs.Float64Var(&cfg.MineNegIoU, fl("Config.MineNegIoU", "mine-negative-iou"), train.DefaultMineNegativeIoU, "a mined window scored as dress is a negative when its IoU with every dress is below this (below 0.65; 0 means 0.3)")
	s := &cfg.Sampler
	fs.Float64Var(&s.Background.Black, fl("Background.Black", "black"), s.Background.Black, "fraction of patches on black, as in the raw data")
	fs.Float64Var(&s.Mix.Raw, fl("Mix.Raw", "raw"), s.Mix.Raw, "fraction of patches that are a raw item, as t10k is scored: pixels/255 on black, centred, unscaled, no jitter (a dress for a positive, an other garment for a negative)")
	fs.Float64Var(&s.Mix.SceneCrop, fl("Mix.SceneCrop", "scene-crops"), s.Mix.SceneCrop, "fraction of patches cut from whole painted scenes at each item's box, moved and scaled at random as a scan's voted boxes are (--crop-shift, --crop-scale), and at background boxes (--crop-background), labelled by what they frame: the training data of a verifier (see README)")
	fs.Float64Var(&s.Crops.Shift, fl("Crops.Shift", "crop-shift"), s.Crops.Shift, "with --scene-crops: std of a crop box's centre offset from its item's box, as a fraction of the side")
	fs.Float64Var(&s.Crops.Scale, fl("Crops.Scale", "crop-scale"), s.Crops.Scale, "with --scene-crops: std of the log of a crop box's scale")
	fs.IntVar(&s.Crops.Background, fl("Crops.Background", "crop-background"), s.Crops.Background, "with --scene-crops: background boxes (IoU < 0.4 with every item, labelled \"no item\") per item")
	fs.IntVar(&s.Crops.Partial, fl("Crops.Partial", "crop-partial"), s.Crops.Partial, "with --scene-crops: boxes per item across part of it (IoU 0.1 to 0.4 with it, below 0.4 with every item), labelled \"no item\"")
	fs.Float64Var(&s.Crops.Confusable, fl("Crops.Confusable", "crop-confusable"), s.Crops.Confusable, "with --scene-crops: fraction of scenes whose other garments are only T-shirts/tops, pullovers, coats and shirts")
	fs.Float64Var(&s.Crops.Dark, fl("Crops.Dark", "crop-dark"), s.Crops.Dark, "with --scene-crops: fraction of scenes whose items are only the darkest quarter of each class (by mean painted pixel), dresses and other garments alike")
	fs.Float64Var(&s.Crops.Print, fl("Crops.Print", "crop-print"), s.Crops.Print, "with --scene-crops: fraction of scenes painted on a page of synthetic print instead of a photograph (--print reaches no scene crop)")
	fs.Float64Var(&s.Crops.Context, fl("Crops.Context", "crop-context"), s.Crops.Context, "with --scene-crops and --raw 1: show every window `k` times its box's side (1 to 4; 0 for none), so that a verifier sees an item's outline against its surroundings; the model stores k, and scan crops its boxes to match")
	flagOf["Config.Sampler.Crops.Context"] = "--crop-context"
	fs.IntVar(&s.Crops.Side, fl("Crops.Side", "crop-window"), s.Crops.Side, "with --scene-crops and --raw 1: a verifier's window side in pixels (28 to 112; 0 for 28): every patch is cut at that side, so that with --crop-context 1.2857142857142858 a window of 36 reads each box at 28 pixels, an item's own; the model stores it and scan shows it its boxes so")
	fs.Float64Var(&s.Background.Photo, fl("Background.Photo", "photo"), s.Background.Photo, "fraction of patches on photographs (the rest: synthetic clutter)")
	fs.Float64Var(&s.Mined.Positive, fl("Mined.Positive", "hard-positive"), s.Mined.Positive, "fraction of positives drawn from the mined positives")
	fs.Float64Var(&s.Mined.Negative, fl("Mined.Negative", "hard-negative"), s.Mined.Negative, "fraction of negatives drawn from the mined negatives, once mining has found some (with --scene-crops, of the negatives not cut from scenes)")
	fs.Float64Var(&s.Background.Leaves, fl("Background.Leaves", "leaves"), s.Background.Leaves, "fraction of synthetic backgrounds drawn as dead leaves (the rest: additive clutter)")
	fs.Float64Var(&s.Background.Print, fl("Background.Print", "print"), s.Background.Print, "fraction of backgrounds (other than black) drawn as synthetic print instead of a photo or other synthetic background")
	fs.Float64Var(&s.Background.PrintBlocky, fl("Background.PrintBlocky", "print-blocky"), s.Background.PrintBlocky, "fraction of the print, in patches and in mining scenes, drawn binarised with stepped edges, as thresholded scans show it")
	flagOf["Config.Sampler.Background.PrintBlocky"] = "--print-blocky"
	fs.Float64Var(&s.Background.PhotoVary, fl("Background.PhotoVary", "photo-vary"), s.Background.PhotoVary, "fraction of photo crops turned 90° and given a random gamma")
	fs.Float64Var(&s.Place.ScaleMin, fl("Place.ScaleMin", "scale-min"), s.Place.ScaleMin, "smallest scale of a centred item (dress or other garment) in its window; 1 fills the window")
	fs.Float64Var(&s.Place.ScaleMax, fl("Place.ScaleMax", "scale-max"), s.Place.ScaleMax, "largest scale of a centred item in its window")
	fs.Float64Var(&s.Mix.NegScale, fl("Mix.NegScale", "neg-scale"), s.Mix.NegScale, "relative weight of wrong-scale dresses among the negatives (other garments: 0.6)")
	fs.Float64Var(&s.Place.ScaleIoU, fl("Place.ScaleIoU", "scale-iou"), s.Place.ScaleIoU, "when > 0, wrong-scale dresses are any 0.4×–2.5× dress nested with the window at IoU below this (≥ 0.2)")
	fs.Float64Var(&s.Background.Scene, fl("Background.Scene", "scene"), s.Background.Scene, "fraction of photo and clutter patches rendered scene-style (pasted at 1×–3×, resampled)")
	fs.BoolVar(&cfg.Calibrate, "calibrate", false, "after the last epoch, fit a temperature on the validation patches and fold it into the model (see 'fc2conv calibrate')")
	quiet := fs.Bool("quiet", false, "no progress bar (there is none when stderr is not a terminal)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the training to this `file` (read it with 'go tool pprof')")
	if code, ok := parse(fs, args); !ok {
		return code
	}
	if fs.NArg() != 0 {
		fmt.Fprintf(stderr, "fc2conv train: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	if *confusable != 0 {
		cfg.Sampler.Mix.NegClass = fmnist.ConfusableWeights(*confusable)
	}
	if cfg.Init != "" && cfg.Resume != "" {
		fmt.Fprintln(stderr, "fc2conv train: --init and --resume both given; a checkpoint holds its own weights")
		return exitUsage
	}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintf(stderr, "fc2conv train: %s\n", flagMessage(err, flagOf))
		return exitUsage
	}
	noteUnusedBackgrounds(fs, cfg.Sampler.Mix.Raw, stderr)
	if !isSet(fs, "photos") {
		if st, err := os.Stat(defaultTrainPhotos); err != nil || !st.IsDir() {
			fmt.Fprintf(stderr, "fc2conv train: no --photos given and ./%s is not a directory here (run from the repository root, give --photos DIR, or --photos '' for synthetic backgrounds only)\n", defaultTrainPhotos)
			return exitUsage
		}
	}
	fcnPath := fcnName(cfg.Out)
	if !*force {
		for _, p := range []string{cfg.Out, fcnPath} {
			if _, err := os.Stat(p); err == nil {
				fmt.Fprintf(stderr, "fc2conv train: %s exists; give --force to overwrite it or another --out\n", p)
				return exitUsage
			}
		}
	}
	if cfg.Resume == "" && cfg.Init == "" {
		if err := printCost(stdout, cfg.Arch, cfg.Sampler.PatchSide()); err != nil {
			fmt.Fprintf(stderr, "fc2conv train: --arch: %v\n", err)
			return exitFail
		}
	}
	cfg.Log = stdout
	if !*quiet && isTerminal(os.Stderr) {
		cfg.Progress = os.Stderr
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintf(stderr, "fc2conv train: --cpuprofile: %v\n", err)
			return exitFail
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintf(stderr, "fc2conv train: --cpuprofile: %v\n", err)
			return exitFail
		}
	}
	net, _, err := train.Run(cfg)
	if *cpuProfile != "" {
		pprof.StopCPUProfile()
	}
	if err != nil {
		fmt.Fprintf(stderr, "fc2conv train: %s\n", flagMessage(err, flagOf))
		return exitFail
	}
	res, err := convert.Convert(net)
	if err != nil {
		fmt.Fprintf(stderr, "fc2conv train: %v\n", err)
		return exitFail
	}
	if err := res.Network.Save(fcnPath); err != nil {
		fmt.Fprintf(stderr, "fc2conv train: %v\n", err)
		return exitFail
	}
	fmt.Fprintf(stdout, "wrote %s and %s\n", cfg.Out, fcnPath)
	return exitOK
}

// patchBackgroundFlags shape only the background a painted patch is drawn
// on (fmnist's Sampler.background), which a raw item never is.
var patchBackgroundFlags = []string{"black", "photo", "scene", "leaves", "print"}

// noteUnusedBackgrounds says which given background flags draw nothing
// because --raw 1 makes every painted patch a raw item on black (a
// verifier's recipe: scene crops, raw items and mined windows only), so
// that a researcher does not read a run as trained on them. The run goes
// on: its bytes are what they would be without those flags.
func noteUnusedBackgrounds(fs *flag.FlagSet, raw float64, stderr io.Writer) {
	if raw < 1 {
		return
	}
	for _, name := range patchBackgroundFlags {
		if isSet(fs, name) {
			fmt.Fprintf(stderr, "fc2conv train: note: --%s draws nothing with --raw 1 (every patch not cut from a scene or mined is a raw item on black; mining scenes follow the --mine-* flags, crop scenes --crop-print)\n", name)
		}
	}
}

// flagMessage says err in the CLI's terms: a sampler setting's error
// after the flag that set it, a train setting's with the flag in place of
// the setting's name.
func flagMessage(err error, flagOf map[string]string) string {
	var ce *fmnist.ConfigError
	if errors.As(err, &ce) {
		if f, ok := flagOf[ce.Field]; ok {
			return f + ": " + ce.Error()
		}
		return err.Error()
	}
	var fe *train.FieldError
	if errors.As(err, &fe) {
		if f, ok := flagOf[fe.Field]; ok {
			return f + " " + otherFlags(fe.Err.Error(), flagOf)
		}
	}
	return err.Error()
}

// otherFlags names, in msg, the settings of other flags by their flags
// ("set with Config.MineFrom 0" reads "set with --mine-from 0"), longest
// names first so that none is taken for part of another.
func otherFlags(msg string, flagOf map[string]string) string {
	fields := slices.Collect(maps.Keys(flagOf))
	slices.SortFunc(fields, func(a, b string) int { return cmp.Or(len(b)-len(a), strings.Compare(a, b)) })
	for _, f := range fields {
		msg = strings.ReplaceAll(msg, f, flagOf[f])
	}
	return msg
}

// fcnName is where the converted form of model path p goes.
func fcnName(p string) string {
	const ext = ".safetensors"
	if len(p) > len(ext) && p[len(p)-len(ext):] == ext {
		p = p[:len(p)-len(ext)]
	}
	return p + "-fcn" + ext
}

// printCost says what scanning with architecture arch costs the engine,
// beside the embedded model (the shipped ensemble) and one dressnet; or,
// for a shape only a verifier may have (or a verifier's side×side window
// other than 28), what a window costs beside the embedded verifier's.
func printCost(w io.Writer, arch string, side int) error {
	net, err := train.ArchitectureAt(arch, side)
	if err != nil {
		return err
	}
	train.InitWeights(net, 1) // all-zero weights would cost nothing
	if arch == "" {
		arch = "dressnet"
	}
	if why := train.CheckScanning(net); why != nil {
		return printVerifierCost(w, arch, net, why)
	}
	member := train.DressNet()
	train.InitWeights(member, 1)
	shipped, err := models.DressFCN()
	if err != nil {
		return err
	}
	var c [3]train.Cost
	for i, n := range []*nn.Network{net, member, shipped} {
		if c[i], err = train.CostOf(n); err != nil {
			return err
		}
	}
	ratio := float64(c[0].Position) / float64(c[2].Position)
	fmt.Fprintf(w, "architecture %q: %.2f MFLOP per 28×28 window, %.2f MFLOP per scanned position at stride %d: %.2f× the embedded model's, %.2f× one dressnet's\n",
		arch, float64(c[0].Window)/1e6, float64(c[0].Position)/1e6, c[0].Stride.H, ratio, float64(c[0].Position)/float64(c[1].Position))
	if ratio > 2 {
		fmt.Fprintln(w, "note: over 2× the embedded model's FLOPs per scanned position, issue 22's budget")
	}
	return nil
}

// printVerifierCost is printCost for a shape that cannot scan (why): a
// verifier's cost is its window's, once per view of each box it rescores.
func printVerifierCost(w io.Writer, arch string, net *nn.Network, why error) error {
	shipped, err := models.Verifier()
	if err != nil {
		return err
	}
	var c [2]train.Cost
	for i, n := range []*nn.Network{net, shipped} {
		if c[i], err = train.CostOf(n); err != nil {
			return err
		}
	}
	win := net.Input.Window()
	fmt.Fprintf(w, "architecture %q: %.2f MFLOP per %d×%d window, %.2f× the embedded verifier's; a verifier's shape only (%v)\n",
		arch, float64(c[0].Window)/1e6, win.W, win.H, float64(c[0].Window)/float64(c[1].Window), why)
	return nil
}
