package detect

import (
	"context"
	"errors"
	"fmt"
	"image"
	"math"
	"runtime"
	"slices"

	"github.com/disintegration/imaging"
	"github.com/fc2conv/fc2conv/nn"
)

// Options steer a Detector. The zero value means the documented defaults
// (so Options{} scores the network's positive class at its own threshold
// over a 1.25 pyramid, with NMS, box voting and mirror averaging); a
// feature that is on by default is turned off by an explicit value (Off,
// NoFlip, EveryWindow).
type Options struct {
	// Class is the output channel scored; nil means the network's
	// Positive class. Class(i) picks channel i. A Verifier checks one
	// class, so with a Verifier a Class other than Positive needs
	// VerifierClass too (ErrUnverifiedClass).
	Class *int
	// Threshold is the lowest score reported; 0 means the Verifier's own
	// Threshold when there is a verifier and it has one (it was chosen for
	// the verified score), else the network's own Threshold, or
	// DefaultThreshold (0.5) when it has none. Stored thresholds were
	// chosen for the Positive classes: when another class is scored, the
	// default is DefaultThreshold. EveryWindow reports every window; any
	// other finite value is taken as given.
	Threshold float64
	// NMS is the IoU above which a lower-scored box is suppressed; 0 means
	// DefaultNMS (0.3), Off keeps overlapping boxes.
	NMS float64
	// Vote moves each reported box to the score-weighted mean of the
	// windows that overlap it at IoU ≥ Vote and score at least half as much
	// (see the function Vote); 0 means DefaultVote (0.4), Off leaves boxes
	// where their windows are. Either way a box and its score do not depend
	// on the threshold.
	Vote float64
	// ScaleFactor is the ratio between pyramid levels; 0 means
	// DefaultScaleFactor (1.25).
	ScaleFactor float64
	// Scales, when set, replaces the pyramid with these resize factors.
	Scales []float64
	// MinSize and MaxSize, when set, bound the pyramid by object size in
	// original-image pixels, as OpenCV's detectMultiScale does: the H×W
	// window at scale k covers H/k × W/k pixels, and the pyramid keeps the
	// scales whose window height H/k lies in [MinSize, MaxSize]. It starts
	// at k = H/MinSize, above 1 (upsampling) when MinSize is below the
	// window, and steps down by ScaleFactor while the image still holds a
	// window. MinSize 0 means the window height (with Upsample, H over the
	// largest power of ScaleFactor up to 2),
	// MaxSize 0 no upper bound. Neither goes with Scales; MinSize does not
	// go with Upsample.
	MinSize, MaxSize int
	// Upsample adds pyramid levels above 1 (up to 2) to find objects
	// smaller than the window.
	Upsample bool
	// Step is the distance between windows in scaled-image pixels; 0 means
	// the network's total stride S. It must divide S on both axes.
	Step int
	// MaxDetections caps the result; 0 means DefaultMaxDetections (100),
	// Off no cap.
	MaxDetections int
	// MaxTilePixels bounds the input pixels of one forward pass; 0 means
	// DefaultMaxTilePixels (1 Mpx). Larger images are scanned in tiles with
	// the same result.
	MaxTilePixels int
	// PadSmall lets an image smaller than the window be padded with the
	// mean pixel up to the window instead of failing with ErrTooSmall.
	PadSmall bool
	// NoFlip turns off mirror averaging. By default every window's score is
	// the mean of its own and that of its mirror image (test-time
	// augmentation for networks trained with mirrored samples), which
	// doubles the work; scales padded up to the window are not mirrored.
	NoFlip bool
	// Threads is how many goroutines one Detect call may split each
	// convolution over; 0 means runtime.GOMAXPROCS. Results do not depend
	// on it. Callers that run many Detect calls at once (scan's workers)
	// set it so that calls × Threads fills the cores.
	Threads int
	// Verifier, when set, is a second stage: a classifier (FC or fully
	// convolutional, ending in a softmax or sigmoid) shown the image under
	// each box the scan keeps, resampled to its own window (and mirror
	// averaged unless NoFlip). A box's score becomes the geometric mean
	// of the scan's score and the verifier's p(VerifierClass); the boxes
	// then go through NMS again, and Threshold applies to that score.
	// Since the verifier's p is at most 1, only scan scores of at least
	// Threshold² are verified. Detect then needs the verifier and the
	// network unmodified, as it does the network alone.
	Verifier *nn.Network
	// MoreVerifiers, when set, are averaged with Verifier into one
	// verifier, as convert.Ensemble merges networks: each is shown the
	// same views, at its own window, context and normalisation, and p is
	// the last layer (softmax or sigmoid, the same for all) of the mean
	// of their logits. They must have Verifier's outputs, positive class
	// and labels; their windows may differ, which an ensemble file
	// cannot hold. Verifier's stored views and pool are the ensemble's
	// own; its stored threshold is not (the members' do not carry over).
	MoreVerifiers []*nn.Network
	// VerifierClass is the verifier's output scored; nil means its
	// Positive class.
	VerifierClass *int
	// VerifierViews is how many boxes around each box the verifier is
	// shown, its p being pooled over them by VerifierPool: 0, the
	// verifier's own (nn.Network.Views, else 1); 1, the box alone; 5,
	// also the box moved by ViewShift of its side left, right, up and
	// down; 7, also the box scaled by exp(±ViewScale) about its
	// centre; 27, every box of the grid of centres moved by −ViewShift, 0
	// or +ViewShift each way and sides scaled by exp(−ViewScale), 1 or
	// exp(ViewScale). A scan's boxes sit about that far from the item's,
	// and a verifier trained on boxes jittered so sees each view as it saw
	// its training windows.
	VerifierViews int
	// VerifierPool is how the views' p (each mirror averaged) make the
	// box's: the verifier's own (PoolDefault, the zero value; see
	// VerifierScoring), their mean, the largest or the least. Max and min
	// need VerifierViews 5, 7 or 27.
	VerifierPool Pool
	// VerifierWeight is w in a verified box's score s^(1−w)·p^w, s the
	// scan's score and p the verifier's; 0 means DefaultVerifierWeight,
	// 0.5, the geometric mean sqrt(s·p). It must be in (0, 1).
	VerifierWeight float64
}

