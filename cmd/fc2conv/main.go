// Command fc2conv converts classifiers with a fully connected head into
// fully convolutional networks, verifies the conversion, trains the dress
// model and scans images for dresses.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"sort"
	"strings"

	"golang.org/x/term"
)

// Exit codes: 0 success, 1 failure (or some inputs failed), 2 usage
// error, 3 scan's --out held by another scan (nothing done: a script
// sharing outputs between runs moves on).
const (
	exitOK     = 0
	exitFail   = 1
	exitUsage  = 2
	exitLocked = 3
	// exitHelp is returned by parse, and so by a command, when --help was
	// asked for; run prints the help to stdout and exits 0. It never
	// leaves the process.
	exitHelp = -1
)

type command struct {
	summary string
	run     func(args []string, stdout, stderr io.Writer) int
	subs    map[string]command // subcommands (eval classify, eval detect); run is nil then
}

var commands = map[string]command{
	"convert":       {summary: "rewrite an FC model as a fully convolutional one and check it", run: runConvert},
	"verify":        {summary: "run the FC↔conv equivalence checks on a model", run: runVerify},
	"train":         {summary: "train the dress classifier on Fashion-MNIST", run: runTrain},
	"calibrate":     {summary: "fit a temperature to a dress model on validation patches", run: runCalibrate},
	"scan":          {summary: "scan images for dresses (or any class) and write boxes and heatmaps", run: runScan},
	"scenes":        {summary: "write evaluation scenes with ground-truth boxes", run: runScenes},
	"eval":          {summary: "evaluate: 'eval classify' on t10k, 'eval detect' on scenes", subs: evalCommands},
	"ensemble":      {summary: "merge models that differ only in weights into one averaging their logits", run: runEnsemble},
	"bench":         {summary: "time the engine per layer and a whole scan (GFLOP/s, images/s, peak memory)", run: runBench},
	"inspect":       {summary: "print a model's layers, shapes, parameters, FLOPs and geometry", run: runInspect},
	"serve":         {summary: "serve detection over HTTP, with a browser page and Prometheus metrics", run: runServe},
	"verifier-list": {summary: "save verifiers to average as one, with the threshold chosen for their mean", run: runVerifierList},
}

var evalCommands = map[string]command{
	"classify": {summary: "dress vs rest on Fashion-MNIST t10k items", run: runEvalClassify},
	"detect":   {summary: "AP@0.5 of scan output against scene ground truth", run: runEvalDetect},
}

