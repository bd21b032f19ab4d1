package onnx

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"

	pb "github.com/advancedclimatesystems/gonnx/onnx"

	"github.com/fc2conv/fc2conv/nn"
)

// layout is how the value flowing down the chain is laid out.
type layout int

const (
	nchw   layout = iota // a C×H×W map per batch item, our own layout
	nhwc                 // the same map transposed channels-last (before a flatten)
	vector               // N×F, after a flatten
)

// importer walks the chain from the input to the output, appending nn
// layers as it goes.
type importer struct {
	lim      nn.Limits // resolved
	maxNodes int
	// weightBytes counts the weights read so far, as float32, against
	// lim.MaxWeightBytes.
	weightBytes int64
	dir         string
	opset       int64
	consts      map[string]*pb.TensorProto // initializers and Constant outputs
	net         *nn.Network
	names       map[string]bool

	layout layout
	shape  nn.Shape // the current map (or F×1×1 for a vector)
	// bias is the bias of the layer the previous node made (Conv, Gemm,
	// MatMul), for an Add that follows it; nil after any other node.
	bias *nn.Tensor
	// pad is an explicit zero Pad waiting for the Conv or average pool
	// after it (torch writes one before an AveragePool from opset 11 on);
	// padUsed is set by the node that takes it.
	pad     *[2]nn.Pair
	padUsed bool
	// consumers of each computed value, and the graph's outputs.
	consumers map[string][]*pb.NodeProto
	outputs   map[string]bool
	// absorbed are the nodes input reads before the chain starts: the
	// input's transpose to NCHW and the input scaling before it.
	absorbed map[*pb.NodeProto]bool
	// scaling is what the graph does to its own input before its first
	// layer (see inputScaling); nil when nothing.
	scaling *inputScaling
	// order is the graph's nodes, topologically sorted as ONNX requires,
	// and index each node's place there: where a fork's branches join.
	order []*pb.NodeProto
	index map[*pb.NodeProto]int
	// depth counts the blocks (residual blocks, concatenations) being
	// read around the current node.
	depth int
}

func (im *importer) graph(g *pb.GraphProto, meta map[string]string) (*nn.Network, error) {
	if len(g.Node) > im.maxNodes {
		return nil, fmt.Errorf("%w: the graph has %d nodes, at most %d", nn.ErrLimit, len(g.Node), im.maxNodes)
	}
	im.consts = map[string]*pb.TensorProto{}
	for _, t := range g.Initializer {
		im.consts[t.Name] = t
	}
	if len(g.SparseInitializer) > 0 {
		return nil, fmt.Errorf("%w: sparse initializer %q", ErrUnsupported, g.SparseInitializer[0].GetValues().GetName())
	}
	for _, n := range g.Node {
		if n.OpType == "Constant" && (n.Domain == "" || n.Domain == "ai.onnx") {
			t, err := im.constant(n)
			if err != nil {
				return nil, nodeErr(n, err)
			}
			im.consts[n.Output[0]] = t
		}
	}
	var in *pb.ValueInfoProto
	for _, v := range g.Input {
		if _, ok := im.consts[v.Name]; ok {
			continue // IR < 4 lists initializers among the inputs
		}
		if in != nil {
			return nil, fmt.Errorf("%w: inputs %q and %q; a classifier has one image input", ErrUnsupported, in.Name, v.Name)
		}
		in = v
	}
	if in == nil {
		return nil, fmt.Errorf("%w: the graph has no input", ErrFormat)
	}
	if len(g.Output) != 1 {
		return nil, fmt.Errorf("%w: %d graph outputs; a classifier has one", ErrUnsupported, len(g.Output))
	}
	im.outputs = map[string]bool{g.Output[0].Name: true}
	im.order = chainConcats(g.Node, im.outputs)
	im.index = make(map[*pb.NodeProto]int, len(im.order))
	for i, n := range im.order {
		im.index[n] = i
	}
	im.consumers = map[string][]*pb.NodeProto{}
	for _, n := range im.order {
		if _, ok := im.consts[firstOut(n)]; ok && n.OpType == "Constant" {
			continue
		}
		if n.Domain != "" && n.Domain != "ai.onnx" {
			return nil, nodeErr(n, fmt.Errorf("%w: op domain %q (only the default ONNX domain is supported)", ErrUnsupported, n.Domain))
		}
		for _, v := range n.Input {
			if _, ok := im.consts[v]; ok || v == "" {
				continue
			}
			if !slices.Contains(im.consumers[v], n) {
				im.consumers[v] = append(im.consumers[v], n)
			}
		}
	}

	im.net = &nn.Network{}
	cur, err := im.input(in, meta)
	if err != nil {
		return nil, err
	}
	done := map[*pb.NodeProto]bool{}
	if cur, err = im.walk(cur, "", done); err != nil {
		return nil, err
	}
	if !im.outputs[cur] {
		return nil, fmt.Errorf("%w: the chain from input %q ends at %q, which is not the graph output %q", ErrUnsupported, in.Name, cur, g.Output[0].Name)
	}
	for _, n := range im.order {
		if !done[n] && n.OpType != "Constant" && !im.absorbed[n] {
			return nil, nodeErr(n, fmt.Errorf("%w: not on the chain from the input to the output (a branch or a computation on constants)", ErrUnsupported))
		}
	}
	if len(im.net.Layers) == 0 {
		return nil, fmt.Errorf("%w: the graph has no layers nn can run", ErrUnsupported)
	}
	if len(im.net.Layers) > nn.MaxLayers {
		return nil, fmt.Errorf("%w: %d layers, at most %d", ErrUnsupported, len(im.net.Layers), nn.MaxLayers)
	}
	return im.net, nil
}

