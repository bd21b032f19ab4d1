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
	"sort"
	"strings"
)

// Exit codes: 0 success, 1 failure (or some inputs failed), 2 usage error.
const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

type command struct {
	summary string
	run     func(args []string, stdout, stderr io.Writer) int
}

var commands = map[string]command{
	"convert":  {"rewrite an FC model as a fully convolutional one and check it", runConvert},
	"verify":   {"run the FC↔conv equivalence checks on a model", runVerify},
	"train":    {"train the dress classifier on Fashion-MNIST", runTrain},
	"scan":     {"scan images for dresses (or any class) and write boxes and heatmaps", runScan},
	"scenes":   {"write evaluation scenes with ground-truth boxes", runScenes},
	"eval":     {"evaluate: 'eval classify' on t10k, 'eval detect' on scenes", runEval},
	"ensemble": {"merge models that differ only in weights into one averaging their logits", runEnsemble},
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "fc2conv: unknown command %q\n\n", args[0])
		usage(stderr)
		return exitUsage
	}
	return c.run(args[1:], stdout, stderr)
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: fc2conv COMMAND [flags] [args]\n\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-8s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'fc2conv COMMAND --help' for a command's flags.")
}

// newFlags makes a flag set whose usage names the command and its
// arguments.
func newFlags(name, args, about string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("fc2conv "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: fc2conv %s [flags] %s\n\n%s\n\nflags:\n", name, args, about)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses flags; ok is false when the command should exit with code.
// Flags may come before or after the positional arguments
// (fc2conv convert IN -o OUT).
func parse(fs *flag.FlagSet, args []string) (code int, ok bool) {
	if err := fs.Parse(flagsFirst(fs, args)); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK, false
		}
		return exitUsage, false
	}
	return 0, true
}

func runEval(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "classify":
			return runEvalClassify(args[1:], stdout, stderr)
		case "detect":
			return runEvalDetect(args[1:], stdout, stderr)
		}
	}
	fmt.Fprintln(stderr, "usage: fc2conv eval classify|detect [flags]\n\n  classify  dress vs rest on Fashion-MNIST t10k items\n  detect    AP@0.5 of scan output against scene ground truth")
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
		return exitOK
	}
	return exitUsage
}

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
		flags = append(flags, a)
		name := strings.TrimLeft(a, "-")
		if strings.Contains(name, "=") {
			continue
		}
		f := fs.Lookup(name)
		if f == nil {
			continue // let Parse report it
		}
		if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
			continue
		}
		if i+1 < len(args) {
			flags = append(flags, args[i+1])
			i++
		}
	}
	return append(append(flags, "--"), pos...)
}
