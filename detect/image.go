package detect

import (
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"os"
	"time"

	// Decoders beyond what imaging registers (JPEG, PNG, GIF, BMP, TIFF).
	_ "golang.org/x/image/webp"

	"github.com/disintegration/imaging"
	"github.com/fc2conv/fc2conv/nn"
)

// MaxImagePixels bounds the pixels of any image we decode, resize or
// preprocess (128 Mpx), so that a hostile header cannot make us allocate
// without end. It is LoadImageLimit's default and largest limit.
const MaxImagePixels = 1 << 27

// ErrTooManyPixels is wrapped by the error for an image whose header
// declares more pixels than allowed.
var ErrTooManyPixels = errors.New("too many pixels")

// LoadImage is LoadImageLimit with the default limit, MaxImagePixels.
func LoadImage(path string) (image.Image, error) { return LoadImageLimit(path, 0) }

// LoadImageLimit decodes a JPEG, PNG, GIF, BMP, TIFF or WebP file and
// applies its EXIF orientation, so the picture stands the way the camera
// held it. The size in the header is checked against maxPixels (0 means
// MaxImagePixels) before the pixels are allocated.
func LoadImageLimit(path string, maxPixels int) (image.Image, error) {
	// Opening a named pipe blocks until someone writes to it, and a device
	// may never end: only regular files are read.
	if st, err := os.Stat(path); err == nil && !st.Mode().IsRegular() {
		return nil, fmt.Errorf("detect: load image %s: not a regular file (%v)", path, st.Mode().Type())
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("detect: load image: %w", err)
	}
	defer f.Close()
	img, format, err := decodeImage(f, maxPixels)
	if err != nil {
		return nil, fmt.Errorf("detect: load image %s%s: %w", path, format, err)
	}
	return img, nil
}

// DecodeImage is LoadImageLimit on an open file or buffer.
func DecodeImage(r io.ReadSeeker, maxPixels int) (image.Image, error) {
	img, format, err := decodeImage(r, maxPixels)
	if err != nil {
		return nil, fmt.Errorf("detect: decode image%s: %w", format, err)
	}
	return img, nil
}

// decodeImage decodes r within maxPixels; format is " (name)" once the
// header has said it, for messages.
func decodeImage(r io.ReadSeeker, maxPixels int) (img image.Image, format string, err error) {
	if maxPixels == 0 {
		maxPixels = MaxImagePixels
	}
	if maxPixels < 0 || maxPixels > MaxImagePixels {
		return nil, "", fmt.Errorf("pixel limit %d out of range [1,%d]", maxPixels, MaxImagePixels)
	}
	cfg, name, err := image.DecodeConfig(r)
	if err != nil {
		return nil, "", err
	}
	format = " (" + name + ")"
	if err := checkSizeMax(cfg.Width, cfg.Height, maxPixels); err != nil {
		return nil, format, err
	}
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return nil, format, err
	}
	if img, err = imaging.Decode(r, imaging.AutoOrientation(true)); err != nil {
		return nil, format, err
	}
	// A decoder may disagree with its own header (a GIF frame, a TIFF
	// directory); what it returns must still be within the limit.
	b := img.Bounds()
	if err := checkSizeMax(b.Dx(), b.Dy(), maxPixels); err != nil {
		return nil, format, fmt.Errorf("decoded: %w", err)
	}
	return img, format, nil
}

func checkSize(w, h int) error { return checkSizeMax(w, h, MaxImagePixels) }

func checkSizeMax(w, h, maxPixels int) error {
	if w < 1 || h < 1 {
		return fmt.Errorf("image is %d×%d, want at least 1×1", w, h)
	}
	if w > maxPixels/h {
		return fmt.Errorf("image is %d×%d, more than %d pixels: %w", w, h, maxPixels, ErrTooManyPixels)
	}
	return nil
}

// Preprocess turns an image into the network's input: a C×H×W planar
// float32 slice. One channel is grey by ITU-R BT.601 luma
// (0.299R + 0.587G + 0.114B), three are RGB. Pixels are scaled to [0,1] and
// normalised per channel as (v − mean[c]) / std[c]. Alpha is ignored.
func Preprocess(img image.Image, spec nn.InputSpec) ([]float32, nn.Shape, error) {
	if img == nil {
		return nil, nn.Shape{}, errors.New("detect: preprocess: image is nil")
	}
	norm, err := newNormalizer(spec)
	if err != nil {
		return nil, nn.Shape{}, fmt.Errorf("detect: preprocess: %w", err)
	}
	b := img.Bounds()
	if err := checkSize(b.Dx(), b.Dy()); err != nil {
		return nil, nn.Shape{}, fmt.Errorf("detect: preprocess: %w", err)
	}
	src := &source{img: imaging.Clone(img), w: b.Dx(), h: b.Dy(), norm: norm}
	shape := nn.Shape{C: spec.Channels, H: b.Dy(), W: b.Dx()}
	out := make([]float32, shape.Size())
	src.fill(out, 0, 0, shape.H, shape.W)
	return out, shape, nil
}

