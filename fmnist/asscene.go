package fmnist

import (
	"fmt"
	"math"
)

// MaxSceneScale bounds AsScene's magnification: a scene's items are 1 to
// 3 times the window, and the canvas grows with its square.
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
