// Package onnx reads ONNX classifiers into nn networks (in FC form, ready
// for convert) and writes any nn network, FC or fully convolutional, as
// ONNX.
//
// Import accepts a single chain from one image input to one output, built
// of the ops a small image classifier uses (see the README's ONNX
// section), as torch.onnx.export and tf2onnx write them for opsets 9 to
// 21. Anything else is refused with an error naming the node, its op type
// and the attribute at fault: the import never guesses.
package onnx

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"

	pb "github.com/advancedclimatesystems/gonnx/onnx"
	"google.golang.org/protobuf/proto"

	"github.com/fc2conv/fc2conv/internal/fileio"
	"github.com/fc2conv/fc2conv/nn"
)

var (
	// ErrFormat is wrapped by errors about a file that is not a
	// well-formed ONNX model (truncated, sizes that disagree, bad paths).
	ErrFormat = errors.New("malformed ONNX model")
	// ErrUnsupported is wrapped by errors about a well-formed model that
	// uses an op, attribute, data type or graph shape nn cannot represent.
	ErrUnsupported = errors.New("unsupported ONNX model")
)

// MaxFileSize bounds what Import reads into memory: the protobuf limit.
const MaxFileSize = 2<<30 - 1

// Opsets the importer understands (default domain).
const (
	MinOpset = 9
	MaxOpset = 21
)

// Options supply what an ONNX graph does not say. Zero values mean: take
// it from the model's fc2conv metadata if it has some (as Export writes),
// else pixels in [0,1] (mean 0, std 1), no labels, positive class 0.
type Options struct {
	Mean, Std []float32 // one value, or one per input channel
	Labels    []string
	Positive  int
	// Limits bound the weights read, checked before each is converted:
	// elements per tensor and bytes of all weights together (as float32).
	// The zero value means nn's defaults; an error then wraps nn.ErrLimit.
	Limits nn.Limits
	// MaxNodes bounds the graph's nodes; 0 means DefaultMaxNodes.
	MaxNodes int
}

// DefaultMaxNodes is the default bound on a graph's nodes: far more than
// any classifier fc2conv converts (nn allows fewer layers still).
const DefaultMaxNodes = 1 << 14

// Metadata keys Export writes and Import reads back (values are JSON).
const (
	metaChannels  = "fc2conv.channels"
	metaWindow    = "fc2conv.window" // [height, width]
	metaMean      = "fc2conv.mean"
	metaStd       = "fc2conv.std"
	metaLabels    = "fc2conv.labels"
	metaPositive  = "fc2conv.positive"
	metaThreshold = "fc2conv.threshold"
	metaContext   = "fc2conv.context"   // nn.InputSpec.Context
	metaViews     = "fc2conv.views"     // nn.Network.Views
	metaViewPool  = "fc2conv.view_pool" // nn.Network.ViewPool
	metaStride    = "fc2conv.stride"    // [h, w], informative
	metaField     = "fc2conv.receptive_field"
)

// Import reads an ONNX model file. External tensor data is read from
// files in the model's folder.
func Import(path string, opt Options) (*nn.Network, error) {
	n, _, err := ReadModel(path, opt)
	return n, err
}

// ReadModel is Import that also returns the model file's bytes, read
// once, so that a caller hashing them names exactly the model it
// imported (external tensor data are other files, not among them).
func ReadModel(path string, opt Options) (*nn.Network, []byte, error) {
	b, err := fileio.ReadMax(path, MaxFileSize)
	if se := (*fileio.SizeError)(nil); errors.As(err, &se) {
		return nil, nil, fmt.Errorf("import ONNX %s: %w: %w", path, ErrFormat, err)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("import ONNX: %w", err)
	}
	n, err := Decode(b, filepath.Dir(path), opt)
	if err != nil {
		return nil, nil, fmt.Errorf("import ONNX %s: %w", path, err)
	}
	return n, b, nil
}

