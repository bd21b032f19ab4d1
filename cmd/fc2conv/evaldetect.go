package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"

	"github.com/fc2conv/fc2conv/detect"
	"github.com/fc2conv/fc2conv/fmnist"
	"github.com/fc2conv/fc2conv/scan"
)

func runEvalDetect(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("eval detect", "", "Scores scan output (jsonl) against scene ground truth (truth.jsonl from\n'fc2conv scenes'): COCO-style 101-point AP@0.5 for dresses, and recall and false\npositives per image at each threshold. Scan with a low --threshold (e.g. 0.05)\nso the sweep sees every box; boxes are matched to truth by image base name.", stderr)
	truthPath := fs.String("truth", "", "ground truth `file` (truth.jsonl)")
	scanPath := fs.String("scan", "", "scan output `file` (jsonl)")
	at := fs.Float64("threshold", 0.5, "threshold to report recall and false positives at")
	maxFP := fs.Float64("max-fp", 0.1, "choose the operating point: the lowest threshold (the highest recall) with at most this many false positives per image; 0 skips it")
	margin := fs.Float64("margin", 0, "with --max-fp, also choose the threshold to store with this much headroom: at most max-fp − margin false positives per image on these scenes")
	if code, ok := parse(fs, args); !ok {
		return code
	}
	if !(*maxFP >= 0) || !(*margin >= 0) || (*margin > 0 && *margin >= *maxFP) {
		fmt.Fprintf(stderr, "fc2conv eval detect: --max-fp %v and --margin %v: want max-fp ≥ 0 and 0 ≤ margin < max-fp\n", *maxFP, *margin)
		return exitUsage
	}
	if *truthPath == "" || *scanPath == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "fc2conv eval detect: need --truth FILE and --scan FILE, and no other arguments (try --help)")
		return exitUsage
	}
	tf, err := os.Open(*truthPath)
	if err != nil {
		fmt.Fprintf(stderr, "fc2conv eval detect: --truth: %v\n", err)
		return exitFail
	}
	defer tf.Close()
	truths, err := fmnist.ReadTruth(tf, *truthPath)
	if err != nil {
		fmt.Fprintf(stderr, "fc2conv eval detect: --truth: %v\n", err)
		return exitFail
	}
	recs, err := readRecords(*scanPath)
	if err != nil {
		fmt.Fprintf(stderr, "fc2conv eval detect: --scan: %v\n", err)
		return exitFail
	}
	dets := make([][]detect.ScoredBox, len(truths))
	gt := make([][][4]float64, len(truths))
	for k, t := range truths {
		r, ok := recs[filepath.Base(t.Image)]
		if !ok {
			fmt.Fprintf(stderr, "fc2conv eval detect: %s has no record for %s\n", *scanPath, t.Image)
			return exitFail
		}
		if r.Error != "" {
			fmt.Fprintf(stderr, "fc2conv eval detect: %s failed to scan: %s\n", t.Image, r.Error)
			return exitFail
		}
		for _, d := range r.Detections {
			dets[k] = append(dets[k], detect.ScoredBox{Box: d.Box, Score: d.Score})
		}
		for _, o := range t.Objects {
			if o.Class == fmnist.Dress {
				gt[k] = append(gt[k], o.Box)
			}
		}
	}
	m, err := detect.MatchBoxes(dets, gt, 0.5)
	if err != nil {
		fmt.Fprintf(stderr, "fc2conv eval detect: %v\n", err)
		return exitFail
	}
	ap, err := m.AveragePrecision()
	if err != nil {
		fmt.Fprintf(stderr, "fc2conv eval detect: %v\n", err)
		return exitFail
	}
	fmt.Fprintf(stdout, "%d scenes, AP@0.5 (dress) %.4f\n", len(truths), ap)
	fmt.Fprintln(stdout, "threshold  recall  FP/image")
	thresholds := []float64{0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995, 0.999}
	if !slices.Contains(thresholds, *at) {
		thresholds = append(thresholds, *at)
	}
	sort.Float64s(thresholds)
	sweep := m.Sweep()
	for _, t := range thresholds {
		p := sweep.At(t)
		mark := ""
		if t == *at {
			mark = "  <- --threshold"
		}
		fmt.Fprintf(stdout, "%9.4g  %6.4f  %8.3f%s\n", t, p.Recall, p.FPPerImage, mark)
	}
	if *maxFP > 0 {
		operatingPoint(stdout, sweep, *maxFP, "lowest threshold", *scanPath)
		if *margin > 0 {
			operatingPoint(stdout, sweep, *maxFP-*margin, fmt.Sprintf("with margin %.3g, threshold to store", *margin), *scanPath)
		}
	}
	return exitOK
}

// operatingPoint prints the lowest threshold (the highest recall) with at
// most maxFP false positives per image, or why there is none.
func operatingPoint(w io.Writer, sweep *detect.Sweep, maxFP float64, what, scanPath string) {
	switch p, ok := sweep.Lowest(maxFP); {
	case ok:
		fmt.Fprintf(w, "%s with ≤ %.3g FP/image: %.4g (recall %.4f, %.3f FP/image)\n", what, maxFP, p.Threshold, p.Recall, p.FPPerImage)
	case len(sweep.Points) == 0:
		fmt.Fprintf(w, "no boxes in %s to choose a threshold from\n", scanPath)
	default:
		top := sweep.Points[0]
		fmt.Fprintf(w, "no threshold gives ≤ %.3g FP/image: the highest score, %.4g, already gives %.3f\n", maxFP, top.Threshold, top.FPPerImage)
	}
}

func readRecords(path string) (map[string]scan.Record, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]scan.Record{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	for line := 1; sc.Scan(); line++ {
		var r scan.Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, line, err)
		}
		out[filepath.Base(r.Image)] = r
	}
	return out, sc.Err()
}
