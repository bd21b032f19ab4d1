package onnx

import (
	"fmt"
	"math"
	"slices"

	pb "github.com/advancedclimatesystems/gonnx/onnx"

	"github.com/fc2conv/fc2conv/nn"
)

// attrs reads a node's attributes and remembers which were read, so that
// done can refuse any the op handler does not understand.
type attrs struct {
	node *pb.NodeProto
	used map[string]bool
}

func newAttrs(n *pb.NodeProto) attrs { return attrs{n, map[string]bool{}} }

func (a attrs) get(name string, typ pb.AttributeProto_AttributeType) (*pb.AttributeProto, error) {
	if a.used != nil {
		a.used[name] = true
	}
	for _, at := range a.node.Attribute {
		if at.Name != name {
			continue
		}
		if at.Type != typ && at.Type != pb.AttributeProto_UNDEFINED {
			return nil, fmt.Errorf("%w: attribute %q has type %s, want %s", ErrFormat, name, at.Type, typ)
		}
		return at, nil
	}
	return nil, nil
}

func (a attrs) ints(name string, def []int64) ([]int64, error) {
	at, err := a.get(name, pb.AttributeProto_INTS)
	if at == nil || err != nil {
		return def, err
	}
	return at.Ints, nil
}

func (a attrs) int(name string, def int64) (int64, error) {
	at, err := a.get(name, pb.AttributeProto_INT)
	if at == nil || err != nil {
		return def, err
	}
	return at.I, nil
}

func (a attrs) float(name string, def float64) (float64, error) {
	at, err := a.get(name, pb.AttributeProto_FLOAT)
	if at == nil || err != nil {
		return def, err
	}
	return float64(at.F), nil
}

func (a attrs) str(name, def string) (string, error) {
	at, err := a.get(name, pb.AttributeProto_STRING)
	if at == nil || err != nil {
		return def, err
	}
	return string(at.S), nil
}

// done refuses attributes no handler read.
func (a attrs) done() error {
	for _, at := range a.node.Attribute {
		if !a.used[at.Name] {
			return fmt.Errorf("%w: attribute %q", ErrUnsupported, at.Name)
		}
	}
	return nil
}

// pair reads a two-value attribute (kernel_shape, strides, dilations).
func pair(a attrs, name string, def nn.Pair) (nn.Pair, error) {
	v, err := a.ints(name, []int64{int64(def.H), int64(def.W)})
	if err != nil {
		return nn.Pair{}, err
	}
	if len(v) != 2 {
		return nn.Pair{}, fmt.Errorf("%w: attribute %s %v: want 2 values (a 2-D op)", ErrUnsupported, name, v)
	}
	for _, x := range v {
		if x < 0 || x > nn.MaxKernel {
			return nn.Pair{}, fmt.Errorf("%w: attribute %s %v out of range [0,%d]", ErrUnsupported, name, v, nn.MaxKernel)
		}
	}
	return nn.Pair{H: int(v[0]), W: int(v[1])}, nil
}