// Decode reads an ONNX model from its bytes. dir is the folder external
// tensor data lives in; empty refuses external data.
func Decode(b []byte, dir string, opt Options) (*nn.Network, error) {
	if len(b) > MaxFileSize {
		return nil, fmt.Errorf("%w: %d bytes exceeds the %d-byte limit", ErrFormat, len(b), MaxFileSize)
	}
	m := &pb.ModelProto{}
	if err := proto.Unmarshal(b, m); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrFormat, err)
	}
	if m.Graph == nil {
		return nil, fmt.Errorf("%w: no graph", ErrFormat)
	}
	lim, err := opt.Limits.Resolve()
	if err != nil {
		return nil, fmt.Errorf("onnx: %w", err)
	}
	maxNodes := opt.MaxNodes
	if maxNodes == 0 {
		maxNodes = DefaultMaxNodes
	}
	if maxNodes < 0 {
		return nil, fmt.Errorf("onnx: limit of %d nodes is negative", maxNodes)
	}
	im := &importer{dir: dir, names: map[string]bool{}, lim: lim, maxNodes: maxNodes}
	if err := im.opsets(m); err != nil {
		return nil, err
	}
	meta := map[string]string{}
	for _, kv := range m.MetadataProps {
		meta[kv.Key] = kv.Value
	}
	net, err := im.graph(m.Graph, meta)
	if err != nil {
		return nil, err
	}
	if err := applyOptions(net, meta, opt); err != nil {
		return nil, err
	}
	if im.scaling != nil {
		if err := im.scaling.fold(&net.Input); err != nil {
			return nil, err
		}
	}
	if err := net.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnsupported, err)
	}
	return net, nil
}

func (im *importer) opsets(m *pb.ModelProto) error {
	for _, o := range m.OpsetImport {
		if o.Domain == "" || o.Domain == "ai.onnx" {
			im.opset = o.Version
		}
	}
	if im.opset < MinOpset || im.opset > MaxOpset {
		return fmt.Errorf("%w: opset %d of the default domain; supported are %d to %d", ErrUnsupported, im.opset, MinOpset, MaxOpset)
	}
	return nil
}

// applyOptions fills the input normalisation, labels and positive class
// from opt, else from the model's metadata.
func applyOptions(net *nn.Network, meta map[string]string, opt Options) error {
	c := net.Input.Channels
	mean, std := opt.Mean, opt.Std
	if mean == nil {
		if err := metaJSON(meta, metaMean, &mean); err != nil {
			return err
		}
	}
	if std == nil {
		if err := metaJSON(meta, metaStd, &std); err != nil {
			return err
		}
	}
	var err error
	if net.Input.Mean, err = perChannel("mean", mean, 0, c); err != nil {
		return err
	}
	if net.Input.Std, err = perChannel("std", std, 1, c); err != nil {
		return err
	}
	net.Labels, net.Positive = opt.Labels, opt.Positive
	if opt.Labels == nil {
		if err := metaJSON(meta, metaLabels, &net.Labels); err != nil {
			return err
		}
		if err := metaJSON(meta, metaPositive, &net.Positive); err != nil {
			return err
		}
	}
	if err := metaJSON(meta, metaContext, &net.Input.Context); err != nil {
		return err
	}
	if err := metaJSON(meta, metaViews, &net.Views); err != nil {
		return err
	}
	if err := metaJSON(meta, metaViewPool, &net.ViewPool); err != nil {
		return err
	}
	return metaJSON(meta, metaThreshold, &net.Threshold)
}

// perChannel spreads one value over c channels, or checks there are c.
func perChannel(what string, v []float32, def float32, c int) ([]float32, error) {
	switch len(v) {
	case 0:
		v = []float32{def}
		fallthrough
	case 1:
		out := make([]float32, c)
		for i := range out {
			out[i] = v[0]
		}
		return out, nil
	case c:
		return append([]float32(nil), v...), nil
	}
	return nil, fmt.Errorf("input %s has %d values for %d channels; give one, or one per channel", what, len(v), c)
}

func metaJSON(meta map[string]string, key string, v any) error {
	s, ok := meta[key]
	if !ok {
		return nil
	}
	if err := json.Unmarshal([]byte(s), v); err != nil {
		return fmt.Errorf("%w: metadata %s = %q: %v", ErrFormat, key, s, err)
	}
	return nil
}