// Class returns a pointer to i, for Options.Class.
func Class(i int) *int { return &i }

// Explicit option values.
const (
	// Off turns off an option that is on by default: Vote, NMS and
	// MaxDetections.
	Off = -1
	// EveryWindow is the Threshold that reports every window.
	EveryWindow = -math.MaxFloat64
)

// Defaults for Options.
const (
	DefaultNMS           = 0.3
	DefaultVote          = 0.4
	DefaultScaleFactor   = 1.25
	DefaultMaxDetections = 100
	DefaultMaxTilePixels = 1 << 20
	DefaultThreshold     = 0.5
	// DefaultVerifierWeight weighs the scan and the verifier alike.
	DefaultVerifierWeight = 0.5
	// maxUpsample is the largest scale the pyramid goes up to.
	maxUpsample = 2.0
	// maxScales bounds a user's scale list.
	maxScales = 256
)

// OptionError is an invalid Options field, named as in Options.
type OptionError struct {
	Option string // the field, e.g. "Step"
	With   string // the field it cannot be combined with, if that is the fault
	Err    error
}

func (e *OptionError) Error() string { return e.Option + ": " + e.Err.Error() }
func (e *OptionError) Unwrap() error { return e.Err }

// ErrUnverifiedClass is the fault when Options.Class is not the network's
// Positive class and a Verifier, which would check its own Positive class,
// is given without a VerifierClass: the two stages would score different
// things.
var ErrUnverifiedClass = errors.New("the verifier checks the network's positive class, not this one")

func optErr(option, format string, a ...any) error {
	return &OptionError{Option: option, Err: fmt.Errorf(format, a...)}
}