// slide reads the strides, pads (or auto_pad) and dilations of a conv or
// pool with kernel k on the current map: begin is the top/left padding,
// end the bottom/right.
func (im *importer) slide(a attrs, k nn.Pair) (stride, begin, end nn.Pair, err error) {
	if stride, err = pair(a, "strides", nn.Pair{H: 1, W: 1}); err != nil {
		return
	}
	if stride.H < 1 || stride.W < 1 {
		err = fmt.Errorf("%w: attribute strides %v must be positive", ErrFormat, stride)
		return
	}
	dil, err := pair(a, "dilations", nn.Pair{H: 1, W: 1})
	if err != nil {
		return
	}
	if dil != (nn.Pair{H: 1, W: 1}) {
		err = fmt.Errorf("%w: attribute dilations %v (only 1×1 is supported)", ErrUnsupported, dil)
		return
	}
	pads, err := a.ints("pads", []int64{0, 0, 0, 0})
	if err != nil {
		return
	}
	if len(pads) != 4 {
		err = fmt.Errorf("%w: attribute pads %v: want 4 values (top, left, bottom, right)", ErrUnsupported, pads)
		return
	}
	for _, p := range pads {
		if p < 0 || p > nn.MaxKernel {
			err = fmt.Errorf("%w: attribute pads %v out of range [0,%d]", ErrUnsupported, pads, nn.MaxKernel)
			return
		}
	}
	begin, end = nn.Pair{H: int(pads[0]), W: int(pads[1])}, nn.Pair{H: int(pads[2]), W: int(pads[3])}
	auto, err := a.str("auto_pad", "NOTSET")
	if err != nil {
		return
	}
	switch auto {
	case "NOTSET":
	case "VALID":
		begin, end = nn.Pair{}, nn.Pair{}
	case "SAME_UPPER", "SAME_LOWER":
		// Output ceil(in/stride); the extra pad goes at the end for UPPER.
		same := func(in, k, s int) (lo, hi int) {
			total := max(((in+s-1)/s-1)*s+k-in, 0)
			if auto == "SAME_UPPER" {
				return total / 2, total - total/2
			}
			return total - total/2, total / 2
		}
		begin.H, end.H = same(im.shape.H, k.H, stride.H)
		begin.W, end.W = same(im.shape.W, k.W, stride.W)
	default:
		err = fmt.Errorf("%w: attribute auto_pad %q", ErrUnsupported, auto)
	}
	if p := im.pad; p != nil {
		begin.H, begin.W, end.H, end.W = begin.H+p[0].H, begin.W+p[0].W, end.H+p[1].H, end.W+p[1].W
		im.padUsed = true
	}
	return
}

// padNode reads a constant zero Pad of the spatial axes, for the Conv or
// average pool after it to take over.
func (im *importer) padNode(n *pb.NodeProto, a attrs) error {
	if err := im.needMap("Pad"); err != nil {
		return err
	}
	if im.pad != nil {
		return fmt.Errorf("%w: two Pads in a row", ErrUnsupported)
	}
	mode, err := a.str("mode", "constant")
	if err != nil {
		return err
	}
	if mode != "constant" {
		return fmt.Errorf("%w: attribute mode %q (only constant zero padding)", ErrUnsupported, mode)
	}
	var pads []int64
	value := 0.0
	if im.opset < 11 {
		if pads, err = a.ints("pads", nil); err != nil {
			return err
		}
		if value, err = a.float("value", 0); err != nil {
			return err
		}
	} else {
		if len(n.Input) > 3 && n.Input[3] != "" {
			return fmt.Errorf("%w: input axes", ErrUnsupported)
		}
		t, ok := im.consts[n.Input[min(1, len(n.Input)-1)]]
		if len(n.Input) < 2 || !ok {
			return fmt.Errorf("%w: no pads input", ErrFormat)
		}
		if pads, err = im.ints(t); err != nil {
			return fmt.Errorf("pads: %w", err)
		}
		v, ok, err := im.scalarInput(n, 2, "constant_value")
		if err != nil {
			return err
		}
		if ok {
			value = v
		}
	}
	if value != 0 {
		return fmt.Errorf("%w: padding with %g (only zero padding)", ErrUnsupported, value)
	}
	if len(pads) != 8 || pads[0] != 0 || pads[1] != 0 || pads[4] != 0 || pads[5] != 0 {
		return fmt.Errorf("%w: pads %v (only height and width of an N×C×H×W map may be padded)", ErrUnsupported, pads)
	}
	for _, p := range pads {
		if p < 0 || p > nn.MaxKernel {
			return fmt.Errorf("%w: pads %v out of range [0,%d]", ErrUnsupported, pads, nn.MaxKernel)
		}
	}
	p := [2]nn.Pair{{H: int(pads[2]), W: int(pads[3])}, {H: int(pads[6]), W: int(pads[7])}}
	if p != ([2]nn.Pair{}) {
		im.pad = &p
	}
	return nil
}