// walk appends the layers of the chain from the value cur on, until the
// value end ("": until nothing reads it), and returns where it stopped.
// A fork whose branches join again by an Add becomes a residual block,
// by a Concat on channels a concatenation; nodes walked are marked in
// done.
func (im *importer) walk(cur, end string, done map[*pb.NodeProto]bool) (string, error) {
	for cur != end {
		cs, err := im.foldShapes(im.consumers[cur], done)
		if err != nil {
			return "", err
		}
		if len(cs) == 0 {
			break
		}
		if g := im.gate(cs, cur); g != nil && !slices.ContainsFunc(g.nodes, func(n *pb.NodeProto) bool { return done[n] }) {
			for _, n := range g.nodes {
				done[n] = true
			}
			if im.pad != nil {
				return "", nodeErr(g.nodes[0], fmt.Errorf("%w: a Pad is supported only right before a Conv or an AveragePool that counts pads", ErrUnsupported))
			}
			if err := im.add(g.last, g.layer(im.name(g.last))); err != nil {
				return "", nodeErr(g.last, err)
			}
			im.bias = nil
			cur = firstOut(g.last)
			continue
		}
		if join, ends, from := im.join(cs, cur); join != nil && !im.outputs[cur] {
			if cur, err = im.block(cur, cs, join, ends, from, done); err != nil {
				return "", err
			}
			continue
		}
		if len(cs) > 1 || (im.outputs[cur] && len(cs) > 0) {
			names := make([]string, len(cs))
			for i, c := range cs {
				names[i] = fmt.Sprintf("%q (%s)", c.Name, c.OpType)
			}
			return "", fmt.Errorf("%w: value %q feeds %s: the graph branches there; only a chain from input to output, with residual blocks (two branches summed by an Add) and concatenations (branches joined by a Concat on channels), is supported", ErrUnsupported, cur, strings.Join(names, " and "))
		}
		n := cs[0]
		if done[n] {
			return "", nodeErr(n, fmt.Errorf("%w: the graph has a cycle through this node", ErrFormat))
		}
		done[n] = true
		next, err := im.node(n, cur)
		if err != nil {
			return "", nodeErr(n, err)
		}
		cur = next
	}
	return cur, nil
}

