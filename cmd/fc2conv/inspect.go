package main

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/fc2conv/fc2conv/convert"
	"github.com/fc2conv/fc2conv/nn"
	"github.com/fc2conv/fc2conv/scan"
)

func runInspect(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("inspect", "[MODEL.safetensors|MODEL.onnx]",
		"Prints MODEL's layers (default: the embedded dress model) with each one's\n"+
			"output shape on the trained window, parameters and FLOPs, then the totals and\n"+
			"the geometry: window, stride, receptive field, padding reach, the labels,\n"+
			"positive class, threshold and pixel scaling. MODEL may be FC or converted, an\n"+
			"ensemble, or an ONNX classifier (give its scaling with --mean and --std). It\n"+
			"also prints the heatmap grid and the FLOPs of a --size image, for an FC model\n"+
			"once converted. Nothing is run: the counts come from the shapes and weights.\n"+
			"Parameters are the stored weight values (batch-norm statistics included);\n"+
			"FLOPs count two per multiply-add of the conv and dense products as the engine\n"+
			"computes them ('fc2conv bench' counts the same), so a merged ensemble's zero\n"+
			"blocks are not counted.", stderr)
	size := fs.String("size", "1024x512", "example image `WxH` in pixels whose heatmap grid and FLOPs are printed")
	asJSON := fs.Bool("json", false, "print one JSON object instead of the table")
	pre := addONNXFlags(fs, true)
	if code, ok := parse(fs, args); !ok {
		return code
	}
	usageErr := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "fc2conv inspect: "+format+"\n", a...)
		return exitUsage
	}
	w, h, err := modelAndSize(fs, *size)
	if err != nil {
		return usageErr("%v", err)
	}
	path := fs.Arg(0)
	opt, err := pre.options(fs, path)
	if err != nil {
		return usageErr("%v", err)
	}
	net, b, err := readModelOrEmbedded(path, opt)
	if err != nil {
		fmt.Fprintf(stderr, "fc2conv inspect: %v\n", err)
		return exitFail
	}
	model := modelRecord(path, b)
	if path == "" {
		path = model.Name
	}
	rep, err := inspectModel(net, model, w, h)
	if err != nil {
		fmt.Fprintf(stderr, "fc2conv inspect: %s: %v\n", path, err)
		return exitFail
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			fmt.Fprintf(stderr, "fc2conv inspect: %v\n", err)
			return exitFail
		}
		return exitOK
	}
	printInspect(stdout, rep)
	return exitOK
}

// inspection is what inspect prints; its JSON is --json's output.
type inspection struct {
	Model     string         `json:"model"`
	SHA256    string         `json:"sha256"`
	Converted bool           `json:"converted"`
	Input     inspectInput   `json:"input"`
	Layers    []inspectLayer `json:"layers"`
	Params    int64          `json:"params"`
	FLOPs     int64          `json:"flops_per_window"`
	Geometry  inspectGeom    `json:"geometry"`
	Labels    []string       `json:"labels"`
	Positive  int            `json:"positive"`
	Threshold float64        `json:"threshold"` // 0: none chosen
	// Views and ViewPool are how a detector shows it, as its verifier,
	// each box (nn.Network.Views, ViewPool); omitted when none are stored.
	Views    int    `json:"views,omitempty"`
	ViewPool string `json:"view_pool,omitempty"`
	// Image is the heatmap of the example image: the model's own for a
	// converted model, its converted form's for an FC one; absent when the
	// FC model does not convert.
	Image *inspectImage `json:"image,omitempty"`
	// NoImage says why Image is absent.
	NoImage string `json:"no_image,omitempty"`
}

type inspectInput struct {
	Channels int       `json:"channels"`
	Height   int       `json:"height"`
	Width    int       `json:"width"`
	Mean     []float32 `json:"mean"`
	Std      []float32 `json:"std"`
	Context  float64   `json:"context,omitempty"`
}

type inspectLayer struct {
	Name   string `json:"name"`
	Kind   string `json:"kind"`
	Config string `json:"config"`
	Output [3]int `json:"output"` // C, H, W on the window
	Params int64  `json:"params"`
	FLOPs  int64  `json:"flops"`
}

