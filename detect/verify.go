package detect

import (
	"errors"
	"fmt"
	"image"
	"math"
	"runtime"
	"slices"

	"github.com/disintegration/imaging"
	"github.com/fc2conv/fc2conv/internal/work"
	"github.com/fc2conv/fc2conv/nn"
)

// verifier is the detector's second stage (Options.Verifier and
// MoreVerifiers): classifiers shown the image under each box the scan
// reports.
type verifier struct {
	class int
	// out is the length of one output, checked to hold class.
	out int
	// nets are Options.Verifier then MoreVerifiers. With more than one,
	// each runs without its last layer and final applies that layer to
	// the mean of their logits, as convert.Ensemble merges networks.
	nets  []*verifierNet
	final nn.Layer
	// views are the boxes shown for each box, as offsets (Options.VerifierViews).
	views []view
	// pool makes the box's p of the views' (Options.VerifierPool).
	pool Pool
	// weight is the verifier's in the verified score (Options.VerifierWeight).
	weight float64
	// threads is Options.Threads resolved: how many goroutines verify
	// the boxes (see p).
	threads int
}

// verifierNet is one network of a verifier and how it is shown a box:
// each sees the box at its own window and context, normalised its own way.
type verifierNet struct {
	norm *normalizer
	win  nn.Pair
	// context is the network's nn.InputSpec.ContextFactor: each view's
	// box is shown with this much of its surroundings.
	context float64
	// mean and std undo norm, for VerifierWindows.
	mean, std []float32
	engines   enginePool
}

// scanThreshold is the least scan score whose box can verify to t > 0.
func (v *verifier) scanThreshold(t float64) float64 {
	if v.weight == DefaultVerifierWeight {
		return t * t // as before weights: the same bits
	}
	return math.Pow(t, 1/(1-v.weight))
}

// The views' geometry: the spread of the boxes the verifier was trained
// on (fmnist.SceneCrops with train --scene-crops: centres moved by
// N(0, 0.05) of the side, sides scaled by exp(N(0, 0.12))).
const (
	ViewShift = 0.05
	ViewScale = 0.12
)

// view is one box shown to the verifier: the box's centre moved by dx, dy
// of its width and height, and its sides scaled by scale.
type view struct{ dx, dy, scale float64 }

// boxItself is the view of the box as the scan reports it.
var boxItself = view{0, 0, 1}

// verifierViews returns the views of Options.VerifierViews n, the box
// itself first.
func verifierViews(n int) ([]view, error) {
	views := []view{boxItself}
	switch n {
	case 0, 1:
		return views, nil
	case 5, 7:
	case 27:
		for _, dx := range []float64{-ViewShift, 0, ViewShift} {
			for _, dy := range []float64{-ViewShift, 0, ViewShift} {
				for _, scale := range []float64{math.Exp(-ViewScale), 1, math.Exp(ViewScale)} {
					if w := (view{dx, dy, scale}); w != boxItself {
						views = append(views, w)
					}
				}
			}
		}
		return views, nil
	default:
		return nil, fmt.Errorf("%d views: want 1, 5, 7 or 27", n)
	}
	views = append(views, view{-ViewShift, 0, 1}, view{ViewShift, 0, 1}, view{0, -ViewShift, 1}, view{0, ViewShift, 1})
	if n == 7 {
		views = append(views, view{0, 0, math.Exp(-ViewScale)}, view{0, 0, math.Exp(ViewScale)})
	}
	return views, nil
}

// Pool is how a box's p is made of its views' (Options.VerifierPool).
type Pool int

const (
	// PoolDefault, the zero value, is the verifier's own pool
	// (nn.Network.ViewPool) when it is shown more than one view, else
	// the mean.
	PoolDefault Pool = iota
	// PoolMean is the mean of the views' p.
	PoolMean
	// PoolMax is the largest: the view that frames the item best.
	PoolMax
	// PoolMin is the least: a box is as dress-like as its least
	// dress-like neighbour. A scan's box on another garment is the most
	// dress-like of many windows on it, and the windows near it look less
	// so; a dress looks like one in all of them.
	PoolMin
)

