package detect_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"image"
	"image/color"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fc2conv/fc2conv/detect"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWriteNPY(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, detect.WriteNPY(&buf, 2, 3, []float32{1, -2, 0.5, 0, 3, -0.25}))
	b := buf.Bytes()
	require.Equal(t, "\x93NUMPY", string(b[:6]))
	assert.Equal(t, []byte{1, 0}, b[6:8], "format version 1.0")
	hlen := int(binary.LittleEndian.Uint16(b[8:10]))
	require.Equal(t, 0, (10+hlen)%64, "data starts 64-byte aligned")
	header := string(b[10 : 10+hlen])
	assert.True(t, strings.HasPrefix(header, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"), header)
	assert.True(t, strings.HasSuffix(header, " \n"))
	// IEEE 754 single, little-endian: 1 = 3f800000, −2 = c0000000,
	// 0.5 = 3f000000, 0, 3 = 40400000, −0.25 = be800000.
	assert.Equal(t, []byte{
		0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0, 0, 0, 0, 0x3f,
		0, 0, 0, 0, 0, 0, 0x40, 0x40, 0, 0, 0x80, 0xbe,
	}, b[10+hlen:])

	assert.ErrorContains(t, detect.WriteNPY(&buf, 2, 2, []float32{1}), "does not hold 1 values")
	assert.ErrorContains(t, detect.WriteNPY(&buf, -1, 2, nil), "negative")
	assert.ErrorContains(t, detect.WriteNPY(failWriter{}, 1, 1, []float32{1}), "disk full")
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

// An optional cross-check with NumPy itself; CI has none and skips.
func TestWriteNPYWithNumPy(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil || exec.Command(py, "-c", "import numpy").Run() != nil {
		t.Skip("python3 with numpy not available")
	}
	path := filepath.Join(t.TempDir(), "h.npy")
	var buf bytes.Buffer
	require.NoError(t, detect.WriteNPY(&buf, 2, 3, []float32{1, -2, 0.5, 0, 3, -0.25}))
	require.NoError(t, os.WriteFile(path, buf.Bytes(), 0o644))
	out, err := exec.Command(py, "-c", "import numpy,sys; a=numpy.load(sys.argv[1]); print(a.dtype, a.shape, a.tolist())", path).CombinedOutput()
	require.NoError(t, err, string(out))
	assert.Equal(t, "float32 (2, 3) [[1.0, -2.0, 0.5], [0.0, 3.0, -0.25]]\n", string(out))
}

func TestColormap(t *testing.T) {
	assert.Equal(t, color.NRGBA{0, 0, 128, 255}, detect.Colormap(0))
	assert.Equal(t, color.NRGBA{0, 0, 128, 255}, detect.Colormap(-3))
	assert.Equal(t, color.NRGBA{128, 0, 0, 255}, detect.Colormap(1))
	assert.Equal(t, color.NRGBA{128, 0, 0, 255}, detect.Colormap(7))
	// Halfway between cyan (0.375) and yellow (0.625).
	assert.Equal(t, color.NRGBA{128, 255, 128, 255}, detect.Colormap(0.5))
}

func TestRenderOverlay(t *testing.T) {
	img := image.NewGray(image.Rect(0, 0, 80, 60))
	for i := range img.Pix {
		img.Pix[i] = 100
	}
	// 6×8 cells of a 10×10 window every 10 px at scale 1: the left column
	// is hot (1), everything else cold (0).
	hm := detect.Heatmap{Scale: 1, Step: pair(10, 10), Window: pair(10, 10), Rows: 6, Cols: 8, Data: make([]float32, 48)}
	for i := 0; i < 6; i++ {
		hm.Data[i*8] = 1
	}
	dets := []detect.Detection{{Box: [4]float64{40, 30, 50, 40}, Score: 0.87}}
	out := detect.RenderOverlay(img, hm, dets)
	// 80 px picture + 44 px legend; 60 px grow to the 64 px the bar needs.
	require.Equal(t, image.Rect(0, 0, 124, 64), out.Bounds())
	rgb := func(x, y int) [3]uint32 {
		r, g, b, _ := out.At(x, y).RGBA()
		return [3]uint32{r >> 8, g >> 8, b >> 8}
	}
	// Left of the first cell centre (x = 5) the hot value holds: grey 100
	// blended 55% with dark red (128,0,0): 100·0.45 + 128·0.55 = 115.4, 45.
	assert.Equal(t, [3]uint32{115, 45, 45}, rgb(4, 50))
	// Pixel 9 (centre 9.5) lies 0.45 of the way from the hot centre (5) to
	// the cold one (15): score 0.55, 0.7 of the way from cyan (0.375) to
	// yellow (0.625): (178.5, 255, 76.5) rounds to (179, 255, 77), blended:
	// 45 + 98.45, 45 + 140.25, 45 + 42.35.
	assert.Equal(t, [3]uint32{143, 185, 87}, rgb(9, 50))
	// Over cold cells: dark blue (0,0,128) → (45, 45, 115).
	assert.Equal(t, [3]uint32{45, 45, 115}, rgb(75, 55))
	// The box outline, two pixels wide; the label sits above it.
	for _, p := range []image.Point{{40, 35}, {49, 35}, {45, 30}, {45, 39}} {
		assert.Equal(t, [3]uint32{255, 0, 255}, rgb(p.X, p.Y), "%v", p)
	}
	assert.Equal(t, [3]uint32{45, 45, 115}, rgb(45, 35), "inside the box")
	label := rgb(41, 20)
	assert.Less(t, label[0], uint32(45), "dark label patch above the box")
	// Colour bar: 1 (dark red) at the top, 0 (dark blue) at the bottom.
	assert.Equal(t, [3]uint32{128, 0, 0}, rgb(93, 13))
	assert.Equal(t, [3]uint32{0, 0, 128}, rgb(93, 64-14))

	// An empty heatmap renders the grey picture without panicking.
	plain := detect.RenderOverlay(img, detect.Heatmap{}, nil)
	r, g, b, _ := plain.At(5, 5).RGBA()
	assert.Equal(t, [3]uint32{100, 100, 100}, [3]uint32{r >> 8, g >> 8, b >> 8})
}

func TestAveragePrecision(t *testing.T) {
	gt := [4]float64{0, 0, 10, 10}
	hit := func(s float64) detect.ScoredBox { return detect.ScoredBox{Box: gt, Score: s} }
	miss := func(s float64) detect.ScoredBox { return detect.ScoredBox{Box: [4]float64{50, 50, 60, 60}, Score: s} }
	two := [][][4]float64{{gt}, {gt}}
	for _, tc := range []struct {
		name string
		dets [][]detect.ScoredBox
		want float64
	}{
		// Every box found, nothing else: precision 1 at every recall.
		{"perfect", [][]detect.ScoredBox{{hit(0.9)}, {hit(0.8)}}, 1},
		// Ranked FP, TP, TP: precision 0, 1/2, 2/3 at recall 0, 1/2, 1.
		// The envelope is 2/3 everywhere, so AP = 2/3.
		{"false positive first", [][]detect.ScoredBox{{miss(0.95), hit(0.9)}, {hit(0.8)}}, 2.0 / 3},
		// TP, TP, FP: the FP comes after recall 1, envelope 1: AP = 1.
		{"false positive last", [][]detect.ScoredBox{{hit(0.9), miss(0.1)}, {hit(0.8)}}, 1},
		// One of two found: recall 1/2 at precision 1; recall points
		// 0, 0.01, …, 0.50 (51 of 101) read 1, the rest 0.
		{"half recall", [][]detect.ScoredBox{{hit(0.9)}, {}}, 51.0 / 101},
		// A duplicate on an already matched box is a false positive:
		// TP, FP, TP gives precision 1, 1/2, 2/3; envelope 1 up to recall
		// 1/2 (51 points) and 2/3 above (50 points).
		{"duplicate", [][]detect.ScoredBox{{hit(0.9), hit(0.85)}, {hit(0.8)}}, (51 + 50*2.0/3) / 101},
		// IoU 0.25 < 0.5 with the only box: nothing matches.
		{"too little overlap", [][]detect.ScoredBox{{{Box: [4]float64{5, 0, 15, 5}, Score: 1}}, {}}, 0},
	} {
		got, err := detect.AveragePrecision(tc.dets, two, 0.5)
		require.NoError(t, err, tc.name)
		assert.InDelta(t, tc.want, got, 1e-12, tc.name)
	}
	_, err := detect.AveragePrecision(nil, two, 0.5)
	assert.ErrorContains(t, err, "0 images of detections, 2")
	_, err = detect.AveragePrecision([][]detect.ScoredBox{{hit(1)}}, [][][4]float64{{}}, 0.5)
	assert.ErrorContains(t, err, "no ground-truth")
	_, err = detect.AveragePrecision(nil, nil, 0)
	assert.ErrorContains(t, err, "IoU threshold 0")
}

// A hot cell at a coarse scale shows on the fine grid around the same
// image point; cold scales change nothing, and nothing else warms up.
func TestMaxOverScales(t *testing.T) {
	fine := detect.Heatmap{Scale: 1, Step: pair(10, 10), Window: pair(10, 10), Rows: 6, Cols: 8, Data: make([]float32, 48)}
	fine.Data[0] = 0.3 // cell (0,0), centred at (5,5)
	// Scale 0.5: cells of a 10-px window every 10 scaled px are 20×20 image
	// px; cell (1,2) is centred at image point (50, 30).
	coarse := detect.Heatmap{Scale: 0.5, Step: pair(10, 10), Window: pair(10, 10), Rows: 2, Cols: 3, Data: make([]float32, 6)}
	coarse.Data[1*3+2] = 1
	m := detect.MaxOverScales([]detect.Heatmap{{}, fine, coarse})
	require.Equal(t, [2]int{6, 8}, [2]int{m.Rows, m.Cols})
	assert.Equal(t, 1.0, m.Scale)
	// Fine cell (2,4) is centred at (45, 25), which on the coarse grid is
	// u = (45·0.5−5)/10 = 1.75, v = (25·0.5−5)/10 = 0.75: bilinear weight
	// 0.75·0.75 on the hot cell (1,2).
	assert.InDelta(t, 0.5625, m.At(2, 4), 1e-6)
	assert.InDelta(t, 0.3, m.At(0, 0), 1e-6, "the fine scale's own hot cell stays")
	assert.InDelta(t, 0, m.At(5, 0), 1e-6, "far from both, cold")
	assert.Equal(t, float32(0.3), fine.Data[0], "inputs are not modified")
	assert.Zero(t, fine.Data[2*8+4])
	assert.Empty(t, detect.MaxOverScales(nil).Data)
}