type inspectGeom struct {
	Window nn.Pair `json:"window"`
	Stride nn.Pair `json:"stride"`
	Field  nn.Pair `json:"receptive_field"`
	Reach  nn.Pair `json:"padding_reach"`
	Padded bool    `json:"padded"`
}

type inspectImage struct {
	Width       int   `json:"width"`
	Height      int   `json:"height"`
	Rows        int   `json:"rows"`
	Cols        int   `json:"cols"`
	FLOPs       int64 `json:"flops"`
	PerPosition int64 `json:"flops_per_position"`
}

// inspectModel describes net; the example image is w×h pixels.
func inspectModel(net *nn.Network, model scan.Model, w, h int) (*inspection, error) {
	win := net.Input.Window()
	shapes, err := net.Shapes(win)
	if err != nil {
		return nil, err
	}
	costs, err := nn.NewEngine(net).Costs(win)
	if err != nil {
		return nil, err
	}
	// A step's FLOPs are its first layer's: the layers fused into a
	// convolution (ReLU, pool) have no products of their own.
	flops := map[string]int64{}
	for _, c := range costs {
		flops[c.Layer.Name()] = c.FLOPs
	}
	g, err := net.Geometry()
	if err != nil {
		return nil, err
	}
	in := net.Input
	r := &inspection{
		Model: model.Name, SHA256: model.SHA256, Converted: net.IsFullyConvolutional(),
		Input:    inspectInput{in.Channels, in.Height, in.Width, in.Mean, in.Std, in.Context},
		Geometry: inspectGeom{g.Window, g.Stride, g.Field, g.Reach, g.Padded},
		Labels:   append([]string{}, net.Labels...), // [] rather than null in --json
		Positive: net.Positive, Threshold: net.Threshold,
		Views: net.Views, ViewPool: net.ViewPool,
	}
	for i, l := range net.Layers {
		var params int64
		for _, p := range l.Params() {
			n := int64(1)
			for _, d := range p.Shape {
				n *= int64(d)
			}
			params += n
		}
		s := shapes[i+1]
		r.Layers = append(r.Layers, inspectLayer{l.Name(), string(l.Kind()), l.String(), [3]int{s.C, s.H, s.W}, params, flops[l.Name()]})
		r.Params += params
		r.FLOPs += flops[l.Name()]
	}
	fcn := net
	if !r.Converted {
		res, err := convert.Convert(net)
		if err != nil {
			r.NoImage = fmt.Sprintf("does not convert: %v", err)
			return r, nil
		}
		fcn = res.Network
	}
	img := nn.Shape{C: in.Channels, H: h, W: w}
	if costs, err = nn.NewEngine(fcn).Costs(img); err != nil {
		return nil, fmt.Errorf("--size %dx%d: %w", w, h, err)
	}
	out := costs[len(costs)-1].Out
	im := &inspectImage{Width: w, Height: h, Rows: out.H, Cols: out.W}
	for _, c := range costs {
		im.FLOPs += c.FLOPs
	}
	im.PerPosition = im.FLOPs / int64(out.H*out.W)
	r.Image = im
	return r, nil
}

