package main

import (
	"flag"
	"fmt"
	"image"
	"image/color"
	"io"
	"math/rand"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/fc2conv/fc2conv/detect"
	"github.com/fc2conv/fc2conv/nn"
	"github.com/fc2conv/fc2conv/nn/kernels"
	"github.com/fc2conv/fc2conv/scan"
)

// maxBenchRuns bounds --runs; a run of a large model can take seconds.
const maxBenchRuns = 1000

func runBench(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("bench", "[MODEL.safetensors]",
		"Times the engine on MODEL (default: the embedded dress model): per layer (a\n"+
			"residual block's or concatenation's paths step by step under it, marked ↳) and in\n"+
			"total, the median time over --runs passes, GFLOP/s, and the share of this\n"+
			"machine's single-thread GEMM rate (measured first, with the same kernels);\n"+
			"then a whole default scan of one image: seconds per image, images per second\n"+
			"and the peak memory (RSS) of the process. An FC model is converted first.\n"+
			"Threads: the Go runtime's GOMAXPROCS (GOMAXPROCS=1 fc2conv bench for one); the\n"+
			"engine pass splits each convolution over them, so its share of the\n"+
			"single-thread rate can pass 100%.", stderr)
	size := fs.String("size", "1024x512", "input `WxH` in pixels for the engine pass and the scanned image")
	runs := fs.Int("runs", 5, fmt.Sprintf("timed passes per measurement, 1 to %d (the median is printed)", maxBenchRuns))
	imagePath := fs.String("image", "", "scan this image `file` instead of a synthetic one of --size")
	noScan := fs.Bool("no-scan", false, "time the engine only, not a whole scan")
	verifierPath := fs.String("verifier", "", "the scan's second-stage classifier, as scan --verifier: a `file`, \"embedded\" or \"none\", or several comma-separated to average, or a list saved by verifier-list (.json) (default: the embedded verifier with the embedded model)")
	scoring := addVerifierScoringFlags(fs)
	kernel := fs.String("kernel", "", "GEMM micro-kernel `name`, to compare them: one of "+strings.Join(kernels.MicroKernels(), ", ")+" (default: the first, the fastest this CPU has)")
	if code, ok := parse(fs, args); !ok {
		return code
	}
	usageErr := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "fc2conv bench: "+format+"\n", a...)
		return exitUsage
	}
	w, h, err := modelAndSize(fs, *size)
	if err != nil {
		return usageErr("%v", err)
	}
	if *runs < 1 || *runs > maxBenchRuns {
		return usageErr("--runs %d out of range [1,%d]", *runs, maxBenchRuns)
	}
	if *kernel != "" {
		p, err := kernels.PackedWith(*kernel)
		if err != nil {
			return usageErr("--kernel: %v", err)
		}
		// Before any engine is made (they take Default when made); put
		// back on return, for callers in the same process (the tests).
		defer func(d kernels.Kernels) { kernels.Default = d }(kernels.Default)
		kernels.Default = p
	}
	var opt detect.Options
	if err := scoring.set(&opt); err != nil {
		return usageErr("%v", err)
	}
	verifierName, _, err := openVerifier(&opt, *verifierPath, fs.Arg(0), nn.Limits{})
	var det *detect.Detector
	var model scan.Model
	if err == nil {
		det, model, err = openModelLimits(fs.Arg(0), opt, nn.Limits{})
	}
	if ferr, isOption := optionFlagErr(err); isOption {
		return usageErr("%v", ferr)
	}
	if err != nil {
		fmt.Fprintf(stderr, "fc2conv bench: %v\n", err)
		return exitFail
	}
	net := det.Network()
	in := nn.Shape{C: net.Input.Channels, H: h, W: w}
	e := nn.NewEngine(net)
	e.SetThreads(runtime.GOMAXPROCS(0))
	if _, err := e.OutShape(in); err != nil {
		fmt.Fprintf(stderr, "fc2conv bench: --size %s: %v\n", *size, err)
		return exitFail
	}
	fmt.Fprintf(stdout, "model %s (sha256 %s…), input %v, GOMAXPROCS %d\n", model.Name, model.SHA256, in, runtime.GOMAXPROCS(0))
	rate := gemmRate(*runs)
	fmt.Fprintf(stdout, "single-thread GEMM rate: %.1f GFLOP/s (512×512×512, median of %d, %s)\n\n", rate, *runs, gemmName())

	x := make([]float32, in.Size())
	rng := rand.New(rand.NewSource(1))
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	profiles := make([][]nn.LayerCost, 0, *runs)
	for r := 0; r <= *runs; r++ { // the first pass warms the buffers up
		p, err := e.Profile(x, in)
		if err != nil {
			fmt.Fprintf(stderr, "fc2conv bench: %v\n", err)
			return exitFail
		}
		if r > 0 {
			profiles = append(profiles, p)
		}
	}
	printProfile(stdout, profiles, rate)

	if *noScan {
		return exitOK
	}
	img, what, err := benchImage(*imagePath, w, h)
	if err != nil {
		fmt.Fprintf(stderr, "fc2conv bench: --image: %v\n", err)
		return exitFail
	}
	times := make([]time.Duration, 0, *runs)
	for r := 0; r < *runs; r++ {
		t0 := time.Now()
		if _, err := det.Detect(img); err != nil {
			fmt.Fprintf(stderr, "fc2conv bench: scan: %v\n", err)
			return exitFail
		}
		times = append(times, time.Since(t0))
	}
	med := median(times)
	with := "the default options"
	if verifierName != "" {
		with += " and verifier " + verifierName + verifierScoring(opt)
	}
	fmt.Fprintf(stdout, "\nscan of %s with %s: %.3f s per image (median of %d), %.2f images/s\n",
		what, with, med.Seconds(), *runs, 1/med.Seconds())
	if peak, ok := peakRSS(); ok {
		fmt.Fprintf(stdout, "peak memory (RSS) of this process: %.0f MiB\n", float64(peak)/(1<<20))
	}
	return exitOK
}