// examples holds each command's example invocations, printed at the end
// of its --help. Keys are the command names as given to newFlags.
var examples = map[string]string{
	"":     "fc2conv scan --heatmaps out/ testdata/samples\nfc2conv help scan",
	"eval": "fc2conv eval classify --model models/dress.safetensors\nfc2conv eval detect --truth scenes/truth.jsonl --scan boxes.jsonl",
	"scan": "fc2conv scan --heatmaps out/ testdata/samples\nfc2conv scan --format csv --out boxes.csv photos/\nfc2conv scan --model my-fcn.safetensors --threshold 0.7 --flip=false a.jpg b.png\nfc2conv scan --model model.onnx --mean 0.5 --std 0.25 --raw heat/ photos/",
	"train": "fc2conv train --out /tmp/dress.safetensors\nfc2conv train --epochs 3 --seed 2 --out /tmp/dress-seed2.safetensors\n" +
		"fc2conv train --arch bn3s --confusable-weight 3 --calibrate --out /tmp/dress-bn3s.safetensors",
	"calibrate": "fc2conv calibrate --model /tmp/dress.safetensors --out /tmp/dress-cal.safetensors --reliability /tmp/reliability.png\n" +
		"fc2conv calibrate --model /tmp/dress.safetensors --out /tmp/dress-final.safetensors --threshold 0.87   # chosen on validation scenes scanned with dress-cal",
	"convert": "fc2conv convert testdata/torch/seed.safetensors -o /tmp/seed-fcn.safetensors\n" +
		"fc2conv convert /tmp/dress.safetensors -o /tmp/dress-fcn.safetensors --threshold 0.8445\n" +
		"fc2conv convert testdata/onnx/keras_nhwc_op13.onnx --mean 0.5 --std 0.25 -o /tmp/keras-fcn.onnx\n" +
		"fc2conv convert testdata/onnx/keras_rescale_op13.onnx --std 1/255 -o /tmp/k-fcn.safetensors   # a Keras graph that reads 0-255",
	"verify": "fc2conv verify models/dress.safetensors\n" +
		"fc2conv verify models/dress-fcn.safetensors --fc models/dress.safetensors\n" +
		"fc2conv verify models/dress.safetensors --image testdata/samples/scene_000.png\n" +
		"fc2conv verify testdata/onnx/chain_op13.onnx",
	"scenes":        "fc2conv scenes --items t10k --photo-split eval --n 40 --seed 30 --out /tmp/testscenes",
	"eval classify": "fc2conv eval classify --model models/dress.safetensors --threshold 0.9 --reliability /tmp/reliability.png",
	"eval detect": "fc2conv scan --threshold 0.05 --out /tmp/scan.jsonl /tmp/testscenes\n" +
		"fc2conv eval detect --truth /tmp/testscenes/truth.jsonl --scan /tmp/scan.jsonl --max-fp 0.1 --margin 0.02",
	"bench": "fc2conv bench\n" +
		"fc2conv bench --size 2048x1024 --runs 3\n" +
		"fc2conv bench testdata/torch/seed.safetensors --no-scan",
	"inspect": "fc2conv inspect\nfc2conv inspect models/dress.safetensors --size 2048x1024\nfc2conv inspect testdata/onnx/chain_op13.onnx --mean 0.5 --std 0.25 --json",
	"serve":   "fc2conv serve\nfc2conv serve --addr 0.0.0.0:8080 --workers 2 --model my-fcn.safetensors",
	"verifier-list": "fc2conv verifier-list -o /tmp/pair.json --threshold 0.41 /tmp/v69-fcn.safetensors /tmp/v54-fcn.safetensors\n" +
		"fc2conv scan --verifier /tmp/pair.json --out boxes.jsonl photos/",
	"ensemble": "fc2conv ensemble -o /tmp/ens.safetensors /tmp/a.safetensors /tmp/b.safetensors\n" +
		"fc2conv convert /tmp/ens.safetensors -o /tmp/ens-fcn.safetensors",
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return exitUsage
	}
	switch args[0] {
	case "help":
		return runHelp(args[1:], stdout, stderr)
	case "-h", "-help", "--help":
		// "fc2conv --help scan" reads as "fc2conv help scan".
		return runHelp(args[1:], stdout, stderr)
	case "version", "-version", "--version":
		if len(args) > 1 {
			fmt.Fprintf(stderr, "fc2conv %s: unexpected argument %q\n", args[0], args[1])
			return exitUsage
		}
		info, ok := debug.ReadBuildInfo()
		fmt.Fprintln(stdout, version(info, ok))
		return exitOK
	}
	return dispatch("fc2conv", commands, args, stdout, stderr)
}

// dispatch runs the command args[0] of table; prefix is what the table's
// commands follow ("fc2conv", "fc2conv eval").
func dispatch(prefix string, table map[string]command, args []string, stdout, stderr io.Writer) int {
	c, ok := table[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "%s: unknown command %q\n\n", prefix, args[0])
		list(stderr, prefix, table)
		return exitUsage
	}
	name := prefix + " " + args[0]
	if c.subs != nil {
		switch {
		case len(args) == 1:
			fmt.Fprintf(stderr, "%s: missing subcommand\n\n", name)
			list(stderr, name, c.subs)
			return exitUsage
		case isHelp(args[1]):
			list(stdout, name, c.subs)
			return exitOK
		}
		return dispatch(name, c.subs, args[1:], stdout, stderr)
	}
	if code := c.run(args[1:], stdout, stderr); code != exitHelp {
		return code
	}
	return help(c, stdout)
}

// help prints a command's usage to stdout: the command is run with
// --help and a helpOut for its stderr, which parse prints the usage on.
func help(c command, stdout io.Writer) int {
	if code := c.run([]string{"--help"}, stdout, helpOut{stdout}); code != exitHelp {
		return code
	}
	return exitOK
}

// helpOut marks the writer a command's usage is asked for on. A command
// given --help by the user returns exitHelp without printing, since its
// flag set writes to stderr; dispatch then asks again through help.
type helpOut struct{ io.Writer }

// runHelp is "fc2conv help [COMMAND [SUBCOMMAND]]".
func runHelp(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stdout)
		return exitOK
	}
	prefix, table := "fc2conv", commands
	for i, a := range args {
		c, ok := table[a]
		if !ok {
			fmt.Fprintf(stderr, "fc2conv help: unknown command %q\n\n", strings.TrimPrefix(prefix+" "+a, "fc2conv "))
			list(stderr, prefix, table)
			return exitUsage
		}
		prefix += " " + a
		if c.subs == nil {
			if i+1 < len(args) {
				fmt.Fprintf(stderr, "fc2conv help: %q has no subcommand %q\n", strings.TrimPrefix(prefix, "fc2conv "), args[i+1])
				return exitUsage
			}
			return help(c, stdout)
		}
		table = c.subs
	}
	list(stdout, prefix, table)
	return exitOK
}

