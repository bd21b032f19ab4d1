package train

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// Bin is one score interval of a reliability diagram.
type Bin struct {
	Lo, Hi    float64 `json:"-"`
	Count     int     `json:"count"`
	MeanScore float64 `json:"mean_score"` // mean p(positive) of the bin's items
	Positive  float64 `json:"positive"`   // fraction of the bin's items that are positive
}

// Reliability is a reliability diagram of p(positive) scores: equal-width
// bins of the score, each with its mean score and its observed fraction of
// positives. A calibrated model has the two equal in every bin.
type Reliability struct {
	Bins []Bin `json:"bins"`
	// ECE is the expected calibration error: Σ (count/N)·|positive − mean
	// score| over the bins.
	ECE float64 `json:"ece"`
}

// NewReliability bins scores (p(positive), in [0,1]) into n equal-width
// bins, the last closed; scores outside [0,1] count in the end bins.
func NewReliability(scores []float64, positive []bool, n int) (Reliability, error) {
	if n < 1 || n > 1000 {
		return Reliability{}, fmt.Errorf("reliability: %d bins, want 1 to 1000", n)
	}
	if len(scores) != len(positive) {
		return Reliability{}, fmt.Errorf("reliability: %d scores for %d labels", len(scores), len(positive))
	}
	r := Reliability{Bins: make([]Bin, n)}
	for i := range r.Bins {
		r.Bins[i].Lo, r.Bins[i].Hi = float64(i)/float64(n), float64(i+1)/float64(n)
	}
	for i, s := range scores {
		b := min(n-1, max(0, int(math.Floor(s*float64(n)))))
		r.Bins[b].Count++
		r.Bins[b].MeanScore += s
		if positive[i] {
			r.Bins[b].Positive++
		}
	}
	for i := range r.Bins {
		b := &r.Bins[i]
		if b.Count == 0 {
			continue
		}
		b.MeanScore /= float64(b.Count)
		b.Positive /= float64(b.Count)
		r.ECE += float64(b.Count) / float64(len(scores)) * math.Abs(b.Positive-b.MeanScore)
	}
	return r, nil
}

// WritePNG draws the diagram: per bin, a bar up to the observed fraction
// of positives, a tick at the mean score, and the diagonal a calibrated
// model follows; the title line gives the ECE.
func (r Reliability) WritePNG(w io.Writer, title string) error {
	const size, margin = 400, 40
	img := image.NewRGBA(image.Rect(0, 0, size+2*margin, size+2*margin))
	fill(img, img.Bounds(), color.RGBA{255, 255, 255, 255})
	// Plot coordinates: (0,0) bottom left, (1,1) top right.
	px := func(v float64) int { return margin + int(math.Round(v*size)) }
	py := func(v float64) int { return margin + size - int(math.Round(v*size)) }
	grid := color.RGBA{225, 225, 225, 255}
	for k := 0; k <= 10; k++ {
		v := float64(k) / 10
		fill(img, image.Rect(px(0), py(v), px(1)+1, py(v)+1), grid)
		fill(img, image.Rect(px(v), py(1), px(v)+1, py(0)+1), grid)
	}
	for _, b := range r.Bins {
		if b.Count == 0 {
			continue
		}
		fill(img, image.Rect(px(b.Lo)+1, py(b.Positive), px(b.Hi), py(0)), color.RGBA{90, 130, 200, 255})
		fill(img, image.Rect(px(b.Lo)+1, py(b.MeanScore)-1, px(b.Hi), py(b.MeanScore)+1), color.RGBA{220, 60, 40, 255})
	}
	for k := 0; k <= size; k++ {
		img.Set(margin+k, margin+size-k, color.RGBA{0, 0, 0, 255})
	}
	black := image.NewUniform(color.Black)
	label := func(x, y int, s string) {
		d := font.Drawer{Dst: img, Src: black, Face: basicfont.Face7x13, Dot: fixed.P(x, y)}
		d.DrawString(s)
	}
	label(margin, margin-22, fmt.Sprintf("%s  ECE %.4f", title, r.ECE))
	label(margin, margin-8, "bars: fraction positive; red: mean score")
	label(margin, size+margin+16, "0")
	label(size+margin-24, size+margin+16, "score 1")
	label(4, margin+8, "1")
	return png.Encode(w, img)
}

func fill(img *image.RGBA, r image.Rectangle, c color.RGBA) {
	r = r.Intersect(img.Bounds())
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			img.SetRGBA(x, y, c)
		}
	}
}
