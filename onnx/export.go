package onnx

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"strings"

	pb "github.com/advancedclimatesystems/gonnx/onnx"
	"google.golang.org/protobuf/proto"

	"github.com/fc2conv/fc2conv/nn"
)

// ExportOpset is the opset Export writes (IR version 7).
const ExportOpset = 13

// Input and output names of exported models.
const (
	InputName  = "input"
	OutputName = "output"
)

// Export writes net as an ONNX model file.
func Export(net *nn.Network, path string) error {
	b, err := Marshal(net)
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return fmt.Errorf("export ONNX: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("export ONNX: %w", err)
	}
	return nil
}

// Marshal encodes net as ONNX, opset 13. The input is N×C×H×W with a free
// batch; a fully convolutional network also has a free height and width
// (at least the window). The weights are initializers; the input spec,
// labels, positive class, threshold and geometry are metadata_props
// (fc2conv.*, JSON values), which Import reads back.
func Marshal(net *nn.Network) ([]byte, error) {
	if err := net.Validate(); err != nil {
		return nil, fmt.Errorf("export ONNX: %w", err)
	}
	g := &pb.GraphProto{Name: "fc2conv"}
	fcn := net.IsFullyConvolutional()
	s := net.Input
	h, w := dim(int64(s.Height)), dim(int64(s.Width))
	if fcn {
		h, w = param("H"), param("W")
	}
	g.Input = []*pb.ValueInfoProto{valueInfo(InputName, param("N"), dim(int64(s.Channels)), h, w)}
	shapes, err := net.Shapes(s.Window())
	if err != nil {
		return nil, fmt.Errorf("export ONNX: %w", err)
	}
	out := shapes[len(shapes)-1]
	var rank int
	if _, rank, err = exportChain(g, net.Layers, InputName, OutputName, 4); err != nil {
		return nil, fmt.Errorf("export ONNX: %w", err)
	}
	if rank == 2 {
		g.Output = []*pb.ValueInfoProto{valueInfo(OutputName, param("N"), dim(int64(out.C)))}
	} else {
		g.Output = []*pb.ValueInfoProto{valueInfo(OutputName, param("N"), dim(int64(out.C)), param("rows"), param("cols"))}
	}
	m := &pb.ModelProto{
		IrVersion:       7,
		OpsetImport:     []*pb.OperatorSetIdProto{{Domain: "", Version: ExportOpset}},
		ProducerName:    "fc2conv",
		Graph:           g,
		MetadataProps:   metadata(net),
		ProducerVersion: "1",
	}
	b, err := proto.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("export ONNX: %w", err)
	}
	return b, nil
}

func metadata(net *nn.Network) []*pb.StringStringEntryProto {
	var kv []*pb.StringStringEntryProto
	put := func(k string, v any) {
		b, err := json.Marshal(v)
		if err != nil {
			return // every value here is plain data; Validate ruled out NaN
		}
		kv = append(kv, &pb.StringStringEntryProto{Key: k, Value: string(b)})
	}
	s := net.Input
	put(metaChannels, s.Channels)
	put(metaWindow, []int{s.Height, s.Width})
	put(metaMean, s.Mean)
	put(metaStd, s.Std)
	if len(net.Labels) > 0 {
		put(metaLabels, net.Labels)
	}
	put(metaPositive, net.Positive)
	if net.Threshold != 0 {
		put(metaThreshold, net.Threshold)
	}
	if s.Context != 0 {
		put(metaContext, s.Context)
	}
	if net.Views != 0 {
		put(metaViews, net.Views)
	}
	if net.ViewPool != "" {
		put(metaViewPool, net.ViewPool)
	}
	if geo, err := net.Geometry(); err == nil {
		put(metaStride, []int{geo.Stride.H, geo.Stride.W})
		put(metaField, []int{geo.Field.H, geo.Field.W})
	}
	return kv
}

// exportChain appends to g the nodes and initializers of layers, reading
// in (of the given rank); each layer writes a value named after it, the
// last one final when final is not "". It returns the last value and its
// rank.
func exportChain(g *pb.GraphProto, layers []nn.Layer, in, final string, rank int) (string, int, error) {
	cur := in
	for i, l := range layers {
		next := l.Name()
		last := i == len(layers)-1 && final != ""
		if last {
			next = final
		}
		nodes, inits, r, err := exportLayer(g, l, cur, next, rank)
		if err != nil {
			return "", 0, fmt.Errorf("layer %q: %w", l.Name(), err)
		}
		if nodes == nil { // dropout: nothing at inference
			if !last {
				continue
			}
			nodes = []*pb.NodeProto{{Name: l.Name(), OpType: "Identity", Input: []string{cur}, Output: []string{next}}}
		}
		g.Node = append(g.Node, nodes...)
		g.Initializer = append(g.Initializer, inits...)
		cur, rank = next, r
	}
	return cur, rank, nil
}

