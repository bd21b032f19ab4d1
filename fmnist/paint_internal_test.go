package fmnist

import (
	"image"
	"math"
	"math/rand"
	"testing"

	"github.com/disintegration/imaging"
	"github.com/stretchr/testify/require"
)

// imagingGray is what training resampled with before resized: imaging's
// linear filter, one channel read back.
func imagingGray(img image.Image, w, h int) []uint8 {
	small := imaging.Resize(img, w, h, imaging.Linear)
	out := make([]uint8, w*h)
	for y := range h {
		for x := range w {
			out[y*w+x] = small.Pix[y*small.Stride+4*x]
		}
	}
	return out
}

// Every byte is imaging's: shrinking and growing on either axis, equal
// sizes, one-pixel images, and sub-images whose origin is not (0, 0).
func TestResizedIsImagings(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	sizes := [][4]int{{28, 28, 28, 28}, {1, 1, 28, 28}, {28, 28, 1, 1}, {36, 36, 28, 28}, {29, 83, 28, 28},
		{200, 90, 28, 28}, {13, 17, 28, 28}, {28, 40, 28, 28}, {40, 28, 28, 28}, {97, 3, 5, 64}}
	for range 200 {
		sizes = append(sizes, [4]int{1 + rng.Intn(160), 1 + rng.Intn(160), 1 + rng.Intn(60), 1 + rng.Intn(60)})
	}
	for _, s := range sizes {
		whole := image.NewGray(image.Rect(0, 0, s[0]+7, s[1]+5))
		for i := range whole.Pix {
			whole.Pix[i] = uint8(rng.Intn(256))
		}
		if rng.Intn(4) == 0 { // flat and saturated runs, where rounding sits on a half
			for i := range whole.Pix {
				whole.Pix[i] = []uint8{0, 255, 128, 127}[i/7%4]
			}
		}
		img := whole.SubImage(image.Rect(3, 2, 3+s[0], 2+s[1])).(*image.Gray)
		require.Equal(t, imagingGray(img, s[2], s[3]), resized(img, s[2], s[3]), "%d×%d to %d×%d", s[0], s[1], s[2], s[3])
	}
	require.Nil(t, resized(image.NewGray(image.Rect(0, 0, 0, 4)), 28, 28), "an empty image")
}

func BenchmarkResized(b *testing.B) {
	img := image.NewGray(image.Rect(0, 0, 47, 47))
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 7)
	}
	b.Run("imaging", func(b *testing.B) {
		for b.Loop() {
			imagingGray(img, Side, Side)
		}
	})
	b.Run("resized", func(b *testing.B) {
		for b.Loop() {
			resized(img, Side, Side)
		}
	})
}

// refFillPhoto is fillPhoto as painting ran it before the samples' places
// were worked out once per row and column: fillPhoto must paint the same
// floats, so that training crops stay the ones the shipped verifier was
// trained on.
func refFillPhoto(c *canvas, g *image.Gray, ox, oy, step float64, flip bool, r image.Rectangle) {
	photoAt := func(u, v float64) float32 {
		w, h := g.Rect.Dx(), g.Rect.Dy()
		u = min(max(u, 0), float64(w-1))
		v = min(max(v, 0), float64(h-1))
		x0, y0 := int(u), int(v)
		x1, y1 := min(x0+1, w-1), min(y0+1, h-1)
		fx, fy := u-float64(x0), v-float64(y0)
		p := func(x, y int) float64 { return float64(g.Pix[y*g.Stride+x]) }
		top := p(x0, y0)*(1-fx) + p(x1, y0)*fx
		bot := p(x0, y1)*(1-fx) + p(x1, y1)*fx
		return float32((top*(1-fy) + bot*fy) / 255)
	}
	n := 1
	if step > 1.5 {
		n = min(4, int(math.Ceil(step)))
	}
	inv := 1 / float32(n*n)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			xx := x
			if flip {
				xx = c.w - 1 - x
			}
			var sum float32
			for j := 0; j < n; j++ {
				for i := 0; i < n; i++ {
					u := ox + (float64(xx)+(float64(i)+0.5)/float64(n))*step - 0.5
					v := oy + (float64(y)+(float64(j)+0.5)/float64(n))*step - 0.5
					sum += photoAt(u, v)
				}
			}
			c.pix[y*c.w+x] = sum * inv
		}
	}
}

// fillPhoto paints what it always painted, to the bit: every step (one
// sample a pixel and up to 4×4), mirrored or not, views reaching past the
// photograph's edges, and parts of the canvas.
func TestFillPhotoToTheBit(t *testing.T) {
	rng := rand.New(rand.NewSource(2))
	for k := range 300 {
		g := image.NewGray(image.Rect(0, 0, 1+rng.Intn(120), 1+rng.Intn(120)))
		for i := range g.Pix {
			g.Pix[i] = uint8(rng.Intn(256))
		}
		w, h := 1+rng.Intn(60), 1+rng.Intn(60)
		got := &canvas{pix: make([]float32, w*h), w: w, h: h}
		want := &canvas{pix: make([]float32, w*h), w: w, h: h}
		step := math.Exp(rng.Float64()*3 - 1) // 0.37 to 7.4
		ox, oy := rng.Float64()*float64(g.Rect.Dx())-4, rng.Float64()*float64(g.Rect.Dy())-4
		r := image.Rect(rng.Intn(w), rng.Intn(h), w, h)
		if k%3 == 0 {
			r = image.Rect(0, 0, w, h)
		}
		flip := rng.Intn(2) == 0
		got.fillPhoto(g, ox, oy, step, flip, r)
		refFillPhoto(want, g, ox, oy, step, flip, r)
		require.Equal(t, want.pix, got.pix, "case %d: step %v, flip %v, %v of %d×%d", k, step, flip, r, w, h)
	}
}
