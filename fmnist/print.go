package fmnist

import (
	"image"
	"image/color"
	"math"
	"math/rand"
	"sync"

	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/goitalic"
	"golang.org/x/image/font/gofont/gomedium"
	"golang.org/x/image/font/gofont/gomono"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"
)

// Synthetic print: lines of random words set in the Go fonts, dark on
// light or light on dark, from body text to headlines. Letters the size of
// the window were the commonest false positive on the test photographs (a
// dark "u" or "n" on white is a dress's silhouette, inverted), and the
// training photographs hold little print at that size. Whether drawing
// print helps on typefaces training never saw is measured on pages set in
// other fonts (testdata/printphotos.py), not assumed.

// printFonts parses the embedded Go fonts once. They are compiled in, so
// they parse (a test checks all five); one that did not would be left out.
var printFonts = sync.OnceValue(func() []*opentype.Font {
	var fonts []*opentype.Font
	for _, ttf := range [][]byte{goregular.TTF, gobold.TTF, gomedium.TTF, goitalic.TTF, gomono.TTF} {
		if f, err := opentype.Parse(ttf); err == nil {
			fonts = append(fonts, f)
		}
	}
	return fonts
})

// printLetters are drawn uniformly; the lower case is listed twice, as
// running text is mostly lower case.
const printLetters = "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// printMaxLines bounds the work per canvas.
const printMaxLines = 200

// fillPrint sets lines of random words on c. size is the typical feature
// size in pixels: each line's em is 0.5 to 2 times it.
func (c *canvas) fillPrint(rng *rand.Rand, size float64) {
	ink, paper := uniform(rng, 0, 0.35), uniform(rng, 0.65, 1)
	if rng.Intn(2) == 0 {
		ink, paper = paper, ink
	}
	g := image.NewGray(image.Rect(0, 0, c.w, c.h))
	for i := range g.Pix {
		g.Pix[i] = uint8(paper*255 + 0.5)
	}
	fonts := printFonts()
	d := font.Drawer{Dst: g, Src: image.NewUniform(color.Gray{Y: uint8(ink*255 + 0.5)})}
	y := uniform(rng, -size, 0)
	for line := 0; line < printMaxLines && y < float64(c.h) && len(fonts) > 0; line++ {
		em := logUniform(rng, 0.5*size, 2*size)
		face, err := opentype.NewFace(fonts[rng.Intn(len(fonts))], &opentype.FaceOptions{Size: em, DPI: 72, Hinting: font.HintingNone})
		if err != nil {
			break // only for sizes no caller passes; the paper stays
		}
		d.Face = face
		y += em * uniform(rng, 1, 1.5)
		d.Dot = fixed.Point26_6{X: fixed.Int26_6(uniform(rng, -2*em, 0) * 64), Y: fixed.Int26_6(y * 64)}
		for d.Dot.X.Ceil() < c.w {
			word := make([]byte, 1+rng.Intn(9))
			for i := range word {
				word[i] = printLetters[rng.Intn(len(printLetters))]
			}
			before := d.Dot.X
			d.DrawString(string(word) + " ")
			if d.Dot.X <= before {
				break // glyphs too small to advance (a tiny size): the line is done
			}
		}
		face.Close()
	}
	for i, v := range g.Pix {
		c.pix[i] = float32(v) / 255
	}
}

// fillBlockyPrint sets print the way a thresholded scan, a fax or a pixel
// font shows it: set at 1/k of the canvas and em (k = 1 to 3), binarised
// to ink or paper, and magnified k times by nearest neighbour, so letters
// have hard, stepped edges instead of fillPrint's antialiased ones.
func (c *canvas) fillBlockyPrint(rng *rand.Rand, size float64) {
	k := 1 + rng.Intn(3)
	small := canvas{w: (c.w + k - 1) / k, h: (c.h + k - 1) / k}
	small.pix = make([]float32, small.w*small.h)
	small.fillPrint(rng, size/float64(k))
	lo, hi := small.pix[0], small.pix[0]
	for _, v := range small.pix {
		lo, hi = min(lo, v), max(hi, v)
	}
	mid := (lo + hi) / 2
	for y := 0; y < c.h; y++ {
		row := small.pix[(y/k)*small.w:]
		for x := 0; x < c.w; x++ {
			v := hi
			if row[x/k] < mid {
				v = lo
			}
			c.pix[y*c.w+x] = v
		}
	}
}

// BlockyPrint is Print binarised and stepped (see fillBlockyPrint), with
// the same arguments and the same empty image for bad sizes.
func BlockyPrint(rng *rand.Rand, w, h int, size float64) *image.Gray {
	return synthetic(w, h, size, func(c *canvas) { c.fillBlockyPrint(rng, size) })
}

// PrintFeatureSize draws the feature size of a page of print painted
// under a scene's items, from PatchSize to 3 PatchSize: letters' em of 14
// to 168 px, about the items' 28 to 84 px and half to twice that.
func PrintFeatureSize(rng *rand.Rand) float64 {
	return PatchSize * math.Exp(rng.Float64()*math.Log(3))
}

// Print returns a w×h page of synthetic print with feature size size
// pixels (lines' em 0.5 to 2 times it), for use as a synthetic photograph
// (for example as a mining scene's background). w or h outside
// [1, MaxSceneSide], or size outside (0, MaxSceneSide], gives an empty
// image.
func Print(rng *rand.Rand, w, h int, size float64) *image.Gray {
	return synthetic(w, h, size, func(c *canvas) { c.fillPrint(rng, size) })
}
