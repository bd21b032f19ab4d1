package main

import (
	"errors"
	"flag"
	"fmt"
	"math"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/fc2conv/fc2conv/nn"
	"github.com/fc2conv/fc2conv/onnx"
)

// isONNX reports whether a model path names an ONNX file, by extension:
// the model file format follows the extension everywhere.
func isONNX(path string) bool { return strings.EqualFold(filepath.Ext(path), ".onnx") }

// loadModel reads fc2conv's own model file, or imports an ONNX classifier
// with opt supplying what ONNX does not record (pixel scaling, labels).
func loadModel(path string, opt onnx.Options) (*nn.Network, error) {
	net, _, err := readModel(path, opt)
	return net, err
}

// readModel is loadModel that also returns the file's bytes, read once,
// which records hash; opt.Limits bound either format.
func readModel(path string, opt onnx.Options) (*nn.Network, []byte, error) {
	if isONNX(path) {
		return onnx.ReadModel(path, opt)
	}
	return nn.ReadModel(path, opt.Limits)
}

// saveModel writes net as ONNX for a .onnx path, else as fc2conv's own
// .safetensors model file.
func saveModel(net *nn.Network, path string) error {
	if isONNX(path) {
		return onnx.Export(net, path)
	}
	return net.Save(path)
}

// onnxFlags are the preprocessing flags of commands that import ONNX: an
// ONNX graph does not say how pixels were scaled or what classes mean.
type onnxFlags struct {
	mean, std, labels *string
	positive          *int
}

// addONNXFlags registers --mean, --std, --labels and, with positive,
// --positive (scan has --class for that).
func addONNXFlags(fs *flag.FlagSet, positive bool) onnxFlags {
	f := onnxFlags{
		mean:   fs.String("mean", "", "ONNX model only: per-channel `mean` of pixels scaled to [0,1], one value or one per channel, comma-separated, each a number or a fraction such as 1/255 (default 0, or the model's fc2conv metadata); the graph's input is (pixel - mean) / std, and a scaling the graph does itself (Keras's Rescaling, torch's (x - mean) / std) is applied after it"),
		std:    fs.String("std", "", "ONNX model only: per-channel `std`, as --mean (default 1; --std 1/255 for a graph that reads pixels in 0-255)"),
		labels: fs.String("labels", "", "ONNX model only: comma-separated class `names`, one per output"),
	}
	if positive {
		f.positive = fs.Int("positive", 0, "ONNX model only: `index` of the class the detector reports")
	}
	return f
}

// options turns the flags into import options; they are refused for a
// model file of our own, which records all of this already.
func (f onnxFlags) options(fs *flag.FlagSet, in string) (onnx.Options, error) {
	var opt onnx.Options
	for _, name := range []string{"mean", "std", "labels", "positive"} {
		if isSet(fs, name) && !isONNX(in) {
			own := in
			if own == "" {
				own = "the embedded model"
			}
			return opt, fmt.Errorf("--%s is for an ONNX model; %s records its own", name, own)
		}
	}
	var err error
	if opt.Mean, err = floatList("mean", *f.mean); err != nil {
		return opt, err
	}
	if opt.Std, err = floatList("std", *f.std); err != nil {
		return opt, err
	}
	for _, s := range opt.Std {
		if s <= 0 {
			return opt, fmt.Errorf("--std %s: every value must be > 0", *f.std)
		}
	}
	if *f.labels != "" {
		opt.Labels = strings.Split(*f.labels, ",")
	}
	if f.positive != nil {
		if *f.positive < 0 {
			return opt, fmt.Errorf("--positive %d must be ≥ 0", *f.positive)
		}
		opt.Positive = *f.positive
	}
	return opt, nil
}

func floatList(name, s string) ([]float32, error) {
	if s == "" {
		return nil, nil
	}
	var out []float32
	for _, f := range strings.Split(s, ",") {
		v, err := number(strings.TrimSpace(f))
		if err != nil {
			return nil, fmt.Errorf("--%s %q: %q is not a number or a fraction such as 1/255", name, s, f)
		}
		out = append(out, float32(v))
	}
	return out, nil
}

// number reads a float or a fraction of two ("1/255") that is finite as
// a float32.
func number(s string) (float64, error) {
	num, den, frac := strings.Cut(s, "/")
	v, err := strconv.ParseFloat(num, 64)
	if err == nil && frac {
		var d float64
		if d, err = strconv.ParseFloat(den, 64); err == nil {
			if d == 0 {
				return 0, errors.New("division by zero")
			}
			v /= d
		}
	}
	if f := float64(float32(v)); err == nil && (math.IsInf(f, 0) || math.IsNaN(f)) {
		err = errors.New("not finite")
	}
	return v, err
}
