package main

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"

	"github.com/fc2conv/fc2conv/detect"
	"github.com/fc2conv/fc2conv/fmnist"
	"github.com/fc2conv/fc2conv/internal/resample"
	"github.com/fc2conv/fc2conv/models"
	"github.com/fc2conv/fc2conv/nn"
	"github.com/fc2conv/fc2conv/onnx"
	"github.com/fc2conv/fc2conv/train"
	"github.com/schollz/progressbar/v3"
)

func runEvalClassify(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("eval classify", "", "Scores every t10k item (raw 28×28) with the model: dress vs rest accuracy,\nROC AUC, precision, recall, and how often each class is called a dress.\n\n"+
		"Whether a candidate ranks held-out items better than the shipped model, beyond the items' noise:\n"+
		"  fc2conv eval classify --split val --model cand.safetensors --baseline models/dress.safetensors --bootstrap 2000\n"+
		"and whether a candidate verifier does, behind the embedded model:\n"+
		"  fc2conv eval classify --split val --verifier cand.safetensors --baseline-verifier embedded --bootstrap 2000", stderr)
	data := fs.String("data", train.DefaultDataDir, "Fashion-MNIST `dir`")
	split := fs.String("split", "t10k", "split to score: t10k; val, the train items that training with --split-seed and --val-fraction held out (for choosing models without t10k); or train for a sanity check")
	d := train.DefaultConfig()
	splitSeed := fs.Int64("split-seed", 1, "with --split val: the seed of the held-out split (the shipped members': 1)")
	valFraction := fs.Float64("val-fraction", d.ValFraction, "with --split val: the fraction of train items held out")
	model := fs.String("model", "", "model `file`, FC or converted, or an ONNX classifier (see --mean, --std, --positive) (default: the embedded dress model)")
	threshold := fs.Float64("threshold", 0, "call a dress at p ≥ `t` (default: the --verifier's own threshold, else the model's, or 0.5)")
	verifier := fs.String("verifier", "", "a second-stage classifier `file`, \"embedded\" or \"none\", as scan --verifier (default: the embedded verifier with the embedded model): an item's score is sqrt(model's p × verifier's p), the model run once on the item, the verifier as --verifier-views says")
	verifierWeight := fs.Float64("verifier-weight", detect.DefaultVerifierWeight, "the verifier's weight w, as scan --verifier-weight: an item's score is model's p^(1−w) × verifier's p^w")
	views := fs.Int("verifier-views", 0, "score each item as a scan's box on it: the --verifier shown this many views of the item's box on black (5, 7 or 27, as scan --verifier-views), each mirror averaged; 1: one pass on the item as training saw it (default: the verifier's own, else 1)")
	pool := fs.String("verifier-pool", "", "how the views' p make the item's: mean, max or min, as scan --verifier-pool (default: the verifier's own, else mean)")
	asJSON := fs.Bool("json", false, "print the metrics as JSON")
	reliability := fs.String("reliability", "", "also write a reliability diagram of p(dress) (10 bins) to this PNG `file`")
	baseline := fs.String("baseline", "", "another model `file` to score the same items with: print its AUC and the difference (an ONNX one is imported with its fc2conv metadata or the defaults)")
	baselineVerifier := fs.String("baseline-verifier", "", "the baseline's second stage, a `file` or \"embedded\", shown its own views (as stored, else one) and combined as --verifier-weight says (default: none); without --baseline, the baseline is --model itself, so two verifiers behind one model are compared")
	resamples := fs.Int("bootstrap", 0, "resample the items with replacement this many `times` (e.g. 1000) and print the AUC's 95% interval, and with --baseline the paired difference's")
	bootSeed := fs.Int64("bootstrap-seed", 1, "seed of the resampling")
	asScene := fs.Float64("as-scene", 0, "score the items as a scene on a black photograph shows them: painted at `K`× their size (intensity as alpha) and brought back with the pyramid's filter (1 to 8; 0: raw)")
	pre := addONNXFlags(fs, true)
	if code, ok := parse(fs, args); !ok {
		return code
	}
	usageErr := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "fc2conv eval classify: "+format+"\n", a...)
		return exitUsage
	}
	imp, err := pre.options(fs, *model)
	if err != nil {
		return usageErr("%v", err)
	}
	switch {
	case fs.NArg() > 0:
		return usageErr("unexpected argument %q (the model is --model; try --help)", fs.Arg(0))
	case *split != "t10k" && *split != "train" && *split != "val":
		return usageErr("--split %q: want t10k, val or train", *split)
	case *split != "val" && (isSet(fs, "split-seed") || isSet(fs, "val-fraction")):
		return usageErr("--split-seed and --val-fraction choose the held-out items of --split val, not of --split %s", *split)
	case !(*valFraction > 0 && *valFraction < 1):
		return usageErr("--val-fraction %v out of range (0,1)", *valFraction)
	case isSet(fs, "threshold") && !(*threshold >= 0 && *threshold <= 1):
		return usageErr("--threshold %v out of range [0,1]", *threshold)
	case !(*verifierWeight > 0 && *verifierWeight < 1):
		return usageErr("--verifier-weight %v out of range (0,1)", *verifierWeight)
	case *asScene != 0 && !(*asScene >= 1 && *asScene <= fmnist.MaxSceneScale):
		return usageErr("--as-scene %v out of range [1,%d] (0: raw items)", *asScene, fmnist.MaxSceneScale)
	case *resamples < 0 || *resamples > resample.MaxResamples:
		return usageErr("--bootstrap %d: want 0 (off) to %d", *resamples, resample.MaxResamples)
	case *baselineVerifier == verifierNone:
		return usageErr("--baseline-verifier none: leave the flag out for a baseline without a verifier")
	}
	name, net := "the embedded dress model", (*nn.Network)(nil)
	if *model == "" {
		net, err = models.DressFCN()
	} else {
		name = *model
		net, err = loadModel(*model, imp)
	}
	if err != nil {
		fmt.Fprintf(stderr, "fc2conv eval classify: --model: %v\n", err)
		return exitFail
	}
	viewPool, err := detect.ParsePool(*pool)
	if err != nil {
		return usageErr("--verifier-pool: %v", err)
	}
	vopt := detect.Options{VerifierViews: *views, VerifierPool: viewPool}
	verName, _, err := openVerifier(&vopt, *verifier, *model, nn.Limits{})
	verName = cmp.Or(*verifier, verName) // as the user named it
	if err != nil {
		fmt.Fprintf(stderr, "fc2conv eval classify: %v\n", err)
		return exitFail
	}
	verNet := vopt.Verifier
	if verNet == nil && *baselineVerifier == "" && isSet(fs, "verifier-weight") {
		return usageErr("--verifier-weight: set without a verifier")
	}
	if verNet != nil {
		if err := detect.CheckVerifier(verNet); err != nil {
			return usageErr("--verifier %s: %v", verName, err)
		}
		// Builds every verifier of the list, and checks how they score.
		if _, err := detect.NewBoxVerifier(vopt); err != nil {
			err, _ = optionFlagErr(err)
			return usageErr("%v", err)
		}
	} else if *views != 0 || viewPool != detect.PoolDefault {
		return usageErr("--verifier-views and --verifier-pool: set without a verifier")
	}
	var baseNet *nn.Network
	if *baseline != "" {
		if baseNet, err = loadModel(*baseline, onnx.Options{}); err != nil {
			fmt.Fprintf(stderr, "fc2conv eval classify: --baseline: %v\n", err)
			return exitFail
		}
	}
	var baseVerNet *nn.Network
	if *baselineVerifier != "" {
		if *baselineVerifier == verifierEmbedded {
			baseVerNet, err = models.Verifier()
		} else {
			baseVerNet, err = loadModel(*baselineVerifier, onnx.Options{})
		}
		if err != nil {
			fmt.Fprintf(stderr, "fc2conv eval classify: --baseline-verifier: %v\n", err)
			return exitFail
		}
		if err := detect.CheckVerifier(baseVerNet); err != nil {
			return usageErr("--baseline-verifier %s: %v", *baselineVerifier, err)
		}
		if baseNet == nil {
			baseNet = net
		}
	}
	if !isSet(fs, "threshold") {
		var verThr float64
		switch {
		case len(vopt.MoreVerifiers) > 0:
			verThr = vopt.Threshold // a verifier list's own; 0 for a comma-separated list, as in scan
		case verNet != nil:
			verThr = verNet.Threshold
		}
		*threshold = cmp.Or(verThr, net.Threshold, detect.DefaultThreshold) // as scan chooses it
	}
	file := *split
	if file == "val" {
		file = "train"
	}
	set, err := fmnist.Load(*data, file)
	if err != nil {
		fmt.Fprintf(stderr, "fc2conv eval classify: --data: %v\n", err)
		return exitFail
	}
	if *split == "val" {
		_, set = set.Split(*valFraction, *splitSeed)
	}
	what := *split
	if *asScene != 0 {
		if set, err = set.AsScene(*asScene); err != nil {
			return usageErr("--as-scene: %v", err)
		}
		what = fmt.Sprintf("%s painted at %g× as a scene shows them", *split, *asScene)
	}
	modelScores, err := train.Scores(net, set)
	if err != nil {
		fmt.Fprintf(stderr, "fc2conv eval classify: %s: %v\n", name, err)
		return exitFail
	}
	scores := modelScores
	if verNet != nil {
		if scores, err = verifiedScores(modelScores, vopt, set, *verifierWeight, stderr); err != nil {
			fmt.Fprintf(stderr, "fc2conv eval classify: --verifier %s: %v\n", verName, err)
			return exitFail
		}
		name += " verified by " + verName + itemScoring(vopt, *verifierWeight)
	}
	m := train.Evaluate(scores, set, *threshold)
	dress := make([]bool, len(scores))
	for i := range dress {
		dress[i] = set.Labels[i] == fmnist.Dress
	}
	rel, err := train.NewReliability(scores, dress, 10)
	if err != nil {
		fmt.Fprintf(stderr, "fc2conv eval classify: %v\n", err)
		return exitFail
	}
	scoreSets := [][]float64{scores}
	var baseAUC *float64
	baseName := *baseline
	if baseNet != nil {
		var baseScores []float64
		if baseNet == net {
			baseScores, baseName = modelScores, "--model"
		} else if baseScores, err = train.Scores(baseNet, set); err != nil {
			fmt.Fprintf(stderr, "fc2conv eval classify: --baseline %s: %v\n", *baseline, err)
			return exitFail
		}
		if baseVerNet != nil {
			if baseScores, err = verifiedScores(baseScores, detect.Options{Verifier: baseVerNet}, set, *verifierWeight, stderr); err != nil {
				fmt.Fprintf(stderr, "fc2conv eval classify: --baseline-verifier %s: %v\n", *baselineVerifier, err)
				return exitFail
			}
			baseName += " verified by " + *baselineVerifier
		}
		scoreSets = append(scoreSets, baseScores)
		a := train.AUC(baseScores, dress)
		baseAUC = &a
	}
	var boot *aucBootstrap
	if *resamples > 0 {
		out, err := train.BootstrapAUC(scoreSets, dress, *resamples, rand.New(rand.NewSource(*bootSeed)))
		if err != nil {
			fmt.Fprintf(stderr, "fc2conv eval classify: --bootstrap: %v\n", err)
			return exitFail
		}
		boot = newAUCBootstrap(out, *bootSeed)
	}
	if *reliability != "" {
		if err := writeReliability(*reliability, rel, fmt.Sprintf("%s %s", filepath.Base(name), *split)); err != nil {
			fmt.Fprintf(stderr, "fc2conv eval classify: --reliability: %v\n", err)
			return exitFail
		}
	}
	if *asJSON {
		b, _ := json.MarshalIndent(struct {
			train.Metrics
			AsScene     float64           `json:"as_scene,omitempty"` // --as-scene; omitted for raw items
			Reliability train.Reliability `json:"reliability"`
			BaselineAUC *float64          `json:"baseline_auc,omitempty"`
			Bootstrap   *aucBootstrap     `json:"bootstrap,omitempty"`
		}{m, *asScene, rel, baseAUC, boot}, "", "  ")
		fmt.Fprintln(stdout, string(b))
		return exitOK
	}
	fmt.Fprintf(stdout, "%s on %s %s (%d items), dress vs rest at p ≥ %.2f\n", name, *data, what, m.Items, m.Threshold)
	fmt.Fprintf(stdout, "accuracy %.4f  AUC %.4f  precision %.4f  recall %.4f  (TP %d FP %d TN %d FN %d)\n",
		m.Accuracy, m.AUC, m.Precision, m.Recall, m.TP, m.FP, m.TN, m.FN)
	fmt.Fprintf(stdout, "expected calibration error of p(dress), 10 bins: %.4f\n", rel.ECE)
	fmt.Fprintln(stdout, "called dress, per class:")
	for c, f := range m.CalledDress {
		fmt.Fprintf(stdout, "  %-12s %.4f\n", fmnist.ClassNames[c], f)
	}
	if baseAUC != nil {
		fmt.Fprintf(stdout, "baseline %s: AUC %.4f; this model − baseline: AUC %+.4f\n", baseName, *baseAUC, m.AUC-*baseAUC)
	}
	if boot != nil {
		fmt.Fprintf(stdout, "bootstrap over the %d items (%d resamples, seed %d): median [95%% interval]\n", m.Items, boot.Resamples, boot.Seed)
		fmt.Fprintf(stdout, "  AUC: %.4f [%.4f, %.4f]\n", boot.AUC[0], boot.AUC[1], boot.AUC[2])
		if p := boot.Baseline; p != nil {
			d := p.Difference
			fmt.Fprintf(stdout, "  this model − baseline, AUC: %+.4f [%+.4f, %+.4f]; AUC higher in %.1f%% of resamples\n", d[0], d[1], d[2], 100*p.Higher)
		}
	}
	return exitOK
}