// padEnd is nn's PaddingEnd for ONNX's begin and end pads: nil when
// symmetric.
func padEnd(begin, end nn.Pair) *nn.Pair {
	if begin == end {
		return nil
	}
	return &end
}

func (im *importer) conv(n *pb.NodeProto, a attrs) error {
	if err := im.needMap("Conv"); err != nil {
		return err
	}
	w, wd, err := im.weight(n, 1, "weight")
	if err != nil {
		return err
	}
	if len(wd) != 4 {
		return fmt.Errorf("%w: weight has shape %v, want 4-D (out, in/group, kh, kw)", ErrUnsupported, wd)
	}
	outC, inG := int(wd[0]), int(wd[1])
	k := nn.Pair{H: int(wd[2]), W: int(wd[3])}
	ks, err := pair(a, "kernel_shape", k)
	if err != nil {
		return err
	}
	if ks != k {
		return fmt.Errorf("%w: attribute kernel_shape %v disagrees with the weight's %v", ErrFormat, ks, k)
	}
	group, err := a.int("group", 1)
	if err != nil {
		return err
	}
	inC := im.shape.C
	if group < 1 || int64(inC)%group != 0 || int64(outC)%group != 0 || int64(inG)*group != int64(inC) {
		return fmt.Errorf("%w: attribute group %d with weight %v on %d input channels", ErrUnsupported, group, wd, inC)
	}
	if outC > nn.MaxDim || k.H > nn.MaxKernel || k.W > nn.MaxKernel || k.H < 1 || k.W < 1 {
		return fmt.Errorf("%w: weight shape %v out of range", ErrUnsupported, wd)
	}
	// A grouped (or depthwise) conv becomes a dense one whose weight is
	// block diagonal; the engine finds the blocks again.
	if int64(outC)*int64(inC)*int64(k.H*k.W) > nn.MaxElements {
		return fmt.Errorf("%w: attribute group %d: the equivalent dense weight %d×%d×%v exceeds %d elements", ErrUnsupported, group, outC, inC, k, nn.MaxElements)
	}
	b, bd, err := im.optWeight(n, 2, "bias")
	if err != nil {
		return err
	}
	if b != nil && !dimsEqual(bd, outC) {
		return fmt.Errorf("%w: bias has shape %v, want [%d]", ErrFormat, bd, outC)
	}
	stride, begin, end, err := im.slide(a, k)
	if err != nil {
		return err
	}
	l := nn.NewConv2D(im.name(n), inC, outC, k, stride, begin)
	l.PaddingEnd = padEnd(begin, end)
	outG, kk := outC/int(group), k.H*k.W
	for oc := 0; oc < outC; oc++ {
		gi := oc / outG
		src := w[oc*inG*kk : (oc+1)*inG*kk]
		copy(l.Weight.Data[(oc*inC+gi*inG)*kk:], src)
	}
	if b != nil {
		copy(l.Bias.Data, b)
	}
	if err := im.add(n, l); err != nil {
		return err
	}
	im.bias = l.Bias
	return nil
}

func (im *importer) pool(n *pb.NodeProto, a attrs) error {
	if err := im.needMap(n.OpType); err != nil {
		return err
	}
	k, err := pair(a, "kernel_shape", nn.Pair{})
	if err != nil {
		return err
	}
	if k.H < 1 || k.W < 1 {
		return fmt.Errorf("%w: attribute kernel_shape missing or %v", ErrFormat, k)
	}
	stride, begin, end, err := im.slide(a, k)
	if err != nil {
		return err
	}
	ceil, err := a.int("ceil_mode", 0)
	if err != nil {
		return err
	}
	if n.OpType == "MaxPool" {
		if im.pad != nil {
			return fmt.Errorf("%w: a zero Pad before a MaxPool (whose own pads are -inf)", ErrUnsupported)
		}
		// storage_order only lays out the Indices output, which must be unused.
		if _, err := a.int("storage_order", 0); err != nil {
			return err
		}
		l := nn.NewMaxPool2D(im.name(n), k, stride, begin)
		l.PaddingEnd, l.CeilMode = padEnd(begin, end), ceil != 0
		return im.add(n, l)
	}
	include, err := a.int("count_include_pad", 0)
	if err != nil {
		return err
	}
	if im.pad != nil && include == 0 {
		// The explicit pad's zeros count in the divisor; nn's would not.
		im.padUsed = false
		return fmt.Errorf("%w: a Pad before an AveragePool that does not count pads", ErrUnsupported)
	}
	l := nn.NewAvgPool2D(im.name(n), k, stride, begin, include != 0)
	l.PaddingEnd, l.CeilMode = padEnd(begin, end), ceil != 0
	return im.add(n, l)
}

