package nn

import (
	"slices"
	"time"
)

// Costs is what Profile reports for an input of the given shape, without
// running the network: every step's layers, shapes and FLOPs (Time is 0).
// It allocates no activation, so it can cost inputs far larger than a
// pass would be worth running.
func (e *Engine) Costs(shape Shape) ([]LayerCost, error) {
	shapes, err := e.shapes(shape)
	if err != nil {
		return nil, err
	}
	return e.costs(shapes), nil
}

// costs describes the steps of a pass over shapes, FLOPs included.
func (e *Engine) costs(shapes []Shape) []LayerCost { return stepCosts(e.net.Layers, e.steps, shapes) }

// stepCosts describes steps, which run layers on shapes (shapes[i] is
// layers[i]'s input), with their FLOPs.
func stepCosts(layers []Layer, steps []step, shapes []Shape) []LayerCost {
	costs := make([]LayerCost, len(steps))
	for i, s := range steps {
		costs[i] = LayerCost{Layer: layers[s.from], Fused: layers[s.from+1 : s.to], In: shapes[s.from], Out: shapes[s.to]}
		if f, ok := s.k.(interface{ flops(is, os Shape) int64 }); ok {
			costs[i].FLOPs = f.flops(shapes[s.from], shapes[s.to])
		}
	}
	return costs
}

// profiled is a block's kernel, which times its paths' steps while
// exec.profile is set.
type profiled interface {
	// pathCosts is each path's steps as the last pass ran them, a copy.
	pathCosts() [][]LayerCost
}

// record times a path's step i, run by run, into b's costs, and takes a
// nested block's own paths with it.
func (b *branch) record(i int, shapes []Shape, t time.Duration) {
	if len(b.costs) != len(b.steps) || b.costs[0].In != shapes[0] {
		b.costs = stepCosts(b.layers, b.steps, shapes)
	}
	b.costs[i].Time = t
	if p, ok := b.steps[i].k.(profiled); ok {
		b.costs[i].Paths = p.pathCosts()
	}
}

// branchCosts copies each of bs's recorded costs.
func branchCosts(bs ...*branch) [][]LayerCost {
	out := make([][]LayerCost, len(bs))
	for i, b := range bs {
		out[i] = slices.Clone(b.costs)
	}
	return out
}
