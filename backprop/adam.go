package backprop

import "math"

// Adam is the Adam optimiser with gorgonia's defaults and arithmetic
// (β₁ 0.9, β₂ 0.999, ε 1e-8 added to √v̂), so the two training paths
// take the same steps from the same gradients.
type Adam struct {
	Beta1, Beta2, Eps float64
	// WeightDecay, when not 0, shrinks every Param that Decays by
	// lr·WeightDecay of itself before each step, apart from the gradient
	// (decoupled weight decay, AdamW): the pull towards small weights
	// then does not depend on Adam's per-weight scaling.
	WeightDecay float64
	iter        int
	m, v        [][]float32
}

// NewAdam returns an Adam optimiser with the defaults.
func NewAdam() *Adam { return &Adam{Beta1: 0.9, Beta2: 0.999, Eps: 1e-8} }

// Step moves every parameter against its gradient at learning rate lr.
// The moments are kept per parameter, by position: call it with the same
// Params every time.
func (a *Adam) Step(params []Param, lr float64) {
	if a.m == nil {
		for _, p := range params {
			a.m = append(a.m, make([]float32, len(p.Data)))
			a.v = append(a.v, make([]float32, len(p.Data)))
		}
	}
	a.iter++
	c1 := 1 / float32(1-math.Pow(a.Beta1, float64(a.iter)))
	c2 := 1 / float32(1-math.Pow(a.Beta2, float64(a.iter)))
	b1, b2 := float32(a.Beta1), float32(a.Beta2)
	ob1, ob2 := 1-b1, 1-b2
	eps, negEta := float32(a.Eps), -float32(lr)
	shrink := float32(1 - lr*a.WeightDecay)
	for i, p := range params {
		keep := float32(1) // of each value, before the step; 1 is exact
		if p.Decays {
			keep = shrink
		}
		m, v := a.m[i], a.v[i]
		for j, g := range p.Grad {
			m[j] = m[j]*b1 + g*ob1
			v[j] = v[j]*b2 + g*g*ob2
			vh := float32(math.Sqrt(float64(v[j]*c2))) + eps
			p.Data[j] = p.Data[j]*keep + m[j]*c1*negEta/vh
		}
	}
}
