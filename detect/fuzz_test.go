package detect_test

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"image/color/palette"
	"image/gif"
	"image/jpeg"
	"image/png"
	"math"
	"testing"

	"github.com/fc2conv/fc2conv/detect"
	"github.com/fc2conv/fc2conv/nn"
	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"
)

// fuzzMaxPixels keeps every fuzzed image small enough to scan quickly.
const fuzzMaxPixels = 1 << 14

// bitWriter writes bits least significant first, as VP8L reads them.
type bitWriter struct {
	out  []byte
	acc  uint64
	nacc uint
}

func (w *bitWriter) put(v uint64, n uint) {
	w.acc |= v << w.nacc
	w.nacc += n
	for w.nacc >= 8 {
		w.out = append(w.out, byte(w.acc))
		w.acc >>= 8
		w.nacc -= 8
	}
}

func (w *bitWriter) bytes() []byte {
	if w.nacc > 0 {
		w.out = append(w.out, byte(w.acc))
	}
	return w.out
}

// solidWebP is a lossless WebP of one colour (Go has no WebP encoder):
// five prefix codes of one symbol each, so every pixel takes no bits.
func solidWebP(w, h int, c color.NRGBA) []byte {
	var bw bitWriter
	bw.put(0x2f, 8) // VP8L signature
	bw.put(uint64(w-1), 14)
	bw.put(uint64(h-1), 14)
	bw.put(1, 1) // alpha is used
	bw.put(0, 3) // version
	bw.put(0, 1) // no transform
	bw.put(0, 1) // no colour cache
	bw.put(0, 1) // no meta prefix codes
	for _, sym := range []uint8{c.G, c.R, c.B, c.A, 0} {
		bw.put(1, 1) // simple code
		bw.put(0, 1) // one symbol
		bw.put(1, 1) // of 8 bits
		bw.put(uint64(sym), 8)
	}
	data := bw.bytes()
	if len(data)%2 == 1 {
		data = append(data, 0)
	}
	chunk := binary.LittleEndian.AppendUint32([]byte("VP8L"), uint32(len(bw.out)))
	chunk = append(chunk, data...)
	riff := binary.LittleEndian.AppendUint32([]byte("RIFF"), uint32(4+len(chunk)))
	return append(append(riff, "WEBP"...), chunk...)
}

// imageSeeds are small images in every format LoadImage reads, in several
// colour models, JPEGs with each EXIF orientation, and broken files.
func imageSeeds(tb testing.TB) [][]byte {
	enc := func(f func(*bytes.Buffer) error) []byte {
		var b bytes.Buffer
		if err := f(&b); err != nil {
			tb.Fatal(err)
		}
		return b.Bytes()
	}
	rgba := blackWithSquare(12, 9, 2, 2, 5)
	gray := image.NewGray(image.Rect(0, 0, 7, 5))
	gray16 := image.NewGray16(image.Rect(0, 0, 5, 4))
	rgba64 := image.NewRGBA64(image.Rect(0, 0, 4, 6))
	pal := image.NewPaletted(image.Rect(0, 0, 6, 6), palette.Plan9)
	for i := range gray.Pix {
		gray.Pix[i] = uint8(i * 37)
	}
	for i := range gray16.Pix {
		gray16.Pix[i] = uint8(i * 53)
	}
	for i := range rgba64.Pix {
		rgba64.Pix[i] = uint8(i * 11)
	}
	for i := range pal.Pix {
		pal.Pix[i] = uint8(i * 7)
	}
	jpg := enc(func(b *bytes.Buffer) error { return jpeg.Encode(b, rgba, nil) })
	seeds := [][]byte{
		enc(func(b *bytes.Buffer) error { return png.Encode(b, rgba) }),
		enc(func(b *bytes.Buffer) error { return png.Encode(b, gray) }),
		enc(func(b *bytes.Buffer) error { return png.Encode(b, gray16) }),
		enc(func(b *bytes.Buffer) error { return png.Encode(b, rgba64) }),
		enc(func(b *bytes.Buffer) error { return png.Encode(b, pal) }),
		jpg,
		enc(func(b *bytes.Buffer) error { return jpeg.Encode(b, gray, nil) }),
		enc(func(b *bytes.Buffer) error { return gif.Encode(b, pal, nil) }),
		enc(func(b *bytes.Buffer) error { return bmp.Encode(b, rgba) }),
		enc(func(b *bytes.Buffer) error { return bmp.Encode(b, gray) }),
		enc(func(b *bytes.Buffer) error { return tiff.Encode(b, rgba, nil) }),
		enc(func(b *bytes.Buffer) error {
			return tiff.Encode(b, gray16, &tiff.Options{Compression: tiff.Deflate})
		}),
		enc(func(b *bytes.Buffer) error {
			return tiff.Encode(b, pal, &tiff.Options{Compression: tiff.Deflate, Predictor: true})
		}),
		solidWebP(5, 3, color.NRGBA{200, 100, 50, 255}),
		[]byte("RIFF\x10\x00\x00\x00WEBPVP8 garbage"),
		nil,
		jpg[:len(jpg)/2],
	}
	for o := uint16(1); o <= 8; o++ {
		seeds = append(seeds, withOrientation(tb, jpg, o))
	}
	return seeds
}