// poolNames are the pools' names, as ParsePool reads them and
// nn.Network.ViewPool stores them ("" is the default).
var poolNames = [...]string{PoolDefault: "", PoolMean: "mean", PoolMax: "max", PoolMin: "min"}

// String returns the pool's name: mean, max, min, or default.
func (p Pool) String() string {
	switch {
	case p == PoolDefault:
		return "default"
	case p < 0 || int(p) >= len(poolNames):
		return fmt.Sprintf("Pool(%d)", int(p))
	}
	return poolNames[p]
}

// ParsePool returns the pool named name: mean, max or min, or
// PoolDefault for "".
func ParsePool(name string) (Pool, error) {
	for p, n := range poolNames {
		if n == name {
			return Pool(p), nil
		}
	}
	return 0, fmt.Errorf("pool %q: want mean, max or min", name)
}

// check reports why p cannot pool n views, or nil.
func (p Pool) check(n int) error {
	switch {
	case p <= PoolDefault || int(p) >= len(poolNames):
		return fmt.Errorf("%v: want PoolMean, PoolMax or PoolMin", p)
	case p != PoolMean && n == 1:
		return fmt.Errorf("the %s p of one view is its mean: it needs 5, 7 or 27 views", p)
	}
	return nil
}

// VerifierScoring returns how opt's verifier scores each box: its
// VerifierViews and VerifierPool, each where zero the verifier's own
// (nn.Network.Views and ViewPool, with which its threshold was chosen),
// else the box alone and the mean. The error names the option, or the
// verifier's stored value, that cannot be used.
func VerifierScoring(opt Options) (views int, pool Pool, err error) {
	vs, pool, err := scoring(opt)
	return len(vs), pool, err
}

// scoring is VerifierScoring with the views themselves.
func scoring(opt Options) ([]view, Pool, error) {
	n, pool := opt.VerifierViews, opt.VerifierPool
	own, ownPool := 0, ""
	if opt.Verifier != nil {
		own, ownPool = opt.Verifier.Views, opt.Verifier.ViewPool
	}
	var views []view
	var err error
	if n == 0 {
		if views, err = verifierViews(max(own, 1)); err != nil {
			return nil, 0, optErr("Verifier", "its stored views: %w", err)
		}
	} else if views, err = verifierViews(n); err != nil {
		return nil, 0, optErr("VerifierViews", "%w", err)
	}
	if pool == PoolDefault {
		pool = PoolMean
		if len(views) > 1 && ownPool != "" {
			if pool, err = ParsePool(ownPool); err != nil {
				return nil, 0, optErr("Verifier", "its stored view pool: %w", err)
			}
		}
	}
	if err := pool.check(len(views)); err != nil {
		return nil, 0, optErr("VerifierPool", "%w", err)
	}
	return views, pool, nil
}

// ViewBoxes returns the boxes a verifier shown n views of box scores
// (Options.VerifierViews: 1, 5, 7 or 27; 0 is 1), the box itself first,
// so that a caller can find the view that decides a pooled p. Training
// mines a verifier's mistakes with them as scan scores its boxes.
func ViewBoxes(box [4]float64, n int) ([][4]float64, error) {
	views, err := verifierViews(n)
	if err != nil {
		return nil, fmt.Errorf("detect: view boxes: %w", err)
	}
	out := make([][4]float64, len(views))
	for i, v := range views {
		out[i] = v.at(box)
	}
	return out, nil
}

// at is box seen through v.
func (v view) at(box [4]float64) [4]float64 {
	if v == boxItself {
		return box // exactly, not rebuilt from its centre
	}
	w, h := box[2]-box[0], box[3]-box[1]
	cx, cy := (box[0]+box[2])/2+v.dx*w, (box[1]+box[3])/2+v.dy*h
	w, h = w*v.scale/2, h*v.scale/2
	return [4]float64{cx - w, cy - h, cx + w, cy + h}
}