// globalPool pools the whole map of the fixed window; on a larger input
// the converted network slides it with stride 1, as a cell's window would.
func (im *importer) globalPool(n *pb.NodeProto) error {
	if err := im.needMap(n.OpType); err != nil {
		return err
	}
	k := nn.Pair{H: im.shape.H, W: im.shape.W}
	if k.H > nn.MaxKernel || k.W > nn.MaxKernel {
		return fmt.Errorf("%w: a %v map is larger than a pooling kernel may be (%d)", ErrUnsupported, k, nn.MaxKernel)
	}
	one := nn.Pair{H: 1, W: 1}
	if n.OpType == "GlobalMaxPool" {
		return im.add(n, nn.NewMaxPool2D(im.name(n), k, one, nn.Pair{}))
	}
	return im.add(n, nn.NewAvgPool2D(im.name(n), k, one, nn.Pair{}, false))
}

// spatial reports whether axes (of a rank-4 value, negative counting from
// the end) are exactly the current layout's height and width axes.
func (im *importer) spatial(axes []int64) bool {
	h, w := int64(2), int64(3)
	if im.layout == nhwc {
		h, w = 1, 2
	}
	seen := map[int64]bool{}
	for _, a := range axes {
		if a < 0 {
			a += 4
		}
		seen[a] = true
	}
	return len(axes) == 2 && seen[h] && seen[w]
}

// axesOf reads a reduction's or squeeze's axes: an attribute before opset
// from, the second input from it on.
func (im *importer) axesOf(n *pb.NodeProto, a attrs, from int64) ([]int64, error) {
	if im.opset < from {
		return a.ints("axes", nil)
	}
	if len(n.Input) < 2 || n.Input[1] == "" {
		return nil, nil
	}
	return im.ints(im.consts[n.Input[1]])
}

// reduce takes a mean or max over height and width (Keras's
// GlobalAveragePooling2D as tf2onnx writes it, torch's x.mean((2, 3))) as
// the global pool it is, flattened unless keepdims.
func (im *importer) reduce(n *pb.NodeProto, a attrs) error {
	if im.layout == vector {
		return im.needMap(n.OpType)
	}
	axes, err := im.axesOf(n, a, 18)
	if err != nil {
		return err
	}
	keep, err := a.int("keepdims", 1)
	if err != nil {
		return err
	}
	if _, err := a.int("noop_with_empty_axes", 0); err != nil {
		return err
	}
	if !im.spatial(axes) {
		return fmt.Errorf("%w: axes %v (only a reduction over height and width, a global pool)", ErrUnsupported, axes)
	}
	layout := im.layout
	im.layout = nchw
	op := "GlobalAveragePool"
	if n.OpType == "ReduceMax" {
		op = "GlobalMaxPool"
	}
	if err := im.globalPool(&pb.NodeProto{Name: n.Name, OpType: op, Output: n.Output}); err != nil {
		return err
	}
	im.layout = layout
	if keep == 0 {
		return im.toVector(n) // convert wants a Flatten before a Dense
	}
	return nil
}

