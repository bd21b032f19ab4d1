package main

import (
	"fmt"
	"io"

	"github.com/fc2conv/fc2conv/convert"
	"github.com/fc2conv/fc2conv/nn"
)

func runEnsemble(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("ensemble", "MEMBER.safetensors MEMBER.safetensors...",
		"Merges models that differ only in their weights (e.g. trained with different seeds\nor sampler settings) into one model whose logits are the mean of theirs, run in\none forward pass. FC members give an FC model to convert; fully convolutional\nmembers give one ready to scan.", stderr)
	out := fs.String("o", "", "output model `file` (required)")
	force := fs.Bool("force", false, "overwrite -o if it exists")
	threshold := fs.Float64("threshold", 0, "store this default detection `threshold` in OUT (chosen on validation scenes; the members' own do not carry over)")
	if code, ok := parse(fs, args); !ok {
		return code
	}
	if isSet(fs, "threshold") && !(*threshold >= 0 && *threshold <= 1) {
		fmt.Fprintf(stderr, "fc2conv ensemble: --threshold %v out of range [0,1]\n", *threshold)
		return exitUsage
	}
	if fs.NArg() < 2 {
		fmt.Fprintf(stderr, "fc2conv ensemble: need at least two member models, got %d (try --help)\n", fs.NArg())
		return exitUsage
	}
	if code := checkOut(stderr, "ensemble", *out, *force, fs.Args()...); code != exitOK {
		return code
	}
	var members []*nn.Network
	for _, path := range fs.Args() {
		m, err := nn.Load(path)
		if err != nil {
			fmt.Fprintf(stderr, "fc2conv ensemble: %v\n", err)
			return exitFail
		}
		if len(members) > 0 && m.IsFullyConvolutional() != members[0].IsFullyConvolutional() {
			fmt.Fprintf(stderr, "fc2conv ensemble: %s is %s and %s is %s; members must all be FC or all fully convolutional (ensemble the FC models, then convert the result)\n",
				fs.Arg(0), form(members[0]), path, form(m))
			return exitFail
		}
		members = append(members, m)
	}
	merged, err := convert.Ensemble(members...)
	if err != nil {
		// The library numbers the members; say which file each is.
		fmt.Fprintf(stderr, "fc2conv ensemble: %v\n", err)
		for i, path := range fs.Args() {
			fmt.Fprintf(stderr, "  member %d: %s\n", i, path)
		}
		return exitFail
	}
	if isSet(fs, "threshold") {
		merged.Threshold = *threshold
	}
	if err := merged.Save(*out); err != nil {
		fmt.Fprintf(stderr, "fc2conv ensemble: -o: %v\n", err)
		return exitFail
	}
	fmt.Fprintf(stdout, "wrote %s: %d members, %d weights\n", *out, len(members), weights(merged))
	return exitOK
}

func weights(n *nn.Network) int {
	total := 0
	for _, l := range n.Layers {
		for _, p := range l.Params() {
			total += len(p.Value.Data)
		}
	}
	return total
}

func form(n *nn.Network) string {
	if n.IsFullyConvolutional() {
		return "fully convolutional"
	}
	return "FC"
}
