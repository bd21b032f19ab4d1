package fmnist

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"io"
	"math"
	"math/rand"
	"sort"
	"strings"
)

// Scene defaults: the evaluation scenes are SceneWidth×SceneHeight with
// items pasted at SceneMinScale to SceneMaxScale times their 28 px size.
const (
	SceneWidth    = 1024
	SceneHeight   = 512
	SceneMinScale = 1
	SceneMaxScale = 3
	// sceneGap is the least distance in pixels between two pasted boxes.
	sceneGap = 2
	// MaxSceneSide bounds the width and height MakeScene accepts.
	MaxSceneSide = 16384
)

// Object is one pasted item: its box in pixels, x1,y1 inclusive and x2,y2
// exclusive (the pasted square is x2-x1 = y2-y1 = 28·k pixels), and its
// Fashion-MNIST class. In JSON it is {"box":[x1,y1,x2,y2],"class":3,
// "label":"Dress"}.
type Object struct {
	Box   [4]float64
	Class int
	// Item is the index of the item in the set it was drawn from (t10k's
	// own order, or the held-out split's), when HasItem: scenes reuse
	// items, so errors can be counted by item, not only by placement.
	Item    int
	HasItem bool
}

type objectJSON struct {
	Box   [4]float64 `json:"box"`
	Class int        `json:"class"`
	Label string     `json:"label,omitempty"`
	Item  *int       `json:"item,omitempty"`
}

