package onnx

import (
	"fmt"
	"slices"

	pb "github.com/advancedclimatesystems/gonnx/onnx"
	"google.golang.org/protobuf/proto"

	"github.com/fc2conv/fc2conv/nn"
)

// join finds where the branches leaving the value cur (read by cs) meet
// again: the first node, in the graph's (topological) order, that reads
// values of more than one of them. It is a block's join when it reads
// values of all of them, one each, from that branch alone (or cur itself
// when the branch's head is the join: an identity path), and it is an
// Add of two (a residual block) or a Concat on channels (an Inception
// module). ends[i] is the value the join's input i takes and from[i] the
// branch, an index into cs, that gives it. Otherwise join is nil. The
// scan runs from the fork to the join only, so nested blocks cost their
// length times their depth.
func (im *importer) join(cs []*pb.NodeProto, cur string) (join *pb.NodeProto, ends []string, from []int) {
	if len(cs) < 2 || len(cs) > nn.MaxPaths {
		return nil, nil, nil
	}
	all := uint64(1)<<len(cs) - 1 // all ones for 64 branches too
	from0 := len(im.order)
	for _, c := range cs {
		from0 = min(from0, im.index[c])
	}
	reached := map[string]uint64{} // value → the branches it depends on, a bit each
	for _, n := range im.order[from0:] {
		if n.OpType == "Constant" {
			continue
		}
		var mask uint64
		for b, c := range cs {
			if n == c {
				mask |= 1 << b
			}
		}
		for _, v := range n.Input {
			mask |= reached[v]
		}
		if mask&(mask-1) == 0 { // one branch or none
			for _, o := range n.Output {
				reached[o] |= mask
			}
			continue
		}
		if mask != all || !isJoin(n, len(cs)) {
			return nil, nil, nil
		}
		var used uint64
		for _, v := range n.Input {
			b := -1
			for i, c := range cs {
				if (n == c && v == cur) || (n != c && reached[v] == 1<<i) {
					b = i
				}
			}
			if b < 0 || used&(1<<b) != 0 {
				return nil, nil, nil
			}
			used |= 1 << b
			ends, from = append(ends, v), append(from, b)
		}
		return n, ends, from
	}
	return nil, nil, nil
}

// isJoin reports whether n is an Add of two values or a Concat of k on
// channels.
func isJoin(n *pb.NodeProto, k int) bool {
	if n.Domain != "" && n.Domain != "ai.onnx" || len(n.Input) != k {
		return false
	}
	switch n.OpType {
	case "Add":
		return k == 2 && len(n.Attribute) == 0
	case "Concat":
		return channelConcat(n)
	}
	return false
}

// channelConcat reports whether n is a Concat on axis 1 of N×C×H×W
// (channels) with nothing else set.
func channelConcat(n *pb.NodeProto) bool {
	if n.OpType != "Concat" || len(n.Attribute) != 1 || n.Attribute[0].Name != "axis" || n.Attribute[0].Type != pb.AttributeProto_INT {
		return false
	}
	axis := n.Attribute[0].I
	return axis == 1 || axis == -3
}

