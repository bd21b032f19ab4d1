package convert

import (
	"errors"
	"fmt"
	"math"
	"math/rand"

	"github.com/fc2conv/fc2conv/nn"
)

// Check is one equivalence check: the largest absolute difference and the
// largest difference relative to the reference's magnitude.
type Check struct {
	Name   string
	Cases  int
	MaxAbs float64
	MaxRel float64
}

// Report gathers the checks of one verification.
type Report struct {
	Checks []Check
}

// MaxAbs is the largest absolute error over all checks.
func (r Report) MaxAbs() float64 {
	var m float64
	for _, c := range r.Checks {
		m = math.Max(m, c.MaxAbs)
	}
	return m
}

// MaxRel is the largest relative error over all checks.
func (r Report) MaxRel() float64 {
	var m float64
	for _, c := range r.Checks {
		m = math.Max(m, c.MaxRel)
	}
	return m
}

// Input is a preprocessed C×H×W input for verification, any size at least
// the window.
type Input struct {
	Data  []float32
	Shape nn.Shape
}

// Reference is a forward pass independent of the native engine (the
// gorgonia graph's graph.Forward is one), for checking a converted network
// when its FC source is not at hand.
type Reference func(net *nn.Network, x []float32, s nn.Shape) ([]float32, error)

// VerifyOptions steer Verify. The zero value means the defaults.
type VerifyOptions struct {
	Seed    int64
	Windows int     // random window-sized inputs (0: 8)
	Extra   int     // random large inputs (0: 2; NoExtra for none)
	Real    []Input // e.g. preprocessed photos
	// MaxCells bounds how many cells of each large input are checked
	// against crops (0: 64); cells are spread evenly over the map.
	MaxCells int
	// Reference checks window-sized inputs when Verify has no FC network.
	Reference Reference
}

// NoExtra asks Verify for no random large inputs.
const NoExtra = -1

// Tolerance is the largest max abs error an accepted conversion shows.
const Tolerance = 1e-5

// ErrTolerance is wrapped when a converted network differs from its source
// by more than Tolerance.
var ErrTolerance = errors.New("outputs differ beyond tolerance")

// ConvertChecked converts net and accepts the result only if Verify finds
// it equal to net within Tolerance: the check fc2conv convert runs before
// it writes a model. Above Tolerance the error wraps ErrTolerance and the
// result and report are still returned, for display; a result that comes
// with an error must not be used.
func ConvertChecked(net *nn.Network, opt VerifyOptions) (*Result, Report, error) {
	res, err := Convert(net)
	if err != nil {
		return nil, Report{}, err
	}
	rep, err := Verify(net, res.Network, opt)
	if err != nil {
		return nil, rep, err
	}
	if rep.MaxAbs() > Tolerance {
		return res, rep, fmt.Errorf("convert: %w: max abs error %.3g exceeds %.0e", ErrTolerance, rep.MaxAbs(), Tolerance)
	}
	return res, rep, nil
}