// squeeze drops the 1×1 height and width of a pooled map.
func (im *importer) squeeze(n *pb.NodeProto, a attrs) error {
	axes, err := im.axesOf(n, a, 13)
	if err != nil {
		return err
	}
	if im.layout == vector || im.shape.H != 1 || im.shape.W != 1 || !im.spatial(axes) {
		return fmt.Errorf("%w: axes %v on a %v map (only the 1×1 height and width of a pooled map)", ErrUnsupported, axes, im.shape)
	}
	return im.toVector(n)
}

// channelAxis is the axis holding channels (or features) in the current
// layout, and the rank of the value.
func (im *importer) channelAxis() (axis, rank int64) {
	switch im.layout {
	case nhwc:
		return 3, 4
	case vector:
		return 1, 2
	}
	return 1, 4
}

func (im *importer) softmax(n *pb.NodeProto, a attrs) error {
	def := int64(-1)
	if im.opset < 13 {
		def = 1
	}
	axis, err := a.int("axis", def)
	if err != nil {
		return err
	}
	ch, rank := im.channelAxis()
	if axis < 0 {
		axis += rank
	}
	// Before opset 13 Softmax flattens every axis from axis on: the same
	// as over channels only when nothing follows them.
	coerced := im.opset < 13 && im.layout != vector && im.shape.H*im.shape.W != 1
	if axis != ch || coerced || im.layout == nhwc {
		return fmt.Errorf("%w: attribute axis %d on a rank-%d value: nn's softmax runs over channels (the last axis of the classifier's output)", ErrUnsupported, axis, rank)
	}
	if n.OpType == "LogSoftmax" {
		return im.add(n, nn.NewLogSoftmax(im.name(n)))
	}
	return im.add(n, nn.NewSoftmax(im.name(n)))
}

// clip maps Clip: min 0 alone is a ReLU, finite bounds (ReLU6) a clip.
func (im *importer) clip(n *pb.NodeProto, a attrs) error {
	lo, hi := math.Inf(-1), math.Inf(1)
	if im.opset < 11 {
		var err error
		if lo, err = a.float("min", -math.MaxFloat32); err != nil {
			return err
		}
		if hi, err = a.float("max", math.MaxFloat32); err != nil {
			return err
		}
	} else {
		if v, ok, err := im.scalarInput(n, 1, "min"); err != nil {
			return err
		} else if ok {
			lo = v
		}
		if v, ok, err := im.scalarInput(n, 2, "max"); err != nil {
			return err
		} else if ok {
			hi = v
		}
	}
	unbounded := func(v float64) bool { return math.IsInf(v, 0) || math.Abs(v) >= math.MaxFloat32 }
	switch {
	case lo == 0 && unbounded(hi):
		return im.add(n, nn.NewReLU(im.name(n)))
	case unbounded(lo) || unbounded(hi) || lo > hi:
		return fmt.Errorf("%w: Clip to [%g, %g]: only finite bounds (such as ReLU6's [0, 6]) or min 0 alone (a ReLU)", ErrUnsupported, lo, hi)
	}
	return im.add(n, nn.NewClip(im.name(n), lo, hi))
}

// dropout is removed; it must be in inference mode.
func (im *importer) dropout(n *pb.NodeProto, a attrs) error {
	if _, err := a.float("ratio", 0.5); err != nil { // before opset 12
		return err
	}
	if _, err := a.int("seed", 0); err != nil {
		return err
	}
	if im.opset >= 12 {
		if v, ok, err := im.scalarInput(n, 2, "training_mode"); err != nil {
			return err
		} else if ok && v != 0 {
			return fmt.Errorf("%w: input training_mode is true; export the model in eval mode", ErrUnsupported)
		}
	}
	return nil
}

