package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"slices"
	"sort"

	"github.com/fc2conv/fc2conv/detect"
	"github.com/fc2conv/fc2conv/fmnist"
	"github.com/fc2conv/fc2conv/internal/resample"
	"github.com/fc2conv/fc2conv/scan"
)

func runEvalDetect(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("eval detect", "", "Scores scan output (jsonl) against scene ground truth (truth.jsonl from\n'fc2conv scenes'): COCO-style 101-point AP@0.5 for dresses, and recall and false\npositives per image at each threshold. Scan with a low --threshold (e.g. 0.05)\nso the sweep sees every box; boxes are matched to truth by image base name.\n\n"+
		"Whether a new model beats the shipped one, or its scenes were kinder:\n"+
		"  fc2conv eval detect --truth val/truth.jsonl --scan new.jsonl --baseline shipped.jsonl --bootstrap 1000", stderr)
	truthPath := fs.String("truth", "", "ground truth `file` (truth.jsonl)")
	scanPath := fs.String("scan", "", "scan output `file` (jsonl)")
	at := fs.Float64("threshold", 0.5, "threshold to report recall and false positives at")
	maxFP := fs.Float64("max-fp", 0.1, "choose the operating point: the lowest threshold (the highest recall) with at most this many false positives per image; 0 skips it")
	margin := fs.Float64("margin", 0, "with --max-fp, also choose the threshold to store with this much headroom: at most max-fp − margin false positives per image on these scenes")
	baselinePath := fs.String("baseline", "", "another detector's scan `file` of the same scenes: print its AP and recall at --max-fp, and the difference")
	resamples := fs.Int("bootstrap", 0, "resample the scenes with replacement this many `times` (e.g. 1000) and print 95% intervals: how much the figures owe to these particular scenes; with --baseline, of the paired difference")
	bootSeed := fs.Int64("bootstrap-seed", 1, "seed of the resampling")
	byPhoto := fs.Bool("by-photo", false, "also score the scenes of each photograph apart (truth from 'fc2conv scenes' names it): AP, and recall and false positives per image at the operating point chosen over all of them")
	if code, ok := parse(fs, args); !ok {
		return code
	}
	if !(*maxFP >= 0) || !(*margin >= 0) || (*margin > 0 && *margin >= *maxFP) {
		fmt.Fprintf(stderr, "fc2conv eval detect: --max-fp %v and --margin %v: want max-fp ≥ 0 and 0 ≤ margin < max-fp\n", *maxFP, *margin)
		return exitUsage
	}
	if *resamples < 0 || *resamples > resample.MaxResamples {
		fmt.Fprintf(stderr, "fc2conv eval detect: --bootstrap %d: want 0 (off) to %d\n", *resamples, resample.MaxResamples)
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
	var groups []photoGroup
	if *byPhoto {
		if groups, err = groupByPhoto(truths); err != nil {
			fmt.Fprintf(stderr, "fc2conv eval detect: --by-photo: %v\n", err)
			return exitFail
		}
	}
	m, err := matchScan(truths, *scanPath)
	if err != nil {
		fmt.Fprintf(stderr, "fc2conv eval detect: --scan: %v\n", err)
		return exitFail
	}
	var base *detect.Matching
	if *baselinePath != "" {
		if base, err = matchScan(truths, *baselinePath); err != nil {
			fmt.Fprintf(stderr, "fc2conv eval detect: --baseline: %v\n", err)
			return exitFail
		}
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
	groupAt, groupWhat := *at, "--threshold"
	if *maxFP > 0 {
		if p, ok := operatingPoint(stdout, sweep, *maxFP, "lowest threshold", *scanPath); ok {
			groupAt, groupWhat = p.Threshold, fmt.Sprintf("the lowest threshold with ≤ %.3g FP/image", *maxFP)
		}
		if *margin > 0 {
			operatingPoint(stdout, sweep, *maxFP-*margin, fmt.Sprintf("with margin %.3g, threshold to store", *margin), *scanPath)
		}
	}
	if *byPhoto {
		if err := printByPhoto(stdout, groups, m, groupAt, groupWhat); err != nil {
			fmt.Fprintf(stderr, "fc2conv eval detect: --by-photo: %v\n", err)
			return exitFail
		}
	}
	ms := []*detect.Matching{m}
	if base != nil {
		ms = append(ms, base)
		b, this := base.Summarize(*maxFP), m.Summarize(*maxFP)
		fmt.Fprintf(stdout, "baseline %s: AP@0.5 %.4f, recall at ≤ %.3g FP/image %.4f; this scan − baseline: AP %+.4f, recall %+.4f\n",
			*baselinePath, b.AP, *maxFP, b.Recall, this.AP-b.AP, this.Recall-b.Recall)
	}
	if *resamples > 0 {
		out, err := detect.Bootstrap(ms, *resamples, *maxFP, rand.New(rand.NewSource(*bootSeed)))
		if err != nil {
			fmt.Fprintf(stderr, "fc2conv eval detect: --bootstrap: %v\n", err)
			return exitFail
		}
		printBootstrap(stdout, out, *bootSeed, len(truths), *maxFP)
	}
	return exitOK
}

// photoGroup is one photograph's scenes: 1 in scenes for each of them, 0
// for the rest (detect.Matching.Resample's counts).
type photoGroup struct {
	photo  string
	scenes []int
}

// groupByPhoto groups the scenes by photograph, in the order the truth
// first names them; every scene must name one.
func groupByPhoto(truths []fmnist.Truth) ([]photoGroup, error) {
	var groups []photoGroup
	index := map[string]int{}
	for k, tr := range truths {
		if tr.Photo == "" {
			return nil, fmt.Errorf("%s names no photograph (truth written by 'fc2conv scenes' before it recorded them, or on synthetic clutter): write the scenes again with the same flags", tr.Image)
		}
		g, ok := index[tr.Photo]
		if !ok {
			g = len(groups)
			index[tr.Photo] = g
			groups = append(groups, photoGroup{tr.Photo, make([]int, len(truths))})
		}
		groups[g].scenes[k] = 1
	}
	return groups, nil
}

// printByPhoto prints each group's figures at threshold t, chosen over
// all the scenes: where the false positives that set it lie, and whose
// dresses it misses.
func printByPhoto(w io.Writer, groups []photoGroup, m *detect.Matching, t float64, what string) error {
	fmt.Fprintf(w, "by photograph, at %.4g (%s):\n", t, what)
	fmt.Fprintln(w, "photograph        scenes  dresses  AP@0.5  recall  FP/image")
	for _, g := range groups {
		sub, err := m.Resample(g.scenes)
		if err != nil {
			return err
		}
		ap := "     -"
		if v, err := sub.AveragePrecision(); err == nil {
			ap = fmt.Sprintf("%.4f", v)
		}
		p := sub.Sweep().At(t)
		fmt.Fprintf(w, "%-16s  %6d  %7d  %6s  %6.4f  %8.3f\n", g.photo, sub.Images, sub.Truths, ap, p.Recall, p.FPPerImage)
	}
	return nil
}

// printBootstrap prints the median and the 2.5% and 97.5% quantiles of
// the scan's AP and recall over the resamples, and with a baseline those
// of the paired differences and how often the scan came out ahead.
func printBootstrap(w io.Writer, out [][]detect.Summary, seed int64, scenes int, maxFP float64) {
	pick := func(i int, f func(detect.Summary) float64) []float64 {
		xs := make([]float64, len(out[i]))
		for r, s := range out[i] {
			xs[r] = f(s)
		}
		return xs
	}
	ap := func(s detect.Summary) float64 { return s.AP }
	recall := func(s detect.Summary) float64 { return s.Recall }
	fmt.Fprintf(w, "bootstrap over the %d scenes (%d resamples, seed %d): median [95%% interval]\n", scenes, len(out[0]), seed)
	fmt.Fprintf(w, "  AP@0.5: %s\n", interval(pick(0, ap), "%.4f"))
	fmt.Fprintf(w, "  recall at ≤ %.3g FP/image: %s\n", maxFP, interval(pick(0, recall), "%.4f"))
	if len(out) < 2 {
		return
	}
	dAP, _ := paired(pick(0, ap), pick(1, ap))
	dRecall, ahead := paired(pick(0, recall), pick(1, recall))
	fmt.Fprintf(w, "  this scan − baseline, AP: %s\n", interval(dAP, "%+.4f"))
	fmt.Fprintf(w, "  this scan − baseline, recall: %s; recall higher in %.1f%% of resamples\n", interval(dRecall, "%+.4f"), 100*ahead)
}

// paired returns a − b resample by resample, and the share of resamples
// where a was the higher.
func paired(a, b []float64) ([]float64, float64) {
	diff := make([]float64, len(a))
	higher := 0
	for r := range diff {
		if diff[r] = a[r] - b[r]; diff[r] > 0 {
			higher++
		}
	}
	return diff, float64(higher) / float64(max(1, len(diff)))
}

// interval formats the median and the 2.5% and 97.5% quantiles of xs,
// each with verb, leaving out NaNs (the AP of a resample without a dress).
func interval(xs []float64, verb string) string {
	q, ok := spread(xs)
	if !ok {
		return "undefined in every resample"
	}
	return fmt.Sprintf(verb+" ["+verb+", "+verb+"]", q[0], q[1], q[2])
}

// spread returns the median and the 2.5% and 97.5% quantiles of xs
// without its NaNs, and false if nothing is left. It sorts xs.
func spread(xs []float64) ([3]float64, bool) {
	xs = slices.DeleteFunc(xs, math.IsNaN)
	if len(xs) == 0 {
		return [3]float64{}, false
	}
	slices.Sort(xs)
	return [3]float64{quantile(xs, 0.5), quantile(xs, 0.025), quantile(xs, 0.975)}, true
}

// quantile interpolates linearly between the order statistics of sorted
// xs (type 7, as NumPy's default).
func quantile(xs []float64, q float64) float64 {
	h := q * float64(len(xs)-1)
	lo := int(h)
	if lo+1 >= len(xs) {
		return xs[len(xs)-1]
	}
	return xs[lo] + (h-float64(lo))*(xs[lo+1]-xs[lo])
}

// matchScan matches the dresses of a scan file's records against the
// scenes' ground truth, image by image in the truth's order.
func matchScan(truths []fmnist.Truth, scanPath string) (*detect.Matching, error) {
	recs, err := readRecords(scanPath)
	if err != nil {
		return nil, err
	}
	dets := make([][]detect.ScoredBox, len(truths))
	gt := make([][][4]float64, len(truths))
	for k, t := range truths {
		r, ok := recs[filepath.Base(t.Image)]
		if !ok {
			return nil, fmt.Errorf("%s has no record for %s", scanPath, t.Image)
		}
		if r.Error != "" {
			return nil, fmt.Errorf("%s failed to scan: %s", t.Image, r.Error)
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
	return detect.MatchBoxes(dets, gt, 0.5)
}

// operatingPoint prints the lowest threshold (the highest recall) with at
// most maxFP false positives per image, or why there is none, and
// returns it (false when there is none).
func operatingPoint(w io.Writer, sweep *detect.Sweep, maxFP float64, what, scanPath string) (detect.Point, bool) {
	p, ok := sweep.Lowest(maxFP)
	switch {
	case ok:
		fmt.Fprintf(w, "%s with ≤ %.3g FP/image: %.4g (recall %.4f, %.3f FP/image)\n", what, maxFP, p.Threshold, p.Recall, p.FPPerImage)
	case len(sweep.Points) == 0:
		fmt.Fprintf(w, "no boxes in %s to choose a threshold from\n", scanPath)
	default:
		top := sweep.Points[0]
		fmt.Fprintf(w, "no threshold gives ≤ %.3g FP/image: the highest score, %.4g, already gives %.3f\n", maxFP, top.Threshold, top.FPPerImage)
	}
	return p, ok
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
