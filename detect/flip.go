package detect

import (
	"fmt"

	"github.com/fc2conv/fc2conv/nn"
)

// flipAverage replaces every cell of hm with the mean of its score and the
// score of the same window mirrored left to right (unless Options.NoFlip).
// The mirrored run scans the part of src the cells cover, mirrored, so that
// its cell (i, Cols−1−j) is the mirror of cell (i, j) at any step: the
// covered width is (Cols−1)·Step + Window, and a window at x there maps
// back to x counted from the right. Scales padded up to the window are left as they
// are, since their padding has no mirror image.
func (d *Detector) flipAverage(e *nn.Engine, src *source, hm Heatmap) error {
	covered := (hm.Cols-1)*hm.Step.W + hm.Window.W
	if covered > src.img.Rect.Dx() || src.h > src.img.Rect.Dy() {
		return nil
	}
	mirror := &source{img: src.img, w: covered, h: src.h, norm: src.norm, mirror: covered, ctx: src.ctx}
	mh, err := d.heatmap(e, mirror, hm.Scale)
	if err != nil {
		return fmt.Errorf("mirrored: %w", err)
	}
	if mh.Rows != hm.Rows || mh.Cols != hm.Cols {
		return fmt.Errorf("scale %g: mirrored heatmap is %d×%d, want %d×%d", hm.Scale, mh.Cols, mh.Rows, hm.Cols, hm.Rows)
	}
	for i := 0; i < hm.Rows; i++ {
		row, mrow := hm.Data[i*hm.Cols:(i+1)*hm.Cols], mh.Data[i*hm.Cols:(i+1)*hm.Cols]
		for j := range row {
			row[j] = (row[j] + mrow[hm.Cols-1-j]) / 2
		}
	}
	return nil
}