// Detection is one window that passed the threshold and survived NMS.
type Detection struct {
	Box   [4]float64 // x1, y1, x2, y2 in original image pixels
	Score float64
	Scale float64 // pyramid scale it was found at
	// Verified is true when a Verifier rescored the box. Score is then
	// VerifiedScore(ScanScore, VerifierP, the verifier's weight), and the
	// two say which stage made or broke the box.
	Verified  bool
	ScanScore float64 // the scan's own score, before verification
	VerifierP float64 // the verifier's p(class), pooled over its views
}

// Result is what Detect found in one image.
type Result struct {
	Width, Height int         // the original image
	Detections    []Detection // best first
	Heatmaps      []Heatmap   // one per scale scanned, in scan order
	// Padded is true when at least one scale was padded up to the window
	// (Options.PadSmall).
	Padded bool
	// NonFinite counts heatmap cells that are NaN or ±Inf (a network that
	// overflows on this image), and boxes a Verifier scores NaN; they
	// never become detections.
	NonFinite int
}

// ErrTooSmall is returned when no scale of an image holds one window and
// Options.PadSmall is off. Test for it with errors.As.
type ErrTooSmall struct {
	Width, Height int     // the image
	Window        nn.Pair // the network's window at scale 1
}

func (e ErrTooSmall) Error() string {
	return fmt.Sprintf("detect: image %d×%d is smaller than the %d×%d window at every scale (set PadSmall to pad it)",
		e.Width, e.Height, e.Window.W, e.Window.H)
}

// Detector scans images with one fully convolutional network.
//
// A Detector is safe for concurrent use by several goroutines as long as
// nobody modifies the network: each call takes a forward-pass engine from
// an internal pool (engines hold buffers and are single-goroutine). Up to
// GOMAXPROCS idle engines, with their buffers, are kept while the
// Detector lives; more are left to the collector.
//
// Exactness. For an unpadded network every heatmap cell equals the network
// run on the window-sized crop at that cell, for any Step dividing the
// stride and any tiling (tested to 1e-5 against the crop-by-crop loop);
// with mirror averaging (the default), the mean of that and the network on
// the mirrored crop.
// When the network pads, tiling still changes nothing (tested to 1e-6): a
// cell is taken from a tile that holds its whole receptive field, or that
// shares the image border the field crosses, so it sees exactly the
// padding the untiled run sees. What padding does change is dense steps:
// a shifted run (Step < S) has its top and left borders inside the
// picture, and a cell whose receptive field starts within the padding
// reach of that border sees zeros where the picture has pixels. Cells
// whose field starts inside their run agree with any larger-context
// evaluation; the others have no unpadded counterpart and are what the
// network gives at a border.
type Detector struct {
	net   *nn.Network
	opt   Options
	geo   nn.Geometry
	step  nn.Pair
	class int
	thr   float64
	// top and bottom bound the pyramid: it starts at top and keeps scales
	// ≥ bottom.
	top, bottom float64
	pool        enginePool
	verifier    *verifier // nil without Options.Verifier
}

// New checks the network and options and prepares a detector. The network
// must be valid and fully convolutional (no Flatten or Dense layer).
func New(net *nn.Network, opt Options) (*Detector, error) {
	if net == nil {
		return nil, errors.New("detect: network is nil")
	}
	if err := net.Validate(); err != nil {
		return nil, fmt.Errorf("detect: %w", err)
	}
	if !net.IsFullyConvolutional() {
		return nil, errors.New("detect: network has a Flatten or Dense layer; convert it to a fully convolutional network first")
	}
	if _, err := newNormalizer(net.Input); err != nil {
		return nil, fmt.Errorf("detect: network input: %w", err)
	}
	geo, err := net.Geometry()
	if err != nil {
		return nil, fmt.Errorf("detect: geometry: %w", err)
	}
	out, err := net.OutShape(net.Input.Window())
	if err != nil {
		return nil, fmt.Errorf("detect: %w", err)
	}
	d := &Detector{net: net, geo: geo}
	if err := d.setOptions(opt, out.C); err != nil {
		return nil, fmt.Errorf("detect: options: %w", err)
	}
	d.pool.keep = runtime.GOMAXPROCS(0)
	d.pool.new = func() *nn.Engine {
		e := nn.NewEngine(net)
		e.SetThreads(d.opt.Threads)
		return e
	}
	return d, nil
}

