package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"text/tabwriter"

	"github.com/fc2conv/fc2conv/convert"
	"github.com/fc2conv/fc2conv/detect"
)

func runConvert(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("convert", "IN.safetensors|IN.onnx", "Rewrites the FC head of IN as convolutions, prints the per-layer table and\nthe measured max abs error of its own equivalence check, and writes OUT.\nIN is fc2conv's own model file or an ONNX classifier (give its pixel scaling\nwith --mean and --std). OUT is written as ONNX when it ends in .onnx, else as\nfc2conv's .safetensors. Exits 1 without writing when the error exceeds 1e-5,\nwhen a file cannot be read or written, or when IN is already fully\nconvolutional.", stderr)
	out := fs.String("o", "", "output model `file` (required): .onnx for ONNX, else .safetensors")
	force := fs.Bool("force", false, "overwrite -o if it exists")
	seed := fs.Int64("seed", 1, "seed of the random check inputs")
	threshold := fs.Float64("threshold", 0, "store this default detection `threshold` in [0,1] in OUT (chosen on validation scenes; see 'eval detect --max-fp'); default: none")
	views := fs.Int("verifier-views", 0, "store in OUT how many views of each box a detector shows it as its verifier: 1, 5, 7 or 27, as scan --verifier-views (chosen with --threshold); default: none stored, the box alone")
	pool := fs.String("verifier-pool", "", "store in OUT how a detector pools those views' p: mean, max or min, as scan --verifier-pool (max and min need --verifier-views 5, 7 or 27); default: none stored, the mean")
	pre := addONNXFlags(fs, true)
	if code, ok := parse(fs, args); !ok {
		return code
	}
	usageErr := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "fc2conv convert: "+format+"\n", a...)
		return exitUsage
	}
	if isSet(fs, "threshold") && !(*threshold >= 0 && *threshold <= 1) {
		return usageErr("--threshold %g out of range [0,1]", *threshold)
	}
	viewPool, err := detect.ParsePool(*pool)
	if err != nil {
		return usageErr("--verifier-pool: %v", err)
	}
	storeViews := isSet(fs, "verifier-views") || isSet(fs, "verifier-pool")
	if storeViews {
		if _, _, err := detect.VerifierScoring(detect.Options{VerifierViews: *views, VerifierPool: viewPool}); err != nil {
			err, _ = optionFlagErr(err)
			return usageErr("%v", err)
		}
	}
	if fs.NArg() != 1 {
		return usageErr("need exactly one input model, got %d arguments (try --help)", fs.NArg())
	}
	in := fs.Arg(0)
	if code := checkOut(stderr, "convert", *out, *force, in); code != exitOK {
		return code
	}
	opt, err := pre.options(fs, in)
	if err != nil {
		return usageErr("%v", err)
	}
	fc, err := loadModel(in, opt)
	if err != nil {
		fmt.Fprintf(stderr, "fc2conv convert: %v\n", err)
		return exitFail
	}
	if fc.IsFullyConvolutional() {
		fmt.Fprintf(stderr, "fc2conv convert: %s is already fully convolutional; nothing to convert (use 'fc2conv verify' to check it)\n", in)
		return exitFail
	}
	res, rep, err := convert.ConvertChecked(fc, convert.VerifyOptions{Seed: *seed})
	if res != nil {
		printTable(stdout, res)
	}
	if len(rep.Checks) > 0 {
		printReport(stdout, rep)
	}
	if err != nil {
		fmt.Fprintf(stderr, "fc2conv convert: %s: %v; not writing %s\n", in, err, *out)
		return exitFail
	}
	if isSet(fs, "threshold") {
		res.Network.Threshold = *threshold
	}
	if storeViews {
		res.Network.Views, res.Network.ViewPool = *views, *pool
	}
	if err := saveModel(res.Network, *out); err != nil {
		fmt.Fprintf(stderr, "fc2conv convert: -o: %v\n", err)
		return exitFail
	}
	fmt.Fprintf(stdout, "wrote %s\n", *out)
	return exitOK
}

func printTable(w io.Writer, res *convert.Result) {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "layer\tFC form\tconv form")
	for _, s := range res.Steps {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", s.Layer, s.From, s.To)
	}
	tw.Flush()
	g := res.Geometry
	fmt.Fprintf(w, "geometry: stride %v, window %v (h×w), receptive field %v, padded %v\n", g.Stride, g.Window, g.Field, g.Padded)
}

func printReport(w io.Writer, rep convert.Report) {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "check\tcases\tmax abs\tmax rel")
	for _, c := range rep.Checks {
		fmt.Fprintf(tw, "%s\t%d\t%.3g\t%.3g\n", c.Name, c.Cases, c.MaxAbs, c.MaxRel)
	}
	tw.Flush()
	fmt.Fprintf(w, "max abs error %.3g, max rel error %.3g (tolerance %.0e)\n", rep.MaxAbs(), rep.MaxRel(), convert.Tolerance)
}

// checkOut checks the output model path of cmd up front, before any work:
// given, not a directory, in a directory that exists, not one of the
// inputs (which writing would destroy), and not an existing file unless
// force is set, so no slip of -o replaces a shipped model.
func checkOut(stderr io.Writer, cmd, out string, force bool, inputs ...string) int {
	if out == "" {
		fmt.Fprintf(stderr, "fc2conv %s: missing -o OUT, the output model file (try --help)\n", cmd)
		return exitUsage
	}
	if fi, err := os.Stat(out); err == nil && fi.IsDir() {
		fmt.Fprintf(stderr, "fc2conv %s: -o %s is a directory; give a file name\n", cmd, out)
		return exitUsage
	}
	if _, err := os.Stat(filepath.Dir(out)); err != nil {
		fmt.Fprintf(stderr, "fc2conv %s: -o %s: %v\n", cmd, out, err)
		return exitFail
	}
	for _, in := range inputs {
		if sameFile(in, out) {
			fmt.Fprintf(stderr, "fc2conv %s: -o %s is also an input; writing it would destroy the input\n", cmd, out)
			return exitUsage
		}
	}
	if _, err := os.Stat(out); err == nil && !force {
		fmt.Fprintf(stderr, "fc2conv %s: -o %s exists; give --force to overwrite it or another -o\n", cmd, out)
		return exitUsage
	}
	return exitOK
}

// sameFile reports whether a and b name one existing file.
func sameFile(a, b string) bool {
	fa, err := os.Stat(a)
	if err != nil {
		return false
	}
	fb, err := os.Stat(b)
	return err == nil && os.SameFile(fa, fb)
}
