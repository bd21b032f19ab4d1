package nn

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
func (e *Engine) costs(shapes []Shape) []LayerCost {
	costs := make([]LayerCost, len(e.steps))
	for i, s := range e.steps {
		costs[i] = LayerCost{Layer: e.net.Layers[s.from], Fused: e.net.Layers[s.from+1 : s.to], In: shapes[s.from], Out: shapes[s.to]}
		if f, ok := s.k.(interface{ flops(is, os Shape) int64 }); ok {
			costs[i].FLOPs = f.flops(shapes[s.from], shapes[s.to])
		}
	}
	return costs
}
