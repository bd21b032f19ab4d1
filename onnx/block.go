package onnx

import (
	"fmt"

	pb "github.com/advancedclimatesystems/gonnx/onnx"

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
	all := 1<<len(cs) - 1
	from0 := len(im.order)
	for _, c := range cs {
		from0 = min(from0, im.index[c])
	}
	reached := map[string]int{} // value → the branches it depends on, a bit each
	for _, n := range im.order[from0:] {
		if n.OpType == "Constant" {
			continue
		}
		mask := 0
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
		used := 0
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
// axis 1 (channels) with nothing else set.
func isJoin(n *pb.NodeProto, k int) bool {
	if n.Domain != "" && n.Domain != "ai.onnx" || len(n.Input) != k {
		return false
	}
	switch n.OpType {
	case "Add":
		return k == 2 && len(n.Attribute) == 0
	case "Concat":
		if len(n.Attribute) != 1 || n.Attribute[0].Name != "axis" || n.Attribute[0].Type != pb.AttributeProto_INT {
			return false
		}
		axis := n.Attribute[0].I
		return axis == 1 || axis == -3
	}
	return false
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
