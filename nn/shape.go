package nn

import "fmt"

// Shape is the shape of one activation: channels × height × width.
// Vectors (after a Flatten or a Dense) are C×1×1, so a Dense and a
// 1×1 convolution see the same data.
type Shape struct {
	C, H, W int
}

// Size is the number of float32 values an activation of this shape holds.
func (s Shape) Size() int { return s.C * s.H * s.W }

func (s Shape) String() string { return fmt.Sprintf("%d×%d×%d", s.C, s.H, s.W) }

// Pair is a (height, width) pair: kernel size, stride or padding.
type Pair struct {
	H, W int
}

func (p Pair) String() string { return fmt.Sprintf("%d×%d", p.H, p.W) }

// slideOut is the output length of a sliding window of size k, stride s and
// symmetric padding p over n inputs (floor mode, as in PyTorch and gorgonia).
func slideOut(n, k, s, p int) int {
	span := n + 2*p - k
	if span < 0 {
		return 0
	}
	return span/s + 1
}

// Crop copies the h×w window at (y, x) of a C×H×W map held in m. The
// window must lie inside the map.
func Crop(m []float32, s Shape, y, x, h, w int) []float32 {
	out := make([]float32, 0, s.C*h*w)
	for c := 0; c < s.C; c++ {
		for r := y; r < y+h; r++ {
			off := c*s.H*s.W + r*s.W + x
			out = append(out, m[off:off+w]...)
		}
	}
	return out
}