func (im *importer) batchNorm(n *pb.NodeProto, a attrs) error {
	if im.layout == nhwc {
		return im.needMap("BatchNormalization")
	}
	eps, err := a.float("epsilon", 1e-5)
	if err != nil {
		return err
	}
	if _, err := a.float("momentum", 0.9); err != nil {
		return err
	}
	if v, err := a.int("training_mode", 0); err != nil {
		return err
	} else if v != 0 {
		return fmt.Errorf("%w: attribute training_mode 1; export the model in eval mode", ErrUnsupported)
	}
	if v, err := a.int("spatial", 1); err != nil {
		return err
	} else if v != 1 {
		return fmt.Errorf("%w: attribute spatial %d", ErrUnsupported, v)
	}
	c := im.shape.C
	l := nn.NewBatchNorm(im.name(n), c, eps)
	for i, dst := range []*nn.Tensor{l.Gamma, l.Beta, l.Mean, l.Var} {
		what := []string{"scale", "B", "input_mean", "input_var"}[i]
		v, d, err := im.weight(n, i+1, what)
		if err != nil {
			return err
		}
		if !dimsEqual(d, c) {
			return fmt.Errorf("%w: %s has shape %v, want [%d]", ErrFormat, what, d, c)
		}
		copy(dst.Data, v)
	}
	return im.add(n, l)
}

func (im *importer) transpose(a attrs) error {
	perm, err := a.ints("perm", nil)
	if err != nil {
		return err
	}
	switch {
	case im.layout == nchw && slices.Equal(perm, []int64{0, 2, 3, 1}):
		im.layout = nhwc // Keras's flatten order: a flatten must follow
		return nil
	case im.layout == vector && slices.Equal(perm, []int64{0, 1}):
		return nil
	}
	return fmt.Errorf("%w: attribute perm %v (supported: NHWC input to NCHW, and NCHW to NHWC before a flatten)", ErrUnsupported, perm)
}

// toVector lays the map out as a vector, in the order the layout says.
func (im *importer) toVector(n *pb.NodeProto) error {
	switch im.layout {
	case vector:
		return nil
	case nhwc:
		im.layout = vector
		return im.add(n, nn.NewFlatten(im.name(n), nn.FlattenHWC))
	}
	im.layout = vector
	return im.add(n, nn.NewFlatten(im.name(n), nn.FlattenCHW))
}

func (im *importer) flatten(a attrs) error {
	axis, err := a.int("axis", 1)
	if err != nil {
		return err
	}
	_, rank := im.channelAxis()
	if axis < 0 {
		axis += rank
	}
	if axis != 1 {
		return fmt.Errorf("%w: attribute axis %d (only 1, keeping the batch, is supported)", ErrUnsupported, axis)
	}
	return im.toVector(a.node)
}

// reshape accepts a Reshape to (batch, features), shape from a constant.
func (im *importer) reshape(n *pb.NodeProto, a attrs) error {
	if len(n.Input) < 2 {
		return fmt.Errorf("%w: no shape input", ErrUnsupported)
	}
	t, ok := im.consts[n.Input[1]]
	if !ok {
		return fmt.Errorf("%w: no shape input", ErrUnsupported)
	}
	shape, err := im.ints(t)
	if err != nil {
		return fmt.Errorf("shape: %w", err)
	}
	allowZero, err := a.int("allowzero", 0)
	if err != nil {
		return err
	}
	s := im.shape
	in := []int64{1, int64(s.C), int64(s.H), int64(s.W)}
	switch im.layout {
	case nhwc:
		in = []int64{1, int64(s.H), int64(s.W), int64(s.C)}
	case vector:
		in = []int64{1, int64(s.C)}
	}
	total := int64(s.Size())
	out := slices.Clone(shape)
	free, known := -1, int64(1)
	for i, d := range out {
		switch {
		case d == 0 && allowZero == 0 && i < len(in):
			out[i] = in[i]
		case d == -1 && free < 0:
			free = i
			continue
		case d < 1:
			return fmt.Errorf("%w: shape %v", ErrUnsupported, shape)
		}
		if out[i] > total {
			return fmt.Errorf("%w: shape %v on a %v map: only a reshape to (batch, %d) is supported", ErrUnsupported, shape, s, total)
		}
		known *= out[i]
		if known > total {
			return fmt.Errorf("%w: shape %v on a %v map: only a reshape to (batch, %d) is supported", ErrUnsupported, shape, s, total)
		}
	}
	if free >= 0 && known > 0 && total%known == 0 {
		out[free] = total / known
	}
	if len(out) != 2 || out[0] != 1 || out[1] != total {
		return fmt.Errorf("%w: shape %v on a %v map: only a reshape to (batch, %d) is supported", ErrUnsupported, shape, s, total)
	}
	return im.toVector(n)
}

