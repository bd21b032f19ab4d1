package nn

import (
	"errors"
	"fmt"
	"slices"
)

// InputSpec describes what the network was trained on: the window it
// accepts in FC form, and how pixels are normalised.
type InputSpec struct {
	Channels int       // 1 (grey, ITU-R BT.601 luma) or 3 (RGB)
	Height   int       // trained window height in pixels
	Width    int       // trained window width in pixels
	Mean     []float32 // per channel, applied to pixels scaled to [0,1]
	Std      []float32 // per channel
	// Context is how much more than the box it frames the window shows:
	// the window's side is Context times the box's, about the same
	// centre, so that a classifier sees an item's outline against its
	// surroundings. 0 (or 1) means the window is the box.
	Context float64
}

// MaxContext bounds InputSpec.Context: beyond it the box it frames is
// less than a quarter of the window's side.
const MaxContext = 4

// Window is the input shape the network was trained on.
func (s InputSpec) Window() Shape { return Shape{s.Channels, s.Height, s.Width} }

// ContextFactor is Context, with 0 read as 1: the window's side over the
// side of the box it frames.
func (s InputSpec) ContextFactor() float64 {
	if s.Context == 0 {
		return 1
	}
	return s.Context
}

// Network is an input spec plus an ordered list of layers. The same type
// holds a classifier with an FC head and its fully convolutional rewrite.
type Network struct {
	Input  InputSpec
	Layers []Layer
	// Labels names the output channels; Positive is the channel the
	// detector reports by default (for the dress model, "dress").
	Labels   []string
	Positive int
	// Threshold is the detector's default score threshold for Positive,
	// chosen on validation scenes; 0 means none was chosen.
	Threshold float64
	// Views and ViewPool are how a detector shows this network, as its
	// verifier, each box by default: how many views of the box (0 or 1,
	// the box alone) and how their p make the box's ("" or "mean", "max",
	// "min"). Threshold was chosen for the scores they give, so they
	// travel with it.
	Views    int
	ViewPool string
}

// MaxViews bounds Network.Views: the detector's largest grid of views.
const MaxViews = 27

// viewPools are the names Network.ViewPool may hold.
var viewPools = []string{"", "mean", "max", "min"}

// Limits bound what a network may declare, so that a hostile or corrupt
// model file cannot make us allocate without end.
const (
	MaxDim      = 1 << 16 // any single size: channels, features, window side
	MaxKernel   = 1 << 10 // a kernel side
	MaxLayers   = 1 << 10
	MaxElements = 1 << 28 // elements of one weight tensor (1 GiB of float32)
)

// ErrInvalid is wrapped by every validation error.
var ErrInvalid = errors.New("invalid network")

// Shapes returns the activation shape after every layer for input shape in.
// shapes[0] is in; shapes[i+1] is the output of Layers[i].
func (n *Network) Shapes(in Shape) ([]Shape, error) {
	shapes := make([]Shape, 0, len(n.Layers)+1)
	shapes = append(shapes, in)
	for i, l := range n.Layers {
		out, err := l.OutShape(in)
		if err != nil {
			return nil, fmt.Errorf("layer %d: %w", i, err)
		}
		shapes = append(shapes, out)
		in = out
	}
	return shapes, nil
}

// OutShape is the network's output shape for an input of the given size.
func (n *Network) OutShape(in Shape) (Shape, error) {
	s, err := n.Shapes(in)
	if err != nil {
		return Shape{}, err
	}
	return s[len(s)-1], nil
}

// IsFullyConvolutional reports whether the network has no Flatten or Dense
// layer, so that it accepts inputs of any size at least the window.
func (n *Network) IsFullyConvolutional() bool {
	for _, l := range n.Layers {
		if k := l.Kind(); k == KindFlatten || k == KindDense {
			return false
		}
	}
	return true
}

// Validate checks everything about a network that can be checked without
// running it: sizes in bounds, unique names, weights of the declared shape
// and free of NaN and Inf, and shapes that agree layer to layer on the
// window.
func (n *Network) Validate() error {
	if err := n.validateSpec(len(n.Layers)); err != nil {
		return err
	}
	seen := map[string]bool{}
	for i, l := range n.Layers {
		if l == nil {
			return fmt.Errorf("%w: layer %d is nil", ErrInvalid, i)
		}
		if err := l.check(); err != nil {
			return fmt.Errorf("%w: %v", ErrInvalid, err)
		}
		for _, name := range layerNames(l) {
			if name == "" || seen[name] {
				return fmt.Errorf("%w: layer %d: name %q is empty or repeated", ErrInvalid, i, name)
			}
			seen[name] = true
		}
		if len(seen) > MaxLayers {
			return fmt.Errorf("%w: more than %d layers, counting those inside blocks", ErrInvalid, MaxLayers)
		}
		for _, p := range l.Params() {
			if err := checkParam(l, p); err != nil {
				return fmt.Errorf("%w: %v", ErrInvalid, err)
			}
		}
		if wc, ok := l.(interface{ checkWeights() error }); ok {
			if err := wc.checkWeights(); err != nil {
				return fmt.Errorf("%w: %v", ErrInvalid, err)
			}
		}
	}
	shapes, err := n.Shapes(n.Input.Window())
	if err != nil {
		return fmt.Errorf("%w: on the %d×%d window: %v", ErrInvalid, n.Input.Height, n.Input.Width, err)
	}
	out := shapes[len(shapes)-1]
	if out.H != 1 || out.W != 1 {
		return fmt.Errorf("%w: output on the window is %v, want one value per class (C×1×1)", ErrInvalid, out)
	}
	if len(n.Labels) != 0 && len(n.Labels) != out.C {
		return fmt.Errorf("%w: %d labels for %d output channels", ErrInvalid, len(n.Labels), out.C)
	}
	if !(n.Threshold >= 0 && n.Threshold <= 1) {
		return fmt.Errorf("%w: threshold %v out of range [0,1]", ErrInvalid, n.Threshold)
	}
	if n.Views < 0 || n.Views > MaxViews {
		return fmt.Errorf("%w: %d views out of range [0,%d]", ErrInvalid, n.Views, MaxViews)
	}
	if !slices.Contains(viewPools, n.ViewPool) {
		return fmt.Errorf("%w: view pool %q: want mean, max or min", ErrInvalid, n.ViewPool)
	}
	if n.Positive < 0 || n.Positive >= out.C {
		return fmt.Errorf("%w: positive class %d out of range [0,%d)", ErrInvalid, n.Positive, out.C)
	}
	return nil
}

// validateSpec checks the input spec and the layer count.
func (n *Network) validateSpec(layers int) error {
	s := n.Input
	if s.Channels < 1 || s.Channels > 4 {
		return fmt.Errorf("%w: input has %d channels, want 1 to 4", ErrInvalid, s.Channels)
	}
	if s.Height < 1 || s.Width < 1 || s.Height > MaxDim || s.Width > MaxDim {
		return fmt.Errorf("%w: input window %d×%d out of range [1,%d]", ErrInvalid, s.Height, s.Width, MaxDim)
	}
	if len(s.Mean) != s.Channels || len(s.Std) != s.Channels {
		return fmt.Errorf("%w: input mean/std have %d/%d values for %d channels", ErrInvalid, len(s.Mean), len(s.Std), s.Channels)
	}
	for c := range s.Std {
		if !finite(s.Mean[c]) || !finite(s.Std[c]) || s.Std[c] <= 0 {
			return fmt.Errorf("%w: input channel %d: mean %v, std %v (std must be finite and > 0)", ErrInvalid, c, s.Mean[c], s.Std[c])
		}
	}
	if s.Context != 0 && !(s.Context >= 1 && s.Context <= MaxContext) {
		return fmt.Errorf("%w: input context %v out of range [1,%d] (or 0 for none)", ErrInvalid, s.Context, MaxContext)
	}
	if layers == 0 || layers > MaxLayers {
		return fmt.Errorf("%w: %d layers, want 1 to %d", ErrInvalid, layers, MaxLayers)
	}
	return nil
}

func checkParam(l Layer, p Param) error {
	if p.Value == nil {
		return fmt.Errorf("%s %q: tensor %q is missing", l.Kind(), l.Name(), p.Name)
	}
	if !sameInts(p.Value.Shape, p.Shape) || len(p.Value.Data) != p.Value.size() {
		return fmt.Errorf("%s %q: tensor %q has shape %v (%d values), want %v", l.Kind(), l.Name(), p.Name, p.Value.Shape, len(p.Value.Data), p.Shape)
	}
	for i, v := range p.Value.Data {
		if !finite(v) {
			return fmt.Errorf("%s %q: tensor %q element %d is %v", l.Kind(), l.Name(), p.Name, i, v)
		}
	}
	return nil
}

func sameInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// layerNames is l's name and, for a block, its layers' names.
func layerNames(l Layer) []string {
	names := []string{l.Name()}
	if r, ok := l.(Block); ok {
		for _, s := range r.Sublayers() {
			names = append(names, layerNames(s)...)
		}
	}
	return names
}