// normalizer maps 8-bit pixels to normalised network inputs.
type normalizer struct {
	channels int
	// lut[c][v] = (v/255 − mean[c]) / std[c] for the RGB case.
	lut [3][256]float32
	// grey: ((luma/255) − mean)/std = luma·gScale + gShift.
	gScale, gShift float32
}

// grey is the normalised BT.601 luma of the 8-bit RGB(A) pixel p.
func (n *normalizer) grey(p []uint8) float32 {
	luma := 0.299*float32(p[0]) + 0.587*float32(p[1]) + 0.114*float32(p[2])
	return luma*n.gScale + n.gShift
}

func newNormalizer(spec nn.InputSpec) (*normalizer, error) {
	if spec.Channels != 1 && spec.Channels != 3 {
		return nil, fmt.Errorf("input has %d channels, want 1 (grey) or 3 (RGB)", spec.Channels)
	}
	if len(spec.Mean) != spec.Channels || len(spec.Std) != spec.Channels {
		return nil, fmt.Errorf("input mean/std have %d/%d values for %d channels", len(spec.Mean), len(spec.Std), spec.Channels)
	}
	n := &normalizer{channels: spec.Channels}
	for c := 0; c < spec.Channels; c++ {
		// NaN fails this test too.
		if !(spec.Std[c] > 0) {
			return nil, fmt.Errorf("input channel %d: std %v, want > 0", c, spec.Std[c])
		}
	}
	if spec.Channels == 1 {
		n.gScale = float32(1 / (255 * float64(spec.Std[0])))
		n.gShift = float32(-float64(spec.Mean[0]) / float64(spec.Std[0]))
		return n, nil
	}
	for c := 0; c < 3; c++ {
		for v := 0; v < 256; v++ {
			n.lut[c][v] = float32((float64(v)/255 - float64(spec.Mean[c])) / float64(spec.Std[c]))
		}
	}
	return n, nil
}

// source is an image at one scale, possibly padded at the bottom and right
// to a logical w×h. Padding reads as 0 after normalisation, i.e. as the
// mean pixel, which is the least informative value the network knows.
type source struct {
	img  *image.NRGBA // origin at (0,0)
	w, h int
	norm *normalizer
	// mirror, when > 0, reads the image's first mirror columns flipped
	// left to right (and nothing beyond them): the mirrored pass without
	// a mirrored copy of the picture.
	mirror int
	// ctx, when set, stops the scan between tiles (DetectContext).
	ctx context.Context
}

// stopped is the error that ends a scan of s early, or nil.
func (s *source) stopped() error {
	if s.ctx == nil {
		return nil
	}
	return ctxErr(s.ctx)
}

// ctxErr is ctx.Err(), or context.DeadlineExceeded once ctx's deadline
// has passed though its timer has not fired yet: on a loaded machine it
// fires late, and a detection past its deadline should not start a level.
func ctxErr(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if dl, ok := ctx.Deadline(); ok && !time.Now().Before(dl) {
		return context.DeadlineExceeded
	}
	return nil
}

// fill writes the normalised h×w region at (y0, x0) into dst (C×h×w).
func (s *source) fill(dst []float32, y0, x0, h, w int) {
	plane := h * w
	iw, ih := s.img.Rect.Dx(), s.img.Rect.Dy()
	if s.mirror > 0 {
		iw = s.mirror
	}
	for r := 0; r < h; r++ {
		y := y0 + r
		for c := 0; c < w; c++ {
			x := x0 + c
			o := r*w + c
			if y >= ih || x >= iw {
				for ch := 0; ch < s.norm.channels; ch++ {
					dst[ch*plane+o] = 0
				}
				continue
			}
			if s.mirror > 0 {
				x = s.mirror - 1 - x
			}
			p := s.img.Pix[y*s.img.Stride+4*x:]
			if s.norm.channels == 1 {
				dst[o] = s.norm.grey(p)
				continue
			}
			dst[o] = s.norm.lut[0][p[0]]
			dst[plane+o] = s.norm.lut[1][p[1]]
			dst[2*plane+o] = s.norm.lut[2][p[2]]
		}
	}
}
