package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/fc2conv/fc2conv/detect"
	"github.com/fc2conv/fc2conv/nn"
)

// runVerifierList writes a detect.VerifierList: --verifier A,B with the
// threshold chosen for their mean, saved so that scan, serve, bench and
// eval classify read both from one file.
func runVerifierList(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("verifier-list", "VERIFIER VERIFIER...",
		"Writes a verifier list: verifiers that scan, serve, bench and eval classify average as\n"+
			"one (--verifier LIST.json, as --verifier A,B does), with the threshold chosen for their\n"+
			"averaged score, which no member's own is. Each member is named relative to the list\n"+
			"and pinned by its SHA-256, so the threshold cannot pass to other files.", stderr)
	out := fs.String("o", "", "output list `file`, ending in .json (required)")
	force := fs.Bool("force", false, "overwrite -o if it exists")
	threshold := fs.Float64("threshold", 0, "the averaged score's `threshold`, in (0,1), chosen on validation scenes scanned with --verifier A,B (required)")
	if code, ok := parse(fs, args); !ok {
		return code
	}
	usageErr := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "fc2conv verifier-list: "+format+"\n", a...)
		return exitUsage
	}
	switch {
	case !isSet(fs, "threshold"):
		return usageErr("--threshold: required: the threshold chosen for the members' averaged score (scan validation scenes with --verifier A,B, then eval detect --max-fp)")
	case !(*threshold > 0 && *threshold < 1):
		return usageErr("--threshold %v: want one in (0,1)", *threshold)
	case fs.NArg() < 2:
		return usageErr("need at least two verifier files, got %d (try --help)", fs.NArg())
	case *out != "" && !isVerifierList(*out):
		return usageErr("-o %s: a verifier list's name ends in .json, which --verifier reads as a list", *out)
	}
	if code := checkOut(stderr, "verifier-list", *out, *force, fs.Args()...); code != exitOK {
		return code
	}
	outDir, err := filepath.Abs(filepath.Dir(*out))
	if err != nil {
		fmt.Fprintf(stderr, "fc2conv verifier-list: -o %s: %v\n", *out, err)
		return exitFail
	}
	list := detect.VerifierList{Threshold: *threshold}
	var nets []*nn.Network
	for _, path := range fs.Args() {
		if path == verifierEmbedded || path == verifierNone || isVerifierList(path) {
			return usageErr("%s: a verifier list holds model files (the embedded verifier is models/verifier-fcn.safetensors)", path)
		}
		net, b, err := loadVerifierFile(path, nn.Limits{})
		if err != nil {
			fmt.Fprintf(stderr, "fc2conv verifier-list: %s: %v\n", path, err)
			return exitFail
		}
		abs, err := filepath.Abs(path)
		var rel string
		if err == nil {
			rel, err = filepath.Rel(outDir, abs)
		}
		if err != nil {
			fmt.Fprintf(stderr, "fc2conv verifier-list: %s: not reachable from -o's directory: %v\n", path, err)
			return exitFail
		}
		list.Verifiers = append(list.Verifiers, detect.ListVerifier(filepath.ToSlash(rel), b))
		nets = append(nets, net)
	}
	if err := detect.CheckVerifier(nets[0], nets[1:]...); err != nil {
		// The library numbers the members; say which file each is.
		fmt.Fprintf(stderr, "fc2conv verifier-list: %v\n", err)
		for i, path := range fs.Args() {
			fmt.Fprintf(stderr, "  verifier %d: %s\n", i+1, path)
		}
		return exitFail
	}
	b, err := list.Marshal()
	if err == nil {
		err = os.WriteFile(*out, b, 0o644)
	}
	if err != nil {
		fmt.Fprintf(stderr, "fc2conv verifier-list: -o %s: %v\n", *out, err)
		return exitFail
	}
	fmt.Fprintf(stdout, "wrote %s: %d verifiers averaged, threshold %g\n", *out, len(nets), *threshold)
	return exitOK
}