// CheckVerifier reports why net cannot be an Options.Verifier, or nil: it
// must be valid, give one score vector on its window, and end in a
// softmax or sigmoid, so that it scores probabilities. With more, they are
// checked as its MoreVerifiers: each so, and all agreeing in outputs,
// last layer, positive class and labels; errors name the member.
func CheckVerifier(net *nn.Network, more ...*nn.Network) error {
	if net == nil {
		return fmt.Errorf("verifier is nil")
	}
	_, err := newVerifier(append([]*nn.Network{net}, more...), nil, 1)
	return err
}

// newVerifier builds the verifier of nets (Options.Verifier then
// MoreVerifiers, at least one), scoring class (nil: the first's Positive)
// on threads goroutines. Errors about one of several nets say which.
func newVerifier(nets []*nn.Network, class *int, threads int) (*verifier, error) {
	v := &verifier{views: []view{boxItself}, weight: DefaultVerifierWeight, threads: threads}
	if threads < 1 {
		v.threads = runtime.GOMAXPROCS(0)
	}
	for i, net := range nets {
		vn, out, err := newVerifierNet(net, len(nets) > 1, v.threads)
		if len(nets) > 1 && err == nil && i > 0 {
			err = sameScores(nets[0], net, v.out, out)
		}
		if err != nil {
			if len(nets) > 1 {
				return nil, &netError{i: i, n: len(nets), err: err}
			}
			return nil, err
		}
		if i == 0 {
			v.class, v.out, v.final = net.Positive, out, lastLayer(net)
		}
		v.nets = append(v.nets, vn)
	}
	if class != nil {
		v.class = *class
	}
	if v.class < 0 || v.class >= v.out {
		return nil, fmt.Errorf("class %d out of range: it has %d outputs", v.class, v.out)
	}
	return v, nil
}

// netError is newVerifier's error about one of its several nets.
type netError struct {
	i, n int
	err  error
}

func (e *netError) Error() string { return fmt.Sprintf("verifier %d of %d: %v", e.i+1, e.n, e.err) }
func (e *netError) Unwrap() error { return e.err }

// newVerifierNet checks net as a verifier and builds its engines, on
// its logits (without its last layer) when they are to be averaged. It
// returns the length of net's output.
func newVerifierNet(net *nn.Network, logits bool, threads int) (*verifierNet, int, error) {
	if net == nil {
		return nil, 0, errors.New("it is nil")
	}
	if err := net.Validate(); err != nil {
		return nil, 0, err
	}
	last := lastLayer(net)
	switch last.(type) {
	case *nn.Softmax, *nn.Sigmoid:
	default:
		// The combined score assumes p in [0,1].
		return nil, 0, fmt.Errorf("its last layer %q is a %s, want a softmax or sigmoid: it must score probabilities", last.Name(), last.Kind())
	}
	norm, err := newNormalizer(net.Input)
	if err != nil {
		return nil, 0, fmt.Errorf("input: %w", err)
	}
	win := net.Input.Window()
	out, err := net.OutShape(win)
	if err != nil {
		return nil, 0, err
	}
	if out.H != 1 || out.W != 1 {
		return nil, 0, fmt.Errorf("gives a %d×%d map on its %d×%d window, want one score vector", out.H, out.W, win.W, win.H)
	}
	run := net
	if logits {
		run = &nn.Network{Input: net.Input, Layers: net.Layers[:len(net.Layers)-1], Labels: net.Labels, Positive: net.Positive}
	}
	vn := &verifierNet{norm: norm, win: nn.Pair{H: win.H, W: win.W}, context: net.Input.ContextFactor(), mean: net.Input.Mean, std: net.Input.Std}
	vn.engines.keep = threads
	vn.engines.new = func() *nn.Engine { return nn.NewEngine(run) }
	return vn, out.C, nil
}

// lastLayer is a valid network's last layer.
func lastLayer(net *nn.Network) nn.Layer { return net.Layers[len(net.Layers)-1] }

