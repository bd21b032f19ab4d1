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

// slideOut is the output length of a sliding window of size k and stride s
// over n inputs padded with pb before and pe after. In floor mode only
// windows inside the padded map count; in ceil mode a last partial window
// counts too, unless, as in PyTorch, it would start past the input and the
// leading padding (in the trailing padding or beyond).
func slideOut(n, k, s, pb, pe int, ceil bool) int {
	span := n + pb + pe - k
	if span < 0 {
		return 0
	}
	if !ceil {
		return span/s + 1
	}
	out := (span+s-1)/s + 1
	if (out-1)*s >= n+pb {
		out--
	}
	return out
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
