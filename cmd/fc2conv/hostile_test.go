package main

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"encoding/json"
	"hash/crc32"
	"image"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func pngBytes(t *testing.T, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, png.Encode(&b, img))
	return b.Bytes()
}

// pngChunk finds the first chunk of type typ: its offset and data length.
func pngChunk(t *testing.T, b []byte, typ string) (off, n int) {
	t.Helper()
	for off = 8; off+8 <= len(b); off += 12 + n {
		n = int(binary.BigEndian.Uint32(b[off:]))
		if string(b[off+4:off+8]) == typ {
			return off, n
		}
	}
	t.Fatalf("no %s chunk", typ)
	return 0, 0
}

// greyAlphaPNG writes a w×h PNG of colour type 4 (grey with alpha, 8
// bits), which Go's encoder never produces.
func greyAlphaPNG(t *testing.T, w, h int) []byte {
	t.Helper()
	chunk := func(out []byte, typ string, data []byte) []byte {
		out = binary.BigEndian.AppendUint32(out, uint32(len(data)))
		body := append([]byte(typ), data...)
		out = append(out, body...)
		return binary.BigEndian.AppendUint32(out, crc32.ChecksumIEEE(body))
	}
	ihdr := binary.BigEndian.AppendUint32(nil, uint32(w))
	ihdr = binary.BigEndian.AppendUint32(ihdr, uint32(h))
	ihdr = append(ihdr, 8, 4, 0, 0, 0) // depth 8, grey+alpha, deflate, no filter, no interlace
	var raw bytes.Buffer
	for y := 0; y < h; y++ {
		raw.WriteByte(0) // filter: none
		for x := 0; x < w; x++ {
			raw.Write([]byte{uint8(x * 6), uint8(255 - y*8)})
		}
	}
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	_, err := zw.Write(raw.Bytes())
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	out := chunk([]byte("\x89PNG\r\n\x1a\n"), "IHDR", ihdr)
	out = chunk(out, "IDAT", z.Bytes())
	out = chunk(out, "IEND", nil)
	img, err := png.Decode(bytes.NewReader(out))
	require.NoError(t, err, "the hand-made grey+alpha PNG is valid")
	require.IsType(t, &image.NRGBA{}, img, "Go decodes grey+alpha as NRGBA")
	return out
}

// cmykJPEG writes a w×h (multiples of 8) four-component Adobe JPEG of one
// flat colour, which Go's encoder never produces: Huffman tables of one
// code each ("0" for a DC difference of 0, "0" for end of block), so every
// 8×8 block is two zero bits.
func cmykJPEG(t *testing.T, w, h int) []byte {
	t.Helper()
	seg := func(out []byte, marker byte, data ...byte) []byte {
		out = append(out, 0xFF, marker)
		out = binary.BigEndian.AppendUint16(out, uint16(len(data)+2))
		return append(out, data...)
	}
	out := []byte{0xFF, 0xD8}
	out = seg(out, 0xEE, append([]byte("Adobe"), 0, 100, 0, 0, 0, 0, 0)...) // APP14, transform 0: CMYK
	out = seg(out, 0xDB, append([]byte{0}, bytes.Repeat([]byte{1}, 64)...)...)
	sof := []byte{8, byte(h >> 8), byte(h), byte(w >> 8), byte(w), 4}
	for c := byte(1); c <= 4; c++ {
		sof = append(sof, c, 0x11, 0)
	}
	out = seg(out, 0xC0, sof...)
	table := func(class byte) []byte {
		return append(append([]byte{class, 1}, make([]byte, 15)...), 0)
	}
	out = seg(out, 0xC4, append(table(0x00), table(0x10)...)...)
	sos := []byte{4}
	for c := byte(1); c <= 4; c++ {
		sos = append(sos, c, 0)
	}
	out = seg(out, 0xDA, append(sos, 0, 63, 0)...)
	out = append(out, make([]byte, (w/8)*(h/8)*4*2/8)...)
	out = append(out, 0xFF, 0xD9)
	img, err := jpeg.Decode(bytes.NewReader(out))
	require.NoError(t, err, "the hand-made CMYK JPEG is valid")
	require.IsType(t, &image.CMYK{}, img)
	require.Equal(t, image.Rect(0, 0, w, h), img.Bounds())
	return out
}