func firstOut(n *pb.NodeProto) string {
	if len(n.Output) == 0 {
		return ""
	}
	return n.Output[0]
}

func nodeErr(n *pb.NodeProto, err error) error {
	return fmt.Errorf("node %q (%s): %w", n.Name, n.OpType, err)
}

// input reads the image input: N×C×H×W, or N×H×W×C when a Transpose to
// NCHW follows (tf2onnx's Keras layout), which is absorbed with any
// scaling of the input before it (see scaleInput). The batch may be
// free; height and width must be fixed unless the model's fc2conv
// metadata gives the window (a converted network Export wrote).
func (im *importer) input(v *pb.ValueInfoProto, meta map[string]string) (string, error) {
	tt := v.GetType().GetTensorType()
	if tt == nil || tt.Shape == nil {
		return "", fmt.Errorf("%w: input %q has no tensor shape", ErrUnsupported, v.Name)
	}
	if tt.ElemType != int32(pb.TensorProto_FLOAT) {
		return "", fmt.Errorf("%w: input %q has type %s, want FLOAT", ErrUnsupported, v.Name, dtypeName(tt.ElemType))
	}
	dims := tt.Shape.Dim
	if len(dims) != 4 {
		return "", fmt.Errorf("%w: input %q has %d dimensions, want 4 (N×C×H×W, or N×H×W×C for Keras)", ErrUnsupported, v.Name, len(dims))
	}
	size := make([]int, 4) // 0: free
	for i, d := range dims {
		if x, ok := d.Value.(*pb.TensorShapeProto_Dimension_DimValue); ok {
			if x.DimValue < 1 || x.DimValue > nn.MaxDim {
				return "", fmt.Errorf("%w: input %q: dimension %d is %d, out of range [1,%d]", ErrUnsupported, v.Name, i, x.DimValue, nn.MaxDim)
			}
			size[i] = int(x.DimValue)
		}
	}
	if size[0] > 1 {
		return "", fmt.Errorf("%w: input %q has a fixed batch of %d; export with batch 1 or a free batch", ErrUnsupported, v.Name, size[0])
	}
	c, h, w := size[1], size[2], size[3]
	start := v.Name
	// tf2onnx writes Keras's Rescaling on the N×H×W×C input, before its
	// transpose: look past such nodes for it.
	var scales []*pb.NodeProto
	at := v.Name
	for cs := im.consumers[at]; len(cs) == 1 && isScaling(cs[0]) && !im.outputs[at] && !slices.Contains(scales, cs[0]); cs = im.consumers[at] {
		scales = append(scales, cs[0]) // Contains: a cycle ends the walk, and the chain reports it
		at = firstOut(cs[0])
	}
	im.absorbed = map[*pb.NodeProto]bool{}
	nhwcInput := false
	if cs := im.consumers[at]; len(cs) == 1 && cs[0].OpType == "Transpose" && !im.outputs[at] {
		if perm, _ := (attrs{node: cs[0]}).ints("perm", nil); slices.Equal(perm, []int64{0, 3, 1, 2}) {
			c, h, w = size[3], size[1], size[2]
			im.absorbed[cs[0]], start = true, firstOut(cs[0])
			nhwcInput = true
		}
	}
	if c == 0 {
		return "", fmt.Errorf("%w: input %q has a free channel count", ErrUnsupported, v.Name)
	}
	if nhwcInput { // else the chain reads them as NCHW, from the input on
		chain := v.Name
		for _, n := range scales {
			if err := im.scaleInput(n, chain, c, 0); err != nil {
				return "", nodeErr(n, err)
			}
			im.absorbed[n], chain = true, firstOut(n)
		}
	}
	if h == 0 || w == 0 {
		var win []int
		if err := metaJSON(meta, metaWindow, &win); err != nil {
			return "", err
		}
		if len(win) != 2 || win[0] < 1 || win[1] < 1 || win[0] > nn.MaxDim || win[1] > nn.MaxDim {
			return "", fmt.Errorf("%w: input %q has a free height or width; the window must be fixed for conversion (export the classifier with a fixed input size)", ErrUnsupported, v.Name)
		}
		h, w = win[0], win[1]
	}
	if c > 4 {
		return "", fmt.Errorf("%w: input %q has %d channels, want 1 (grey) to 4", ErrUnsupported, v.Name, c)
	}
	im.net.Input = nn.InputSpec{Channels: c, Height: h, Width: w}
	im.shape = nn.Shape{C: c, H: h, W: w}
	return start, nil
}

