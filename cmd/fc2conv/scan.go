package main

import (
	"cmp"
	"context"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"hash/fnv"
	"image"
	"image/png"
	"io"
	iofs "io/fs"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/fc2conv/fc2conv/detect"
	"github.com/fc2conv/fc2conv/internal/fileio"
	"github.com/fc2conv/fc2conv/models"
	"github.com/fc2conv/fc2conv/nn"
	"github.com/fc2conv/fc2conv/onnx"
	"github.com/fc2conv/fc2conv/scan"
	"github.com/schollz/progressbar/v3"
)

func runScan(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("scan", "PATH...", "Scans images for the model's positive class (dresses, with the embedded model).\nPATH is an image, a directory (walked recursively), a glob, or - (paths on stdin).\nWrites one record per image, in input order, as soon as it is done.", stderr)
	modelPath := fs.String("model", "", "model `file` (.safetensors, FC or converted, or an ONNX classifier, converted on load); default: the embedded dress model")
	class := fs.Int("class", 0, "output channel to score; default: the model's positive class (another class is scanned at 0.5 unless --threshold is given, and with --verifier none: a verifier checks the positive class)")
	threshold := fs.Float64("threshold", 0, "score threshold in [0,1]; default: the --verifier's own, else the model's own (chosen on validation scenes), or 0.5")
	verifierPath := fs.String("verifier", "", verifierHelp)
	scoring := addVerifierScoringFlags(fs)
	nms := fs.Float64("nms", detect.DefaultNMS, "IoU above which overlapping boxes are suppressed")
	vote := fs.Float64("vote", detect.DefaultVote, "move each box to the score-weighted mean of the windows overlapping it at IoU ≥ this (box voting); 0 = off")
	scalesFlag := fs.String("scales", "", "comma-separated resize factors (e.g. 1 or 1,0.5); default: a pyramid")
	factor := fs.Float64("scale-factor", detect.DefaultScaleFactor, "ratio between pyramid levels")
	upsample := fs.Bool("upsample", false, "add pyramid levels above 1 (up to 2) for objects smaller than the window")
	minSize := fs.Int("min-size", 0, "smallest object `height` in pixels looked for: the pyramid starts where the window covers it, upsampling below the window height; instead of --scales and --upsample")
	maxSize := fs.Int("max-size", 0, "largest object `height` in pixels looked for (default: up to the image); instead of --scales")
	step := fs.Int("step", 0, "window step in pixels at each scale; must divide the total stride (default: the stride)")
	maxDet := fs.Int("max-detections", detect.DefaultMaxDetections, "most boxes per image; 0 = no limit")
	padSmall := fs.Bool("pad-small", false, "pad images smaller than the window instead of reporting an error")
	flip := fs.Bool("flip", true, "average each window's score with its mirror image's; --flip=false halves the work")
	format := fs.String("format", "jsonl", "output format: jsonl, csv or coco")
	outPath := fs.String("out", "", "output `file` (default stdout)")
	heatDir := fs.String("heatmaps", "", "write an overlay PNG per image to `dir`")
	rawDir := fs.String("raw", "", "write raw heatmaps (.npy float32, rows×cols) per image and scale to `dir`")
	workers := fs.Int("workers", defaultWorkers(), "images scanned in parallel (at most one per image)")
	threads := fs.Int("threads", 0, "goroutines per image for its convolutions (default: the cores the workers leave, GOMAXPROCS / workers)")
	shardFlag := fs.String("shard", "", "scan only part `i/N` of the input list (deterministic, disjoint); auto: from the scheduler's environment (Kubernetes Indexed Job, Slurm array, GNU parallel)")
	shards := fs.Int("shards", 0, "with --shard auto: the number of shards, where the scheduler does not say (default: $"+scan.ShardCountEnv+")")
	resume := fs.Bool("resume", false, "skip images already recorded in --out (jsonl), which must have been written by the same model and verifier at the same threshold")
	maxPixels := fs.Int("max-pixels", detect.MaxImagePixels, "refuse an image whose header declares more pixels than this, before decoding it")
	timeout := fs.Duration("timeout", 0, "give up on an image that takes longer than this `duration` (e.g. 30s) and record an error; 0 = no limit")
	maxElems := fs.Int64("max-tensor-elements", nn.MaxElements, "refuse a --model with a tensor of more elements than this")
	maxWeights := fs.Int64("max-weight-bytes", nn.DefaultMaxWeightBytes, "refuse a --model whose weights take more bytes than this (as float32 for ONNX)")
	maxNodes := fs.Int("max-onnx-nodes", onnx.DefaultMaxNodes, "refuse an ONNX --model whose graph has more nodes than this")
	quiet := fs.Bool("quiet", false, "no progress bar or periodic progress lines")
	pre := addONNXFlags(fs, false)
	if code, ok := parse(fs, args); !ok {
		return code
	}
	usageErr := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "fc2conv scan: "+format+"\n", a...)
		return exitUsage
	}
	if fs.NArg() == 0 {
		return usageErr("no PATH given (try --help)")
	}
	imp, impErr := pre.options(fs, *modelPath)
	if impErr != nil {
		return usageErr("%v", impErr)
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	opt := detect.Options{NMS: *nms, Vote: *vote, ScaleFactor: *factor, Upsample: *upsample, Step: *step, MinSize: *minSize, MaxSize: *maxSize,
		MaxDetections: *maxDet, PadSmall: *padSmall, NoFlip: !*flip, Threshold: *threshold}
	if err := scoring.set(&opt); err != nil {
		return usageErr("%v", err)
	}
	if set["class"] {
		opt.Class = detect.Class(*class)
	}
	if set["threshold"] && *threshold == 0 {
		opt.Threshold = detect.EveryWindow // scores are probabilities: 0 keeps every window
	}
	if opt.Vote == 0 {
		opt.Vote = detect.Off
	}
	if opt.MaxDetections == 0 {
		opt.MaxDetections = detect.Off
	}
	if *scalesFlag != "" {
		for _, f := range strings.Split(*scalesFlag, ",") {
			k, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
			if err != nil || !(k > 0) || math.IsInf(k, 0) {
				return usageErr("--scales %s: %q is not a finite number > 0", *scalesFlag, strings.TrimSpace(f))
			}
			opt.Scales = append(opt.Scales, k)
		}
	}
	// Values the library reads as "default" or "off" (0, detect.Off) must
	// not slip through where the flag means something else by them.
	switch {
	case set["threshold"] && !(*threshold >= 0 && *threshold <= 1):
		return usageErr("--threshold %v out of range [0,1]", *threshold)
	case *nms == 0:
		return usageErr("--nms 0 out of range (0,1]")
	case *vote < 0:
		return usageErr("--vote %v out of range [0,1]", *vote)
	case *factor == 0:
		return usageErr("--scale-factor 0 must be > 1")
	case *maxDet < 0:
		return usageErr("--max-detections %d is negative", *maxDet)
	}
	if *workers < 1 || *workers > 1024 {
		return usageErr("--workers %d out of range [1,1024]", *workers)
	}
	if *threads < 0 || *threads > 1024 {
		return usageErr("--threads %d out of range [0,1024] (0: GOMAXPROCS / workers)", *threads)
	}
	switch {
	case *maxPixels < 1 || *maxPixels > detect.MaxImagePixels:
		return usageErr("--max-pixels %d out of range [1,%d]", *maxPixels, detect.MaxImagePixels)
	case *timeout < 0:
		return usageErr("--timeout %v is negative", *timeout)
	case *maxElems < 1 || *maxElems > nn.MaxElements:
		return usageErr("--max-tensor-elements %d out of range [1,%d]", *maxElems, nn.MaxElements)
	case *maxWeights < 1:
		return usageErr("--max-weight-bytes %d must be at least 1", *maxWeights)
	case *maxNodes < 1:
		return usageErr("--max-onnx-nodes %d must be at least 1", *maxNodes)
	}
	shard := scan.Shard{I: 0, N: 1}
	switch {
	case *shardFlag == "auto":
		var err error
		var from string
		if shard, from, err = scan.ShardFromEnv(os.Getenv, *shards); err != nil {
			return usageErr("--shard auto: %v (--shards N gives the count)", err)
		}
		fmt.Fprintf(stderr, "fc2conv scan: shard %d/%d, from %s\n", shard.I, shard.N, from)
	case set["shards"]:
		return usageErr("--shards goes with --shard auto only")
	case *shardFlag != "":
		var err error
		if shard, err = scan.ParseShard(*shardFlag); err != nil {
			return usageErr("--shard: %v", err)
		}
	}
	// Checked here so that a bad format never truncates --out.
	if _, err := scan.NewWriter(*format, io.Discard, false); err != nil {
		return usageErr("--format: %v", err)
	}
	if *resume && (*outPath == "" || *format != "jsonl") {
		return usageErr("--resume needs --out FILE and --format jsonl (csv and coco are written whole when the scan ends, so there is nothing to resume)")
	}
	// --out as the system resolves it: a symlink's target is locked and
	// replaced, not the link; a device or FIFO (/dev/stdout) is written in
	// place, with no lock, temporary file or resume.
	outTarget, special := *outPath, false
	if st, err := os.Stat(*outPath); *outPath != "" && err == nil {
		switch {
		case st.IsDir():
			return usageErr("--out %s: is a directory", *outPath)
		case !st.Mode().IsRegular():
			special = true
		default:
			if real, err := filepath.EvalSymlinks(*outPath); err == nil {
				outTarget = real
			}
		}
	}
	if special && *resume {
		return usageErr("--resume needs --out to be a regular file, and %s is not", *outPath)
	}
	dirs := []struct{ flag, path string }{{"--heatmaps", *heatDir}, {"--raw", *rawDir}}
	for _, d := range dirs {
		if st, err := os.Stat(d.path); d.path != "" && err == nil && !st.IsDir() {
			return usageErr("%s %s: not a directory", d.flag, d.path)
		}
	}
	var err error
	inputs, err := scan.Expand(fs.Args(), os.Stdin)
	if err != nil {
		return usageErr("%v", err)
	}
	// Nothing to scan is a usage error, as a PATH that names nothing is
	// for ls: a script should not take it for a clean scan.
	if len(inputs.Paths) == 0 {
		return usageErr("no images found under %s (directories are searched for %s)", strings.Join(fs.Args(), " "), imageExtList())
	}
	for _, dir := range inputs.Empty {
		fmt.Fprintf(stderr, "fc2conv scan: warning: no images found under %s\n", dir)
	}
	// Every output is known to be writable before the first image.
	for _, d := range dirs {
		if d.path != "" {
			if err := writableDir(d.path, true); err != nil {
				fmt.Fprintf(stderr, "fc2conv scan: %s: %v\n", d.flag, err)
				return exitFail
			}
		}
	}
	// The lock comes before resume reads --out, so that two scans never
	// both append to it.
	if *outPath != "" && !special {
		unlock, err := scan.LockOutput(outTarget)
		if err != nil {
			fmt.Fprintf(stderr, "fc2conv scan: --out: %v\n", err)
			if errors.Is(err, scan.ErrLocked) {
				return exitLocked
			}
			return exitFail
		}
		defer func() {
			if err := unlock(); err != nil {
				fmt.Fprintf(stderr, "fc2conv scan: --out: releasing the lock: %v\n", err)
			}
		}()
	}
	resumed := scan.Resumed{Done: map[string]bool{}}
	if *resume {
		if resumed, err = scan.Done(outTarget); err != nil {
			fmt.Fprintf(stderr, "fc2conv scan: --resume: %v\n", err)
			return exitFail
		}
	}
	paths := scan.Filter(inputs.Paths, shard, resumed.Done)

	// Images run in parallel, one per worker; when there are fewer images
	// than workers, the spare cores go to each image's convolutions.
	nWorkers := min(*workers, max(1, len(paths)))
	if !set["threads"] {
		*threads = max(1, runtime.GOMAXPROCS(0)/nWorkers)
	}
	opt.Threads = *threads
	lim := nn.Limits{MaxTensorElements: *maxElems, MaxWeightBytes: *maxWeights}
	imp.Limits, imp.MaxNodes = lim, *maxNodes
	det, model, err := openDetection(&opt, "--model", *modelPath, *verifierPath, lim, imp)
	if err != nil {
		if ferr, isOption := optionFlagErr(err); isOption {
			return usageErr("%v", ferr)
		}
		if errors.Is(err, nn.ErrLimit) {
			err = fmt.Errorf("%w (raise --max-tensor-elements, --max-weight-bytes or --max-onnx-nodes if the model is trusted)", err)
		}
		fmt.Fprintf(stderr, "fc2conv scan: %v\n", err)
		if errors.Is(err, iofs.ErrNotExist) {
			return exitUsage
		}
		return exitFail
	}
	// Records carry the threshold as the user gave it (0, not EveryWindow).
	recThr := det.Threshold()
	if set["threshold"] {
		recThr = *threshold
	}
	// A resumed file holds one model's records at one threshold, or its
	// readers could not tell which box came from which.
	if err := resumed.Check(outTarget, model, recThr); err != nil {
		fmt.Fprintf(stderr, "fc2conv scan: --resume: %v\n", err)
		return exitUsage
	}
	switch {
	case set["threshold"]: // the user chose it: nothing to warn of
	case len(opt.MoreVerifiers) > 0 && isVerifierList(*verifierPath):
		// A verifier list's threshold was chosen for the mean: nothing to warn of.
	case len(opt.MoreVerifiers) > 0:
		// Each one's threshold was chosen for its own p, not their mean.
		fmt.Fprintf(stderr, "fc2conv scan: warning: --verifier %s averages %d verifiers, whose thresholds were not chosen for it; scanning at %g (set --threshold)\n", *verifierPath, 1+len(opt.MoreVerifiers), recThr)
	case opt.Verifier != nil && opt.Verifier.Threshold == 0:
		// The model's threshold was chosen for its own score, not the verified one.
		fmt.Fprintf(stderr, "fc2conv scan: warning: --verifier %s stores no threshold; scanning at %g (set --threshold)\n", cmp.Or(*verifierPath, verifierEmbedded), recThr)
	case det.Class() != det.Network().Positive:
		// Stored thresholds were chosen for the positive class.
		fmt.Fprintf(stderr, "fc2conv scan: warning: --class %d is not %s's positive class (%d), which its threshold is for; scanning at %g (set --threshold)\n", det.Class(), model.Name, det.Network().Positive, recThr)
	case det.Network().Threshold == 0:
		fmt.Fprintf(stderr, "fc2conv scan: warning: %s stores no threshold; scanning at %g (set --threshold)\n", model.Name, recThr)
	}

	out := io.Writer(stdout)
	var outFile *scanOutput
	if *outPath != "" {
		if outFile, err = openScanOutput(outTarget, *format, *resume, special); err != nil {
			fmt.Fprintf(stderr, "fc2conv scan: --out: %v\n", err)
			return exitFail
		}
		defer outFile.abandon()
		out = outFile.f
	}
	w, err := scan.NewWriter(*format, out, len(resumed.Done) == 0)
	if err != nil {
		fmt.Fprintf(stderr, "fc2conv scan: --out: %v\n", err)
		return exitFail
	}
	// Globs that matched nothing are failures the user should see.
	failedEarly := 0
	for _, m := range inputs.Missing {
		if shard.Keep(m) && !scan.IsDone(resumed.Done, m) {
			if err := w.Write(scan.Record{Image: m, Model: model.Name, ModelSHA256: model.SHA256, Threshold: recThr, Error: "no file matches this pattern"}); err != nil {
				fmt.Fprintf(stderr, "fc2conv scan: writing output: %v\n", err)
				return exitFail
			}
			failedEarly++
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	prog := newScanProgress(stderr, len(paths), *quiet, progressEvery)
	start := time.Now()
	sum, runErr := scan.Run(ctx, paths, scan.Options{
		Workers: nWorkers,
		NewScanner: func() (scan.ScanFunc, error) {
			return func(p string) scan.Record {
				return scanOne(det, model, recThr, p, *heatDir, *rawDir, *maxPixels, *timeout)
			}, nil
		},
		OnRecord: func(r scan.Record) error {
			prog.done(r.Error != "")
			return w.Write(r)
		},
	})
	prog.finish()
	if err := w.Close(); err != nil && runErr == nil {
		runErr = err
	}
	// A csv or coco file appears only whole: not after a write error or an
	// interruption.
	if outFile != nil && runErr == nil && !sum.Interrupted {
		runErr = outFile.commit()
	}
	elapsed := time.Since(start).Seconds()
	failed := sum.Failed + failedEarly
	fmt.Fprintf(stderr, "fc2conv scan: %d images scanned (%d failed, %d non-images skipped, %d already done) in %.1fs, %s, %d detections\n",
		sum.Scanned, failed, inputs.Skipped, len(resumed.Done), elapsed, rate(sum.Scanned, elapsed), sum.Detections)
	switch {
	case runErr != nil:
		fmt.Fprintf(stderr, "fc2conv scan: %v\n", runErr)
		return exitFail
	case sum.Interrupted:
		fmt.Fprintf(stderr, "fc2conv scan: interrupted after %d of %d images; run again with --resume to continue\n", sum.Scanned, len(paths))
		return exitFail
	case failed > 0:
		return exitFail
	}
	return exitOK
}

// optionFlags names the flag behind each detect.Options field.
var optionFlags = map[string]string{
	"Class": "--class", "Threshold": "--threshold", "NMS": "--nms", "Vote": "--vote",
	"ScaleFactor": "--scale-factor", "Scales": "--scales", "MinSize": "--min-size", "MaxSize": "--max-size",
	"Step": "--step", "MaxDetections": "--max-detections", "Upsample": "--upsample", "Threads": "--threads",
	"Verifier": "--verifier", "MoreVerifiers": "--verifier", "VerifierViews": "--verifier-views", "VerifierPool": "--verifier-pool", "VerifierWeight": "--verifier-weight",
}

// optionFlagErr rewrites an invalid detect option as an error about its
// flag; isOption says whether err was one (a usage error).
func optionFlagErr(err error) (_ error, isOption bool) {
	var oe *detect.OptionError
	if !errors.As(err, &oe) {
		return err, false
	}
	name, ok := optionFlags[oe.Option]
	with, withOK := optionFlags[oe.With]
	switch {
	case ok && withOK:
		return fmt.Errorf("%s and %s exclude each other", name, with), true
	case ok && errors.Is(err, detect.ErrUnverifiedClass):
		return fmt.Errorf("%s: %w; add --verifier none to scan that class without one", name, oe.Err), true
	case ok:
		return fmt.Errorf("%s: %w", name, oe.Err), true
	}
	return err, true
}

// imageExtList is the image extensions a directory walk looks for.
func imageExtList() string {
	exts := make([]string, 0, len(scan.ImageExts))
	for e := range scan.ImageExts {
		exts = append(exts, e)
	}
	sort.Strings(exts)
	return strings.Join(exts, " ")
}

func defaultWorkers() int { return max(1, runtime.NumCPU()) }

// openDetection opens the model at modelPath (openModelLimits) behind the
// verifier that verifierPath names (openVerifier, which puts it into opt)
// and names both for records. A model error names modelArg, the flag or
// argument that gave the path, unless modelArg is "".
func openDetection(opt *detect.Options, modelArg, modelPath, verifierPath string, lim nn.Limits, imp ...onnx.Options) (*detect.Detector, scan.Model, error) {
	verifierName, verifierFile, err := openVerifier(opt, verifierPath, modelPath, lim)
	if err != nil {
		return nil, scan.Model{}, err
	}
	det, model, err := openModelLimits(modelPath, *opt, lim, imp...)
	if err != nil {
		if modelArg != "" && modelPath != "" {
			err = fmt.Errorf("%s %s: %w", modelArg, modelPath, err)
		}
		return nil, scan.Model{}, err
	}
	if opt.Verifier != nil {
		model = model.With(verifierName+verifierScoring(*opt), verifierFile)
	}
	return det, model, nil
}

// verifierScoring names, for records, how the verifier scores boxes where
// that is not its own way (its stored views and pool, the default
// weight): the same files score otherwise.
func verifierScoring(opt detect.Options) string {
	var parts []string
	views, pool, err := detect.VerifierScoring(opt)
	own := opt
	own.VerifierViews, own.VerifierPool = 0, detect.PoolDefault
	ownViews, ownPool, ownErr := detect.VerifierScoring(own)
	if err == nil && ownErr == nil {
		if views != ownViews {
			parts = append(parts, fmt.Sprintf("views %d", views))
		}
		if pool != ownPool {
			parts = append(parts, pool.String())
		}
	}
	if w := opt.VerifierWeight; w != 0 && w != detect.DefaultVerifierWeight {
		parts = append(parts, fmt.Sprintf("weight %g", w))
	}
	if len(parts) == 0 {
		return ""
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

// openModelLimits opens the model file at path (an FC model is converted) or,
// for "", the embedded model, and names it for records (modelRecord). A
// file is read once, within lim; an ONNX one is imported with imp (scan's
// --mean, --std and --labels) if given.
func openModelLimits(path string, opt detect.Options, lim nn.Limits, imp ...onnx.Options) (*detect.Detector, scan.Model, error) {
	var o onnx.Options
	if len(imp) > 0 {
		o = imp[0]
	}
	o.Limits = lim
	net, b, err := readModelOrEmbedded(path, o)
	if err != nil {
		return nil, scan.Model{}, err
	}
	d, err := detect.NewConverted(net, opt)
	if err != nil {
		return nil, scan.Model{}, err
	}
	return d, modelRecord(path, b), nil
}

// Values of --verifier that name no file.
const (
	verifierNone     = "none"
	verifierEmbedded = "embedded"
)

// verifierHelp is the --verifier flag's description for scan and serve.
const verifierHelp = "second-stage classifier: a `file` (.safetensors or ONNX, ending in a softmax or sigmoid), \"embedded\" or \"none\"; " +
	"several, comma-separated, are averaged as one (their logits' mean; each sees the box at its own window; the first's stored views and pool apply, no stored threshold); a .json file is a list saved by 'fc2conv verifier-list', averaged so at its own threshold; " +
	"it is shown the image under each box the scan keeps, a box's score becomes sqrt(scan score × verifier's p), boxes go through --nms again, " +
	"and --threshold applies to that score (default: the embedded verifier with the embedded model, none with --model; see README)"

// verifierScoringFlags are how the verifier scores a box, the same flags
// for scan, serve and bench.
type verifierScoringFlags struct {
	views  *int
	pool   *string
	weight *float64
}

// addVerifierScoringFlags registers --verifier-views, --verifier-pool and
// --verifier-weight.
func addVerifierScoringFlags(fs *flag.FlagSet) verifierScoringFlags {
	return verifierScoringFlags{
		views:  fs.Int("verifier-views", 0, "boxes around each box the verifier is shown: 1 (the box), 5 (also moved by 5% of its side left, right, up, down), 7 (also scaled by exp(±0.12)) or 27 (every combination of those moves and scales) (default: the verifier's own, stored with its threshold, as 'fc2conv inspect' shows; else 1)"),
		pool:   fs.String("verifier-pool", "", "how the views' p (each mirror averaged) make the box's: mean, max or min (max and min need --verifier-views 5, 7 or 27) (default: the verifier's own with more than one view, else mean)"),
		weight: fs.Float64("verifier-weight", 0, "the verifier's weight w in a verified box's score, scan^(1−w) × p^w, in (0,1) (default 0.5: sqrt(scan × p))"),
	}
}

// set puts the flags into opt, or says which flag it cannot read.
func (f verifierScoringFlags) set(opt *detect.Options) error {
	pool, err := detect.ParsePool(*f.pool)
	if err != nil {
		return fmt.Errorf("--verifier-pool: %w", err)
	}
	opt.VerifierViews, opt.VerifierPool, opt.VerifierWeight = *f.views, pool, *f.weight
	return nil
}

// openVerifier puts the --verifier models into opt: path is one or more,
// comma-separated, each a file (fc2conv's own or ONNX, within lim) or
// "embedded"; the first is opt.Verifier and the rest its MoreVerifiers.
// A path that names an existing file is that file, commas and all.
// "none" is none. Left empty it is the embedded verifier when the model
// is the embedded one (modelPath "") and none otherwise: the shipped
// defaults are the pair and its verifier together. It returns the name
// and bytes that identify the verifiers in records ("" and nil for
// none): one verifier's own, several's names joined by commas and their
// bytes' hashes. Errors name the flag and the file.
func openVerifier(opt *detect.Options, path, modelPath string, lim nn.Limits) (string, []byte, error) {
	if path == "" && modelPath == "" {
		path = verifierEmbedded
	}
	if path == "" || path == verifierNone {
		return "", nil, nil
	}
	parts := strings.Split(path, ",")
	if len(parts) > 1 && isFile(path) {
		parts = []string{path} // a file whose own name holds a comma
	}
	if len(parts) == 1 && isVerifierList(path) {
		return openVerifierList(opt, path, lim)
	}
	var names []string
	var files [][]byte
	for _, part := range parts {
		net, name, b, err := openOneVerifier(part, lim)
		if err != nil {
			return "", nil, err
		}
		addVerifier(opt, net)
		names, files = append(names, name), append(files, b)
	}
	if len(files) == 1 {
		return names[0], files[0], nil
	}
	var sums []byte
	for _, b := range files {
		sum := sha256.Sum256(b)
		sums = append(sums, sum[:]...)
	}
	return strings.Join(names, ","), sums, nil
}

// addVerifier puts net into opt: the first as Verifier, the rest as its
// MoreVerifiers, in order.
func addVerifier(opt *detect.Options, net *nn.Network) {
	if opt.Verifier == nil {
		opt.Verifier = net
	} else {
		opt.MoreVerifiers = append(opt.MoreVerifiers, net)
	}
}

// isVerifierList reports whether a --verifier path names a verifier list
// file (detect.VerifierList) rather than a model.
func isVerifierList(path string) bool {
	return strings.EqualFold(filepath.Ext(path), ".json")
}

// openVerifierList puts the members of the verifier list file at path into
// opt, each checked against the hash the list pins, and its threshold
// into opt.Threshold unless one is set. Records name the list and hash
// its bytes, which pin every member's.
func openVerifierList(opt *detect.Options, path string, lim nn.Limits) (string, []byte, error) {
	b, err := fileio.ReadMax(path, detect.MaxVerifierListBytes)
	if err != nil {
		return "", nil, fmt.Errorf("--verifier %s: %w", path, err)
	}
	list, err := detect.ParseVerifierList(b)
	if err != nil {
		return "", nil, fmt.Errorf("--verifier %s: %w", path, err)
	}
	n := len(list.Verifiers)
	for i, m := range list.Verifiers {
		file := filepath.Join(filepath.Dir(path), filepath.FromSlash(m.File))
		if isVerifierList(file) {
			return "", nil, fmt.Errorf("--verifier %s: verifier %d of %d, %s, is a list; a list holds models", path, i+1, n, m.File)
		}
		net, mb, err := loadVerifierFile(file, lim)
		if err != nil {
			return "", nil, fmt.Errorf("--verifier %s: verifier %d of %d: %w", path, i+1, n, err)
		}
		if !m.Pins(mb) {
			return "", nil, fmt.Errorf("--verifier %s: verifier %d of %d, %s, has changed since the list was written (SHA-256 %.12s…, the list pins %.12s…); its threshold was chosen for the files it pins",
				path, i+1, n, file, detect.ListVerifier(m.File, mb).SHA256, m.SHA256)
		}
		addVerifier(opt, net)
	}
	if opt.Threshold == 0 {
		opt.Threshold = list.Threshold
	}
	return filepath.Base(path), b, nil
}

// openOneVerifier opens one of --verifier's models: "embedded" or a file.
func openOneVerifier(path string, lim nn.Limits) (*nn.Network, string, []byte, error) {
	var net *nn.Network
	var err error
	switch {
	case path == verifierEmbedded:
		if net, err = models.Verifier(); err != nil {
			return nil, "", nil, fmt.Errorf("--verifier: %w", err)
		}
		return net, "embedded:verifier", models.VerifierFile(), nil
	case path == "" || path == verifierNone:
		return nil, "", nil, fmt.Errorf("--verifier: %q in a list: want files or %q, comma-separated, or %q alone", path, verifierEmbedded, verifierNone)
	case isVerifierList(path):
		return nil, "", nil, fmt.Errorf("--verifier: %s in a list: a verifier list file is given alone", path)
	}
	net, b, err := loadVerifierFile(path, lim)
	if err != nil {
		return nil, "", nil, fmt.Errorf("--verifier %s: %w", path, err)
	}
	return net, filepath.Base(path), b, nil
}

// loadVerifierFile loads a verifier model file (fc2conv's own or ONNX,
// within lim) and its bytes, which records hash.
func loadVerifierFile(path string, lim nn.Limits) (*nn.Network, []byte, error) {
	return readModel(path, onnx.Options{Limits: lim})
}

// readModelOrEmbedded is readModel that, for "", gives the embedded
// model and its file's bytes.
func readModelOrEmbedded(path string, opt onnx.Options) (*nn.Network, []byte, error) {
	if path == "" {
		net, err := models.DressFCN()
		return net, models.DressFCNFile(), err
	}
	return readModel(path, opt)
}

// modelRecord names the model read from path, whose bytes are b, for
// records: its base name and hash or, for "", "embedded:dress-fcn" and the
// hash of the embedded file, which is models/dress-fcn.safetensors.
func modelRecord(path string, b []byte) scan.Model {
	if path == "" {
		return scan.NewModel("embedded:dress-fcn", b)
	}
	return scan.NewModel(filepath.Base(path), b)
}

// scanOne detects in one image and writes its heatmap files; every
// failure becomes the record's error. Images of more than maxPixels (0:
// the library's bound) are refused; with timeout > 0 one that takes longer
// is given up.
func scanOne(det *detect.Detector, model scan.Model, threshold float64, path, heatDir, rawDir string, maxPixels int, timeout time.Duration) scan.Record {
	t0 := time.Now()
	ctx := context.Background()
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	var rec scan.Record
	img, err := detect.LoadImageLimit(path, maxPixels)
	// Decoding cannot be stopped part way (--max-pixels bounds it); past
	// the deadline by then, detection is not started. The clock decides,
	// not the context's timer, which may not have fired yet.
	if dl, ok := ctx.Deadline(); ok && err == nil && !time.Now().Before(dl) {
		err = fmt.Errorf("decoding took %v: %w", time.Since(t0).Round(time.Millisecond), context.DeadlineExceeded)
	}
	if err == nil {
		// The detector checks the deadline between tiles.
		var res *detect.Result
		if res, err = det.DetectContext(ctx, img); err == nil {
			rec = scan.NewRecord(path, model, threshold, res)
			err = writeHeatmaps(&rec, img, res, heatDir, rawDir)
		}
	}
	if err != nil {
		var tooSmall detect.ErrTooSmall
		switch {
		case errors.As(err, &tooSmall):
			err = fmt.Errorf("image %d×%d is smaller than the %d×%d window at every scale; use --pad-small to pad it",
				tooSmall.Width, tooSmall.Height, tooSmall.Window.W, tooSmall.Window.H)
		case errors.Is(err, context.DeadlineExceeded):
			err = fmt.Errorf("gave up after --timeout %v: %w", timeout, err)
		case errors.Is(err, detect.ErrTooManyPixels):
			err = fmt.Errorf("%w (--max-pixels %d)", err, maxPixels)
		}
		return scan.Record{Image: path, Model: model.Name, ModelSHA256: model.SHA256, Threshold: threshold, Error: err.Error()}
	}
	rec.ElapsedMS = float64(time.Since(t0).Microseconds()) / 1000
	return rec
}

// fileStem names an input's output files uniquely: its base name plus a
// hash of its full path, so a/x.jpg and b/x.jpg do not collide.
func fileStem(path string) string {
	h := fnv.New32a()
	h.Write([]byte(path))
	base := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	return fmt.Sprintf("%s-%08x", base, h.Sum32())
}

func writeHeatmaps(rec *scan.Record, img image.Image, res *detect.Result, heatDir, rawDir string) error {
	if heatDir == "" && rawDir == "" {
		return nil
	}
	stem := fileStem(rec.Image)
	for k, hm := range res.Heatmaps {
		hf := scan.HeatmapFile{Scale: hm.Scale, Step: hm.Step.W, Rows: hm.Rows, Cols: hm.Cols}
		if rawDir != "" {
			// The scale as the record prints it, to 1e-4.
			hf.File = filepath.Join(rawDir, fmt.Sprintf("%s-s%g.npy", stem, math.Round(hm.Scale*1e4)/1e4))
			if err := writeFile(hf.File, func(w io.Writer) error { return detect.WriteNPY(w, hm.Rows, hm.Cols, hm.Data) }); err != nil {
				return err
			}
		}
		// One overlay per image: the highest score of any scale on the
		// largest scale's grid, with every detection.
		if heatDir != "" && k == 0 {
			hf.PNG = filepath.Join(heatDir, stem+".png")
			over := detect.RenderOverlay(img, detect.MaxOverScales(res.Heatmaps), res.Detections)
			if err := writeFile(hf.PNG, func(w io.Writer) error { return png.Encode(w, over) }); err != nil {
				return err
			}
		}
		rec.Heatmaps = append(rec.Heatmaps, hf)
	}
	return nil
}

func writeFile(path string, write func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	return f.Close()
}

// progressEvery is how often the progress line appears on a
// non-terminal.
const progressEvery = 5 * time.Second

// scanProgress shows a bar on a terminal, a line every progressEvery
// otherwise (also while a slow image is in progress), and nothing with
// --quiet.
type scanProgress struct {
	bar   *progressbar.ProgressBar
	w     io.Writer
	total int
	start time.Time
	stop  chan struct{}
	wg    sync.WaitGroup

	mu       sync.Mutex
	n, fails int
}

func newScanProgress(stderr io.Writer, total int, quiet bool, every time.Duration) *scanProgress {
	p := &scanProgress{total: total, start: time.Now(), stop: make(chan struct{})}
	if quiet {
		return p
	}
	if isTerminal(stderr) {
		p.bar = progressbar.NewOptions(total, progressbar.OptionSetWriter(stderr),
			progressbar.OptionSetDescription("scanning"), progressbar.OptionShowCount(),
			progressbar.OptionShowIts(), progressbar.OptionSetItsString("img"),
			progressbar.OptionSetPredictTime(true), progressbar.OptionClearOnFinish())
		return p
	}
	p.w = stderr
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				p.line()
			case <-p.stop:
				return
			}
		}
	}()
	return p
}

func (p *scanProgress) done(failed bool) {
	p.mu.Lock()
	p.n++
	if failed {
		p.fails++
	}
	fails := p.fails
	p.mu.Unlock()
	if p.bar != nil {
		p.bar.Describe(fmt.Sprintf("scanning (%d failed)", fails))
		_ = p.bar.Add(1)
	}
}

// line writes one progress line; before the first image is done it has
// no rate to tell.
func (p *scanProgress) line() {
	p.mu.Lock()
	n, fails := p.n, p.fails
	p.mu.Unlock()
	secs := time.Since(p.start).Seconds()
	if n == 0 {
		fmt.Fprintf(p.w, "fc2conv scan: 0/%d images after %.0fs, the first still in progress\n", p.total, secs)
		return
	}
	eta := time.Duration(float64(p.total-n) * secs / float64(n) * float64(time.Second))
	fmt.Fprintf(p.w, "fc2conv scan: %d/%d images, %s, ETA %s, %d failed\n", n, p.total, rate(n, secs), eta.Round(time.Second), fails)
}

func (p *scanProgress) finish() {
	close(p.stop)
	p.wg.Wait()
	if p.bar != nil {
		_ = p.bar.Finish()
	}
}

// rate prints n images in secs seconds with three significant digits, so
// that a slow scan reads 0.0432 images/s rather than 0.0.
func rate(n int, secs float64) string {
	r := float64(n) / max(secs, 1e-9)
	if r >= 100 {
		return fmt.Sprintf("%.0f images/s", r)
	}
	return fmt.Sprintf("%.3g images/s", r)
}

// writableDir makes dir if needed (mkdir) and proves it writable with a
// file created and removed in it.
func writableDir(dir string, mkdir bool) error {
	if mkdir {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	f, err := os.CreateTemp(dir, ".fc2conv-probe-*")
	if err != nil {
		return fmt.Errorf("cannot write in %s: %w", dir, err)
	}
	f.Close()
	return os.Remove(f.Name())
}

// scanOutput is the --out file. jsonl is written in place, one whole line
// per record, so that --resume can continue it; csv and coco go to a
// temporary file beside it, renamed over it by commit, so that a run that
// does not finish never leaves a plausible but partial file. A special
// file (device, FIFO) is written in place whatever the format.
type scanOutput struct {
	f         *os.File
	path, tmp string // tmp is "" when writing in place
}

func openScanOutput(path, format string, resume, special bool) (*scanOutput, error) {
	if format == "jsonl" || special {
		flags := os.O_CREATE | os.O_WRONLY | os.O_TRUNC
		if special {
			flags = os.O_WRONLY
		} else if resume {
			flags = os.O_CREATE | os.O_WRONLY | os.O_APPEND
		}
		f, err := os.OpenFile(path, flags, 0o644)
		if err != nil {
			return nil, err
		}
		return &scanOutput{f: f, path: path}, nil
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return nil, err
	}
	return &scanOutput{f: f, path: path, tmp: f.Name()}, nil
}

// commit closes the file and, for a temporary one, renames it into place.
func (o *scanOutput) commit() error {
	f := o.f
	o.f = nil
	if o.tmp == "" {
		return f.Close()
	}
	err := f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		if err = os.Chmod(o.tmp, 0o644); err == nil {
			err = os.Rename(o.tmp, o.path)
		}
	}
	if err != nil {
		os.Remove(o.tmp)
		return fmt.Errorf("writing %s: %w", o.path, err)
	}
	return nil
}

// abandon closes a file not committed; a temporary one is removed.
func (o *scanOutput) abandon() {
	if o.f == nil {
		return
	}
	o.f.Close()
	if o.tmp != "" {
		os.Remove(o.tmp)
	}
}

// isFile reports whether path names an existing regular file.
func isFile(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular()
}