func printInspect(w io.Writer, r *inspection) {
	form := "FC classifier"
	if r.Converted {
		form = "fully convolutional (converted)"
	}
	fmt.Fprintf(w, "model %s (sha256 %s…): %s, %d layers\n", r.Model, r.SHA256, form, len(r.Layers))
	colour := map[int]string{1: "grey", 3: "RGB"}[r.Input.Channels]
	fmt.Fprintf(w, "input %d×%d×%d (C×H×W", r.Input.Channels, r.Input.Height, r.Input.Width)
	if colour != "" {
		fmt.Fprintf(w, ", %s", colour)
	}
	fmt.Fprintf(w, "), pixels in [0,1] then mean %v, std %v\n", r.Input.Mean, r.Input.Std)
	if r.Input.Context > 1 {
		fmt.Fprintf(w, "context %g: the window shows the box it frames and its surroundings, %g times its side\n", r.Input.Context, r.Input.Context)
	}
	fmt.Fprintln(w)

	rows := [][]string{{"layer", "kind", "output", "params", "FLOPs", "configuration"}}
	for _, l := range r.Layers {
		rows = append(rows, []string{l.Name, l.Kind, fmt.Sprintf("%d×%d×%d", l.Output[0], l.Output[1], l.Output[2]),
			thousands(l.Params), thousands(l.FLOPs), l.Config})
	}
	rows = append(rows, []string{"total", "", "", thousands(r.Params), thousands(r.FLOPs), ""})
	printColumns(w, rows, []bool{false, false, true, true, true, false})

	g := r.Geometry
	fmt.Fprintf(w, "\n%s parameters; %s FLOPs per %v window (%s)\n", thousands(r.Params), thousands(r.FLOPs), g.Window, humanFLOPs(r.FLOPs))
	stride := "stride"
	if !r.Converted {
		stride = "stride once converted"
	}
	fmt.Fprintf(w, "geometry: window %v, %s %v, receptive field %v, padding reach %v, padded %t\n", g.Window, stride, g.Stride, g.Field, g.Reach, g.Padded)
	labels := "(none)"
	if len(r.Labels) > 0 {
		labels = strings.Join(r.Labels, ", ")
	}
	positive := strconv.Itoa(r.Positive)
	if r.Positive < len(r.Labels) {
		positive += " (" + r.Labels[r.Positive] + ")"
	}
	threshold := "none chosen"
	if r.Threshold > 0 {
		threshold = strconv.FormatFloat(r.Threshold, 'g', -1, 64)
	}
	fmt.Fprintf(w, "labels: %s; positive class %s; threshold %s\n", labels, positive, threshold)
	if r.Views != 0 || r.ViewPool != "" {
		fmt.Fprintf(w, "as a verifier: %d views of each box, pooled by %s (chosen with the threshold)\n", max(r.Views, 1), cmp.Or(r.ViewPool, "mean"))
	}
	if r.Image == nil {
		fmt.Fprintf(w, "converted form: none, the model %s\n", r.NoImage)
		return
	}
	im := r.Image
	which := "on"
	if !r.Converted {
		which = "once converted ('fc2conv convert'), on"
	}
	fmt.Fprintf(w, "%s a %d×%d image: heatmap %d×%d (rows×cols), %s FLOPs (%s), %s per position\n",
		which, im.Width, im.Height, im.Rows, im.Cols, thousands(im.FLOPs), humanFLOPs(im.FLOPs), humanFLOPs(im.PerPosition))
}

// printColumns prints rows as aligned columns, right-aligned where right
// says so (the numbers).
func printColumns(w io.Writer, rows [][]string, right []bool) {
	width := make([]int, len(right))
	for _, row := range rows {
		for i, c := range row {
			width[i] = max(width[i], len([]rune(c)))
		}
	}
	for _, row := range rows {
		var b strings.Builder
		for i, c := range row {
			pad := strings.Repeat(" ", width[i]-len([]rune(c)))
			if i > 0 {
				b.WriteString("  ")
			}
			if right[i] {
				b.WriteString(pad + c)
			} else if i < len(row)-1 {
				b.WriteString(c + pad)
			} else {
				b.WriteString(c)
			}
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
}

// thousands writes n with commas between groups of three digits.
func thousands(n int64) string {
	if n < 0 {
		return "-" + thousands(-n)
	}
	s := strconv.FormatInt(n, 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// humanFLOPs is n in kFLOP, MFLOP or GFLOP with three significant digits.
func humanFLOPs(n int64) string {
	f := float64(n)
	for _, u := range []struct {
		div  float64
		name string
	}{{1e12, "TFLOP"}, {1e9, "GFLOP"}, {1e6, "MFLOP"}, {1e3, "kFLOP"}} {
		if f >= u.div {
			return strconv.FormatFloat(f/u.div, 'g', 3, 64) + " " + u.name
		}
	}
	return strconv.FormatInt(n, 10) + " FLOP"
}