// MarshalJSON writes the box, the class, its name and the item's index.
func (o Object) MarshalJSON() ([]byte, error) {
	j := objectJSON{Box: o.Box, Class: o.Class}
	if o.HasItem {
		j.Item = &o.Item
	}
	if o.Class >= 0 && o.Class < NumClasses {
		j.Label = ClassNames[o.Class]
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads an object; a label, if present, must name the class.
func (o *Object) UnmarshalJSON(b []byte) error {
	var j objectJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	if j.Class < 0 || j.Class >= NumClasses {
		return fmt.Errorf("class %d outside [0,%d)", j.Class, NumClasses)
	}
	if j.Label != "" && j.Label != ClassNames[j.Class] {
		return fmt.Errorf("label %q does not match class %d (%s)", j.Label, j.Class, ClassNames[j.Class])
	}
	*o = Object{Box: j.Box, Class: j.Class}
	if j.Item != nil {
		if *j.Item < 0 {
			return fmt.Errorf("item %d is negative", *j.Item)
		}
		o.Item, o.HasItem = *j.Item, true
	}
	return nil
}

// Truth is the ground truth of one scene image, one JSON line in a truth
// file.
type Truth struct {
	Image string `json:"image"`
	// Photo is the file name of the photograph the scene was painted on,
	// empty for synthetic clutter (and in truth written before scenes
	// recorded it); eval detect --by-photo groups scenes by it.
	Photo   string   `json:"photo,omitempty"`
	Width   int      `json:"width"`
	Height  int      `json:"height"`
	Objects []Object `json:"objects"`
}

// MakeScene makes a w×h greyscale scene: photo resized (keeping its aspect
// ratio, slightly zoomed at random) and cropped to fill the frame, with
// nItems Fashion-MNIST items from items pasted on it at scales 1× to 3×
// (28 to 84 px), with no two boxes overlapping or touching. About a third
// of the items (round(nItems/3), at least one) are dresses if items has
// any. Items that do not fit are left out, so truth can be shorter than
// nItems. A nil photo gives a synthetic clutter background; w or h outside
// [1, MaxSceneSide] gives an empty image. rng drives every choice.
func MakeScene(rng *rand.Rand, items *Set, photo image.Image, w, h int, nItems int) (img *image.Gray, truth []Object) {
	plan := planScene(rng, items, photo, w, h, nItems)
	return plan.paint(nil), plan.truth
}

// scenePlan is a scene with every random choice made and nothing painted
// yet, so that a caller reading only some pixels paints only those:
// painting draws nothing from the rng, and a pixel's value does not depend
// on which others are painted.
type scenePlan struct {
	w, h int
	// The photograph's view (fillPhoto's arguments), or nil photo and a
	// canvas already filled with clutter, whose painting draws from rng.
	photo        *image.Gray
	ox, oy, step float64
	flipPhoto    bool
	clutter      *canvas
	pastes       []paste
	truth        []Object
}

// paste is one item composited onto the scene (canvas.paste's arguments).
type paste struct {
	item          []uint8
	rows, cols    int
	cx, cy, scale float64
	flip          bool
	gain          float64
}

// planScene makes MakeScene's choices, in MakeScene's order.
func planScene(rng *rand.Rand, items *Set, photo image.Image, w, h int, nItems int) scenePlan {
	if w < 1 || h < 1 || w > MaxSceneSide || h > MaxSceneSide {
		return scenePlan{}
	}
	plan := scenePlan{w: w, h: h}
	if photo != nil && photo.Bounds().Dx() > 0 && photo.Bounds().Dy() > 0 {
		plan.photo = Gray(photo)
	}
	if g := plan.photo; g != nil {
		pw, ph := float64(g.Rect.Dx()), float64(g.Rect.Dy())
		// step is photo pixels per scene pixel
		plan.step = min(pw/float64(w), ph/float64(h)) / uniform(rng, 1, 1.25)
		plan.ox = uniform(rng, 0, pw-plan.step*float64(w))
		plan.oy = uniform(rng, 0, ph-plan.step*float64(h))
		plan.flipPhoto = rng.Intn(2) == 0
	} else {
		plan.clutter = &canvas{pix: make([]float32, w*h), w: w, h: h}
		plan.clutter.fillClutter(rng, 64)
	}

	var dresses, others []int
	if items != nil && items.Rows > 0 && items.Cols > 0 {
		for i := 0; i < min(len(items.Images), len(items.Labels)); i++ {
			if len(items.Images[i]) != items.Rows*items.Cols {
				continue
			}
			if items.Labels[i] == Dress {
				dresses = append(dresses, i)
			} else {
				others = append(others, i)
			}
		}
	}
	if len(dresses)+len(others) == 0 || nItems < 1 {
		return plan
	}
	nItems = min(nItems, 1000)
	nDress := 0
	if len(dresses) > 0 {
		nDress = max(1, int(math.Round(float64(nItems)/3)))
		if len(others) == 0 {
			nDress = nItems
		}
	}
	// Choose all items first, then place the largest first.
	type pick struct{ idx, size int }
	side := max(items.Rows, items.Cols)
	picks := make([]pick, nItems)
	for k := range picks {
		pool := others
		if k < nDress {
			pool = dresses
		}
		size := int(math.Round(float64(Side) * uniform(rng, SceneMinScale, SceneMaxScale)))
		picks[k] = pick{idx: pool[rng.Intn(len(pool))], size: min(size, Side*SceneMaxScale)}
	}
	rng.Shuffle(len(picks), func(i, j int) { picks[i], picks[j] = picks[j], picks[i] })
	sort.SliceStable(picks, func(i, j int) bool { return picks[i].size > picks[j].size })

	for _, p := range picks {
		if p.size > w || p.size > h {
			continue
		}
		for try := 0; try < 200; try++ {
			x := rng.Intn(w - p.size + 1)
			y := rng.Intn(h - p.size + 1)
			box := [4]float64{float64(x), float64(y), float64(x + p.size), float64(y + p.size)}
			if collides(box, plan.truth) {
				continue
			}
			gain := uniform(rng, 0.7, 1.3)
			flip := rng.Intn(2) == 0
			plan.pastes = append(plan.pastes, paste{items.Images[p.idx], items.Rows, items.Cols,
				float64(x) + float64(p.size)/2, float64(y) + float64(p.size)/2,
				float64(p.size) / float64(side), flip, gain})
			plan.truth = append(plan.truth, Object{Box: box, Class: int(items.Labels[p.idx]), Item: p.idx, HasItem: true})
			break
		}
	}
	return plan
}

// paint renders the plan, leaving it as it was. With regions, only the
// photograph's pixels in them are drawn (the rest stay black): the pixels
// inside are those of the whole scene, byte for byte. Items are pasted
// whole.
func (p *scenePlan) paint(regions []image.Rectangle) *image.Gray {
	if p.w == 0 {
		return image.NewGray(image.Rect(0, 0, 0, 0))
	}
	c := &canvas{pix: make([]float32, p.w*p.h), w: p.w, h: p.h}
	if p.clutter != nil {
		copy(c.pix, p.clutter.pix)
	} else {
		full := image.Rect(0, 0, p.w, p.h)
		if regions == nil {
			regions = []image.Rectangle{full}
		}
		for _, r := range regions {
			c.fillPhoto(p.photo, p.ox, p.oy, p.step, p.flipPhoto, r.Intersect(full))
		}
	}
	for _, a := range p.pastes {
		c.paste(a.item, a.rows, a.cols, a.cx, a.cy, a.scale, a.flip, a.gain)
	}
	return c.gray()
}

// collides reports whether box comes closer than sceneGap to any object.
func collides(box [4]float64, objs []Object) bool {
	for _, o := range objs {
		if box[0] < o.Box[2]+sceneGap && o.Box[0] < box[2]+sceneGap &&
			box[1] < o.Box[3]+sceneGap && o.Box[1] < box[3]+sceneGap {
			return true
		}
	}
	return false
}

// WriteTruth writes one JSON line per scene.
func WriteTruth(w io.Writer, scenes []Truth) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	for i, t := range scenes {
		if t.Objects == nil {
			t.Objects = []Object{}
		}
		if err := enc.Encode(t); err != nil {
			return fmt.Errorf("fmnist: write truth: scene %d (%s): %w", i, t.Image, err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("fmnist: write truth: %w", err)
	}
	return nil
}

// maxTruthLine bounds one line of a truth file.
const maxTruthLine = 16 << 20

// ReadTruth reads a truth file written by WriteTruth; name is used in
// error messages. Blank lines are skipped. Every scene needs an image name
// and a positive size, and every box must lie inside the image with
// x1 < x2 and y1 < y2.
func ReadTruth(r io.Reader, name string) ([]Truth, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxTruthLine)
	var out []Truth
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		var t Truth
		dec := json.NewDecoder(strings.NewReader(text))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&t); err != nil {
			return nil, fmt.Errorf("fmnist: %s:%d: %w", name, line, err)
		}
		if dec.More() {
			return nil, fmt.Errorf("fmnist: %s:%d: more than one JSON value on the line", name, line)
		}
		if err := t.check(); err != nil {
			return nil, fmt.Errorf("fmnist: %s:%d: %w", name, line, err)
		}
		out = append(out, t)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("fmnist: %s: a line is longer than %d bytes: %w", name, maxTruthLine, err)
		}
		return nil, fmt.Errorf("fmnist: %s: %w", name, err)
	}
	return out, nil
}

func (t *Truth) check() error {
	if t.Image == "" {
		return fmt.Errorf("no image name")
	}
	if t.Width < 1 || t.Height < 1 || t.Width > MaxSceneSide || t.Height > MaxSceneSide {
		return fmt.Errorf("%s: size %d×%d outside [1,%d]", t.Image, t.Width, t.Height, MaxSceneSide)
	}
	if t.Objects == nil {
		t.Objects = []Object{}
	}
	for i, o := range t.Objects {
		b := o.Box
		if !(b[0] >= 0 && b[1] >= 0 && b[0] < b[2] && b[1] < b[3] &&
			b[2] <= float64(t.Width) && b[3] <= float64(t.Height)) {
			return fmt.Errorf("%s: object %d: box %v not inside the %d×%d image with x1<x2, y1<y2", t.Image, i, b, t.Width, t.Height)
		}
	}
	return nil
}