func TestImageSeedsDecode(t *testing.T) {
	seeds := imageSeeds(t)
	for i, s := range seeds {
		_, err := detect.DecodeImage(bytes.NewReader(s), fuzzMaxPixels)
		if broken := i >= 14 && i <= 16; broken {
			if err == nil {
				t.Errorf("seed %d is broken but decodes", i)
			}
		} else if err != nil {
			t.Errorf("seed %d: %v", i, err)
		}
	}
	img, err := detect.DecodeImage(bytes.NewReader(seeds[13]), 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := color.NRGBAModel.Convert(img.At(4, 2)); got != (color.NRGBA{200, 100, 50, 255}) || img.Bounds() != image.Rect(0, 0, 5, 3) {
		t.Errorf("the hand-made WebP decodes to %v at (4,2) in %v", got, img.Bounds())
	}
}

// FuzzDecodeImage decodes and preprocesses bytes as scan does: header
// checked against the pixel limit, decoded with its EXIF orientation,
// converted to grey and to RGB, and scanned by a small network at two
// scales. Nothing may panic; what decodes is within the limit, and every
// network input is finite and inside the range normalisation maps [0,255]
// to.
func FuzzDecodeImage(f *testing.F) {
	for _, s := range imageSeeds(f) {
		f.Add(s)
	}
	grey := nn.InputSpec{Channels: 1, Height: 4, Width: 4, Mean: []float32{0.5}, Std: []float32{0.25}}
	rgb := nn.InputSpec{Channels: 3, Height: 4, Width: 4, Mean: []float32{0.5, 0.5, 0.5}, Std: []float32{0.25, 0.25, 0.25}}
	conv := nn.NewConv2D("c", 1, 1, nn.Pair{H: 4, W: 4}, nn.Pair{H: 2, W: 2}, nn.Pair{})
	for i := range conv.Weight.Data {
		conv.Weight.Data[i] = 1.0 / 16
	}
	det, err := detect.New(&nn.Network{Input: grey, Layers: []nn.Layer{conv, nn.NewSigmoid("s")}},
		detect.Options{Scales: []float64{1, 0.6}, PadSmall: true, Threshold: detect.EveryWindow})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		img, err := detect.DecodeImage(bytes.NewReader(b), fuzzMaxPixels)
		if err != nil {
			return
		}
		r := img.Bounds()
		if r.Dx() < 1 || r.Dy() < 1 || r.Dx()*r.Dy() > fuzzMaxPixels {
			t.Fatalf("decoded a %v image under a %d-pixel limit", r, fuzzMaxPixels)
		}
		for _, spec := range []nn.InputSpec{grey, rgb} {
			x, shape, err := detect.Preprocess(img, spec)
			if err != nil {
				t.Fatalf("a decoded %v image does not preprocess: %v", r, err)
			}
			if shape != (nn.Shape{C: spec.Channels, H: r.Dy(), W: r.Dx()}) || len(x) != shape.Size() {
				t.Fatalf("preprocessed %v into %v (%d values)", r, shape, len(x))
			}
			for i, v := range x {
				if math.IsNaN(float64(v)) || v < -2.0001 || v > 2.0001 {
					t.Fatalf("input %d is %v, outside [-2,2]", i, v)
				}
			}
		}
		res, err := det.Detect(img)
		if err != nil {
			t.Fatalf("a decoded %v image does not scan: %v", r, err)
		}
		if res.Width != r.Dx() || res.Height != r.Dy() || len(res.Heatmaps) == 0 {
			t.Fatalf("scanned %v as %d×%d with %d heatmaps", r, res.Width, res.Height, len(res.Heatmaps))
		}
	})
}
