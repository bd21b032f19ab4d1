package onnx

import (
	"fmt"

	pb "github.com/advancedclimatesystems/gonnx/onnx"
)

// foldShapes evaluates the Shape nodes among cs, and the integer nodes
// computing on their outputs, to constants, as at batch 1: how torch
// writes x.view(x.size(0), -1) with a free batch (Shape, Gather,
// Unsqueeze, Concat into a Reshape). It returns the other consumers.
func (im *importer) foldShapes(cs []*pb.NodeProto, done map[*pb.NodeProto]bool) ([]*pb.NodeProto, error) {
	var rest []*pb.NodeProto
	var queue []string
	for _, n := range cs {
		if n.OpType != "Shape" || done[n] {
			rest = append(rest, n)
			continue
		}
		if len(n.Attribute) > 0 {
			return nil, nodeErr(n, fmt.Errorf("%w: attribute %q", ErrUnsupported, n.Attribute[0].Name))
		}
		done[n] = true
		im.consts[firstOut(n)] = intTensor(firstOut(n), im.dims(), false)
		queue = append(queue, firstOut(n))
	}
	for len(queue) > 0 {
		v := queue[0]
		queue = queue[1:]
		for _, n := range im.consumers[v] {
			if done[n] || !im.allConst(n) {
				continue // a Reshape waits for its data input
			}
			t, err := im.fold(n)
			if err != nil {
				return nil, nodeErr(n, err)
			}
			done[n] = true
			im.consts[firstOut(n)] = t
			queue = append(queue, firstOut(n))
		}
	}
	return rest, nil
}

// dims is the current value's shape at batch 1.
func (im *importer) dims() []int64 {
	s := im.shape
	switch im.layout {
	case nhwc:
		return []int64{1, int64(s.H), int64(s.W), int64(s.C)}
	case vector:
		return []int64{1, int64(s.C)}
	}
	return []int64{1, int64(s.C), int64(s.H), int64(s.W)}
}

func (im *importer) allConst(n *pb.NodeProto) bool {
	for _, v := range n.Input {
		if _, ok := im.consts[v]; !ok && v != "" {
			return false
		}
	}
	return len(n.Output) == 1
}

func intTensor(name string, v []int64, scalar bool) *pb.TensorProto {
	t := &pb.TensorProto{Name: name, DataType: int32(pb.TensorProto_INT64), Int64Data: v}
	if !scalar {
		t.Dims = []int64{int64(len(v))}
	}
	return t
}

// fold evaluates one integer node on constant inputs.
func (im *importer) fold(n *pb.NodeProto) (*pb.TensorProto, error) {
	a := newAttrs(n)
	in := make([][]int64, len(n.Input))
	for i, v := range n.Input {
		if v == "" {
			continue
		}
		t := im.consts[v]
		if len(t.Dims) > 1 {
			return nil, fmt.Errorf("%w: a %d-D integer input in a shape computation", ErrUnsupported, len(t.Dims))
		}
		var err error
		if in[i], err = im.ints(t); err != nil {
			return nil, err
		}
	}
	scalar := func(i int) bool { return len(im.consts[n.Input[i]].Dims) == 0 }
	out, isScalar := []int64(nil), false
	switch n.OpType {
	case "Gather":
		axis, err := a.int("axis", 0)
		if err != nil {
			return nil, err
		}
		if axis != 0 || len(in) != 2 {
			return nil, fmt.Errorf("%w: attribute axis %d", ErrUnsupported, axis)
		}
		for _, i := range in[1] {
			if i < 0 {
				i += int64(len(in[0]))
			}
			if i < 0 || i >= int64(len(in[0])) {
				return nil, fmt.Errorf("%w: index %d out of range for %d values", ErrFormat, i, len(in[0]))
			}
			out = append(out, in[0][i])
		}
		isScalar = scalar(1)
	case "Unsqueeze", "Squeeze":
		axes, err := a.ints("axes", nil) // an input from opset 13 on
		if err != nil {
			return nil, err
		}
		if len(in) > 1 {
			axes = in[1]
		}
		if len(axes) != 1 || axes[0] != 0 || len(in[0]) != 1 {
			return nil, fmt.Errorf("%w: %s of %v on axes %v (only a single value on axis 0)", ErrUnsupported, n.OpType, in[0], axes)
		}
		out, isScalar = in[0], n.OpType == "Squeeze"
	case "Concat":
		axis, err := a.int("axis", 0)
		if err != nil {
			return nil, err
		}
		if axis != 0 && axis != -1 {
			return nil, fmt.Errorf("%w: attribute axis %d", ErrUnsupported, axis)
		}
		for _, v := range in {
			out = append(out, v...)
		}
	case "Cast":
		to, err := a.int("to", 0)
		if err != nil {
			return nil, err
		}
		if to != int64(pb.TensorProto_INT64) && to != int64(pb.TensorProto_INT32) {
			return nil, fmt.Errorf("%w: attribute to %s in a shape computation", ErrUnsupported, dtypeName(int32(to)))
		}
		out, isScalar = in[0], scalar(0)
	default:
		return nil, fmt.Errorf("%w: op type %s in a shape computation", ErrUnsupported, n.OpType)
	}
	if err := a.done(); err != nil {
		return nil, err
	}
	if len(out) > 64 {
		return nil, fmt.Errorf("%w: a shape of %d values", ErrUnsupported, len(out))
	}
	return intTensor(firstOut(n), out, isScalar), nil
}