// The hostile-input suite: scan a tree of broken, odd and hostile files
// beside good ones. Every input gets one record; the good ones are
// scanned, the bad ones are error records naming the file and saying
// what is wrong, and nothing panics (this runs in process).
func TestScanHostileInputs(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, b, 0o644))
		return p
	}
	good := map[string]bool{}
	bad := map[string]string{} // path → what its error must say
	writeImage(t, filepath.Join(dir, "good.png"), 60, 40, false)
	good[filepath.Join(dir, "good.png")] = true
	writeImage(t, filepath.Join(dir, "with space", "ünïcødé café.jpg"), 50, 40, true)
	good[filepath.Join(dir, "with space", "ünïcødé café.jpg")] = true
	writeImage(t, filepath.Join(dir, "folder.jpg", "inside.png"), 40, 40, false)
	good[filepath.Join(dir, "folder.jpg", "inside.png")] = true

	g16 := image.NewGray16(image.Rect(0, 0, 40, 30))
	for i := range g16.Pix {
		g16.Pix[i] = uint8(i * 31)
	}
	good[write("grey16.png", pngBytes(t, g16))] = true
	ga := image.NewNRGBA(image.Rect(0, 0, 40, 30)) // translucent
	for i := 0; i < len(ga.Pix); i += 4 {
		v := uint8(i / 4 % 256)
		ga.Pix[i], ga.Pix[i+1], ga.Pix[i+2], ga.Pix[i+3] = v, v, v, uint8(i%200)
	}
	good[write("translucent.png", pngBytes(t, ga))] = true
	good[write("grey-alpha.png", greyAlphaPNG(t, 40, 30))] = true
	good[write("cmyk.jpg", cmykJPEG(t, 40, 32))] = true

	ok := pngBytes(t, ga)
	bad[write("zero.jpg", nil)] = "image: unknown format"
	bad[write("truncated.png", ok[:len(ok)/2])] = "png: invalid format: not enough pixel data"
	jpg, err := os.ReadFile(filepath.Join(dir, "with space", "ünïcødé café.jpg"))
	require.NoError(t, err)
	bad[write("truncated.jpg", jpg[:len(jpg)/2])] = "invalid JPEG format: short Huffman data"
	crc := append([]byte(nil), ok...)
	off, size := pngChunk(t, crc, "IDAT")
	crc[off+8+size] ^= 0xff // the stored CRC, which no longer matches the data
	bad[write("bad-crc.png", crc)] = "invalid checksum"
	bomb := append([]byte(nil), ok[:33]...) // signature and IHDR
	binary.BigEndian.PutUint32(bomb[16:], 100000)
	binary.BigEndian.PutUint32(bomb[20:], 100000)
	binary.BigEndian.PutUint32(bomb[29:], crc32.ChecksumIEEE(bomb[12:29]))
	bomb = append(bomb, ok[33:]...)
	bad[write("bomb.png", bomb)] = "image is 100000×100000, more than 134217728 pixels"
	// Too small to scan: the record names the file, the error the sizes.
	small := map[string]bool{}
	bad[write("one-pixel.png", pngBytes(t, image.NewGray(image.Rect(0, 0, 1, 1))))] = "image 1×1 is smaller than the 28×28 window"
	bad[write("small.png", pngBytes(t, image.NewGray(image.Rect(0, 0, 20, 15))))] = "image 20×15 is smaller than the 28×28 window"
	small[filepath.Join(dir, "one-pixel.png")], small[filepath.Join(dir, "small.png")] = true, true
	loop := filepath.Join(dir, "loop.png")
	require.NoError(t, os.Symlink("loop.png", loop))
	bad[loop] = "too many levels of symbolic links"
	// A named pipe would block the open until someone writes to it.
	if fifo := filepath.Join(dir, "pipe.jpg"); mkfifo(fifo) == nil {
		bad[fifo] = "not a regular file"
	}
	if os.Geteuid() != 0 { // root reads anything
		p := write("unreadable.png", ok)
		require.NoError(t, os.Chmod(p, 0))
		bad[p] = "permission denied"
	}

	code, stdout, stderr := scanCLI("--quiet", "--scales", "1", "--flip=false", dir)
	assert.Equal(t, exitFail, code, "some inputs failed: %s", stderr)
	seen := map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
		var r struct {
			Image, Error string
			Width        int
		}
		require.NoError(t, json.Unmarshal([]byte(line), &r), line)
		seen[r.Image]++
		switch {
		case good[r.Image]:
			assert.Empty(t, r.Error, r.Image)
			assert.Positive(t, r.Width, r.Image)
		case bad[r.Image] != "":
			if !small[r.Image] {
				assert.Contains(t, r.Error, r.Image, "the error names the file")
			}
			assert.Contains(t, r.Error, bad[r.Image], r.Image)
		default:
			t.Errorf("a record for %s, which is no input", r.Image)
		}
	}
	var missing []string
	for p := range good {
		if seen[p] != 1 {
			missing = append(missing, p)
		}
	}
	for p := range bad {
		if seen[p] != 1 {
			missing = append(missing, p)
		}
	}
	sort.Strings(missing)
	assert.Empty(t, missing, "inputs without exactly one record")
}

// Model files cut at every section boundary of the safetensors layout
// (inside and after the length, inside and after the header, at each
// tensor's end) are refused by convert, verify and scan --model with exit
// 1 and a message naming the file.
func TestModelCommandsRefuseTruncatedFiles(t *testing.T) {
	src := filepath.Join("..", "..", "testdata", "torch", "seed.safetensors")
	b, err := os.ReadFile(src)
	require.NoError(t, err)
	n := int(binary.LittleEndian.Uint64(b))
	var header map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(b[8:8+n], &header))
	cuts := []int{0, 4, 8, 8 + n/2, 8 + n}
	for name, raw := range header {
		var e struct {
			Offsets []int `json:"data_offsets"`
		}
		if name != "__metadata__" {
			require.NoError(t, json.Unmarshal(raw, &e))
			if end := 8 + n + e.Offsets[1]; end < len(b) {
				cuts = append(cuts, end, end-1)
			}
		}
	}
	sort.Ints(cuts)
	require.Greater(t, len(cuts), 8)
	dir := t.TempDir()
	for _, cut := range cuts {
		p := filepath.Join(dir, "cut.safetensors")
		require.NoError(t, os.WriteFile(p, b[:cut], 0o644))
		for _, args := range [][]string{
			{"convert", p, "-o", filepath.Join(dir, "out.safetensors")},
			{"verify", p},
			{"scan", "--quiet", "--model", p, src},
		} {
			var o, e bytes.Buffer
			code := run(args, &o, &e)
			assert.Equal(t, exitFail, code, "%s cut at %d: %s", args[0], cut, e.String())
			assert.Contains(t, e.String(), p, "%s cut at %d", args[0], cut)
		}
	}
	assert.NoFileExists(t, filepath.Join(dir, "out.safetensors"))
}