// verifiedScores are a model's p(dress) per item turned into verified
// scores by opt's verifier (verifierPs); scores is left as it is.
func verifiedScores(scores []float64, opt detect.Options, set *fmnist.Set, weight float64, stderr io.Writer) ([]float64, error) {
	verified, err := verifierPs(opt, set, stderr)
	if err != nil {
		return nil, err
	}
	for i, p := range verified {
		verified[i] = detect.VerifiedScore(scores[i], p, weight)
	}
	return verified, nil
}

// verifierPs are opt's verifier's p of each item. With one view and one
// verifier, one pass on the item as training saw it; with more of
// either (verifiers may differ in window), as a scan's box on the
// item shows it: the views of the item's box on black
// (detect.BoxVerifier, each mirror averaged), pooled, the items shared
// among the cores, with a progress bar on stderr when it is a terminal.
func verifierPs(opt detect.Options, set *fmnist.Set, stderr io.Writer) ([]float64, error) {
	views, _, err := detect.VerifierScoring(opt)
	if err != nil {
		return nil, err
	}
	if views == 1 && len(opt.MoreVerifiers) == 0 {
		return train.Scores(opt.Verifier, set)
	}
	opt.Threads = 1 // the items are shared among the cores instead
	bv, err := detect.NewBoxVerifier(opt)
	if err != nil {
		return nil, err
	}
	// Room for the widest view: a box grown by the largest context and
	// view scale, its centre moved.
	margin := 2 * max(set.Rows, set.Cols)
	ps := make([]float64, set.Len())
	var bar *progressbar.ProgressBar
	if isTerminal(stderr) {
		bar = progressbar.NewOptions(set.Len(), progressbar.OptionSetWriter(stderr),
			progressbar.OptionSetDescription(fmt.Sprintf("verifier, %d views", views)), progressbar.OptionShowCount(),
			progressbar.OptionSetPredictTime(true), progressbar.OptionClearOnFinish())
	}
	workers := min(runtime.GOMAXPROCS(0), max(1, set.Len()))
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < set.Len(); i += workers {
				img, box := set.OnBlack(i, margin)
				p, err := bv.Scores(img, [][4]float64{box})
				if err != nil {
					errs[w] = fmt.Errorf("item %d: %w", i, err)
					return
				}
				ps[i] = p[0]
				if bar != nil {
					_ = bar.Add(1)
				}
			}
		})
	}
	wg.Wait()
	return ps, errors.Join(errs...)
}

