package nn

import "fmt"

// Geometry ties heatmap cells to windows in the input image. It is derived
// from the layers, never assumed.
type Geometry struct {
	// Stride is the total stride S: moving one heatmap cell moves the
	// window by S pixels.
	Stride Pair
	// Window is the trained input size: the box each cell stands for.
	Window Pair
	// Field is the receptive field of one output cell, which can exceed the
	// window when convolutions are padded.
	Field Pair
	// Reach is how far before its cell's origin (i·S, j·S) a cell's
	// receptive field starts: the padding it reaches back over.
	Reach Pair
	// Padded is true when any conv or pool pads, or a ceil-mode pool's
	// last window overhangs the map on the trained window; then a cell
	// equals the FC head on the matching crop of the feature map, but not
	// always the FC network on the matching image crop (padding, or the
	// overhang, sees the neighbours).
	Padded bool
}

// Box is an axis-aligned box in pixels, [X1,X2)×[Y1,Y2).
type Box struct {
	X1, Y1, X2, Y2 float64
}

// CellBox is the window of heatmap cell (row i, column j) at scale 1: its
// top-left is (j·S, i·S) and its size the trained window.
func (g Geometry) CellBox(i, j int) Box {
	x := float64(j * g.Stride.W)
	y := float64(i * g.Stride.H)
	return Box{x, y, x + float64(g.Window.W), y + float64(g.Window.H)}
}

// Geometry derives the total stride, receptive field and padding of the
// network's spatial layers.
func (n *Network) Geometry() (Geometry, error) {
	g := Geometry{Stride: Pair{1, 1}, Window: Pair{n.Input.Height, n.Input.Width}, Field: Pair{1, 1}}
	shapes, err := n.Shapes(n.Input.Window())
	if err != nil {
		return Geometry{}, err
	}
	if err := g.add(n.Layers, shapes); err != nil {
		return Geometry{}, err
	}
	return g, nil
}

// add moves g through layers, whose shapes on the window are shapes. A
// block moves it as each of its paths does, from the same start: the
// stride is theirs, the field the span of theirs.
func (g *Geometry) add(layers []Layer, shapes []Shape) error {
	for i, l := range layers {
		if l.Kind() == KindFlatten {
			// What follows works on the whole map: it sees the whole window.
			g.Field = g.Window
			continue
		}
		if b, ok := l.(Block); ok {
			// Each path moves a copy of g; the block's field spans
			// theirs (an Inception module's widest path), and its
			// stride is theirs, which check holds equal.
			start := *g
			for j, p := range b.Paths() {
				ps, err := branchShapes(p, shapes[i])
				if err != nil {
					return err
				}
				pg := start
				if err := pg.add(p, ps); err != nil {
					return err
				}
				if j == 0 {
					*g = pg
					continue
				}
				endH := max(g.Field.H-g.Reach.H, pg.Field.H-pg.Reach.H)
				endW := max(g.Field.W-g.Reach.W, pg.Field.W-pg.Reach.W)
				g.Reach = Pair{max(g.Reach.H, pg.Reach.H), max(g.Reach.W, pg.Reach.W)}
				g.Field = Pair{g.Reach.H + endH, g.Reach.W + endW}
				g.Padded = g.Padded || pg.Padded
			}
			continue
		}
		wl, ok := l.(Windowed)
		if !ok {
			continue
		}
		w := wl.Window()
		// Only the leading padding moves the field back; the trailing
		// padding and a ceil-mode overhang lie past the last cell's field.
		k, s, p := w.Kernel, w.Stride, w.Padding
		g.Reach.H += p.H * g.Stride.H
		g.Reach.W += p.W * g.Stride.W
		g.Field.H += (k.H - 1) * g.Stride.H
		g.Field.W += (k.W - 1) * g.Stride.W
		g.Stride.H *= s.H
		g.Stride.W *= s.W
		if g.Stride.H > MaxDim || g.Stride.W > MaxDim {
			return fmt.Errorf("%w: total stride %v exceeds %d", ErrInvalid, g.Stride, MaxDim)
		}
		if w.Padded() || (w.Ceil && w.Overhangs(shapes[i])) {
			g.Padded = true
		}
	}
	return nil
}

// GridSize is the number of heatmap rows and columns for an image of h×w
// pixels, or an error when the image is smaller than what the network needs.
func (n *Network) GridSize(h, w int) (rows, cols int, err error) {
	out, err := n.OutShape(Shape{n.Input.Channels, h, w})
	if err != nil {
		return 0, 0, err
	}
	return out.H, out.W, nil
}