// Verify runs the equivalence checks between an FC network and its
// converted form:
//   - window: the FC output equals the FCN's 1×1 output on window-sized input;
//   - feature-crop: on larger inputs, each FCN cell equals the FC head on the
//     matching crop of the conv stack's feature map;
//   - sliding (unpadded networks): each FCN cell equals the whole FC network
//     on the matching image crop.
//
// fc may be nil when only the converted form is at hand; then the window
// check compares the native engine with opt.Reference.
func Verify(fc *nn.Network, fcn *nn.Network, opt VerifyOptions) (Report, error) {
	if opt.Windows == 0 {
		opt.Windows = 8
	}
	switch {
	case opt.Extra == 0:
		opt.Extra = 2
	case opt.Extra < 0:
		opt.Extra = 0
	}
	if opt.MaxCells == 0 {
		opt.MaxCells = 64
	}
	if !fcn.IsFullyConvolutional() {
		return Report{}, fmt.Errorf("verify: the converted network still has flatten or dense layers")
	}
	if fc == nil && opt.Reference == nil {
		return Report{}, errors.New("verify: without the FC network a Reference forward pass is needed")
	}
	geo, err := fcn.Geometry()
	if err != nil {
		return Report{}, fmt.Errorf("verify: %w", err)
	}
	// The head is checked on crops of the conv stack's feature map: the FC
	// network's own stack and head when it is at hand, else the FCN's.
	split, src := 0, fcn
	if fc != nil {
		split, src = flattenIndex(fc), fc
	} else {
		split, err = HeadStart(fcn)
	}
	if err != nil {
		return Report{}, fmt.Errorf("verify: %w", err)
	}
	if split < 0 {
		return Report{}, fmt.Errorf("verify: %w: the FC network has no flatten", ErrUnconvertible)
	}
	rng := rand.New(rand.NewSource(opt.Seed))
	win := fcn.Input.Window()
	fcnEngine := nn.NewEngine(fcn)
	var rep Report

	// 1. Window-sized inputs against the FC network (or gorgonia).
	c := Check{Name: "window"}
	if fc == nil {
		c.Name = "window (engine vs reference)"
	}
	var ref func([]float32) ([]float32, error)
	if fc != nil {
		e := nn.NewEngine(fc)
		ref = func(x []float32) ([]float32, error) {
			y, _, err := e.Forward(x, win)
			return y, err
		}
	} else {
		ref = func(x []float32) ([]float32, error) { return opt.Reference(fcn, x, win) }
	}
	for k := 0; k < opt.Windows; k++ {
		x := randomInput(rng, win)
		want, err := ref(x)
		if err != nil {
			return Report{}, fmt.Errorf("verify: window reference: %w", err)
		}
		got, _, err := fcnEngine.Forward(x, win)
		if err != nil {
			return Report{}, fmt.Errorf("verify: window: %w", err)
		}
		c.add(got, want)
	}
	rep.Checks = append(rep.Checks, c)

	// 2 and 3. Larger inputs: random ones, then the caller's real ones.
	inputs := make([]Input, 0, opt.Extra+len(opt.Real))
	for k := 0; k < opt.Extra; k++ {
		s := nn.Shape{C: win.C, H: win.H + geo.Stride.H*(1+rng.Intn(4)) + rng.Intn(3), W: win.W + geo.Stride.W*(1+rng.Intn(4)) + rng.Intn(3)}
		inputs = append(inputs, Input{randomInput(rng, s), s})
	}
	inputs = append(inputs, opt.Real...)
	crop := Check{Name: "feature-crop"}
	slide := Check{Name: "sliding window"}
	head := &nn.Network{Input: src.Input, Layers: src.Layers[split:]}
	stack := &nn.Network{Input: src.Input, Layers: src.Layers[:split]}
	headEngine, stackEngine := nn.NewEngine(head), nn.NewEngine(stack)
	var slideRef *nn.Engine
	if !geo.Padded {
		if fc != nil {
			slideRef = nn.NewEngine(fc)
		} else {
			slideRef = nn.NewEngine(fcn)
		}
	}
	for _, in := range inputs {
		if in.Shape.H < win.H || in.Shape.W < win.W || in.Shape.C != win.C || len(in.Data) != in.Shape.Size() {
			return Report{}, fmt.Errorf("verify: input %v does not cover the %v window", in.Shape, win)
		}
		heat, hs, err := fcnEngine.Forward(in.Data, in.Shape)
		if err != nil {
			return Report{}, fmt.Errorf("verify: input %v: %w", in.Shape, err)
		}
		feat, fs, err := stackEngine.Forward(in.Data, in.Shape)
		if err != nil {
			return Report{}, fmt.Errorf("verify: input %v: %w", in.Shape, err)
		}
		winFeat, err := stack.OutShape(win)
		if err != nil {
			return Report{}, fmt.Errorf("verify: %w", err)
		}
		for _, cell := range spreadCells(hs.H, hs.W, opt.MaxCells) {
			i, j := cell[0], cell[1]
			got := column(heat, hs, i, j)
			fcrop := nn.Crop(feat, fs, i, j, winFeat.H, winFeat.W)
			want, _, err := headEngine.Forward(fcrop, winFeat)
			if err != nil {
				return Report{}, fmt.Errorf("verify: head on cell (%d,%d): %w", i, j, err)
			}
			crop.add(got, want)
			// Cells whose window overhangs the image (only in pixels the
			// network never reads) have no crop to compare with.
			y, x := i*geo.Stride.H, j*geo.Stride.W
			if slideRef != nil && y+win.H <= in.Shape.H && x+win.W <= in.Shape.W {
				icrop := nn.Crop(in.Data, in.Shape, y, x, win.H, win.W)
				want, _, err := slideRef.Forward(icrop, win)
				if err != nil {
					return Report{}, fmt.Errorf("verify: crop at cell (%d,%d): %w", i, j, err)
				}
				slide.add(got, want)
			}
		}
	}
	rep.Checks = append(rep.Checks, crop)
	if slideRef != nil {
		rep.Checks = append(rep.Checks, slide)
	}
	return rep, nil
}

