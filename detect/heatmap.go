package detect

import (
	"fmt"

	"github.com/fc2conv/fc2conv/nn"
)

// Heatmap is the score of one class for every window position at one scale.
// Cell (i, j) stands for the window whose top-left corner in the scaled
// image is (j·Step.W, i·Step.H); Box maps it back to the original image.
type Heatmap struct {
	Scale  float64 // the image was resized by this factor before the scan
	Step   nn.Pair // pixels between neighbouring cells, in the scaled image
	Window nn.Pair // the network's window, in the scaled image
	// Context is the network's nn.InputSpec.Context: the window's side
	// over the side of the box it frames (0 for 1).
	Context float64
	Rows    int
	Cols    int
	Data    []float32 // row-major, Rows×Cols
}

// At is the score of cell (i, j).
func (h Heatmap) At(i, j int) float32 { return h.Data[i*h.Cols+j] }

// Box is the box cell (i, j) frames in original image pixels, as
// [x1, y1, x2, y2]: the scaled-image window divided by Scale, and, for a
// network with context, shrunk about its centre to the box it frames.
// The resized image was rounded to whole pixels, so boxes are exact to
// within about 1/Scale pixel at the far edge.
func (h Heatmap) Box(i, j int) [4]float64 {
	x := float64(j*h.Step.W) / h.Scale
	y := float64(i*h.Step.H) / h.Scale
	box := [4]float64{x, y, x + float64(h.Window.W)/h.Scale, y + float64(h.Window.H)/h.Scale}
	if h.Context > 1 {
		box = view{scale: 1 / h.Context}.at(box)
	}
	return box
}

// heatmap scans src (an image already resized by scale) with shift-and-
// stitch: for every shift (dy·s, dx·s) with dy < S/s, dx < S/s the network
// runs on src with that many top rows and left columns cropped off, and
// output cell (i, j) of that run becomes cell (i·S/s + dy, j·S/s + dx).
func (d *Detector) heatmap(e *nn.Engine, src *source, scale float64) (Heatmap, error) {
	S, s := d.geo.Stride, d.step
	n, m := S.H/s.H, S.W/s.W
	rowsPer, err := d.cellsPerShift(n, src.h, s.H, true)
	if err != nil {
		return Heatmap{}, fmt.Errorf("scale %g: %w", scale, err)
	}
	colsPer, err := d.cellsPerShift(m, src.w, s.W, false)
	if err != nil {
		return Heatmap{}, fmt.Errorf("scale %g: %w", scale, err)
	}
	rows, cols := stitchedLen(rowsPer), stitchedLen(colsPer)
	if rows == 0 || cols == 0 {
		return Heatmap{}, fmt.Errorf("scale %g: %d×%d image gives no cells for window %v", scale, src.w, src.h, d.geo.Window)
	}
	hm := Heatmap{Scale: scale, Step: s, Window: d.geo.Window, Context: d.net.Input.Context, Rows: rows, Cols: cols, Data: make([]float32, rows*cols)}
	for dy := 0; dy < n; dy++ {
		for dx := 0; dx < m; dx++ {
			gr, gc := rowsPer[dy], colsPer[dx]
			if gr == 0 || gc == 0 {
				continue
			}
			y0, x0 := dy*s.H, dx*s.W
			grid, err := d.grid(e, src, y0, x0, src.h-y0, src.w-x0, gr, gc)
			if err != nil {
				return Heatmap{}, fmt.Errorf("scale %g, shift (%d,%d): %w", scale, y0, x0, err)
			}
			for i := 0; i < gr; i++ {
				r := i*n + dy
				if r >= rows {
					break
				}
				for j := 0; j < gc; j++ {
					c := j*m + dx
					if c >= cols {
						break
					}
					hm.Data[r*cols+c] = grid[i*gc+j]
				}
			}
		}
	}
	return hm, nil
}

// stitchedLen is how many interleaved cells form an unbroken run from 0
// when shift k contributes per[k] cells at positions k, k+len(per), ….
func stitchedLen(per []int) int {
	n := 0
	for len(per) > 0 && n/len(per) < per[n%len(per)] {
		n++
	}
	return n
}

// cellsPerShift is cells along one axis for each of the k shifted runs,
// the i-th starting i·step pixels in.
func (d *Detector) cellsPerShift(k, length, step int, vertical bool) ([]int, error) {
	per := make([]int, k)
	for i := range per {
		c, err := d.cells(length-i*step, vertical)
		if err != nil {
			return nil, err
		}
		per[i] = c
	}
	return per, nil
}

