package detect_test

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/fc2conv/fc2conv/detect"
	"github.com/fc2conv/fc2conv/nn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPreprocessGreyAndRGB(t *testing.T) {
	img := image.NewNRGBA(image.Rect(0, 0, 2, 1))
	img.SetNRGBA(0, 0, color.NRGBA{255, 0, 0, 255})
	img.SetNRGBA(1, 0, color.NRGBA{0, 51, 255, 255})

	// Grey: luma 0.299·255 = 76.245 and 0.587·51 + 0.114·255 = 59.007,
	// over 255: 0.299 and 0.2314; then (v − 0.5)/0.25.
	grey := nn.InputSpec{Channels: 1, Height: 1, Width: 1, Mean: []float32{0.5}, Std: []float32{0.25}}
	x, shape, err := detect.Preprocess(img, grey)
	require.NoError(t, err)
	assert.Equal(t, nn.Shape{C: 1, H: 1, W: 2}, shape)
	assert.InDeltaSlice(t, []float32{(0.299 - 0.5) / 0.25, (59.007/255 - 0.5) / 0.25}, x, 1e-5)

	// RGB, planar: R plane, G plane, B plane; means 0, 0.2, 1, stds 1, 0.5, 2.
	rgb := nn.InputSpec{Channels: 3, Height: 1, Width: 1, Mean: []float32{0, 0.2, 1}, Std: []float32{1, 0.5, 2}}
	x, shape, err = detect.Preprocess(img, rgb)
	require.NoError(t, err)
	assert.Equal(t, nn.Shape{C: 3, H: 1, W: 2}, shape)
	assert.InDeltaSlice(t, []float32{
		1, 0, // R: 1, 0
		-0.2 / 0.5, 0, // G: 0, 51/255 = 0.2, less the mean 0.2, over 0.5
		-1 / 2.0, 0, // B: 0, 1, less the mean 1, over 2
	}, x, 1e-6)
}

// A sub-image keeps its own bounds; preprocessing starts at its corner.
func TestPreprocessSubImage(t *testing.T) {
	img := blackWithSquare(10, 10, 5, 5, 5)
	sub := img.SubImage(image.Rect(5, 5, 7, 6))
	x, shape, err := detect.Preprocess(sub, spec(1, 1, 1))
	require.NoError(t, err)
	assert.Equal(t, nn.Shape{C: 1, H: 1, W: 2}, shape)
	assert.InDeltaSlice(t, []float32{1, 1}, x, 1e-6)
}

func TestPreprocessRejects(t *testing.T) {
	img := image.NewGray(image.Rect(0, 0, 2, 2))
	for _, tc := range []struct {
		spec nn.InputSpec
		want string
	}{
		{spec(2, 1, 1), "2 channels"},
		{nn.InputSpec{Channels: 1, Mean: []float32{0}}, "mean/std"},
		{nn.InputSpec{Channels: 1, Mean: []float32{0}, Std: []float32{0}}, "std 0"},
	} {
		_, _, err := detect.Preprocess(img, tc.spec)
		assert.ErrorContains(t, err, tc.want)
	}
	_, _, err := detect.Preprocess(nil, spec(1, 1, 1))
	assert.ErrorContains(t, err, "nil")
	_, _, err = detect.Preprocess(image.NewGray(image.Rect(0, 0, 0, 3)), spec(1, 1, 1))
	assert.ErrorContains(t, err, "0×3")
}

// withOrientation inserts an EXIF APP1 segment holding only the
// orientation tag right after the JPEG's SOI marker.
func withOrientation(t testing.TB, jpg []byte, orientation uint16) []byte {
	require.Equal(t, []byte{0xFF, 0xD8}, jpg[:2])
	var tiff bytes.Buffer
	le := binary.LittleEndian
	tiff.WriteString("II")
	_ = binary.Write(&tiff, le, uint16(42))
	_ = binary.Write(&tiff, le, uint32(8)) // first IFD right after the header
	_ = binary.Write(&tiff, le, uint16(1)) // one entry
	_ = binary.Write(&tiff, le, uint16(0x0112))
	_ = binary.Write(&tiff, le, uint16(3)) // SHORT
	_ = binary.Write(&tiff, le, uint32(1))
	_ = binary.Write(&tiff, le, orientation)
	_ = binary.Write(&tiff, le, uint16(0)) // value field padding
	_ = binary.Write(&tiff, le, uint32(0)) // no next IFD
	payload := append([]byte("Exif\x00\x00"), tiff.Bytes()...)
	seg := []byte{0xFF, 0xE1, 0, 0}
	binary.BigEndian.PutUint16(seg[2:], uint16(len(payload)+2))
	out := append([]byte{0xFF, 0xD8}, seg...)
	out = append(out, payload...)
	return append(out, jpg[2:]...)
}

func TestLoadImageAppliesEXIFOrientation(t *testing.T) {
	// 16 wide, 8 high: left half white, right half black.
	img := blackWithSquare(16, 8, 0, 0, 8)
	var buf bytes.Buffer
	require.NoError(t, jpeg.Encode(&buf, img, &jpeg.Options{Quality: 95}))
	dir := t.TempDir()
	path := filepath.Join(dir, "rotated.jpg")
	// Orientation 6: the stored picture must be turned 90° clockwise, so
	// it stands 8 wide and 16 high with the white half on top.
	require.NoError(t, os.WriteFile(path, withOrientation(t, buf.Bytes(), 6), 0o644))
	got, err := detect.LoadImage(path)
	require.NoError(t, err)
	require.Equal(t, image.Rect(0, 0, 8, 16), got.Bounds())
	top, _, _, _ := got.At(4, 3).RGBA()
	bottom, _, _, _ := got.At(4, 12).RGBA()
	assert.Greater(t, top>>8, uint32(200))
	assert.Less(t, bottom>>8, uint32(50))
}

func TestLoadImageFormatsAndErrors(t *testing.T) {
	dir := t.TempDir()
	pngPath := filepath.Join(dir, "a.png")
	var buf bytes.Buffer
	require.NoError(t, png.Encode(&buf, blackWithSquare(5, 3, 0, 0, 1)))
	require.NoError(t, os.WriteFile(pngPath, buf.Bytes(), 0o644))
	img, err := detect.LoadImage(pngPath)
	require.NoError(t, err)
	assert.Equal(t, image.Rect(0, 0, 5, 3), img.Bounds())

	_, err = detect.LoadImage(filepath.Join(dir, "missing.jpg"))
	assert.ErrorContains(t, err, "missing.jpg")

	junk := filepath.Join(dir, "junk.webp")
	require.NoError(t, os.WriteFile(junk, []byte("RIFF\x10\x00\x00\x00WEBPVP8 garbage"), 0o644))
	_, err = detect.LoadImage(junk)
	assert.ErrorContains(t, err, "junk.webp")

	// A PNG header claiming 100000×100000 pixels is refused before decoding.
	huge := filepath.Join(dir, "huge.png")
	hdr := buf.Bytes()[:33]
	hdr = append([]byte(nil), hdr...)
	binary.BigEndian.PutUint32(hdr[16:], 100000)
	binary.BigEndian.PutUint32(hdr[20:], 100000)
	binary.BigEndian.PutUint32(hdr[29:], crc32.ChecksumIEEE(hdr[12:29])) // IHDR type+data
	require.NoError(t, os.WriteFile(huge, hdr, 0o644))
	_, err = detect.LoadImage(huge)
	assert.ErrorContains(t, err, "huge.png")
	assert.ErrorContains(t, err, "more than")
}