// setOptions checks opt and resolves its defaults into d.opt, so that
// the rest of the detector reads plain values: Vote 0 is off there, NMS 1
// keeps every box.
func (d *Detector) setOptions(opt Options, classes int) error {
	d.class = d.net.Positive
	if opt.Class != nil {
		d.class = *opt.Class
	}
	if d.class < 0 || d.class >= classes {
		return optErr("Class", "class %d out of range: the network has %d output channels", d.class, classes)
	}
	if opt.Verifier != nil {
		if d.class != d.net.Positive && opt.VerifierClass == nil {
			return optErr("Class", "class %d (the positive class is %d): %w", d.class, d.net.Positive, ErrUnverifiedClass)
		}
		v, err := verifierOf(opt)
		if err != nil {
			return err
		}
		d.verifier = v
	} else if len(opt.MoreVerifiers) > 0 {
		return optErr("MoreVerifiers", "set without a verifier")
	} else if opt.VerifierClass != nil {
		return optErr("VerifierClass", "set without a verifier")
	} else if opt.VerifierViews != 0 && opt.VerifierViews != 1 {
		return optErr("VerifierViews", "set without a verifier")
	} else if opt.VerifierPool != PoolDefault {
		return optErr("VerifierPool", "set without a verifier")
	} else if opt.VerifierWeight != 0 {
		return optErr("VerifierWeight", "set without a verifier")
	}
	d.thr = opt.Threshold
	// Stored thresholds hold for the positive classes they were chosen for.
	positives := d.class == d.net.Positive && (d.verifier == nil || d.verifier.class == opt.Verifier.Positive)
	if d.thr == 0 && d.verifier != nil && len(opt.MoreVerifiers) == 0 && positives {
		d.thr = opt.Verifier.Threshold
	}
	if d.thr == 0 && positives {
		d.thr = d.net.Threshold
	}
	if d.thr == 0 {
		d.thr = DefaultThreshold
	}
	if math.IsNaN(d.thr) || math.IsInf(d.thr, 0) {
		return optErr("Threshold", "threshold %v is not finite", opt.Threshold)
	}
	switch opt.NMS {
	case 0:
		opt.NMS = DefaultNMS
	case Off:
		opt.NMS = 1
	}
	if !(opt.NMS > 0 && opt.NMS <= 1) {
		return optErr("NMS", "NMS IoU %v out of range (0,1]", opt.NMS)
	}
	switch opt.Vote {
	case 0:
		opt.Vote = DefaultVote
	case Off:
		opt.Vote = 0
	default:
		if !(opt.Vote > 0 && opt.Vote <= 1) {
			return optErr("Vote", "vote IoU %v out of range (0,1]", opt.Vote)
		}
	}
	if opt.ScaleFactor == 0 {
		opt.ScaleFactor = DefaultScaleFactor
	}
	if !(opt.ScaleFactor > 1) || math.IsInf(opt.ScaleFactor, 0) {
		return optErr("ScaleFactor", "scale factor %v must be finite and > 1", opt.ScaleFactor)
	}
	if len(opt.Scales) > maxScales {
		return optErr("Scales", "%d scales, at most %d", len(opt.Scales), maxScales)
	}
	for i, k := range opt.Scales {
		if !(k > 0) || math.IsInf(k, 0) {
			return optErr("Scales", "scale %d is %v, want finite and > 0", i, k)
		}
	}
	if err := d.setSizes(&opt); err != nil {
		return err
	}
	switch {
	case opt.MaxDetections == 0:
		opt.MaxDetections = DefaultMaxDetections
	case opt.MaxDetections == Off:
		opt.MaxDetections = math.MaxInt
	case opt.MaxDetections < 0:
		return optErr("MaxDetections", "max detections %d is negative", opt.MaxDetections)
	}
	if opt.MaxTilePixels == 0 {
		opt.MaxTilePixels = DefaultMaxTilePixels
	}
	if opt.Threads < 0 {
		return optErr("Threads", "threads %d is negative", opt.Threads)
	}
	if opt.MaxTilePixels < 0 {
		return optErr("MaxTilePixels", "max tile pixels %d is negative", opt.MaxTilePixels)
	}
	S := d.geo.Stride
	d.step = S
	if opt.Step < 0 {
		return optErr("Step", "step %d is negative", opt.Step)
	}
	if opt.Step > 0 {
		if S.H%opt.Step != 0 || S.W%opt.Step != 0 {
			return optErr("Step", "step %d does not divide the network's total stride %v", opt.Step, S)
		}
		d.step = nn.Pair{H: opt.Step, W: opt.Step}
	}
	d.opt = opt
	return nil
}

