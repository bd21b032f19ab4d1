package main

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/fc2conv/fc2conv/convert"
	"github.com/fc2conv/fc2conv/nn"
)

func runConvert(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("convert", "IN.safetensors", "Rewrites the FC head of IN as convolutions, prints the per-layer table and\nthe measured max abs error of its own equivalence check, and writes OUT.", stderr)
	out := fs.String("o", "", "output model `file` (required)")
	seed := fs.Int64("seed", 1, "seed of the random check inputs")
	threshold := fs.Float64("threshold", -1, "store this default detection `threshold` in OUT (chosen on validation scenes; see 'eval detect --max-fp')")
	if code, ok := parse(fs, args); !ok {
		return code
	}
	if *threshold > 1 {
		fmt.Fprintln(stderr, "fc2conv convert: --threshold must be in [0,1]")
		return exitUsage
	}
	if fs.NArg() != 1 || *out == "" {
		fmt.Fprintln(stderr, "fc2conv convert: need one input model and -o OUT")
		fs.Usage()
		return exitUsage
	}
	fc, err := nn.Load(fs.Arg(0))
	if err != nil {
		fmt.Fprintf(stderr, "fc2conv convert: %v\n", err)
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
		fmt.Fprintf(stderr, "fc2conv convert: %s: %v; not writing %s\n", fs.Arg(0), err, *out)
		return exitFail
	}
	if *threshold >= 0 {
		res.Network.Threshold = *threshold
	}
	if err := res.Network.Save(*out); err != nil {
		fmt.Fprintf(stderr, "fc2conv convert: %v\n", err)
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
