package detect

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"math"

	"github.com/disintegration/imaging"
	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// Layout of the overlay.
const (
	legendWidth  = 44 // strip on the right holding the colour bar
	legendMargin = 8
	minCanvasH   = 64 // room for the colour bar and its labels
	heatAlpha    = 0.55
)

var (
	boxColor   = color.NRGBA{255, 0, 255, 255}
	labelBG    = color.NRGBA{0, 0, 0, 200}
	labelColor = color.NRGBA{255, 255, 255, 255}
)

// RenderOverlay draws the heatmap over a grey copy of img, outlines dets
// with their scores, and adds a colour bar on the right (0 at the bottom,
// 1 at the top; scores outside [0,1] are clamped). The heatmap is sampled
// at every pixel by bilinear interpolation between the centres of the
// cells' windows. An empty or malformed heatmap leaves the picture grey.
func RenderOverlay(img image.Image, hm Heatmap, dets []Detection) image.Image {
	grey := imaging.Grayscale(img)
	w, h := grey.Rect.Dx(), grey.Rect.Dy()
	canvas := image.NewNRGBA(image.Rect(0, 0, w+legendWidth, max(h, minCanvasH)))
	draw.Draw(canvas, canvas.Rect, image.NewUniform(color.NRGBA{32, 32, 32, 255}), image.Point{}, draw.Src)
	draw.Draw(canvas, grey.Rect, grey, image.Point{}, draw.Src)

	if usable(hm) {
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				c := Colormap(sample(hm, float64(x)+0.5, float64(y)+0.5))
				o := canvas.PixOffset(x, y)
				p := canvas.Pix[o : o+3]
				p[0] = blend(p[0], c.R)
				p[1] = blend(p[1], c.G)
				p[2] = blend(p[2], c.B)
			}
		}
	}
	for _, d := range dets {
		drawBox(canvas, d.Box, w, h)
	}
	for _, d := range dets {
		x := int(math.Floor(d.Box[0]))
		y := int(math.Floor(d.Box[1]))
		drawLabel(canvas, fmt.Sprintf("%.2f", d.Score), x, y)
	}
	drawLegend(canvas, w)
	return canvas
}

func usable(hm Heatmap) bool {
	return hm.Rows > 0 && hm.Cols > 0 && len(hm.Data) == hm.Rows*hm.Cols &&
		hm.Scale > 0 && hm.Step.H > 0 && hm.Step.W > 0 && !math.IsInf(hm.Scale, 0)
}

func blend(base, over uint8) uint8 {
	return uint8(math.Round(float64(base)*(1-heatAlpha) + float64(over)*heatAlpha))
}

// sample interpolates the heatmap at original-image point (x, y). Cell
// (i, j) sits at the centre of its window.
func sample(hm Heatmap, x, y float64) float64 {
	u := (x*hm.Scale - float64(hm.Window.W)/2) / float64(hm.Step.W)
	v := (y*hm.Scale - float64(hm.Window.H)/2) / float64(hm.Step.H)
	u = min(max(u, 0), float64(hm.Cols-1))
	v = min(max(v, 0), float64(hm.Rows-1))
	j0, i0 := int(u), int(v)
	j1, i1 := min(j0+1, hm.Cols-1), min(i0+1, hm.Rows-1)
	fu, fv := u-float64(j0), v-float64(i0)
	top := float64(hm.At(i0, j0))*(1-fu) + float64(hm.At(i0, j1))*fu
	bot := float64(hm.At(i1, j0))*(1-fu) + float64(hm.At(i1, j1))*fu
	return top*(1-fv) + bot*fv
}

// jet holds the control points of a jet-like colormap: dark blue, blue,
// cyan, yellow, red, dark red.
var jet = []struct {
	at      float64
	r, g, b float64
}{
	{0, 0, 0, 128}, {0.125, 0, 0, 255}, {0.375, 0, 255, 255},
	{0.625, 255, 255, 0}, {0.875, 255, 0, 0}, {1, 128, 0, 0},
}