// sameScores reports why net's scores cannot be averaged with first's:
// their logits must mean the same classes, in the same order, under the
// same kind of last layer.
func sameScores(first, net *nn.Network, firstOut, out int) error {
	firstLast, last := lastLayer(first), lastLayer(net)
	switch {
	case out != firstOut:
		return fmt.Errorf("it has %d outputs, the first verifier %d", out, firstOut)
	case last.Kind() != firstLast.Kind():
		return fmt.Errorf("it ends in a %s, the first verifier in a %s", last.Kind(), firstLast.Kind())
	case net.Positive != first.Positive:
		return fmt.Errorf("its positive class is %d, the first verifier's %d", net.Positive, first.Positive)
	case len(net.Labels) > 0 && len(first.Labels) > 0 && !slices.Equal(net.Labels, first.Labels):
		return fmt.Errorf("its labels %q are not the first verifier's %q", net.Labels, first.Labels)
	}
	return nil
}

// verifierOf builds opt's verifier, its scoring resolved by
// VerifierScoring, or says which option it cannot use.
func verifierOf(opt Options) (*verifier, error) {
	v, err := newVerifier(append([]*nn.Network{opt.Verifier}, opt.MoreVerifiers...), opt.VerifierClass, opt.Threads)
	if err != nil {
		name := "Verifier"
		if ne := (*netError)(nil); errors.As(err, &ne) && ne.i > 0 {
			name = "MoreVerifiers"
		}
		return nil, optErr(name, "%w", err)
	}
	if v.views, v.pool, err = scoring(opt); err != nil {
		return nil, err
	}
	if opt.VerifierWeight == 0 {
		opt.VerifierWeight = DefaultVerifierWeight
	}
	if !(opt.VerifierWeight > 0 && opt.VerifierWeight < 1) {
		return nil, optErr("VerifierWeight", "weight %v out of range (0,1)", opt.VerifierWeight)
	}
	v.weight = opt.VerifierWeight
	return v, nil
}

// rescore sets each detection's score to VerifiedScore of its own and
// the verifier's p(class) of the image under its box (see p), keeping
// both in the detection. A box the verifier scores NaN gets a NaN score,
// for the caller to drop and count, as the scan's own non-finite cells
// are.
func (v *verifier) rescore(img image.Image, dets []Detection, noFlip bool) error {
	if len(dets) == 0 {
		return nil
	}
	boxes := make([][4]float64, len(dets))
	for i := range dets {
		boxes[i] = dets[i].Box
	}
	ps, err := v.p(img, boxes, noFlip)
	if err != nil {
		return err
	}
	for i, p := range ps {
		d := &dets[i]
		d.Verified, d.ScanScore, d.VerifierP = true, d.Score, unitP(p)
		d.Score = VerifiedScore(d.Score, p, v.weight)
	}
	return nil
}

