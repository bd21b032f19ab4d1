package onnx

import (
	"math"
	"slices"

	pb "github.com/advancedclimatesystems/gonnx/onnx"

	"github.com/fc2conv/fc2conv/nn"
)

// gated is an activation written as x times a function of x: the nodes
// read (the function's chain, the Mul, and for GELU the Mul by 0.5 after
// it), the last of them, and the layer they make, named.
type gated struct {
	nodes []*pb.NodeProto
	last  *pb.NodeProto
	layer func(name string) nn.Layer
}

func unaryOf(kind nn.Kind) func(string) nn.Layer {
	return func(name string) nn.Layer { return nn.NewUnary(name, kind) }
}

// gate finds x·g(x) where the chain's value cur forks into exactly two
// readers: a Mul of cur by a value v, and the head of a chain of nodes,
// each read once, that computes v from cur alone. It is an activation
// when the chain is one exporters write:
//
//	Sigmoid                                  x·sigmoid(x), torch's SiLU
//	HardSigmoid (alpha 1/6, beta 0.5)        torch's Hardswish up to opset 13
//	Softplus, Tanh                           torch's Mish up to opset 17
//	Div by √2 (or Mul by 1/√2), Erf, Add 1   torch's exact GELU, with a Mul
//	                                         by 0.5 after the Mul
//
// and nil otherwise (the fork is then reported as a branch).
func (im *importer) gate(cs []*pb.NodeProto, cur string) *gated {
	if len(cs) != 2 || im.outputs[cur] {
		return nil
	}
	for _, mul := range cs {
		head := cs[0]
		if head == mul {
			head = cs[1]
		}
		v, ok := im.otherInput(mul, "Mul", cur)
		if !ok {
			continue
		}
		chain := im.chainTo(head, cur, v)
		if chain == nil {
			continue
		}
		if g := im.gateOf(chain, mul); g != nil {
			return g
		}
	}
	return nil
}

// otherInput is the input of n, a binary op of type op in the default
// domain with no attributes, that is not x, when the other is x.
func (im *importer) otherInput(n *pb.NodeProto, op, x string) (string, bool) {
	if n.OpType != op || len(n.Input) != 2 || len(n.Output) != 1 || len(n.Attribute) > 0 || (n.Domain != "" && n.Domain != "ai.onnx") {
		return "", false
	}
	switch x {
	case n.Input[0]:
		return n.Input[1], n.Input[1] != x
	case n.Input[1]:
		return n.Input[0], true
	}
	return "", false
}

// chainTo follows head, which reads from, through nodes whose outputs
// are each read once (the last by the gate's Mul) and are no graph
// output, until one writes to; at most three nodes, or nil.
func (im *importer) chainTo(head *pb.NodeProto, from, to string) []*pb.NodeProto {
	var chain []*pb.NodeProto
	for n, in := head, from; len(chain) < 3; {
		if len(n.Output) != 1 || !slices.Contains(n.Input, in) || (n.Domain != "" && n.Domain != "ai.onnx") {
			return nil
		}
		for _, v := range n.Input {
			if _, ok := im.consts[v]; !ok && v != in {
				return nil // a second computed input
			}
		}
		chain = append(chain, n)
		out := n.Output[0]
		if im.outputs[out] || len(im.consumers[out]) != 1 {
			return nil // read elsewhere too: a branch
		}
		if out == to {
			return chain
		}
		n, in = im.consumers[out][0], out
	}
	return nil
}

// gateOf names the activation chain·mul makes, if it is one.
func (im *importer) gateOf(chain []*pb.NodeProto, mul *pb.NodeProto) *gated {
	ops := make([]string, len(chain))
	for i, n := range chain {
		ops[i] = n.OpType
	}
	nodes := append(slices.Clone(chain), mul)
	switch {
	case slices.Equal(ops, []string{"Sigmoid"}) && len(chain[0].Attribute) == 0:
		return &gated{nodes, mul, func(name string) nn.Layer { return nn.NewSiLU(name) }}
	case slices.Equal(ops, []string{"HardSigmoid"}) && im.torchHardSigmoid(chain[0]):
		return &gated{nodes, mul, unaryOf(nn.KindHardSwish)}
	case slices.Equal(ops, []string{"Softplus", "Tanh"}) && len(chain[0].Attribute)+len(chain[1].Attribute) == 0:
		return &gated{nodes, mul, unaryOf(nn.KindMish)}
	case slices.Equal(ops, []string{"Div", "Erf", "Add"}) || slices.Equal(ops, []string{"Mul", "Erf", "Add"}):
		scale := math.Sqrt2
		if ops[0] == "Mul" {
			scale = 1 / math.Sqrt2
		}
		if !im.byConstant(chain[0], scale, ops[0] == "Div") || len(chain[1].Attribute) > 0 || !im.byConstant(chain[2], 1, false) {
			return nil
		}
		out := mul.Output[0]
		if im.outputs[out] || len(im.consumers[out]) != 1 {
			return nil
		}
		half := im.consumers[out][0]
		if k, ok := im.otherInput(half, "Mul", out); !ok || !im.isScalar(k, 0.5) {
			return nil
		}
		return &gated{append(nodes, half), half, unaryOf(nn.KindGELU)}
	}
	return nil
}

// torchHardSigmoid reports whether n is HardSigmoid with alpha 1/6 and
// beta 0.5, as torch writes the one inside Hardswish.
func (im *importer) torchHardSigmoid(n *pb.NodeProto) bool {
	a := newAttrs(n)
	alpha, err1 := a.float("alpha", 0.2)
	beta, err2 := a.float("beta", 0.5)
	return err1 == nil && err2 == nil && a.done() == nil &&
		math.Abs(alpha-1.0/6) < 1e-6 && beta == 0.5
}

// byConstant reports whether n (no attributes) takes the chain's value
// and the scalar constant want, the constant second when second is set
// (a Div), else on either side (an Add or Mul).
func (im *importer) byConstant(n *pb.NodeProto, want float64, second bool) bool {
	if len(n.Input) != 2 || len(n.Attribute) > 0 {
		return false
	}
	if im.isScalar(n.Input[1], want) {
		return true
	}
	return !second && im.isScalar(n.Input[0], want)
}

// isScalar reports whether v is a constant holding the one value want,
// to float32's precision.
func (im *importer) isScalar(v string, want float64) bool {
	t, ok := im.consts[v]
	if !ok {
		return false
	}
	f, err := im.floats(t)
	return err == nil && len(f) == 1 && math.Abs(float64(f[0])-want) <= 1e-6*math.Abs(want)
}