// setSizes checks MinSize and MaxSize and turns them into the pyramid's
// top scale d.top and its smallest allowed scale d.bottom.
func (d *Detector) setSizes(opt *Options) error {
	// the side of the object a window frames at scale 1
	win := float64(d.geo.Window.H) / d.net.Input.ContextFactor()
	d.top, d.bottom = 1, 0
	if opt.Upsample {
		d.top = upsampleTop(opt.ScaleFactor)
	}
	switch {
	case opt.MinSize < 0:
		return optErr("MinSize", "min size %d is negative", opt.MinSize)
	case opt.MaxSize < 0:
		return optErr("MaxSize", "max size %d is negative", opt.MaxSize)
	case opt.MinSize == 0 && opt.MaxSize == 0:
		return nil
	case len(opt.Scales) > 0:
		name := "MinSize"
		if opt.MinSize == 0 {
			name = "MaxSize"
		}
		return &OptionError{Option: name, With: "Scales", Err: errors.New("object sizes and explicit scales exclude each other")}
	case opt.MinSize > 0 && opt.Upsample:
		return &OptionError{Option: "MinSize", With: "Upsample", Err: errors.New("a min size and Upsample exclude each other: a min size below the window height upsamples")}
	}
	if opt.MinSize > 0 {
		d.top = win / float64(opt.MinSize)
	}
	if opt.MaxSize > 0 {
		if lo := win / d.top; float64(opt.MaxSize) < lo*(1-1e-9) {
			return optErr("MaxSize", "max size %d is below the smallest object size scanned, %.4g px", opt.MaxSize, lo)
		}
		d.bottom = win / float64(opt.MaxSize)
	}
	return nil
}

// Geometry is the network's geometry: stride, window and receptive field.
func (d *Detector) Geometry() nn.Geometry { return d.geo }

// Class is the output channel the detector scores.
func (d *Detector) Class() int { return d.class }

// Threshold is the score threshold in use.
func (d *Detector) Threshold() float64 { return d.thr }

// Detect scans img at every scale, thresholds the heatmaps and keeps the
// best boxes by greedy NMS across scales.
func (d *Detector) Detect(img image.Image) (*Result, error) {
	return d.DetectContext(context.Background(), img)
}