// exportLayer returns the nodes and initializers of one layer reading in
// (of the given rank) and writing out, and the rank of out.
// A residual block appends its branches to g itself and returns the Add
// that sums them.
func exportLayer(g *pb.GraphProto, l nn.Layer, in, out string, rank int) ([]*pb.NodeProto, []*pb.TensorProto, int, error) {
	name := l.Name()
	node := func(op string, inputs []string, at ...*pb.AttributeProto) *pb.NodeProto {
		return &pb.NodeProto{Name: name, OpType: op, Input: inputs, Output: []string{out}, Attribute: at}
	}
	params := func() ([]string, []*pb.TensorProto) {
		var names []string
		var ts []*pb.TensorProto
		for _, p := range l.Params() {
			t := floatTensor(name+"."+p.Name, p.Shape, p.Value.Data)
			names = append(names, t.Name)
			ts = append(ts, t)
		}
		return names, ts
	}
	switch l := l.(type) {
	case *nn.Conv2D:
		ps, ts := params()
		return []*pb.NodeProto{node("Conv", append([]string{in}, ps...), slideAttrs(l.Window())...)}, ts, 4, nil
	case *nn.MaxPool2D:
		return []*pb.NodeProto{node("MaxPool", []string{in}, slideAttrs(l.Window())...)}, nil, 4, nil
	case *nn.AvgPool2D:
		include := 0
		if l.CountIncludePad {
			include = 1
		}
		return []*pb.NodeProto{node("AveragePool", []string{in},
			append(slideAttrs(l.Window()), intAttr("count_include_pad", int64(include)))...)}, nil, 4, nil
	case *nn.BatchNorm:
		ps, ts := params()
		return []*pb.NodeProto{node("BatchNormalization", append([]string{in}, ps...),
			floatAttr("epsilon", l.Eps))}, ts, rank, nil
	case *nn.ReLU:
		return []*pb.NodeProto{node("Relu", []string{in})}, nil, rank, nil
	case *nn.Sigmoid:
		return []*pb.NodeProto{node("Sigmoid", []string{in})}, nil, rank, nil
	case *nn.LeakyReLU:
		return []*pb.NodeProto{node("LeakyRelu", []string{in},
			floatAttr("alpha", l.Alpha))}, nil, rank, nil
	case *nn.PReLU:
		// Slopes broadcast along axis 1: C×1×1 on a map, C on a vector.
		shape := []int{l.Channels}
		if rank == 4 && l.Channels > 1 {
			shape = []int{l.Channels, 1, 1}
		}
		s := floatTensor(name+".slope", shape, l.Slope.Data)
		return []*pb.NodeProto{node("PRelu", []string{in, s.Name})}, []*pb.TensorProto{s}, rank, nil
	case *nn.ELU:
		return []*pb.NodeProto{node("Elu", []string{in},
			floatAttr("alpha", l.Alpha))}, nil, rank, nil
	case *nn.Tanh:
		return []*pb.NodeProto{node("Tanh", []string{in})}, nil, rank, nil
	case *nn.SiLU:
		// x·sigmoid(x), as torch writes nn.SiLU (Import reads it as a gate).
		sig := &pb.NodeProto{Name: name + ".sigmoid", OpType: "Sigmoid", Input: []string{in}, Output: []string{name + ".sigmoid"}}
		return []*pb.NodeProto{sig, node("Mul", []string{in, sig.Output[0]})}, nil, rank, nil
	case *nn.HardSigmoid:
		return []*pb.NodeProto{node("HardSigmoid", []string{in}, floatAttr("alpha", l.Alpha), floatAttr("beta", l.Beta))}, nil, rank, nil
	case *nn.Unary:
		nodes, inits := exportUnary(l, in, out)
		return nodes, inits, rank, nil
	case *nn.Clip:
		lo := floatTensor(name+".min", nil, []float32{float32(l.Min)})
		hi := floatTensor(name+".max", nil, []float32{float32(l.Max)})
		return []*pb.NodeProto{node("Clip", []string{in, lo.Name, hi.Name})}, []*pb.TensorProto{lo, hi}, rank, nil
	case *nn.LogSoftmax:
		return []*pb.NodeProto{node("LogSoftmax", []string{in}, intAttr("axis", 1))}, nil, rank, nil
	case *nn.Softmax:
		// Over channels: axis 1 of N×C or of N×C×H×W (opset 13 takes one axis).
		return []*pb.NodeProto{node("Softmax", []string{in}, intAttr("axis", 1))}, nil, rank, nil
	case *nn.Dropout:
		return nil, nil, rank, nil
	case *nn.Flatten:
		if l.Order == nn.FlattenHWC {
			t := name + ".nhwc"
			tr := &pb.NodeProto{Name: t, OpType: "Transpose", Input: []string{in}, Output: []string{t}, Attribute: []*pb.AttributeProto{intsAttr("perm", 0, 2, 3, 1)}}
			return []*pb.NodeProto{tr, node("Flatten", []string{t}, intAttr("axis", 1))}, nil, 2, nil
		}
		return []*pb.NodeProto{node("Flatten", []string{in}, intAttr("axis", 1))}, nil, 2, nil
	case *nn.Dense:
		ps, ts := params()
		return []*pb.NodeProto{node("Gemm", append([]string{in}, ps...), intAttr("transB", 1))}, ts, 2, nil
	case nn.Block:
		ends := make([]string, len(l.Paths()))
		for b, ls := range l.Paths() {
			var err error
			if ends[b], _, err = exportChain(g, ls, in, "", rank); err != nil {
				return nil, nil, 0, err
			}
		}
		if l.Kind() == nn.KindConcat {
			return []*pb.NodeProto{node("Concat", ends, intAttr("axis", 1))}, nil, rank, nil
		}
		return []*pb.NodeProto{node("Add", ends)}, nil, rank, nil
	}
	return nil, nil, 0, fmt.Errorf("%w: layer kind %s has no ONNX form here", ErrUnsupported, l.Kind())
}

