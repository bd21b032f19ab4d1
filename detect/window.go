package detect

import (
	"errors"
	"fmt"
	"image"

	"github.com/fc2conv/fc2conv/nn"
)

// Windows returns the windows of heatmap cells as the network saw them
// when hm was computed from img: img resized to hm.Scale exactly as Detect
// and Heatmap resize it, then each cell's window cut out, grey by the same
// BT.601 luma (or RGB for a three-channel network), with values in [0,1]
// before the network's normalisation (padding, with Options.PadSmall, as
// the mean pixel it is to the network). cells holds (row, column) pairs;
// each window is C×H×W planar. It resizes img once, so ask for all the
// cells of one heatmap in one call. Training uses it to collect the
// windows a detector gets wrong.
func (d *Detector) Windows(img image.Image, hm Heatmap, cells [][2]int) ([][]float32, error) {
	if img == nil {
		return nil, errors.New("detect: windows: image is nil")
	}
	if hm.Step != d.step || hm.Window != d.geo.Window {
		return nil, fmt.Errorf("detect: windows: heatmap of step %v and window %v, the detector has %v and %v", hm.Step, hm.Window, d.step, d.geo.Window)
	}
	for _, c := range cells {
		if c[0] < 0 || c[0] >= hm.Rows || c[1] < 0 || c[1] >= hm.Cols {
			return nil, fmt.Errorf("detect: windows: cell %v outside the %d×%d heatmap", c, hm.Rows, hm.Cols)
		}
	}
	b := img.Bounds()
	if err := checkSize(b.Dx(), b.Dy()); err != nil {
		return nil, fmt.Errorf("detect: windows: %w", err)
	}
	src, _, err := d.scaled(img, hm.Scale)
	if err != nil {
		return nil, fmt.Errorf("detect: windows: %w", err)
	}
	if src == nil {
		return nil, ErrTooSmall{Width: b.Dx(), Height: b.Dy(), Window: d.geo.Window}
	}
	// Mean 0 and std 1 leave the pixels in [0,1].
	in := d.net.Input
	unit := nn.InputSpec{Channels: in.Channels, Mean: make([]float32, in.Channels), Std: make([]float32, in.Channels)}
	for c := range unit.Std {
		unit.Std[c] = 1
	}
	if src.norm, err = newNormalizer(unit); err != nil {
		return nil, fmt.Errorf("detect: windows: %w", err)
	}
	win := d.geo.Window
	iw, ih := src.img.Rect.Dx(), src.img.Rect.Dy()
	out := make([][]float32, len(cells))
	for k, c := range cells {
		w := make([]float32, in.Channels*win.H*win.W)
		y0, x0 := c[0]*hm.Step.H, c[1]*hm.Step.W
		src.fill(w, y0, x0, win.H, win.W)
		// Padding (PadSmall) reaches the network as the mean pixel.
		for ch := 0; ch < in.Channels; ch++ {
			for r := 0; r < win.H; r++ {
				for x := 0; x < win.W; x++ {
					if y0+r >= ih || x0+x >= iw {
						w[(ch*win.H+r)*win.W+x] = in.Mean[ch]
					}
				}
			}
		}
		out[k] = w
	}
	return out, nil
}