// p returns the verifier's p(class) of the image under each box: pooled
// by v.pool over v.views, each mirror averaged unless noFlip. Boxes are
// scored a batch at a time (see batchBoxes), up to v.threads batches at
// once, the threads left over splitting each pass: a small window's
// passes split poorly, and neither a box's p nor a pass depends on how
// they are spread or batched.
func (v *verifier) p(img image.Image, boxes [][4]float64, noFlip bool) ([]float64, error) {
	ps := make([]float64, len(boxes))
	if len(boxes) == 0 {
		return ps, nil
	}
	src := asNRGBA(img)
	per := v.batchBoxes(noFlip)
	batches := (len(boxes) + per - 1) / per
	workers := max(1, min(v.threads, batches))
	scorers := make([]*scorer, workers)
	for w := range scorers {
		scorers[w] = v.newScorer(noFlip, v.threads/workers, per)
		defer scorers[w].release()
	}
	err := work.Each(batches, workers, func(w, b int) error {
		lo, hi := b*per, min((b+1)*per, len(boxes))
		if err := scorers[w].score(src, boxes[lo:hi], ps[lo:hi]); err != nil {
			return fmt.Errorf("boxes %d to %d: %w", lo, hi-1, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return ps, nil
}

// batchWindows is about how many windows a scorer runs through a network
// at once: enough that its head's product has columns to spare (a
// verifier with 27 views has 54 a box), few enough to stay in cache.
const batchWindows = 64

// batchBoxes is how many boxes a scorer takes at once: as many as fill
// batchWindows with their views and mirror images, at least one.
func (v *verifier) batchBoxes(noFlip bool) int {
	return max(1, batchWindows/(passesOf(noFlip)*len(v.views)))
}

// passesOf is how many passes a view takes: the crop, and its mirror
// image unless noFlip.
func passesOf(noFlip bool) int {
	if noFlip {
		return 1
	}
	return 2
}

// A scorer verifies a few boxes at a time on one engine per network,
// reusing its buffers. The boxes' views and their mirror images go
// through each network as one batch (nn.Engine.ForwardBatch): the
// classifier's head then runs once for all of them.
type scorer struct {
	v      *verifier
	nets   []netScorer
	logits []float64 // the nets' summed, with more than one
	passes int
}

// netScorer is a scorer's state for one of its verifier's networks.
type netScorer struct {
	engine *nn.Engine
	shape  nn.Shape
	// in holds the batch: box by box, view k's crop, then its mirror
	// image when the scorer mirrors, one after another; out their
	// outputs.
	in, out []float32
	windows []window
	reg     region
}

// newScorer makes a scorer of up to boxes boxes at a time.
func (v *verifier) newScorer(noFlip bool, threads, boxes int) *scorer {
	s := &scorer{v: v, logits: make([]float64, v.out), passes: passesOf(noFlip)}
	batch := boxes * s.passes * len(v.views)
	for _, vn := range v.nets {
		e := vn.engines.get()
		e.SetThreads(threads)
		shape := nn.Shape{C: vn.norm.channels, H: vn.win.H, W: vn.win.W}
		s.nets = append(s.nets, netScorer{engine: e, shape: shape, in: make([]float32, batch*shape.Size()),
			out: make([]float32, batch*v.out), windows: make([]window, len(v.views))})
	}
	return s
}

// release returns s's engines to their pools.
func (s *scorer) release() {
	for i, ns := range s.nets {
		s.v.nets[i].engines.put(ns.engine)
	}
}

// score sets ps[b] to the verifier's p(class) of the image under
// boxes[b].
func (s *scorer) score(src *image.NRGBA, boxes [][4]float64, ps []float64) error {
	v := s.v
	for i := range s.nets {
		if err := s.forward(i, src, boxes); err != nil {
			return err
		}
	}
	views := len(v.views)
	for b := range boxes {
		sum, best, least := 0.0, math.Inf(-1), math.Inf(1)
		for k := range views {
			pv := 0.0
			for pass := range s.passes {
				p := s.classP((b*views+k)*s.passes + pass)
				pv += p
				sum += p // in the order the mean always summed
			}
			// Once NaN, best and least stay NaN: no comparison with it holds.
			if pv > best || math.IsNaN(pv) {
				best = pv
			}
			if pv < least || math.IsNaN(pv) {
				least = pv
			}
		}
		switch v.pool {
		case PoolMax:
			ps[b] = best / float64(s.passes)
		case PoolMin:
			ps[b] = least / float64(s.passes)
		default:
			ps[b] = sum / float64(s.passes*views)
		}
	}
	return nil
}

// forward runs network i on each box's views, each followed by its
// mirror image when s mirrors.
func (s *scorer) forward(i int, src *image.NRGBA, boxes [][4]float64) error {
	ns, vn, views, passes := &s.nets[i], s.v.nets[i], s.v.views, s.passes
	size := ns.shape.Size()
	for b, box := range boxes {
		for k, w := range views {
			vn.window(&ns.windows[k], w.at(box), src.Rect.Size())
		}
		// A box's views overlap: their pixels are normalised once.
		ns.reg.normalise(src, reach(ns.windows), vn.norm)
		for k := range views {
			j := (b*len(views) + k) * passes
			crop := ns.in[j*size : (j+1)*size]
			ns.reg.resample(crop, ns.windows[k])
			if passes == 2 {
				mirror := ns.in[(j+1)*size : (j+2)*size]
				copy(mirror, crop)
				mirrorRows(mirror, ns.shape.W)
			}
		}
	}
	n := len(boxes) * len(views) * passes
	_, err := ns.engine.ForwardBatch(ns.out[:n*s.v.out], ns.in[:n*size], n, ns.shape)
	return err
}

// classP is p(class) of batch item j: its network's output, or with
// several networks the softmax (or sigmoid) of their mean logits.
func (s *scorer) classP(j int) float64 {
	v := s.v
	if len(s.nets) == 1 {
		return float64(s.nets[0].out[j*v.out+v.class])
	}
	for c := range s.logits {
		s.logits[c] = 0
	}
	for i := range s.nets {
		for c, z := range s.nets[i].out[j*v.out : (j+1)*v.out] {
			s.logits[c] += float64(z)
		}
	}
	n := float64(len(s.nets))
	zc := s.logits[v.class] / n
	if _, ok := v.final.(*nn.Sigmoid); ok {
		return 1 / (1 + math.Exp(-zc))
	}
	// softmax of the mean logits at class: 1 / Σ exp(z_j − z_class).
	var denom float64
	for _, z := range s.logits {
		denom += math.Exp(z/n - zc)
	}
	return 1 / denom
}

// A BoxVerifier is a detector's second stage on its own: the p a
// Detector with the same Options would combine with each box's scan
// score. Evaluation uses it to score items as a scan scores boxes. It is
// safe for concurrent use.
type BoxVerifier struct {
	v      *verifier
	noFlip bool
}

// NewBoxVerifier builds opt's verifier (Options.Verifier, VerifierClass,
// VerifierViews, VerifierPool, NoFlip and Threads; the rest is ignored).
func NewBoxVerifier(opt Options) (*BoxVerifier, error) {
	if opt.Verifier == nil {
		return nil, fmt.Errorf("detect: box verifier: %w", optErr("Verifier", "not set"))
	}
	v, err := verifierOf(opt)
	if err != nil {
		return nil, fmt.Errorf("detect: box verifier: %w", err)
	}
	return &BoxVerifier{v: v, noFlip: opt.NoFlip}, nil
}

// Scores returns the verifier's p of the image under each box (x1, y1,
// x2, y2 in pixels from img's top left corner), pooled over its views;
// NaN where the network gives NaN. A box must have a positive width and
// height and lie within the image grown by its own size on every side.
func (b *BoxVerifier) Scores(img image.Image, boxes [][4]float64) ([]float64, error) {
	if img == nil {
		return nil, errors.New("detect: box verifier: image is nil")
	}
	r := img.Bounds()
	if err := checkSize(r.Dx(), r.Dy()); err != nil {
		return nil, fmt.Errorf("detect: box verifier: %w", err)
	}
	w, h := float64(r.Dx()), float64(r.Dy())
	for i, box := range boxes {
		// The negated tests also refuse NaN.
		if !(box[0] < box[2] && box[1] < box[3] && box[0] >= -w && box[2] <= 2*w && box[1] >= -h && box[3] <= 2*h) {
			return nil, fmt.Errorf("detect: box verifier: box %d %v: want x1 < x2, y1 < y2, within [%g,%g]×[%g,%g]", i, box, -w, 2*w, -h, 2*h)
		}
	}
	ps, err := b.v.p(img, boxes, b.noFlip)
	if err != nil {
		return nil, fmt.Errorf("detect: box verifier: %w", err)
	}
	return ps, nil
}

// window sets w to the window the network is shown for box (the box
// scaled by its context) of an image of size.
func (v *verifierNet) window(w *window, box [4]float64, size image.Point) {
	if v.context > 1 {
		box = view{scale: v.context}.at(box)
	}
	w.set(box, size, v.win)
}

// crop writes the normalised window the network is shown for box to dst.
func (v *verifierNet) crop(dst []float32, src *image.NRGBA, box [4]float64) {
	var w window
	v.window(&w, box, src.Rect.Size())
	cropWindow(dst, src, w, v.norm)
}

// asNRGBA is img as an NRGBA image at the origin, copied only when it is
// not one already.
func asNRGBA(img image.Image) *image.NRGBA {
	if src, ok := img.(*image.NRGBA); ok && src.Rect.Min == (image.Point{}) {
		return src
	}
	return imaging.Clone(img)
}

// VerifierWindows returns the window the verifier is shown for each box
// (Options.Verifier's, not MoreVerifiers'; with context, the box scaled
// by it), one view, not
// mirrored, as pixel values in [0,1], channel-major: what a training
// sampler holds. Training uses it to mine a verifier's mistakes on the
// boxes a scan gives it.
func (d *Detector) VerifierWindows(img image.Image, boxes [][4]float64) ([][]float32, error) {
	if d.verifier == nil {
		return nil, errors.New("detect: verifier windows: the detector has no verifier")
	}
	v := d.verifier.nets[0]
	if img == nil {
		return nil, errors.New("detect: verifier windows: image is nil")
	}
	b := img.Bounds()
	if err := checkSize(b.Dx(), b.Dy()); err != nil {
		return nil, fmt.Errorf("detect: verifier windows: %w", err)
	}
	src := asNRGBA(img)
	plane := v.win.H * v.win.W
	out := make([][]float32, len(boxes))
	for i, box := range boxes {
		w := make([]float32, v.norm.channels*plane)
		v.crop(w, src, box)
		for k := range w {
			ch := k / plane
			w[k] = w[k]*v.std[ch] + v.mean[ch] // normalised back to [0,1]
		}
		out[i] = w
	}
	return out, nil
}

// VerifiedScore is a box's score after verification: scan^(1−w)·p^w, the
// scan's score and the verifier's p weighted (w = 0.5, the default, is
// their geometric mean), p taken into [0,1] (+Inf from an overflowing
// softmax is 1); NaN stays NaN.
func VerifiedScore(scan, p, w float64) float64 {
	p = unitP(p)
	if w == DefaultVerifierWeight {
		return math.Sqrt(scan * p)
	}
	return math.Pow(scan, 1-w) * math.Pow(p, w)
}

// unitP is p taken into [0,1]; NaN stays NaN.
func unitP(p float64) float64 {
	if math.IsNaN(p) {
		return p
	}
	return max(0, min(1, p))
}

// mirrorRows reverses every row of width w in x (planes of rows), left to
// right.
func mirrorRows(x []float32, w int) {
	for r := 0; r+w <= len(x); r += w {
		slices.Reverse(x[r : r+w])
	}
}

// cropBox writes the image under box (x1, y1, x2, y2, continuous), resampled
// to win, normalised, into dst (C×H×W).
func cropBox(dst []float32, img *image.NRGBA, box [4]float64, win nn.Pair, norm *normalizer) {
	var w window
	w.set(box, img.Rect.Size(), win)
	cropWindow(dst, img, w, norm)
}

// cropWindow writes w of img, normalised, into dst (C×H×W).
func cropWindow(dst []float32, img *image.NRGBA, w window, norm *normalizer) {
	var reg region
	reg.normalise(img, reach([]window{w}), norm)
	reg.resample(dst, w)
}

// A window is a box resampled to an output grid: each output column's and
// row's source pixels and weights.
//
// The filter is a triangle whose support widens with the shrink factor, as
// imaging's Linear (and PIL's bilinear) filter shrinks, so a box sees what
// the pyramid shows a window at that scale.
type window struct {
	xs, ys [][]tap
	// taps backs xs and ys, reused by set: a box's views are many.
	taps []tap
}

// set makes w the window of box (x1, y1, x2, y2, continuous) of an image
// of size on a grid of win, reusing w's memory. (A row filled before taps
// grew keeps the old array, its weights final.)
func (w *window) set(box [4]float64, size image.Point, win nn.Pair) {
	w.xs, w.taps = filterTaps(w.xs[:0], w.taps[:0], box[0], box[2], win.W, size.X)
	w.ys, w.taps = filterTaps(w.ys[:0], w.taps, box[1], box[3], win.H, size.Y)
}

// reach is the rectangle of image pixels the windows read.
func reach(ws []window) image.Rectangle {
	var r image.Rectangle
	for _, w := range ws {
		x0, x1 := tapRange(w.xs)
		y0, y1 := tapRange(w.ys)
		if x0 < x1 && y0 < y1 {
			r = r.Union(image.Rectangle{Min: image.Point{X: x0, Y: y0}, Max: image.Point{X: x1, Y: y1}})
		}
	}
	return r
}

// tapRange is the half-open range of pixels taps read (empty for none).
func tapRange(taps [][]tap) (lo, hi int) {
	lo, hi = math.MaxInt, math.MinInt
	for _, row := range taps {
		for _, t := range row {
			lo, hi = min(lo, t.i), max(hi, t.i+1)
		}
	}
	return lo, hi
}

// A region is an image's normalised pixels over a rectangle within it,
// channel-major. Resampling from it normalises each pixel once, however
// many taps and windows read it.
type region struct {
	rect     image.Rectangle
	channels int
	pix      []float32
}

// normalise makes reg img's normalised pixels over r (within img),
// reusing its memory.
func (reg *region) normalise(img *image.NRGBA, r image.Rectangle, norm *normalizer) {
	reg.rect, reg.channels = r, norm.channels
	n := norm.channels * r.Dx() * r.Dy()
	if cap(reg.pix) < n {
		reg.pix = make([]float32, n)
	}
	reg.pix = reg.pix[:n]
	plane := r.Dx() * r.Dy()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		row := (y-r.Min.Y)*r.Dx() - r.Min.X
		for x := r.Min.X; x < r.Max.X; x++ {
			p := img.Pix[y*img.Stride+4*x:]
			if norm.channels == 1 {
				reg.pix[row+x] = norm.grey(p)
				continue
			}
			for ch := range 3 {
				reg.pix[ch*plane+row+x] = norm.lut[ch][p[ch]]
			}
		}
	}
}

// resample writes w, read from reg (which must span it), into dst (C×H×W).
func (reg *region) resample(dst []float32, w window) {
	stride, plane := reg.rect.Dx(), reg.rect.Dx()*reg.rect.Dy()
	out := len(w.ys) * len(w.xs)
	for ch := range reg.channels {
		pix := reg.pix[ch*plane : (ch+1)*plane]
		d := dst[ch*out : (ch+1)*out]
		for r, ty := range w.ys {
			for c, tx := range w.xs {
				var acc float32
				for _, y := range ty {
					row := pix[(y.i-reg.rect.Min.Y)*stride:]
					for _, x := range tx {
						acc += y.w * x.w * row[x.i-reg.rect.Min.X]
					}
				}
				d[r*len(w.xs)+c] = acc
			}
		}
	}
}

// tap is one image pixel's weight in an output pixel.
type tap struct {
	i int
	w float32
}

// filterTaps appends to rows, for each of n output pixels spanning [lo,
// hi) of an image axis of size size, its pixels within the image and
// their weights, held in taps (appended to as well). The weights are
// normalised over every tap, inside the image or not: outside it the
// image reads 0, the mean pixel, as the scan's padding does, and adds
// nothing.
func filterTaps(rows [][]tap, taps []tap, lo, hi float64, n, size int) ([][]tap, []tap) {
	scale := (hi - lo) / float64(n)
	support := max(1, scale)
	for k := range n {
		centre := lo + (float64(k)+0.5)*scale
		first, last := int(math.Floor(centre-support)), int(math.Ceil(centre+support))
		var sum float64
		start := len(taps)
		for i := first; i <= last; i++ {
			w := 1 - math.Abs(float64(i)+0.5-centre)/support
			if w <= 0 {
				continue
			}
			sum += w
			if i >= 0 && i < size {
				taps = append(taps, tap{i: i, w: float32(w)})
			}
		}
		row := taps[start:len(taps):len(taps)]
		for t := range row {
			row[t].w = float32(float64(row[t].w) / sum)
		}
		rows = append(rows, row)
	}
	return rows, taps
}
