package onnx

import (
	"fmt"

	pb "github.com/advancedclimatesystems/gonnx/onnx"

	"github.com/fc2conv/fc2conv/nn"
)

// join finds where the two branches leaving the value cur (read by cs)
// meet again: the first node, in the graph's (topological) order, that
// reads values of both. It is a residual block's join when that node is
// an Add of two values, one from each branch alone; ends[b] is then the
// input branch b gives (cur itself when cs[b] is the join: an identity
// shortcut). Otherwise join is nil. The scan runs from the fork to the
// join only, so nested blocks cost their length times their depth.
func (im *importer) join(cs []*pb.NodeProto, cur string) (join *pb.NodeProto, ends [2]string) {
	if len(cs) != 2 {
		return nil, ends
	}
	from := min(im.index[cs[0]], im.index[cs[1]])
	reached := map[string]int{} // value → the branches it depends on, a bit each
	for _, n := range im.order[from:] {
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
		if mask != 3 {
			for _, o := range n.Output {
				reached[o] |= mask
			}
			continue
		}
		if n.OpType != "Add" || len(n.Input) != 2 || len(n.Attribute) > 0 || (n.Domain != "" && n.Domain != "ai.onnx") {
			return nil, ends
		}
		for b, c := range cs {
			for _, v := range n.Input {
				if (n == c && v == cur) || (n != c && reached[v] == 1<<b) {
					ends[b] = v
				}
			}
			if ends[b] == "" {
				return nil, ends
			}
		}
		if ends[0] == ends[1] {
			return nil, ends
		}
		return n, ends
	}
	return nil, ends
}

// residual reads the block from the fork at cur (read by cs) to its join:
// each branch as a chain of its own, the longer one as the body and the
// other, possibly empty, as the shortcut. It returns the join's output.
func (im *importer) residual(cur string, cs []*pb.NodeProto, join *pb.NodeProto, ends [2]string, done map[*pb.NodeProto]bool) (string, error) {
	if err := im.needMap("a residual block"); err != nil {
		return "", nodeErr(join, err)
	}
	if im.pad != nil {
		return "", nodeErr(join, fmt.Errorf("%w: a Pad before a residual block's fork", ErrUnsupported))
	}
	if im.depth >= nn.MaxNesting {
		return "", nodeErr(join, fmt.Errorf("%w: residual blocks nested more than %d deep", ErrUnsupported, nn.MaxNesting))
	}
	im.depth++
	defer func() { im.depth-- }()
	done[join] = true
	outer, in := im.net.Layers, im.shape
	var branches [2][]nn.Layer
	for b, head := range cs {
		im.net.Layers, im.shape, im.bias = nil, in, nil
		if head != join {
			if err := im.branch(head, cur, ends[b], done); err != nil {
				return "", err
			}
		}
		if err := im.needMap("the end of a residual branch"); err != nil {
			return "", nodeErr(join, err)
		}
		branches[b] = im.net.Layers
	}
	body, shortcut := branches[0], branches[1]
	if len(shortcut) > len(body) {
		body, shortcut = shortcut, body
	}
	im.net.Layers, im.shape, im.bias = outer, in, nil
	if err := im.add(join, nn.NewResidual(im.name(join), body, shortcut)); err != nil {
		return "", nodeErr(join, err)
	}
	return firstOut(join), nil
}

// branch reads one branch of a block: head (which reads cur), then the
// chain after it up to the value end.
func (im *importer) branch(head *pb.NodeProto, cur, end string, done map[*pb.NodeProto]bool) error {
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
		return fmt.Errorf("%w: the branch from node %q ends at %q before it reaches the Add that sums it", ErrUnsupported, head.Name, stop)
	}
	return nil
}