func (c *Check) add(got, want []float32) {
	c.Cases++
	var scale float64
	for _, v := range want {
		scale = math.Max(scale, math.Abs(float64(v)))
	}
	for k := range want {
		d := math.Abs(float64(got[k]) - float64(want[k]))
		c.MaxAbs = math.Max(c.MaxAbs, d)
		c.MaxRel = math.Max(c.MaxRel, d/math.Max(scale, 1e-12))
	}
	if len(got) != len(want) {
		c.MaxAbs, c.MaxRel = math.Inf(1), math.Inf(1)
	}
}

// HeadStart is the index of the first layer of the converted head in a
// fully convolutional network: the first convolution whose output on the
// window is a single cell. Layers before it are the conv stack.
func HeadStart(fcn *nn.Network) (int, error) {
	shapes, err := fcn.Shapes(fcn.Input.Window())
	if err != nil {
		return 0, err
	}
	for i, l := range fcn.Layers {
		if l.Kind() == nn.KindConv2D && shapes[i+1].H == 1 && shapes[i+1].W == 1 {
			return i, nil
		}
	}
	return 0, fmt.Errorf("%w: no convolution reduces the %d×%d window to one cell", ErrUnconvertible, fcn.Input.Height, fcn.Input.Width)
}

// flattenIndex is the index of the network's Flatten, or -1.
func flattenIndex(n *nn.Network) int {
	for i, l := range n.Layers {
		if l.Kind() == nn.KindFlatten {
			return i
		}
	}
	return -1
}

// spreadCells picks at most n cells spread over an r×c grid, always
// including the four corners.
func spreadCells(r, c, n int) [][2]int {
	var cells [][2]int
	if r*c <= n {
		for i := 0; i < r; i++ {
			for j := 0; j < c; j++ {
				cells = append(cells, [2]int{i, j})
			}
		}
		return cells
	}
	side := int(math.Sqrt(float64(n)))
	for a := 0; a < side; a++ {
		for b := 0; b < side; b++ {
			cells = append(cells, [2]int{a * (r - 1) / max(1, side-1), b * (c - 1) / max(1, side-1)})
		}
	}
	return cells
}

func column(m []float32, s nn.Shape, i, j int) []float32 {
	out := make([]float32, s.C)
	for c := range out {
		out[c] = m[c*s.H*s.W+i*s.W+j]
	}
	return out
}

func randomInput(rng *rand.Rand, s nn.Shape) []float32 {
	v := make([]float32, s.Size())
	for i := range v {
		v[i] = float32(2*rng.Float64() - 1)
	}
	return v
}
