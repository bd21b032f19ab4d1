package main

import (
	"fmt"
	"io"
	"os"

	"github.com/fc2conv/fc2conv/nn"
	"github.com/fc2conv/fc2conv/train"
)

func runCalibrate(args []string, stdout, stderr io.Writer) int {
	d := train.DefaultConfig()
	fs := newFlags("calibrate", "", "Fits a temperature to a dress model (FC, converted or an ensemble) on the validation\n"+
		"patches a training run with the same --seed, --split-seed, --val-fraction and\n"+
		"--val-patches draws (default sampler settings), and writes the model with its\n"+
		"logits divided by it (and its stored threshold moved to the same operating point,\n"+
		"or replaced by --threshold).\n"+
		"Reports the NLL and the expected calibration error before and after. t10k is never read.", stderr)
	cfg := d
	flagOf := map[string]string{}
	fl := func(field, name string) string { flagOf[field] = "--" + name; return name }
	model := fs.String("model", "", "model `file` to calibrate (required)")
	out := fs.String("out", "", "calibrated model `file` (required)")
	force := fs.Bool("force", false, "overwrite --out if it exists")
	threshold := fs.Float64("threshold", 0, "store this default detection `threshold` in [0,1] in OUT, on the calibrated scale, instead of moving the model's own")
	reliability := fs.String("reliability", "", "also write the reliability diagram after calibration, on the validation patches, to this PNG `file`")
	fs.StringVar(&cfg.DataDir, fl("Config.DataDir", "data"), d.DataDir, "Fashion-MNIST `dir`")
	fs.StringVar(&cfg.PhotoDir, fl("Config.PhotoDir", "photos"), defaultTrainPhotos, "background photographs `dir`, as given to train; '' for synthetic backgrounds only")
	fs.Var((*multiFlag)(&cfg.MorePhotos), fl("Config.MorePhotos", "more-photos"), "more photographs `dir`s, as given to train (repeatable, same order)")
	fs.Int64Var(&cfg.Seed, "seed", d.Seed, "seed of the training run (draws the validation patches)")
	fs.Int64Var(&cfg.SplitSeed, "split-seed", 0, "seed of the held-out item split (0: --seed)")
	fs.Float64Var(&cfg.ValFraction, fl("Config.ValFraction", "val-fraction"), d.ValFraction, "fraction of train items held out for validation")
	fs.IntVar(&cfg.ValPatches, fl("Config.ValPatches", "val-patches"), d.ValPatches, "validation patches to fit on")
	if code, ok := parse(fs, args); !ok {
		return code
	}
	if *model == "" || *out == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "fc2conv calibrate: need --model FILE and --out FILE, and no other arguments (try --help)")
		return exitUsage
	}
	if isSet(fs, "threshold") && !(*threshold >= 0 && *threshold <= 1) {
		fmt.Fprintf(stderr, "fc2conv calibrate: --threshold %g out of range [0,1]\n", *threshold)
		return exitUsage
	}
	if _, err := os.Stat(*out); err == nil && !*force {
		fmt.Fprintf(stderr, "fc2conv calibrate: %s exists; give --force to overwrite it or another --out\n", *out)
		return exitUsage
	}
	net, err := nn.Load(*model)
	if err != nil {
		fmt.Fprintf(stderr, "fc2conv calibrate: --model: %v\n", err)
		return exitFail
	}
	cfg.Log = stdout
	c, err := train.Calibrate(net, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "fc2conv calibrate: %s\n", flagMessage(err, flagOf))
		return exitFail
	}
	if isSet(fs, "threshold") {
		net.Threshold = *threshold
	}
	if *reliability != "" {
		if err := writeReliability(*reliability, c.After, fmt.Sprintf("validation patches, T %.3f", c.Temperature)); err != nil {
			fmt.Fprintf(stderr, "fc2conv calibrate: --reliability: %v\n", err)
			return exitFail
		}
	}
	if err := net.Save(*out); err != nil {
		fmt.Fprintf(stderr, "fc2conv calibrate: --out: %v\n", err)
		return exitFail
	}
	fmt.Fprintf(stdout, "wrote %s (threshold %.4g)\n", *out, net.Threshold)
	return exitOK
}