// DetectContext is Detect, stopped when ctx is done: it is checked before
// every pyramid level and every tile, and the error then wraps ctx.Err()
// (context.DeadlineExceeded once the deadline has passed, even before
// ctx's timer fires).
func (d *Detector) DetectContext(ctx context.Context, img image.Image) (*Result, error) {
	if img == nil {
		return nil, errors.New("detect: image is nil")
	}
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if err := checkSize(w, h); err != nil {
		return nil, fmt.Errorf("detect: %w", err)
	}
	scales := d.Scales(w, h)
	if len(scales) == 0 && d.opt.PadSmall {
		scales = []float64{min(1, d.top)}
	}
	base := img
	e := d.pool.get()
	defer d.pool.put(e)
	res := &Result{Width: w, Height: h}
	// scanThr is the least scan score that can pass the threshold: with a
	// verifier, s^(1−w)·p^w ≥ t needs s ≥ t^(1/(1−w)) since p ≤ 1.
	scanThr := d.thr
	if d.verifier != nil && d.thr > 0 {
		scanThr = d.verifier.scanThreshold(d.thr)
	}
	// With voting, windows down to voteMinShare of that are collected:
	// they vote on boxes but are never reported.
	floor := scanThr
	if d.opt.Vote > 0 && floor > 0 {
		floor *= voteMinShare
	}
	var cands []Detection
	for _, k := range scales {
		if err := ctxErr(ctx); err != nil {
			return nil, fmt.Errorf("detect: stopped before scale %g: %w", k, err)
		}
		src, padded, err := d.scaled(base, k)
		if err != nil {
			return nil, err
		}
		if src == nil {
			continue
		}
		src.ctx = ctx
		hm, err := d.heatmap(e, src, k)
		if err == nil && !d.opt.NoFlip {
			err = d.flipAverage(e, src, hm)
		}
		if err != nil {
			return nil, fmt.Errorf("detect: %w", err)
		}
		res.Padded = res.Padded || padded
		res.Heatmaps = append(res.Heatmaps, hm)
		var nonFinite int
		cands, nonFinite = appendAbove(cands, hm, floor)
		res.NonFinite += nonFinite
	}
	if len(res.Heatmaps) == 0 {
		return nil, ErrTooSmall{Width: w, Height: h, Window: d.geo.Window}
	}
	reportable := cands
	if floor < scanThr {
		reportable = slices.DeleteFunc(slices.Clone(cands), func(c Detection) bool { return c.Score < scanThr })
	}
	res.Detections = Vote(NMS(reportable, d.opt.NMS, d.opt.MaxDetections), cands, d.opt.Vote)
	if d.verifier != nil {
		if err := ctxErr(ctx); err != nil {
			return nil, fmt.Errorf("detect: stopped before verifying: %w", err)
		}
		if err := d.verifier.rescore(img, res.Detections, d.opt.NoFlip); err != nil {
			return nil, fmt.Errorf("detect: verifier: %w", err)
		}
		// Two boxes kept on one object (overlapping less than NMS allows)
		// can both verify well; the second NMS keeps the better.
		verified := slices.DeleteFunc(res.Detections, func(c Detection) bool {
			if math.IsNaN(c.Score) {
				res.NonFinite++
				return true
			}
			return c.Score < d.thr
		})
		res.Detections = NMS(verified, d.opt.NMS, d.opt.MaxDetections)
	}
	return res, nil
}

// Heatmap scans img at one scale and returns the class heatmap. An image
// smaller than the window at that scale gives ErrTooSmall unless PadSmall.
func (d *Detector) Heatmap(img image.Image, scale float64) (Heatmap, error) {
	if img == nil {
		return Heatmap{}, errors.New("detect: image is nil")
	}
	if !(scale > 0) || math.IsInf(scale, 0) {
		return Heatmap{}, fmt.Errorf("detect: scale %v, want finite and > 0", scale)
	}
	b := img.Bounds()
	if err := checkSize(b.Dx(), b.Dy()); err != nil {
		return Heatmap{}, fmt.Errorf("detect: %w", err)
	}
	src, _, err := d.scaled(img, scale)
	if err != nil {
		return Heatmap{}, err
	}
	if src == nil {
		return Heatmap{}, ErrTooSmall{Width: b.Dx(), Height: b.Dy(), Window: d.geo.Window}
	}
	e := d.pool.get()
	defer d.pool.put(e)
	hm, err := d.heatmap(e, src, scale)
	if err == nil && !d.opt.NoFlip {
		err = d.flipAverage(e, src, hm)
	}
	if err != nil {
		return Heatmap{}, fmt.Errorf("detect: %w", err)
	}
	return hm, nil
}