// exportUnary writes l as opset 13 has it: Softplus as itself, the
// others as the nodes torch writes for them there (HardSwish and Mish
// as x times a function of x, GELU with Erf), which Import reads back.
func exportUnary(l *nn.Unary, in, out string) ([]*pb.NodeProto, []*pb.TensorProto) {
	name := l.Name()
	var nodes []*pb.NodeProto
	var inits []*pb.TensorProto
	// step appends op on inputs, writing out when last, else a value named
	// after the layer and the op.
	step := func(op string, last bool, inputs []string, at ...*pb.AttributeProto) string {
		v := name + "." + strings.ToLower(op) + fmt.Sprint(len(nodes))
		if last {
			v = out
		}
		nodes = append(nodes, &pb.NodeProto{Name: v, OpType: op, Input: inputs, Output: []string{v}, Attribute: at})
		return v
	}
	constant := func(suffix string, v float64) string {
		t := floatTensor(name+"."+suffix, nil, []float32{float32(v)})
		inits = append(inits, t)
		return t.Name
	}
	switch l.Kind() {
	case nn.KindSoftplus:
		step("Softplus", true, []string{in})
	case nn.KindHardSwish:
		h := step("HardSigmoid", false, []string{in}, floatAttr("alpha", 1.0/6), floatAttr("beta", 0.5))
		step("Mul", true, []string{in, h})
	case nn.KindMish:
		t := step("Tanh", false, []string{step("Softplus", false, []string{in})})
		step("Mul", true, []string{in, t})
	case nn.KindGELU:
		d := step("Div", false, []string{in, constant("sqrt2", math.Sqrt2)})
		a := step("Add", false, []string{step("Erf", false, []string{d}), constant("one", 1)})
		m := step("Mul", false, []string{in, a})
		step("Mul", true, []string{m, constant("half", 0.5)})
	}
	return nodes, inits
}

func floatAttr(name string, v float64) *pb.AttributeProto {
	return &pb.AttributeProto{Name: name, Type: pb.AttributeProto_FLOAT, F: float32(v)}
}

// slideAttrs are the kernel, strides, pads (top, left, bottom, right) and,
// for a ceil-mode pool, ceil_mode of a conv or pool.
func slideAttrs(w nn.Window) []*pb.AttributeProto {
	at := []*pb.AttributeProto{
		intsAttr("kernel_shape", w.Kernel.H, w.Kernel.W), intsAttr("strides", w.Stride.H, w.Stride.W),
		intsAttr("pads", w.Padding.H, w.Padding.W, w.PaddingEnd.H, w.PaddingEnd.W),
	}
	if w.Ceil {
		at = append(at, intAttr("ceil_mode", 1))
	}
	return at
}

func floatTensor(name string, shape []int, data []float32) *pb.TensorProto {
	t := &pb.TensorProto{Name: name, DataType: int32(pb.TensorProto_FLOAT), RawData: make([]byte, 4*len(data))}
	for _, d := range shape {
		t.Dims = append(t.Dims, int64(d))
	}
	for i, v := range data {
		binary.LittleEndian.PutUint32(t.RawData[4*i:], math.Float32bits(v))
	}
	return t
}

func intsAttr(name string, v ...int) *pb.AttributeProto {
	a := &pb.AttributeProto{Name: name, Type: pb.AttributeProto_INTS}
	for _, x := range v {
		a.Ints = append(a.Ints, int64(x))
	}
	return a
}

func intAttr(name string, v int64) *pb.AttributeProto {
	return &pb.AttributeProto{Name: name, Type: pb.AttributeProto_INT, I: v}
}

func dim(v int64) *pb.TensorShapeProto_Dimension {
	return &pb.TensorShapeProto_Dimension{Value: &pb.TensorShapeProto_Dimension_DimValue{DimValue: v}}
}

func param(name string) *pb.TensorShapeProto_Dimension {
	return &pb.TensorShapeProto_Dimension{Value: &pb.TensorShapeProto_Dimension_DimParam{DimParam: name}}
}

func valueInfo(name string, dims ...*pb.TensorShapeProto_Dimension) *pb.ValueInfoProto {
	return &pb.ValueInfoProto{Name: name, Type: &pb.TypeProto{Value: &pb.TypeProto_TensorType{TensorType: &pb.TypeProto_Tensor{
		ElemType: int32(pb.TensorProto_FLOAT), Shape: &pb.TensorShapeProto{Dim: dims}}}}}
}
