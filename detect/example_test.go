package detect_test

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"log"
	"strings"

	"github.com/fc2conv/fc2conv/detect"
	"github.com/fc2conv/fc2conv/models"
	"github.com/fc2conv/fc2conv/nn"
)

// brightSquareNet is a tiny fully convolutional "detector" of bright 8×8
// squares: one 8×8 convolution of stride 4 and a sigmoid. A real network
// comes from nn.Load and convert.Convert.
func brightSquareNet() *nn.Network {
	conv := nn.NewConv2D("conv", 1, 1, nn.Pair{H: 8, W: 8}, nn.Pair{H: 4, W: 4}, nn.Pair{})
	for i := range conv.Weight.Data {
		conv.Weight.Data[i] = 1
	}
	conv.Bias.Data[0] = -16
	return &nn.Network{
		Input:  nn.InputSpec{Channels: 1, Height: 8, Width: 8, Mean: []float32{0.5}, Std: []float32{1}},
		Layers: []nn.Layer{conv, nn.NewSigmoid("sigmoid")},
	}
}

// A complete detect program: the dress model embedded in the models
// package, one of the committed sample scenes, and the boxes found.
// detect.Open("model.safetensors", opt) takes a model file instead, FC or
// converted.
func Example() {
	net, err := models.DressFCN()
	if err != nil {
		log.Fatal(err)
	}
	// The zero Options mean the defaults; this scan looks for objects
	// 60 to 100 px tall only, which saves time.
	d, err := detect.New(net, detect.Options{MinSize: 60, MaxSize: 100})
	if err != nil {
		log.Fatal(err)
	}
	img, err := detect.LoadImage("../testdata/samples/scene_001.png")
	if err != nil {
		log.Fatal(err)
	}
	res, err := d.Detect(img)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%d×%d image, threshold %g\n", res.Width, res.Height, d.Threshold())
	for _, det := range res.Detections {
		b := det.Box
		fmt.Printf("dress at x %.0f–%.0f, y %.0f–%.0f, score %.2f\n", b[0], b[2], b[1], b[3], det.Score)
	}
	// Output:
	// 1024×512 image, threshold 0.8445
	// dress at x 637–708, y 313–384, score 1.00
	// dress at x 751–821, y 250–320, score 0.99
}

func ExampleDetector_Detect() {
	img := image.NewGray(image.Rect(0, 0, 40, 32))
	for y := 20; y < 28; y++ {
		for x := 12; x < 20; x++ {
			img.SetGray(x, y, color.Gray{Y: 255})
		}
	}
	d, err := detect.New(brightSquareNet(), detect.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	res, err := d.Detect(img)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("scales scanned:", len(res.Heatmaps))
	for _, det := range res.Detections {
		fmt.Printf("box %v score %.3f scale %g\n", det.Box, det.Score, det.Scale)
	}
	// Output:
	// scales scanned: 7
	// box [12 20 20 28] score 1.000 scale 1
}

func ExampleDetector_Heatmap() {
	img := image.NewGray(image.Rect(0, 0, 16, 12))
	opt := detect.Options{}
	opt.Step = 2 // windows every 2 pixels instead of the stride 4
	d, err := detect.New(brightSquareNet(), opt)
	if err != nil {
		fmt.Println(err)
		return
	}
	hm, err := d.Heatmap(img, 1)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(hm.Rows, "×", hm.Cols, "cells; cell (1,2) is window", hm.Box(1, 2))
	// Output:
	// 3 × 5 cells; cell (1,2) is window [4 2 12 10]
}

func ExampleScales() {
	g := nn.Geometry{Stride: nn.Pair{H: 32, W: 32}, Window: nn.Pair{H: 128, W: 64}}
	fmt.Println(detect.Scales(200, 300, g, 1.5, false))
	// Output:
	// [1 0.6666666666666666 0.4444444444444444]
}

func ExampleWriteNPY() {
	var buf bytes.Buffer
	if err := detect.WriteNPY(&buf, 2, 2, []float32{0, 0.25, 0.5, 1}); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%q\n", strings.TrimSpace(buf.String()[10:128]))
	fmt.Println(buf.Len(), "bytes: 128 of header (padded to 64-byte lines), 16 of data")
	// Output:
	// "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }"
	// 144 bytes: 128 of header (padded to 64-byte lines), 16 of data
}

func ExampleAveragePrecision() {
	truth := [][][4]float64{{{0, 0, 10, 10}}, {{5, 5, 15, 15}}}
	dets := [][]detect.ScoredBox{
		{{Box: [4]float64{1, 0, 11, 10}, Score: 0.9}},   // IoU 0.82: a hit
		{{Box: [4]float64{30, 30, 40, 40}, Score: 0.8}}, // a miss
	}
	ap, err := detect.AveragePrecision(dets, truth, 0.5)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("AP@0.5 = %.4f\n", ap) // 51 of 101 recall points at precision 1
	// Output:
	// AP@0.5 = 0.5050
}

func ExampleRenderOverlay() {
	img := image.NewGray(image.Rect(0, 0, 24, 16))
	d, err := detect.New(brightSquareNet(), detect.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	hm, err := d.Heatmap(img, 1)
	if err != nil {
		fmt.Println(err)
		return
	}
	out := detect.RenderOverlay(img, hm, nil) // encode with image/png to save
	fmt.Println(out.Bounds().Dx(), "×", out.Bounds().Dy(), "with the colour bar")
	// Output:
	// 68 × 64 with the colour bar
}

func ExamplePreprocess() {
	img := image.NewGray(image.Rect(0, 0, 3, 1))
	img.Pix = []uint8{0, 51, 255}
	spec := nn.InputSpec{Channels: 1, Height: 1, Width: 1, Mean: []float32{0.5}, Std: []float32{0.5}}
	x, shape, err := detect.Preprocess(img, spec)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%v %.3f\n", shape, x)
	// Output:
	// 1×1×3 [-1.000 -0.600 1.000]
}