func (im *importer) gemm(n *pb.NodeProto, a attrs) error {
	if im.layout != vector {
		return fmt.Errorf("%w: Gemm on a map; a Flatten or Reshape must come first", ErrUnsupported)
	}
	ta, err := a.int("transA", 0)
	if err != nil {
		return err
	}
	if ta != 0 {
		return fmt.Errorf("%w: attribute transA %d (the input is a batch of rows)", ErrUnsupported, ta)
	}
	tb, err := a.int("transB", 0)
	if err != nil {
		return err
	}
	alpha, err := a.float("alpha", 1)
	if err != nil {
		return err
	}
	beta, err := a.float("beta", 1)
	if err != nil {
		return err
	}
	l, err := im.dense(n, tb != 0, float32(alpha))
	if err != nil {
		return err
	}
	c, cd, err := im.optWeight(n, 2, "C")
	if err != nil {
		return err
	}
	if c != nil {
		if err := addBroadcast(l.Bias.Data, c, cd, float32(beta), 0); err != nil {
			return err
		}
	}
	if err := im.add(n, l); err != nil {
		return err
	}
	im.bias = l.Bias
	return nil
}

// dense builds a Dense from the constant B of a Gemm or MatMul: [F, out],
// or [out, F] when transposed, times alpha.
func (im *importer) dense(n *pb.NodeProto, transB bool, alpha float32) (*nn.Dense, error) {
	w, wd, err := im.weight(n, 1, "B")
	if err != nil {
		return nil, err
	}
	f := im.shape.C
	if len(wd) != 2 {
		return nil, fmt.Errorf("%w: B has shape %v, want 2-D", ErrUnsupported, wd)
	}
	rows, cols := int(wd[0]), int(wd[1])
	out := cols
	if transB {
		out = rows
	}
	if (transB && cols != f) || (!transB && rows != f) {
		return nil, fmt.Errorf("%w: B has shape %v (transB %v) for %d input features", ErrUnsupported, wd, transB, f)
	}
	if out < 1 || out > nn.MaxDim {
		return nil, fmt.Errorf("%w: %d output features out of range [1,%d]", ErrUnsupported, out, nn.MaxDim)
	}
	l := nn.NewDense(im.name(n), f, out)
	for o := 0; o < out; o++ {
		for i := 0; i < f; i++ {
			var v float32
			if transB {
				v = w[o*cols+i]
			} else {
				v = w[i*cols+o]
			}
			l.Weight.Data[o*f+i] = alpha * v
		}
	}
	return l, nil
}

func (im *importer) matMul(n *pb.NodeProto) error {
	if im.layout != vector {
		return fmt.Errorf("%w: MatMul on a map; a Flatten or Reshape must come first", ErrUnsupported)
	}
	l, err := im.dense(n, false, 1)
	if err != nil {
		return err
	}
	if err := im.add(n, l); err != nil {
		return err
	}
	im.bias = l.Bias
	return nil
}

// addBias takes an Add (or a Sub) of a constant right after a Conv, Gemm
// or MatMul into that layer's bias.
func (im *importer) addBias(n *pb.NodeProto, bias *nn.Tensor) error {
	if bias == nil {
		return fmt.Errorf("%w: %s is supported only as the bias right after a Conv, Gemm or MatMul, or as a shift of the input before the first layer", ErrUnsupported, n.OpType)
	}
	c, cd, err := im.weight(n, 1, "B")
	if err != nil {
		return err
	}
	sign := float32(1)
	if n.OpType == "Sub" {
		sign = -1
	}
	ch, rank := im.channelAxis()
	if err := addBroadcast(bias.Data, c, cd, sign, int(rank-1-ch)); err != nil {
		return err
	}
	im.bias = bias
	return nil
}