// Colormap maps a score in [0,1] (clamped; NaN reads as 0) to a colour.
func Colormap(v float64) color.NRGBA {
	if !(v > 0) {
		v = 0
	}
	v = min(v, 1)
	for k := 1; k < len(jet); k++ {
		a, b := jet[k-1], jet[k]
		if v <= b.at {
			t := (v - a.at) / (b.at - a.at)
			mix := func(p, q float64) uint8 { return uint8(math.Round(p + (q-p)*t)) }
			return color.NRGBA{mix(a.r, b.r), mix(a.g, b.g), mix(a.b, b.b), 255}
		}
	}
	last := jet[len(jet)-1]
	return color.NRGBA{uint8(last.r), uint8(last.g), uint8(last.b), 255}
}

// drawBox outlines a box two pixels wide, clipped to the w×h picture.
func drawBox(dst *image.NRGBA, b [4]float64, w, h int) {
	clip := image.Rect(0, 0, w, h)
	r := image.Rect(int(math.Floor(b[0])), int(math.Floor(b[1])), int(math.Ceil(b[2])), int(math.Ceil(b[3])))
	const t = 2
	for _, e := range []image.Rectangle{
		image.Rect(r.Min.X, r.Min.Y, r.Max.X, r.Min.Y+t),
		image.Rect(r.Min.X, r.Max.Y-t, r.Max.X, r.Max.Y),
		image.Rect(r.Min.X, r.Min.Y, r.Min.X+t, r.Max.Y),
		image.Rect(r.Max.X-t, r.Min.Y, r.Max.X, r.Max.Y),
	} {
		draw.Draw(dst, e.Intersect(clip), image.NewUniform(boxColor), image.Point{}, draw.Src)
	}
}

// drawLabel writes s on a dark patch just above a box's top-left corner
// (inside the box when there is no room above), kept inside the picture.
func drawLabel(dst *image.NRGBA, s string, x, y int) {
	face := basicfont.Face7x13
	tw := font.MeasureString(face, s).Ceil() + 4
	th := face.Height + 2
	if y >= th {
		y -= th
	}
	x = min(max(x, 0), max(0, dst.Rect.Dx()-legendWidth-tw))
	y = min(max(y, 0), max(0, dst.Rect.Dy()-th))
	bg := image.Rect(x, y, x+tw, y+th)
	draw.Draw(dst, bg, image.NewUniform(labelBG), image.Point{}, draw.Over)
	drawText(dst, s, x+2, y+face.Ascent+1, labelColor)
}

func drawText(dst draw.Image, s string, x, baseline int, c color.Color) {
	d := font.Drawer{Dst: dst, Src: image.NewUniform(c), Face: basicfont.Face7x13, Dot: fixed.P(x, baseline)}
	d.DrawString(s)
}

// drawLegend paints a vertical colour bar right of the picture, 1 at the
// top and 0 at the bottom, with its end values written beside it.
func drawLegend(dst *image.NRGBA, w int) {
	face := basicfont.Face7x13
	x0, x1 := w+legendMargin, w+legendMargin+12
	top, bottom := face.Height, dst.Rect.Dy()-face.Height
	if bottom-top < 2 {
		return
	}
	for y := top; y < bottom; y++ {
		v := 1 - float64(y-top)/float64(bottom-top-1)
		c := Colormap(v)
		for x := x0; x < x1; x++ {
			dst.SetNRGBA(x, y, c)
		}
	}
	white := color.NRGBA{255, 255, 255, 255}
	drawText(dst, "1", x1+4, top+face.Ascent-2, white)
	drawText(dst, "0", x1+4, bottom, white)
}

// MaxOverScales folds a pyramid's heatmaps into one on the grid of the
// first usable one (the largest scale): each cell takes the highest score
// any scale gives at that cell's window centre, interpolated as in
// RenderOverlay. Objects found only at coarse scales then show in the
// overlay too. Unusable heatmaps are skipped; with none, the result is
// empty.
func MaxOverScales(hms []Heatmap) Heatmap {
	var out Heatmap
	for _, hm := range hms {
		if !usable(hm) {
			continue
		}
		if out.Data == nil {
			out = hm
			out.Data = append([]float32(nil), hm.Data...)
			continue
		}
		for i := 0; i < out.Rows; i++ {
			for j := 0; j < out.Cols; j++ {
				x := (float64(j*out.Step.W) + float64(out.Window.W)/2) / out.Scale
				y := (float64(i*out.Step.H) + float64(out.Window.H)/2) / out.Scale
				if v := float32(sample(hm, x, y)); v > out.Data[i*out.Cols+j] {
					out.Data[i*out.Cols+j] = v
				}
			}
		}
	}
	return out
}