// node appends the layers of one node whose data input is cur, and
// returns the value the chain continues with.
func (im *importer) node(n *pb.NodeProto, cur string) (string, error) {
	if isScaling(n) && len(im.net.Layers) == 0 && im.depth == 0 && im.pad == nil && im.layout == nchw {
		// The input scaled before any layer: N×C×H×W here, so a
		// per-channel constant has the height and width after its axis.
		return firstOut(n), im.scaleInput(n, cur, im.shape.C, 2)
	}
	if (n.OpType == "Add" || n.OpType == "Mul") && len(n.Input) == 2 && n.Input[1] == cur {
		// Add and Mul commute: read k + x as x + k.
		n = &pb.NodeProto{Name: n.Name, OpType: n.OpType, Input: []string{cur, n.Input[0]}, Output: n.Output, Attribute: n.Attribute}
	}
	if len(n.Input) == 0 || n.Input[0] != cur {
		return "", fmt.Errorf("%w: its first input is not the chain's value %q", ErrUnsupported, cur)
	}
	for _, v := range n.Input[1:] {
		if _, ok := im.consts[v]; !ok && v != "" {
			return "", fmt.Errorf("%w: input %q is computed, not a constant: the graph joins two branches here", ErrUnsupported, v)
		}
	}
	if len(n.Output) == 0 || n.Output[0] == "" {
		return "", fmt.Errorf("%w: no output", ErrFormat)
	}
	for _, o := range n.Output[1:] {
		if o != "" && (len(im.consumers[o]) > 0 || im.outputs[o]) {
			return "", fmt.Errorf("%w: its extra output %q is used; only the first output may be", ErrUnsupported, o)
		}
	}
	a := newAttrs(n)
	bias := im.bias
	im.bias = nil
	pad := im.pad
	im.padUsed = false
	var err error
	switch n.OpType {
	case "Conv":
		err = im.conv(n, a)
	case "MaxPool", "AveragePool":
		err = im.pool(n, a)
	case "GlobalAveragePool", "GlobalMaxPool":
		err = im.globalPool(n)
	case "ReduceMean", "ReduceMax":
		err = im.reduce(n, a)
	case "Squeeze":
		err = im.squeeze(n, a)
	case "Relu":
		err = im.add(n, nn.NewReLU(im.name(n)))
	case "Sigmoid":
		err = im.add(n, nn.NewSigmoid(im.name(n)))
	case "Softmax":
		err = im.softmax(n, a)
	case "Clip":
		err = im.clip(n, a)
	case "Dropout":
		err = im.dropout(n, a)
	case "Identity":
	case "Pad":
		err = im.padNode(n, a)
		pad = nil
	case "BatchNormalization":
		err = im.batchNorm(n, a)
	case "Transpose":
		err = im.transpose(a)
	case "Flatten":
		err = im.flatten(a)
	case "Reshape":
		err = im.reshape(n, a)
	case "Gemm":
		err = im.gemm(n, a)
	case "MatMul":
		err = im.matMul(n)
	case "Add", "Sub":
		err = im.addBias(n, bias)
	case "Mul", "Div":
		err = im.scaleAfter(n, bias)
	case "LeakyRelu":
		var alpha float64
		if alpha, err = a.float("alpha", 0.01); err == nil {
			err = im.add(n, nn.NewLeakyReLU(im.name(n), alpha))
		}
	case "PRelu":
		err = im.prelu(n)
	case "Elu":
		var alpha float64
		if alpha, err = a.float("alpha", 1); err == nil {
			err = im.add(n, nn.NewELU(im.name(n), alpha))
		}
	case "Tanh":
		err = im.add(n, nn.NewTanh(im.name(n)))
	case "HardSigmoid":
		var alpha, beta float64
		if alpha, err = a.float("alpha", 0.2); err == nil {
			if beta, err = a.float("beta", 0.5); err == nil {
				err = im.add(n, nn.NewHardSigmoid(im.name(n), alpha, beta))
			}
		}
	case "HardSwish":
		err = im.add(n, nn.NewUnary(im.name(n), nn.KindHardSwish))
	case "Softplus":
		err = im.add(n, nn.NewUnary(im.name(n), nn.KindSoftplus))
	case "Mish":
		err = im.add(n, nn.NewUnary(im.name(n), nn.KindMish))
	case "Gelu":
		var approx string
		if approx, err = a.str("approximate", "none"); err == nil && approx != "none" {
			err = fmt.Errorf("%w: approximate %q (only the exact GELU, \"none\")", ErrUnsupported, approx)
		} else if err == nil {
			err = im.add(n, nn.NewUnary(im.name(n), nn.KindGELU))
		}
	case "LogSoftmax":
		err = im.softmax(n, a)
	default:
		err = fmt.Errorf("%w: op type %s", ErrUnsupported, n.OpType)
	}
	if err != nil {
		return "", err
	}
	if err := a.done(); err != nil {
		return "", err
	}
	if pad != nil {
		if !im.padUsed {
			return "", fmt.Errorf("%w: a Pad of %v top/left, %v bottom/right is supported only right before a Conv or an AveragePool that counts pads", ErrUnsupported, pad[0], pad[1])
		}
		im.pad = nil
	}
	return n.Output[0], nil
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9_-]+`)

// name derives a unique layer name from the node's name or output.
func (im *importer) name(n *pb.NodeProto) string {
	s := n.Name
	if s == "" {
		s = firstOut(n)
	}
	s = strings.Trim(unsafeName.ReplaceAllString(s, "_"), "_")
	if len(s) > 64 {
		s = s[len(s)-64:]
	}
	if s == "" {
		s = strings.ToLower(n.OpType)
	}
	base := s
	for i := 2; im.names[s]; i++ {
		s = fmt.Sprintf("%s_%d", base, i)
	}
	im.names[s] = true
	return s
}

// add appends l and moves the current shape through it.
func (im *importer) add(n *pb.NodeProto, l nn.Layer) error {
	out, err := l.OutShape(im.shape)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUnsupported, err)
	}
	im.net.Layers = append(im.net.Layers, l)
	im.shape = out
	return nil
}

func (im *importer) needMap(what string) error {
	switch im.layout {
	case nhwc:
		return fmt.Errorf("%w: %s on a channels-last map (only a flatten may follow the transpose)", ErrUnsupported, what)
	case vector:
		return fmt.Errorf("%w: %s on a flattened vector", ErrUnsupported, what)
	}
	return nil
}

// weight returns the constant input i as float32 with its dims.
func (im *importer) weight(n *pb.NodeProto, i int, what string) ([]float32, []int64, error) {
	if i >= len(n.Input) || n.Input[i] == "" {
		return nil, nil, fmt.Errorf("%w: missing %s input", ErrFormat, what)
	}
	t, ok := im.consts[n.Input[i]]
	if !ok {
		return nil, nil, fmt.Errorf("%w: %s %q is not an initializer or a constant", ErrUnsupported, what, n.Input[i])
	}
	v, err := im.floats(t)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", what, err)
	}
	for j, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return nil, nil, fmt.Errorf("%w: %s %q element %d is %v", ErrUnsupported, what, t.Name, j, x)
		}
	}
	return v, t.Dims, nil
}

// optWeight is weight for an optional input: nil when absent.
func (im *importer) optWeight(n *pb.NodeProto, i int, what string) ([]float32, []int64, error) {
	if i >= len(n.Input) || n.Input[i] == "" {
		return nil, nil, nil
	}
	return im.weight(n, i, what)
}

// scalarInput reads an optional constant scalar input (Clip's bounds,
// Dropout's flags); ok is false when absent.
func (im *importer) scalarInput(n *pb.NodeProto, i int, what string) (float64, bool, error) {
	if i >= len(n.Input) || n.Input[i] == "" {
		return 0, false, nil
	}
	t := im.consts[n.Input[i]]
	if t.DataType == int32(pb.TensorProto_BOOL) {
		if len(t.Dims) > 1 || (len(t.Dims) == 1 && t.Dims[0] != 1) {
			return 0, false, fmt.Errorf("%w: %s is not a scalar", ErrUnsupported, what)
		}
		switch {
		case len(t.RawData) == 1:
			return float64(t.RawData[0]), true, nil
		case len(t.Int32Data) == 1:
			return float64(t.Int32Data[0]), true, nil
		}
		return 0, false, fmt.Errorf("%w: %s has no value", ErrFormat, what)
	}
	v, err := im.floats(t)
	if err != nil {
		return 0, false, fmt.Errorf("%s: %w", what, err)
	}
	if len(v) != 1 {
		return 0, false, fmt.Errorf("%w: %s has %d values, want a scalar", ErrUnsupported, what, len(v))
	}
	return float64(v[0]), true, nil
}

func dimsEqual(d []int64, want ...int) bool {
	if len(d) != len(want) {
		return false
	}
	for i := range d {
		if d[i] != int64(want[i]) {
			return false
		}
	}
	return true
}

// constant turns a Constant node into a tensor.
func (im *importer) constant(n *pb.NodeProto) (*pb.TensorProto, error) {
	if len(n.Output) != 1 || len(n.Attribute) != 1 {
		return nil, fmt.Errorf("%w: a Constant has one output and one attribute", ErrFormat)
	}
	a := n.Attribute[0]
	t := &pb.TensorProto{Name: n.Output[0]}
	switch a.Name {
	case "value":
		if a.T == nil {
			return nil, fmt.Errorf("%w: attribute value holds no tensor", ErrFormat)
		}
		c := cloneTensor(a.T)
		c.Name = n.Output[0]
		return c, nil
	case "value_float":
		t.DataType, t.FloatData = int32(pb.TensorProto_FLOAT), []float32{a.F}
	case "value_floats":
		t.DataType, t.FloatData, t.Dims = int32(pb.TensorProto_FLOAT), a.Floats, []int64{int64(len(a.Floats))}
	case "value_int":
		t.DataType, t.Int64Data = int32(pb.TensorProto_INT64), []int64{a.I}
	case "value_ints":
		t.DataType, t.Int64Data, t.Dims = int32(pb.TensorProto_INT64), a.Ints, []int64{int64(len(a.Ints))}
	default:
		return nil, fmt.Errorf("%w: attribute %q", ErrUnsupported, a.Name)
	}
	return t, nil
}

// cloneTensor copies a tensor's header; the data slices are shared, which
// is safe since nothing writes them.
func cloneTensor(t *pb.TensorProto) *pb.TensorProto {
	return &pb.TensorProto{
		Dims: t.Dims, DataType: t.DataType, FloatData: t.FloatData, Int32Data: t.Int32Data,
		Int64Data: t.Int64Data, DoubleData: t.DoubleData, RawData: t.RawData,
		ExternalData: t.ExternalData, DataLocation: t.DataLocation, Name: t.Name,
	}
}