// modelAndSize checks the arguments of a command that takes at most one
// MODEL and a --size, and reads the size.
func modelAndSize(fs *flag.FlagSet, size string) (w, h int, err error) {
	if fs.NArg() > 1 {
		return 0, 0, fmt.Errorf("at most one MODEL, got %d arguments (try --help)", fs.NArg())
	}
	if fs.NArg() == 1 && scan.IsImageName(fs.Arg(0)) {
		// A common slip: the image where the model goes.
		return 0, 0, fmt.Errorf("MODEL %s is an image, not a model file (try --help)", fs.Arg(0))
	}
	if w, h, err = parseSize(size); err != nil {
		return 0, 0, fmt.Errorf("--size %q: %w", size, err)
	}
	return w, h, nil
}

// parseSize reads WxH.
func parseSize(s string) (w, h int, err error) {
	a, b, ok := strings.Cut(strings.ToLower(s), "x")
	if !ok {
		return 0, 0, fmt.Errorf("want WxH, e.g. 1024x512")
	}
	if w, err = strconv.Atoi(a); err == nil {
		h, err = strconv.Atoi(b)
	}
	if err != nil || w < 1 || h < 1 || w > 1<<16 || h > 1<<16 {
		return 0, 0, fmt.Errorf("want two sizes in [1,%d], e.g. 1024x512", 1<<16)
	}
	return w, h, nil
}

