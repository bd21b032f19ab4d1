package fmnist

import (
	"fmt"
	"image"
	"math"
)

// MaxSceneScale bounds AsScene's magnification and InContext's margin:
// a scene's items are 1 to 3 times the window, and the canvas grows with
// its square.
const MaxSceneScale = 8

// AsScene returns a copy of s whose items look as a scene on a black
// photograph shows them to the window that frames them: each is painted
// at k times its size, its intensity as alpha (as MakeScene paints), and
// brought back to its size as the detector's pyramid does (8-bit, then
// imaging's linear filter). Scoring such a copy asks what painting and
// resampling alone do to the classifier, apart from the photographs.
func (s *Set) AsScene(k float64) (*Set, error) {
	if !(k >= 1 && k <= MaxSceneScale) {
		return nil, fmt.Errorf("fmnist: scene scale %v out of range [1,%d]", k, MaxSceneScale)
	}
	w, h := int(math.Round(float64(s.Cols)*k)), int(math.Round(float64(s.Rows)*k))
	c := &canvas{pix: make([]float32, w*h), w: w, h: h}
	out := &Set{Rows: s.Rows, Cols: s.Cols, Labels: append([]uint8(nil), s.Labels...), Images: make([][]uint8, len(s.Images))}
	for i, item := range s.Images {
		clear(c.pix)
		c.paste(item, s.Rows, s.Cols, float64(w)/2, float64(h)/2, k, false, 1)
		out.Images[i] = c.shrunk(s.Cols, s.Rows)
	}
	return out, nil
}

// InContext returns a copy of s whose items are shown as a window with
// context k (nn.InputSpec.Context) shows a raw item: each in the middle
// of a black square k times its side, brought back to its size as the
// detector's pyramid does. k ≤ 1 returns s itself.
func (s *Set) InContext(k float64) (*Set, error) {
	if k <= 1 {
		return s, nil
	}
	return s.inWindow(k, s.Cols, s.Rows)
}

// InWindow is InContext for a window of side×side pixels: each item in
// the middle of a black square k times its side (k ≤ 1: none), resampled
// to side. A window of 36 with context 9/7 shows a 28×28 item at its own
// pixels. The items must be square.
func (s *Set) InWindow(k float64, side int) (*Set, error) {
	switch {
	case s.Rows != s.Cols:
		return nil, fmt.Errorf("fmnist: window: items are %d×%d, want square", s.Rows, s.Cols)
	case side < 1 || side > MaxSide:
		return nil, fmt.Errorf("fmnist: window side %d out of range [1,%d]", side, MaxSide)
	case side == s.Cols:
		return s.InContext(k)
	}
	return s.inWindow(max(k, 1), side, side)
}

// inWindow shows each item in the middle of a black square k ≥ 1 times
// its size, resampled to w×h.
func (s *Set) inWindow(k float64, w, h int) (*Set, error) {
	if k > MaxSceneScale {
		return nil, fmt.Errorf("fmnist: context %v out of range [1,%d]", k, MaxSceneScale)
	}
	ww, wh := int(math.Round(float64(s.Cols)*k)), int(math.Round(float64(s.Rows)*k))
	at := image.Pt((ww-s.Cols)/2, (wh-s.Rows)/2)
	window := image.NewGray(image.Rect(0, 0, ww, wh))
	out := &Set{Rows: h, Cols: w, Labels: append([]uint8(nil), s.Labels...), Images: make([][]uint8, len(s.Images))}
	for i, item := range s.Images {
		for y := range s.Rows {
			copy(window.Pix[(at.Y+y)*window.Stride+at.X:], item[y*s.Cols:(y+1)*s.Cols])
		}
		out.Images[i] = resized(window, w, h)
	}
	return out, nil
}

// OnBlack returns item i in the middle of a black image with margin
// pixels on every side, and the item's box in it (x1, y1, x2, y2): what
// a scan's box on the item shows a verifier, with room for its views.
func (s *Set) OnBlack(i, margin int) (*image.Gray, [4]float64) {
	img := image.NewGray(image.Rect(0, 0, s.Cols+2*margin, s.Rows+2*margin))
	for y := range s.Rows {
		copy(img.Pix[(margin+y)*img.Stride+margin:], s.Images[i][y*s.Cols:(y+1)*s.Cols])
	}
	m := float64(margin)
	return img, [4]float64{m, m, m + float64(s.Cols), m + float64(s.Rows)}
}
