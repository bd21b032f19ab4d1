package graph

import (
	"fmt"
	"math"

	G "gorgonia.org/gorgonia"

	"github.com/fc2conv/fc2conv/nn"
)

// calc composes gorgonia ops and keeps the first error, so that a
// formula reads as one.
type calc struct{ err error }

func (c *calc) two(f func(a, b *G.Node) (*G.Node, error), a, b *G.Node) *G.Node {
	if c.err != nil {
		return nil
	}
	var n *G.Node
	n, c.err = f(a, b)
	return n
}

func (c *calc) one(f func(a *G.Node) (*G.Node, error), a *G.Node) *G.Node {
	if c.err != nil {
		return nil
	}
	var n *G.Node
	n, c.err = f(a)
	return n
}

func k(v float64) *G.Node { return G.NewConstant(float32(v)) }

// unary builds l's function from gorgonia's own ops: independent of the
// engine's float64 formulas, as a reference should be.
func unary(x *G.Node, l *nn.Unary) (*G.Node, error) {
	c := &calc{}
	var y *G.Node
	switch l.Kind() {
	case nn.KindGELU:
		y = gelu(c, x)
	case nn.KindHardSwish:
		y = c.two(G.HadamardProd, x, c.two(G.Mul, c.clip(c.two(G.Add, x, k(3)), 0, 6), k(1.0/6)))
	case nn.KindSoftplus:
		y = softplus(c, x)
	case nn.KindMish:
		y = c.two(G.HadamardProd, x, c.one(G.Tanh, softplus(c, x)))
	default:
		return nil, fmt.Errorf("unary kind %s has no graph form", l.Kind())
	}
	return y, c.err
}

// clip is the package's clip within a calc.
func (c *calc) clip(x *G.Node, lo, hi float64) *G.Node {
	if c.err != nil {
		return nil
	}
	var n *G.Node
	n, c.err = clip(x, lo, hi)
	return n
}

// softplus is relu(x) + log1p(exp(−|x|)), which does not overflow.
func softplus(c *calc, x *G.Node) *G.Node {
	return c.two(G.Add, c.one(G.Rectify, x), c.one(G.Log1p, c.one(G.Exp, c.one(G.Neg, c.one(G.Abs, x)))))
}

// gelu is 0.5·x·(1 + erf(x/√2)), erf by Abramowitz and Stegun's 7.1.26
// (|error| ≤ 1.5e-7): gorgonia has no erf.
func gelu(c *calc, x *G.Node) *G.Node {
	const p = 0.3275911
	a := [5]float64{0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429}
	z := c.two(G.Mul, x, k(1/math.Sqrt2))
	t := c.one(G.Inverse, c.two(G.Add, c.two(G.Mul, c.one(G.Abs, z), k(p)), k(1)))
	poly := c.two(G.Mul, t, k(a[4]))
	for i := 3; i >= 0; i-- {
		poly = c.two(G.HadamardProd, c.two(G.Add, poly, k(a[i])), t)
	}
	erfAbs := c.two(G.Sub, k(1), c.two(G.HadamardProd, poly, c.one(G.Exp, c.one(G.Neg, c.one(G.Square, z)))))
	erf := c.two(G.HadamardProd, c.one(G.Sign, z), erfAbs)
	return c.two(G.HadamardProd, c.two(G.Mul, x, k(0.5)), c.two(G.Add, erf, k(1)))
}