func isHelp(arg string) bool {
	return arg == "-h" || arg == "-help" || arg == "--help"
}

func usage(w io.Writer) {
	list(w, "fc2conv", commands)
}

// list prints the usage of a command table: the top level or a command
// with subcommands.
func list(w io.Writer, prefix string, table map[string]command) {
	fmt.Fprintf(w, "usage: %s COMMAND [flags] [args]\n\ncommands:\n", prefix)
	names := make([]string, 0, len(table))
	for n := range table {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-9s %s\n", n, table[n].summary)
	}
	key := strings.TrimPrefix(strings.TrimPrefix(prefix, "fc2conv"), " ")
	if key == "" {
		fmt.Fprintf(w, "  %-9s %s\n", "help", "print the help of a command: fc2conv help COMMAND")
		fmt.Fprintf(w, "  %-9s %s\n", "version", "print the version of fc2conv and of Go (also --version)")
	}
	printExamples(w, key)
	fmt.Fprintf(w, "\nRun '%s COMMAND --help' for a command's flags.\n", prefix)
}

func printExamples(w io.Writer, name string) {
	if ex := examples[name]; ex != "" {
		fmt.Fprintf(w, "\nexamples:\n  %s\n", strings.ReplaceAll(ex, "\n", "\n  "))
	}
}

// version describes the build: the module version ("(devel)" for a
// build from a checkout), the VCS revision and whether the tree had local
// changes, when the build recorded them, and the Go version.
func version(info *debug.BuildInfo, ok bool) string {
	v, goVersion, rev, modified := "(devel)", runtime.Version(), "", false
	if ok && info != nil {
		if info.Main.Version != "" {
			v = info.Main.Version
		}
		if info.GoVersion != "" {
			goVersion = info.GoVersion
		}
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
	}
	s := "fc2conv " + v
	if rev != "" {
		s += ", revision " + rev
		if modified {
			s += " (modified)"
		}
	}
	return s + ", " + goVersion
}

// newFlags makes a flag set whose usage names the command, its arguments
// and examples. Usage goes to stderr, or to stdout when --help asked for it
// (see help).
func newFlags(name, args, about string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("fc2conv "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintf(w, "usage: %s\n\n%s\n\nflags:\n", strings.TrimSpace("fc2conv "+name+" [flags] "+args), about)
		fs.PrintDefaults()
		printExamples(w, name)
	}
	return fs
}

// parse parses flags; ok is false when the command should exit with code
// (exitHelp when --help was given). Flags may come before or after the
// positional arguments (fc2conv convert IN -o OUT). A bad flag is reported
// in one line that names the command, not buried above the whole usage.
func parse(fs *flag.FlagSet, args []string) (code int, ok bool) {
	out, usage := fs.Output(), fs.Usage
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	err := fs.Parse(flagsFirst(fs, args))
	fs.SetOutput(out)
	fs.Usage = usage
	switch {
	case err == nil:
		return 0, true
	case errors.Is(err, flag.ErrHelp):
		if _, ok := out.(helpOut); ok {
			usage()
		}
		return exitHelp, false
	}
	fmt.Fprintf(out, "%s: %v\nRun '%s --help' for usage.\n", fs.Name(), err, fs.Name())
	return exitUsage, false
}

// boolWords are the separate arguments a boolean flag takes as its value
// (--flip false). Anything else after a boolean flag is positional, so
// "--quiet 1.png" scans 1.png; a file named false is ./false.
var boolWords = map[string]bool{"true": true, "True": true, "TRUE": true, "false": true, "False": true, "FALSE": true}

// flagsFirst moves flags (and their values) ahead of positional
// arguments, so the standard flag package accepts them anywhere. "--"
// ends the flags as usual.
func flagsFirst(fs *flag.FlagSet, args []string) []string {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			pos = append(pos, args[i+1:]...)
			break
		}
		if len(a) < 2 || a[0] != '-' {
			pos = append(pos, a)
			continue
		}
		name := strings.TrimLeft(a, "-")
		f := fs.Lookup(name)
		if strings.Contains(name, "=") || f == nil || i+1 == len(args) {
			flags = append(flags, a) // an unknown flag is left for Parse to report
			continue
		}
		if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
			if boolWords[args[i+1]] {
				flags = append(flags, a+"="+args[i+1])
				i++
			} else {
				flags = append(flags, a)
			}
			continue
		}
		flags = append(flags, a, args[i+1])
		i++
	}
	return append(append(flags, "--"), pos...)
}

// isSet reports whether the flag name was given on the command line.
func isSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// isTerminal reports whether w is a terminal, where a redrawn progress
// bar belongs; in a log file it would be a wall of carriage returns.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// multiFlag collects a repeatable string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return fmt.Sprint([]string(*m)) }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }
