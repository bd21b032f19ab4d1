package train

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/fc2conv/fc2conv/convert"
	"github.com/fc2conv/fc2conv/fmnist"
	"github.com/fc2conv/fc2conv/nn"
)

// MaxStride bounds a scanning architecture's total stride, so that the
// converted network still scores a window every 4 pixels or more densely.
const MaxStride = 4

// MaxVerifierStride bounds a verifier's total stride. A verifier scores
// one window at a time and is never scanned, so its pools are bounded
// only by its window.
const MaxVerifierStride = 8

// Architectures are the named architectures; any other name is read as a
// spec (see Architecture).
var Architectures = map[string]string{
	"dressnet": "", // DressNet, one member of the shipped ensemble
	// FLOPs per scanned position (CostOf) relative to the shipped
	// ensemble of two dressnets, whose 2× budget (issue 22) they meet:
	// the PyTorch reference, three 3×3 convolutions of 32, 32, 64
	// (28→26→24, pool 12, →10, pool 5: 64·5·5 = 1600 → 256 → 2), 1.9×;
	"bn3": "c32,c32,p,c64,p,f256",
	// bn3 with a fourth convolution (→10→8, pool 4: 64·4·4 = 1024), 1.95×;
	"bn4":  "c32,c32,p,c64,c64,p,f256",
	"bn3s": "c16,c32,p,c32,p,f128", // 0.67×
	"bn3t": "c16,c16,p,c32,p,f128", // 0.48×
	"bn4s": "c24,p,c48,c48,p,f256", // 0.95×: 28→26, pool 13, →11→9, pool 4
	// A verifier's shape only (padded, stride 8; see CheckScanning): the
	// "wide" network of models/SEARCH.md's "A wider verifier at the truth
	// boxes", 28→28, pool 14→14, pool 7→7, pool 3: 128·3·3 = 1152 → 256;
	// 5.9× the work of bn3s on a window.
	"wide": "c32s,c32s,p,c64s,c64s,p,c128s,p,f256",
}

// Architecture builds the network named or described by spec, with
// untrained weights (batch norms as the identity). "" and "dressnet" are
// DressNet. A spec is a comma-separated list of blocks, in order:
//
//	c<N>[k<K>][s]  K×K convolution (K = 3 by default) to N channels, batch norm, ReLU;
//	            valid, or with s zero-padded by (K−1)/2 so that the map keeps its size
//	p           2×2 max-pool, stride 2
//	f<N>        dense layer to N features, batch norm, ReLU (the first one flattens)
//	d<R>        dropout with rate R in [0,1)
//
// followed by an implicit dense layer to the two classes and a softmax.
// The window is 28×28 grey, as DressNet's, and the total stride is at most
// MaxVerifierStride; CheckScanning says whether the network may scan.
func Architecture(spec string) (*nn.Network, error) {
	return ArchitectureAt(spec, fmnist.PatchSize)
}

// ArchitectureAt is Architecture for a side×side grey window. Only a
// verifier reads a window other than 28×28 (CheckScanning), and DressNet
// reads 28×28 only.
func ArchitectureAt(spec string, side int) (*nn.Network, error) {
	if s, ok := Architectures[spec]; ok {
		spec = s
	}
	if side < 1 || side > fmnist.MaxPatchSide {
		return nil, fmt.Errorf("architecture %q: window side %d out of range [1,%d]", spec, side, fmnist.MaxPatchSide)
	}
	if spec == "" {
		if side != fmnist.PatchSize {
			return nil, fmt.Errorf("architecture \"dressnet\": reads %d×%d windows, not %d×%d", fmnist.PatchSize, fmnist.PatchSize, side, side)
		}
		return DressNet(), nil
	}
	net := DressNet()
	net.Layers = nil
	net.Input.Height, net.Input.Width = side, side
	shape := net.Input.Window()
	flat := false
	features := 0 // after the flatten
	stride := 1
	add := func(ls ...nn.Layer) { net.Layers = append(net.Layers, ls...) }
	for i, tok := range strings.Split(spec, ",") {
		name := func(kind string) string { return fmt.Sprintf("%s%d", kind, i+1) }
		bad := func(format string, a ...any) error {
			return fmt.Errorf("architecture %q: block %d %q: %s", spec, i+1, tok, fmt.Sprintf(format, a...))
		}
		if tok == "" {
			return nil, bad("empty")
		}
		switch tok[0] {
		case 'c':
			if flat {
				return nil, bad("a convolution after a dense layer")
			}
			n, k, same, err := convToken(tok[1:])
			if err != nil {
				return nil, bad("%v", err)
			}
			if k > shape.H || k > shape.W {
				return nil, bad("a %d×%d kernel on a %d×%d map", k, k, shape.H, shape.W)
			}
			pad := 0
			if same {
				pad = (k - 1) / 2
			}
			add(nn.NewConv2D(name("conv"), shape.C, n, nn.Pair{H: k, W: k}, nn.Pair{H: 1, W: 1}, nn.Pair{H: pad, W: pad}),
				nn.NewBatchNorm(name("bn"), n, 1e-5), nn.NewReLU(name("relu")))
			shape = nn.Shape{C: n, H: shape.H + 2*pad - k + 1, W: shape.W + 2*pad - k + 1}
		case 'p':
			if tok != "p" || flat {
				return nil, bad("want p, before any dense layer")
			}
			if stride *= 2; stride > MaxVerifierStride {
				return nil, bad("total stride %d over %d", stride, MaxVerifierStride)
			}
			if shape.H < 2 || shape.W < 2 {
				return nil, bad("pooling a %d×%d map", shape.H, shape.W)
			}
			two := nn.Pair{H: 2, W: 2}
			add(nn.NewMaxPool2D(name("pool"), two, two, nn.Pair{}))
			shape = nn.Shape{C: shape.C, H: shape.H / 2, W: shape.W / 2}
		case 'f':
			n, err := strconv.Atoi(tok[1:])
			if err != nil || n < 1 || n > 8192 {
				return nil, bad("want f<N>, N in [1,8192]")
			}
			in := features
			if !flat {
				add(nn.NewFlatten(name("flatten"), nn.FlattenCHW))
				in, flat = shape.Size(), true
			}
			add(nn.NewDense(name("fc"), in, n), nn.NewBatchNorm(name("bn"), n, 1e-5), nn.NewReLU(name("relu")))
			features = n
		case 'd':
			r, err := strconv.ParseFloat(tok[1:], 64)
			if err != nil || !(r >= 0 && r < 1) {
				return nil, bad("want d<R>, R in [0,1)")
			}
			add(nn.NewDropout(name("dropout"), r))
		default:
			return nil, bad("unknown block (want c<N>[k<K>][s], p, f<N> or d<R>)")
		}
	}
	in := features
	if !flat {
		add(nn.NewFlatten("flatten", nn.FlattenCHW))
		in = shape.Size()
	}
	add(nn.NewDense("out", in, 2), nn.NewSoftmax("softmax"))
	if err := net.Validate(); err != nil {
		return nil, fmt.Errorf("architecture %q: %w", spec, err)
	}
	return net, nil
}

func convToken(s string) (n, k int, same bool, err error) {
	s, same = strings.CutSuffix(s, "s")
	k = 3
	if a, b, ok := strings.Cut(s, "k"); ok {
		s = a
		if k, err = strconv.Atoi(b); err != nil || k < 1 || k > 9 {
			return 0, 0, false, fmt.Errorf("want c<N>k<K>, K in [1,9]")
		}
	}
	if n, err = strconv.Atoi(s); err != nil || n < 1 || n > 1024 {
		return 0, 0, false, fmt.Errorf("want c<N>, N in [1,1024]")
	}
	if same && k%2 == 0 {
		return 0, 0, false, fmt.Errorf("a padded (s) convolution needs an odd K, not %d", k)
	}
	return n, k, same, nil
}

// CheckScanning reports why net, built by Architecture, cannot scan a
// scene as one converted network, or nil. A padded convolution reads
// zeros at its window's edge but the neighbouring pixels inside a scene,
// so its converted form would not score what the window scores; a total
// stride over MaxStride would score too sparsely; and a scanning window
// is 28×28, a Fashion-MNIST item's (issue 22). Such shapes are for
// verifiers, which score each window on its own.
func CheckScanning(net *nn.Network) error {
	if in := net.Input; in.Height != fmnist.PatchSize || in.Width != fmnist.PatchSize {
		return fmt.Errorf("its window is %d×%d: a scanning network reads %d×%d", in.Width, in.Height, fmnist.PatchSize, fmnist.PatchSize)
	}
	for _, l := range net.Layers {
		if c, ok := l.(*nn.Conv2D); ok && c.Padding != (nn.Pair{}) {
			return fmt.Errorf("layer %q is padded: its converted form would not score what its window scores", c.Name())
		}
	}
	g, err := net.Geometry()
	if err != nil {
		return err
	}
	if g.Stride.H > MaxStride || g.Stride.W > MaxStride {
		return fmt.Errorf("total stride %d over %d", g.Stride.H, MaxStride)
	}
	return nil
}

// Cost is what one architecture costs the engine, in FLOPs (two per
// multiply-add, as nn.LayerCost counts them).
type Cost struct {
	Window   int64   // the FC form on one window
	Position int64   // the converted form per scored position, amortised over a 32×32 grid of positions
	Stride   nn.Pair // total stride of the converted form
}

// CostOf measures net's cost with the engine: its FC form (or a converted
// network) on the window, and its converted form on an input that yields
// 32×32 positions. The weights matter: the engine skips the zero blocks
// of block-diagonal weights (a merged ensemble's, but also all-zero ones),
// so cost a fresh architecture after InitWeights.
func CostOf(net *nn.Network) (Cost, error) {
	var c Cost
	win := net.Input.Window()
	costs, err := nn.NewEngine(net).Profile(make([]float32, win.Size()), win)
	if err != nil {
		return c, fmt.Errorf("cost: %w", err)
	}
	for _, lc := range costs {
		c.Window += lc.FLOPs
	}
	res, err := convert.Convert(net)
	if err != nil {
		return c, fmt.Errorf("cost: %w", err)
	}
	c.Stride = res.Geometry.Stride
	const grid = 32
	big := nn.Shape{C: win.C, H: win.H + (grid-1)*c.Stride.H, W: win.W + (grid-1)*c.Stride.W}
	costs, err = nn.NewEngine(res.Network).Profile(make([]float32, big.Size()), big)
	if err != nil {
		return c, fmt.Errorf("cost: converted: %w", err)
	}
	var total int64
	for _, lc := range costs {
		total += lc.FLOPs
	}
	last := costs[len(costs)-1].Out
	c.Position = total / int64(max(1, last.H*last.W))
	return c, nil
}

// GarmentLabels are the classes of a model trained with
// Config.GarmentClasses: the ten Fashion-MNIST classes, then "no item".
func GarmentLabels() []string {
	return append(fmnist.ClassNames[:], "no item")
}

// SetGarmentClasses gives net, a fresh two-class model ending in a dense
// layer and a softmax, an output per garment class instead (see
// GarmentLabels), with dresses as its positive class. The new layer's
// weights are zero until InitWeights.
func SetGarmentClasses(net *nn.Network) error {
	n := len(net.Layers)
	if n < 2 || net.Layers[n-1].Kind() != nn.KindSoftmax {
		return errors.New("garment classes: the network does not end in a softmax")
	}
	last, ok := net.Layers[n-2].(*nn.Dense)
	if !ok {
		return fmt.Errorf("garment classes: layer %q (%s) feeds the softmax; want a dense layer", net.Layers[n-2].Name(), net.Layers[n-2].Kind())
	}
	labels := GarmentLabels()
	net.Layers[n-2] = nn.NewDense(last.Name(), last.In, len(labels))
	net.Labels, net.Positive = labels, fmnist.Dress
	return nil
}

// outputClasses is the number of classes a model being trained scores:
// two ({not dress, dress}) or the garment classes.
func outputClasses(net *nn.Network) (int, error) {
	switch k := len(net.Labels); {
	case k == 2 && net.Positive == 1:
		return 2, nil
	case slices.Equal(net.Labels, GarmentLabels()) && net.Positive == fmnist.Dress:
		return k, nil
	}
	return 0, fmt.Errorf("train: model classes %v (positive %d): want {not dress, dress} or the garment classes", net.Labels, net.Positive)
}