// scaled resizes base by k. It returns nil when the result is smaller than
// the window and padding is off; with PadSmall it pads up to the window.
// Each level is made from base itself, so the caller's image is never
// copied whole unless it is scanned at scale 1 in another pixel format.
func (d *Detector) scaled(base image.Image, k float64) (*source, bool, error) {
	bw, bh := base.Bounds().Dx(), base.Bounds().Dy()
	fw, fh := math.Round(float64(bw)*k), math.Round(float64(bh)*k)
	if fw < 1 || fh < 1 {
		if !d.opt.PadSmall {
			return nil, false, nil
		}
		fw, fh = max(fw, 1), max(fh, 1)
	}
	if fw*fh > MaxImagePixels {
		return nil, false, fmt.Errorf("detect: scale %g makes the %d×%d image %.0f×%.0f, more than %d pixels", k, bw, bh, fw, fh, MaxImagePixels)
	}
	w, h := int(fw), int(fh)
	win := d.geo.Window
	padded := w < win.W || h < win.H
	if padded && !d.opt.PadSmall {
		return nil, false, nil
	}
	var img *image.NRGBA
	switch nrgba, ok := base.(*image.NRGBA); {
	case w != bw || h != bh:
		img = imaging.Resize(base, w, h, imaging.Linear)
	case ok && nrgba.Rect.Min == image.Point{}:
		img = nrgba // only read
	default:
		img = imaging.Clone(base)
	}
	norm, err := newNormalizer(d.net.Input)
	if err != nil {
		return nil, false, fmt.Errorf("detect: %w", err)
	}
	return &source{img: img, w: max(w, win.W), h: max(h, win.H), norm: norm}, padded, nil
}

// appendAbove adds every cell of hm scoring at least thr as a detection,
// and counts the cells that are NaN or ±Inf, which it never adds: an
// overflowing network must not report a box (+Inf passes any threshold).
func appendAbove(dst []Detection, hm Heatmap, thr float64) ([]Detection, int) {
	nonFinite := 0
	for i := 0; i < hm.Rows; i++ {
		for j := 0; j < hm.Cols; j++ {
			v := float64(hm.At(i, j))
			switch {
			case math.IsNaN(v) || math.IsInf(v, 0):
				nonFinite++
			case v >= thr:
				dst = append(dst, Detection{Box: hm.Box(i, j), Score: v, Scale: hm.Scale})
			}
		}
	}
	return dst, nonFinite
}

// Scales is the image pyramid for a w×h image: 1, 1/f, 1/f², … while the
// resized image still holds one window, and with upsample also f, f², …
// up to 2, for objects smaller than the window. Scales are returned
// largest first; the list is empty when no scale fits or f is not > 1.
func Scales(w, h int, g nn.Geometry, f float64, upsample bool) []float64 {
	if !(f > 1) || math.IsInf(f, 0) {
		return nil
	}
	top := 1.0
	if upsample {
		top = upsampleTop(f)
	}
	return pyramid(w, h, g.Window, f, top, 0)
}

// Scales is the pyramid the detector scans a w×h image at: Options.Scales
// when set, else the pyramid of ScaleFactor bounded by Upsample, MinSize
// and MaxSize, largest first. It is empty when no scale holds a window.
func (d *Detector) Scales(w, h int) []float64 {
	if len(d.opt.Scales) > 0 {
		return slices.Clone(d.opt.Scales)
	}
	return pyramid(w, h, d.geo.Window, d.opt.ScaleFactor, d.top, d.bottom)
}

// upsampleTop is the largest power of f up to maxUpsample.
func upsampleTop(f float64) float64 {
	top := 1.0
	for top*f <= maxUpsample*(1+1e-9) {
		top *= f
	}
	return top
}

// pyramid is top, top/f, top/f², … down to bottom, while the w×h image
// resized by the scale still holds a window (larger scales hold more, so
// the first that does not ends the list).
func pyramid(w, h int, win nn.Pair, f, top, bottom float64) []float64 {
	if w < 1 || h < 1 {
		return nil
	}
	fits := func(k float64) bool {
		return math.Round(float64(w)*k) >= float64(win.W) && math.Round(float64(h)*k) >= float64(win.H)
	}
	var out []float64
	for k := top; k >= bottom*(1-1e-9) && fits(k); k /= f {
		if math.Abs(k-1) < 1e-9 {
			k = 1 // the unscaled level exactly, whatever the rounding above it
		}
		out = append(out, k)
	}
	return out
}