// cells is the number of cells along one axis of a run on a region of the
// given length: positions i·S whose window fits, and that the network
// computes at all.
func (d *Detector) cells(length int, vertical bool) (int, error) {
	win, S := d.geo.Window.W, d.geo.Stride.W
	if vertical {
		win, S = d.geo.Window.H, d.geo.Stride.H
	}
	if length < win {
		return 0, nil
	}
	fit := (length-win)/S + 1
	// The network's own count; the other axis is fixed at the window, which
	// it always accepts, since only this axis is asked about.
	h, w := d.geo.Window.H, d.geo.Window.W
	if vertical {
		h = length
	} else {
		w = length
	}
	gr, gc, err := d.net.GridSize(h, w)
	if err != nil {
		return 0, fmt.Errorf("network on %d×%d: %w", w, h, err)
	}
	if vertical {
		return min(fit, gr), nil
	}
	return min(fit, gc), nil
}

// span is the part of one axis a tile reads, [t0, t1), for output cells
// [c0, c1) of a run over a region of the given length with rows cells.
//
// Cell c reads input [c·S − P, c·S − P + F) (F the receptive field, P the
// padding it reaches back over). When that interval lies inside the tile,
// the cell never sees padding and its value does not depend on where the
// tile ends; when it does not, the tile must share the region's border, so
// that the padding it sees is the padding the whole run sees. t0 is a
// multiple of S so tile cells fall on the region's grid. The first and last
// tiles reach the region's borders.
func span(c0, c1, rows, length, S, F, P int) (t0, t1 int) {
	if c0 > 0 {
		t0 = max(0, floorDiv(c0*S-P, S)*S)
	}
	t1 = length
	if c1 < rows {
		t1 = min(length, (c1-1)*S-P+F)
	}
	return t0, t1
}

func floorDiv(a, b int) int {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// tileCells picks how many output cells a tile holds along each axis so
// that its input stays within the pixel budget, halving the longer side.
func (d *Detector) tileCells(rows, cols int) (tr, tc int) {
	g := d.geo
	ext := func(t, S, F, P int) int { return (t-1)*S + F + S + P }
	tr, tc = rows, cols
	for tr*tc > 1 {
		eh := ext(tr, g.Stride.H, g.Field.H, d.geo.Reach.H)
		ew := ext(tc, g.Stride.W, g.Field.W, d.geo.Reach.W)
		if eh*ew <= d.opt.MaxTilePixels {
			break
		}
		if (eh >= ew && tr > 1) || tc == 1 {
			tr = (tr + 1) / 2
		} else {
			tc = (tc + 1) / 2
		}
	}
	return tr, tc
}

// grid runs the network over the h×w region of src at (y0, x0) and returns
// the Class channel for its first rows×cols cells, tile by tile.
func (d *Detector) grid(e *nn.Engine, src *source, y0, x0, h, w, rows, cols int) ([]float32, error) {
	g := d.geo
	tr, tc := d.tileCells(rows, cols)
	out := make([]float32, rows*cols)
	var buf []float32
	for c0y := 0; c0y < rows; c0y += tr {
		c1y := min(rows, c0y+tr)
		ty0, ty1 := span(c0y, c1y, rows, h, g.Stride.H, g.Field.H, d.geo.Reach.H)
		for c0x := 0; c0x < cols; c0x += tc {
			c1x := min(cols, c0x+tc)
			tx0, tx1 := span(c0x, c1x, cols, w, g.Stride.W, g.Field.W, d.geo.Reach.W)
			if err := src.stopped(); err != nil {
				return nil, fmt.Errorf("stopped before the tile at (%d,%d): %w", x0+tx0, y0+ty0, err)
			}
			shape := nn.Shape{C: d.net.Input.Channels, H: ty1 - ty0, W: tx1 - tx0}
			if cap(buf) < shape.Size() {
				buf = make([]float32, shape.Size())
			}
			buf = buf[:shape.Size()]
			src.fill(buf, y0+ty0, x0+tx0, shape.H, shape.W)
			res, rs, err := e.Forward(buf, shape)
			if err != nil {
				return nil, fmt.Errorf("tile %d×%d at (%d,%d): %w", shape.W, shape.H, x0+tx0, y0+ty0, err)
			}
			// Tile cell (0,0) is region cell (ty0/S, tx0/S).
			ly, lx := c0y-ty0/g.Stride.H, c0x-tx0/g.Stride.W
			if ly < 0 || lx < 0 || ly+c1y-c0y > rs.H || lx+c1x-c0x > rs.W || d.class >= rs.C {
				return nil, fmt.Errorf("tile %d×%d at (%d,%d): output %v lacks cells [%d,%d)×[%d,%d) of class %d",
					shape.W, shape.H, x0+tx0, y0+ty0, rs, c0y, c1y, c0x, c1x, d.class)
			}
			plane := res[d.class*rs.H*rs.W:]
			for i := c0y; i < c1y; i++ {
				copy(out[i*cols+c0x:i*cols+c1x], plane[(ly+i-c0y)*rs.W+lx:])
			}
		}
	}
	return out, nil
}
