package nn

// HeadBatched reports whether ForwardBatch runs a head once for a batch
// of inputs of shape, rather than item by item.
func (e *Engine) HeadBatched(shape Shape) bool {
	shapes, err := e.shapes(shape)
	return err == nil && e.headFor(shape, shapes) != nil
}
