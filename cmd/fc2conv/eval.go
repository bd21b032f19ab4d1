package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/fc2conv/fc2conv/fmnist"
	"github.com/fc2conv/fc2conv/models"
	"github.com/fc2conv/fc2conv/nn"
	"github.com/fc2conv/fc2conv/train"
)

func runEvalClassify(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("eval classify", "", "Scores every t10k item (raw 28×28) with the model: dress vs rest accuracy,\nROC AUC, precision, recall, and how often each class is called a dress.", stderr)
	data := fs.String("data", train.DefaultDataDir, "Fashion-MNIST `dir`")
	split := fs.String("split", "t10k", "split to score: t10k; val, the train items that training with --split-seed and --val-fraction held out (for choosing models without t10k); or train for a sanity check")
	d := train.DefaultConfig()
	splitSeed := fs.Int64("split-seed", 1, "with --split val: the seed of the held-out split (the shipped members': 1)")
	valFraction := fs.Float64("val-fraction", d.ValFraction, "with --split val: the fraction of train items held out")
	model := fs.String("model", "", "model `file`, FC or converted (default: the embedded dress model)")
	threshold := fs.Float64("threshold", 0, "call a dress at p ≥ `t` (default: the model's own threshold, or 0.5)")
	asJSON := fs.Bool("json", false, "print the metrics as JSON")
	reliability := fs.String("reliability", "", "also write a reliability diagram of p(dress) (10 bins) to this PNG `file`")
	asScene := fs.Float64("as-scene", 0, "score the items as a scene on a black photograph shows them: painted at `K`× their size (intensity as alpha) and brought back with the pyramid's filter (1 to 8; 0: raw)")
	if code, ok := parse(fs, args); !ok {
		return code
	}
	usageErr := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "fc2conv eval classify: "+format+"\n", a...)
		return exitUsage
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
	case *asScene != 0 && !(*asScene >= 1 && *asScene <= fmnist.MaxSceneScale):
		return usageErr("--as-scene %v out of range [1,%d] (0: raw items)", *asScene, fmnist.MaxSceneScale)
	}
	name, net := "the embedded dress model", (*nn.Network)(nil)
	var err error
	if *model == "" {
		net, err = models.DressFCN()
	} else {
		name = *model
		net, err = nn.Load(*model)
	}
	if err != nil {
		fmt.Fprintf(stderr, "fc2conv eval classify: --model: %v\n", err)
		return exitFail
	}
	if !isSet(fs, "threshold") {
		*threshold = net.Threshold
		if *threshold == 0 {
			*threshold = 0.5
		}
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
	scores, err := train.Scores(net, set)
	if err != nil {
		fmt.Fprintf(stderr, "fc2conv eval classify: %s: %v\n", name, err)
		return exitFail
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
		}{m, *asScene, rel}, "", "  ")
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
	return exitOK
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