// chainConcats rewrites the concatenations torchvision's DenseNet exports
// into forks of two paths: a Concat of one input is that input, and a
// Concat on channels whose inputs begin with all of an earlier one's (two
// or more) reads that one's output in their place, since cat(x, f1, f2) =
// cat(cat(x, f1), f2). Every layer of a dense block then forks its
// input into itself and the identity, joined by the next Concat. nodes
// are in topological order; a node is copied before it changes, the
// graph output is never renamed, and the result has the same order.
func chainConcats(nodes []*pb.NodeProto, outputs map[string]bool) []*pb.NodeProto {
	alias := map[string]string{} // a one-input Concat's output → its input
	type concat struct {
		inputs []string // as the graph lists them, before any rewrite
		output string
	}
	var concats []concat
	out := make([]*pb.NodeProto, 0, len(nodes))
	for _, n := range nodes {
		if slices.ContainsFunc(n.Input, func(v string) bool { _, ok := alias[v]; return ok }) {
			n = proto.Clone(n).(*pb.NodeProto)
			for i, v := range n.Input {
				if a, ok := alias[v]; ok {
					n.Input[i] = a
				}
			}
		}
		if n.OpType == "Concat" && (n.Domain == "" || n.Domain == "ai.onnx") && len(n.Input) == 1 && len(n.Output) == 1 && !outputs[n.Output[0]] {
			alias[n.Output[0]] = n.Input[0]
			continue
		}
		if !channelConcat(n) || len(n.Output) != 1 {
			out = append(out, n)
			continue
		}
		c := concat{inputs: n.Input, output: n.Output[0]}
		best := -1
		for i, m := range concats {
			if len(m.inputs) < len(n.Input) && slices.Equal(m.inputs, n.Input[:len(m.inputs)]) && (best < 0 || len(m.inputs) > len(concats[best].inputs)) {
				best = i
			}
		}
		if best >= 0 {
			n = proto.Clone(n).(*pb.NodeProto)
			n.Input = append([]string{concats[best].output}, n.Input[len(concats[best].inputs):]...)
		}
		concats = append(concats, c)
		out = append(out, n)
	}
	return out
}

// block reads the block from the fork at cur (read by cs) to its join:
// each branch as a chain of its own, in the order the join reads them.
// An Add's longer branch is the residual block's body and the other,
// possibly empty, its shortcut. It returns the join's output.
func (im *importer) block(cur string, cs []*pb.NodeProto, join *pb.NodeProto, ends []string, from []int, done map[*pb.NodeProto]bool) (string, error) {
	what := "a residual block"
	if join.OpType == "Concat" {
		what = "a concatenation"
	}
	if err := im.needMap(what); err != nil {
		return "", nodeErr(join, err)
	}
	if im.pad != nil {
		return "", nodeErr(join, fmt.Errorf("%w: a Pad before %s's fork", ErrUnsupported, what))
	}
	if im.depth >= nn.MaxNesting {
		return "", nodeErr(join, fmt.Errorf("%w: blocks nested more than %d deep", ErrUnsupported, nn.MaxNesting))
	}
	im.depth++
	defer func() { im.depth-- }()
	done[join] = true
	outer, in := im.net.Layers, im.shape
	paths := make([][]nn.Layer, len(ends))
	for i, b := range from {
		im.net.Layers, im.shape, im.bias = nil, in, nil
		if head := cs[b]; head != join {
			if err := im.branch(head, cur, ends[i], join, done); err != nil {
				return "", err
			}
		}
		if err := im.needMap("the end of a branch"); err != nil {
			return "", nodeErr(join, err)
		}
		paths[i] = im.net.Layers
	}
	im.net.Layers, im.shape, im.bias = outer, in, nil
	var l nn.Layer
	if join.OpType == "Concat" {
		l = nn.NewConcat(im.name(join), paths...)
	} else {
		body, shortcut := paths[0], paths[1]
		if len(shortcut) > len(body) {
			body, shortcut = shortcut, body
		}
		l = nn.NewResidual(im.name(join), body, shortcut)
	}
	if err := im.add(join, l); err != nil {
		return "", nodeErr(join, err)
	}
	return firstOut(join), nil
}

// branch reads one branch of a block: head (which reads cur), then the
// chain after it up to the value end, which join reads.
func (im *importer) branch(head *pb.NodeProto, cur, end string, join *pb.NodeProto, done map[*pb.NodeProto]bool) error {
	if done[head] {
		return nodeErr(head, fmt.Errorf("%w: the graph has a cycle through this node", ErrFormat))
	}
	done[head] = true
	next, err := im.node(head, cur)
	if err != nil {
		return nodeErr(head, err)
	}
	stop, err := im.walk(next, end, done)
	if err != nil {
		return err
	}
	if stop != end {
		return fmt.Errorf("%w: the branch from node %q ends at %q before it reaches the %s that joins it", ErrUnsupported, head.Name, stop, join.OpType)
	}
	return nil
}