// itemScoring names how eval classify's verifier scored items.
func itemScoring(opt detect.Options, weight float64) string {
	views, pool, err := detect.VerifierScoring(opt)
	if err != nil {
		return ""
	}
	s := "one window"
	if views > 1 || len(opt.MoreVerifiers) > 0 { // as verifierPs shows them
		s = fmt.Sprintf("views %d on black, %s", views, pool)
	}
	if weight != detect.DefaultVerifierWeight {
		s += fmt.Sprintf(", weight %g", weight)
	}
	return " (" + s + ")"
}

// aucBootstrap is what eval classify reports of BootstrapAUC: the
// median, 2.5% and 97.5% quantiles of the AUC and, with a baseline, of
// the paired difference.
type aucBootstrap struct {
	Resamples int         `json:"resamples"`
	Seed      int64       `json:"seed"`
	AUC       [3]float64  `json:"auc"`
	Baseline  *aucPairing `json:"against_baseline,omitempty"`
}

// aucPairing is the model's AUC minus the baseline's over the same
// resamples, and the share of resamples where the model's was higher.
type aucPairing struct {
	Difference [3]float64 `json:"auc_difference"`
	Higher     float64    `json:"higher_fraction"`
}

func newAUCBootstrap(out [][]float64, seed int64) *aucBootstrap {
	b := &aucBootstrap{Resamples: len(out[0]), Seed: seed}
	b.AUC, _ = spread(slices.Clone(out[0]))
	if len(out) > 1 {
		diff, higher := paired(out[0], out[1])
		p := &aucPairing{Higher: higher}
		p.Difference, _ = spread(diff)
		b.Baseline = p
	}
	return b
}

// writeReliability writes the diagram to path, failing if it cannot be
// written whole.
func writeReliability(path string, r train.Reliability, title string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := r.WritePNG(f, title); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