// gemmRate is the median single-thread rate of the default kernels on a
// 512×512×512 product, in GFLOP/s.
func gemmRate(runs int) float64 {
	const n = 512
	a, b, c := make([]float32, n*n), make([]float32, n*n), make([]float32, n*n)
	for i := range a {
		a[i], b[i] = float32(i%7)-3, float32(i%5)-2
	}
	kernels.Default.Gemm(n, n, n, a, n, b, n, c, n)
	times := make([]time.Duration, 0, runs)
	for r := 0; r < runs; r++ {
		t0 := time.Now()
		kernels.Default.Gemm(n, n, n, a, n, b, n, c, n)
		times = append(times, time.Since(t0))
	}
	return 2 * n * n * n / median(times).Seconds() / 1e9
}

func printProfile(w io.Writer, profiles [][]nn.LayerCost, rate float64) {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "layer\tkind\toutput\tms\tGFLOP/s\tof GEMM rate\t")
	total, flops := profileRows(tw, profiles, rate, "")
	g := float64(flops) / total.Seconds() / 1e9
	fmt.Fprintf(tw, "total\t\t\t%.2f\t%.1f\t%.0f%%\t\n", float64(total.Microseconds())/1e3, g, 100*g/rate)
	tw.Flush()
}

// profileRows prints one row per step, the median over the runs, and
// under a block each path's steps after a "path N" row, marked one "↳"
// deeper (the table is right-aligned, so the marks sit by the names); it
// returns the steps' summed time and FLOPs.
func profileRows(tw io.Writer, profiles [][]nn.LayerCost, rate float64, indent string) (time.Duration, int64) {
	var total time.Duration
	var flops int64
	for i, c := range profiles[0] {
		times := make([]time.Duration, len(profiles))
		for r, p := range profiles {
			times[r] = p[i].Time
		}
		t := median(times)
		total += t
		flops += c.FLOPs
		gf, share := "", ""
		if c.FLOPs > 0 && t > 0 {
			g := float64(c.FLOPs) / t.Seconds() / 1e9
			gf, share = fmt.Sprintf("%.1f", g), fmt.Sprintf("%.0f%%", 100*g/rate)
		}
		name, kind := c.Layer.Name(), string(c.Layer.Kind())
		for _, f := range c.Fused {
			name, kind = name+"+"+f.Name(), kind+"+"+string(f.Kind())
		}
		fmt.Fprintf(tw, "%s%s\t%s\t%v\t%.2f\t%s\t%s\t\n", indent, name, kind, c.Out, float64(t.Microseconds())/1e3, gf, share)
		for p := range c.Paths {
			runs := make([][]nn.LayerCost, len(profiles))
			for r, prof := range profiles {
				runs[r] = prof[i].Paths[p]
			}
			if len(runs[0]) == 0 {
				fmt.Fprintf(tw, "%s↳ path %d: the input itself\t\t\t\t\t\t\n", indent, p)
				continue
			}
			fmt.Fprintf(tw, "%s↳ path %d\t\t\t\t\t\t\n", indent, p)
			profileRows(tw, runs, rate, indent+"↳ ")
		}
	}
	return total, flops
}

// benchImage is the image a scan is timed on: the file, or a synthetic
// w×h scene of smooth shapes and noise (deterministic).
func benchImage(path string, w, h int) (image.Image, string, error) {
	if path != "" {
		img, err := detect.LoadImage(path)
		return img, path, err
	}
	img := image.NewGray(image.Rect(0, 0, w, h))
	rng := rand.New(rand.NewSource(3))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			v := 128 + 60*((x/37+y/23)%3-1) + rng.Intn(41) - 20
			img.SetGray(x, y, color.Gray{Y: uint8(max(0, min(255, v)))})
		}
	}
	return img, fmt.Sprintf("a synthetic %d×%d image", w, h), nil
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// peakRSS is the process's peak resident set (Linux's VmHWM).
func peakRSS() (int64, bool) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10, err == nil
		}
	}
	return 0, false
}

// gemmName says which GEMM the engines use: the packed micro-kernel's
// name, or gonum's.
func gemmName() string {
	if p, ok := kernels.Default.(kernels.Packed); ok {
		return p.MicroKernel() + " micro-kernel"
	}
	return "gonum"
}