// prelu reads a PRelu: its slope is one value, or one per channel in a
// shape that broadcasts along the channel axis (C×1×1 on a map, F on a
// vector, as PyTorch exports nn.PReLU). Per channel, it commutes with a
// channels-last transpose.
func (im *importer) prelu(n *pb.NodeProto) error {
	c, cd, err := im.weight(n, 1, "slope")
	if err != nil {
		return err
	}
	slopes := 1
	if len(c) != 1 {
		slopes = im.shape.C
	}
	l := nn.NewPReLU(im.name(n), slopes)
	ch, rank := im.channelAxis()
	if err := addBroadcast(l.Slope.Data, c, cd, 1, int(rank-1-ch)); err != nil {
		return err
	}
	return im.add(n, l)
}

// scaleAfter takes a Mul or Div by a constant right after a Conv, Gemm
// or MatMul into that layer: tf2onnx writes a Keras BatchNormalization
// after a Dense as a Mul and an Add. The scale multiplies the layer's
// weights and bias, channel by channel (both have the output channel
// first).
func (im *importer) scaleAfter(n *pb.NodeProto, bias *nn.Tensor) error {
	if bias == nil {
		return fmt.Errorf("%w: %s is read only right after a Conv, Gemm or MatMul, or as a scaling of the input before the first layer (Keras's Rescaling, torch's (x - mean) / std)", ErrUnsupported, n.OpType)
	}
	c, cd, err := im.weight(n, 1, "B")
	if err != nil {
		return err
	}
	ch, rank := im.channelAxis()
	k := make([]float32, len(bias.Data))
	if err := addBroadcast(k, c, cd, 1, int(rank-1-ch)); err != nil {
		return err
	}
	im.bias = bias
	var w []float32
	switch l := im.net.Layers[len(im.net.Layers)-1].(type) {
	case *nn.Conv2D:
		w = l.Weight.Data
	case *nn.Dense:
		w = l.Weight.Data
	default:
		return fmt.Errorf("%w: %s after a %s layer", ErrUnsupported, n.OpType, l.Kind())
	}
	per := len(w) / len(k) // weights of one output channel
	for i, v := range k {
		if n.OpType == "Div" {
			if v == 0 {
				return fmt.Errorf("%w: divides channel %d by 0", ErrUnsupported, i)
			}
			v = 1 / v
		}
		bias.Data[i] *= v
		for j := i * per; j < (i+1)*per; j++ {
			w[j] *= v
		}
	}
	for _, vs := range [][]float32{w, bias.Data} {
		for _, x := range vs {
			if math.IsInf(float64(x), 0) || math.IsNaN(float64(x)) {
				return fmt.Errorf("%w: %s makes a weight or bias overflow float32", ErrUnsupported, n.OpType)
			}
		}
	}
	return nil
}

// addBroadcast adds scale·c to bias, c being a scalar or one value per
// channel in a shape that broadcasts along the channel axis, which is
// fromEnd axes before the value's last.
func addBroadcast(bias, c []float32, dims []int64, scale float32, fromEnd int) error {
	perChannel := len(dims) > fromEnd
	for i, d := range dims {
		if at := len(dims) - 1 - i; (at == fromEnd && d != int64(len(bias))) || (at != fromEnd && d != 1) {
			perChannel = false
		}
	}
	switch {
	case len(c) == 1 && !perChannel:
		for i := range bias {
			bias[i] += scale * c[0]
		}
		return nil
	case perChannel:
		for i := range bias {
			bias[i] += scale * c[i]
		}
		return nil
	}
	return fmt.Errorf("%w: a constant of shape %v does not broadcast over %d channels", ErrUnsupported, dims, len(bias))
}
