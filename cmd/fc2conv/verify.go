package main

import (
	"fmt"
	"io"

	"github.com/fc2conv/fc2conv/convert"
	"github.com/fc2conv/fc2conv/detect"
	"github.com/fc2conv/fc2conv/graph"
	"github.com/fc2conv/fc2conv/nn"
	"github.com/fc2conv/fc2conv/onnx"
)

// Bounds of --windows and --large: each check costs time, and the large
// inputs are all held at once.
const maxWindows, maxLarge = 10000, 100

func runVerify(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("verify", "MODEL.safetensors|MODEL.onnx",
		"Runs the equivalence checks on MODEL and exits 1 above tolerance. An FC model is\nconverted and compared with its FCN form; an FCN model is checked against the\ngorgonia reference and against itself on crops, or against --fc if given.", stderr)
	fcPath := fs.String("fc", "", "the FC `model` an FCN model was converted from (optional)")
	seed := fs.Int64("seed", 1, "seed of the random check inputs")
	windows := fs.Int("windows", 16, fmt.Sprintf("random window-sized inputs (1 to %d)", maxWindows))
	extra := fs.Int("large", 3, fmt.Sprintf("random large inputs (1 to %d)", maxLarge))
	var images multiFlag
	fs.Var(&images, "image", "also check on this real image `file` (repeatable), preprocessed as the scanner does")
	if code, ok := parse(fs, args); !ok {
		return code
	}
	usageErr := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "fc2conv verify: "+format+"\n", a...)
		return exitUsage
	}
	// 0 would mean the library's default count, not none.
	if *windows < 1 || *windows > maxWindows {
		return usageErr("--windows %d out of range [1,%d]", *windows, maxWindows)
	}
	if *extra < 1 || *extra > maxLarge {
		return usageErr("--large %d out of range [1,%d]", *extra, maxLarge)
	}
	if fs.NArg() != 1 {
		return usageErr("need exactly one model, got %d arguments (try --help)", fs.NArg())
	}
	model, err := loadModel(fs.Arg(0), onnx.Options{})
	if err != nil {
		fmt.Fprintf(stderr, "fc2conv verify: %v\n", err)
		return exitFail
	}
	if *fcPath != "" && !model.IsFullyConvolutional() {
		fmt.Fprintf(stderr, "fc2conv verify: --fc is for a fully convolutional MODEL, and %s is an FC model (verify converts it itself)\n", fs.Arg(0))
		return exitFail
	}
	var fc, fcn *nn.Network
	switch {
	case !model.IsFullyConvolutional():
		res, err := convert.Convert(model)
		if err != nil {
			fmt.Fprintf(stderr, "fc2conv verify: %s: %v\n", fs.Arg(0), err)
			return exitFail
		}
		fc, fcn = model, res.Network
	case *fcPath != "":
		if fc, err = loadModel(*fcPath, onnx.Options{}); err != nil {
			fmt.Fprintf(stderr, "fc2conv verify: --fc: %v\n", err)
			return exitFail
		}
		if fc.IsFullyConvolutional() {
			fmt.Fprintf(stderr, "fc2conv verify: --fc %s is fully convolutional; give the FC model %s was converted from\n", *fcPath, fs.Arg(0))
			return exitFail
		}
		if fw, mw := fc.Input.Window(), model.Input.Window(); fw != mw {
			fmt.Fprintf(stderr, "fc2conv verify: --fc %s takes a %v (C×H×W) window and %s a %v one; give the FC model it was converted from\n", *fcPath, fw, fs.Arg(0), mw)
			return exitFail
		}
		fcn = model
	default:
		fcn = model
	}
	var real []convert.Input
	for _, p := range images {
		img, err := detect.LoadImage(p)
		if err != nil {
			fmt.Fprintf(stderr, "fc2conv verify: --image: %v\n", err)
			return exitFail
		}
		x, shape, err := detect.Preprocess(img, fcn.Input)
		if err != nil {
			fmt.Fprintf(stderr, "fc2conv verify: --image %s: %v\n", p, err)
			return exitFail
		}
		real = append(real, convert.Input{Data: x, Shape: shape})
	}
	rep, err := convert.Verify(fc, fcn, convert.VerifyOptions{Seed: *seed, Windows: *windows, Extra: *extra, Real: real, Reference: graph.Forward})
	if err != nil {
		fmt.Fprintf(stderr, "fc2conv verify: %s: %v\n", fs.Arg(0), err)
		return exitFail
	}
	printReport(stdout, rep)
	if rep.MaxAbs() > convert.Tolerance {
		fmt.Fprintf(stderr, "fc2conv verify: %s: FAIL: max abs error %.3g exceeds %.0e\n", fs.Arg(0), rep.MaxAbs(), convert.Tolerance)
		return exitFail
	}
	fmt.Fprintf(stdout, "%s: OK\n", fs.Arg(0))
	return exitOK
}
