package detect_test

import (
	"fmt"
	"math/rand"
	"path/filepath"
	"testing"

	"github.com/fc2conv/fc2conv/detect"
	"github.com/fc2conv/fc2conv/models"
)

// BenchmarkHeatmap scans a 256×256 image at one scale at full stride and
// at step 1 (16 shifted runs).
func BenchmarkHeatmap(b *testing.B) {
	rng := rand.New(rand.NewSource(1))
	net := unpaddedFCN(b, rng)
	img := randomImage(rng, 256, 256)
	for _, step := range []int{0, 1} {
		opt := detect.Options{}
		opt.Step = step
		d, err := detect.New(net, opt)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(map[int]string{0: "stride", 1: "step1"}[step], func(b *testing.B) {
			for b.Loop() {
				if _, err := d.Heatmap(img, 1); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkDetect(b *testing.B) {
	rng := rand.New(rand.NewSource(2))
	d, err := detect.New(unpaddedFCN(b, rng), detect.Options{})
	if err != nil {
		b.Fatal(err)
	}
	img := randomImage(rng, 320, 240)
	for b.Loop() {
		if _, err := d.Detect(img); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDetectScene is the product's main job: one 1024×512 scene with
// the embedded model and the default options (the 1.25 pyramid, mirror
// averaging, NMS and voting), with allocations reported.
func BenchmarkDetectScene(b *testing.B) {
	net, err := models.DressFCN()
	if err != nil {
		b.Fatal(err)
	}
	img, err := detect.LoadImage(filepath.Join("..", "testdata", "samples", "scene_000.png"))
	if err != nil {
		b.Fatal(err)
	}
	d, err := detect.New(net, detect.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := d.Detect(img); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyScene is the second stage on one scene's boxes: the
// embedded verifier's p of each box BenchmarkDetectScene's scan reports
// at threshold 0.1, with one view and with 27 (their least).
func BenchmarkVerifyScene(b *testing.B) {
	net, err := models.DressFCN()
	if err != nil {
		b.Fatal(err)
	}
	ver, err := models.Verifier()
	if err != nil {
		b.Fatal(err)
	}
	img, err := detect.LoadImage(filepath.Join("..", "testdata", "samples", "scene_000.png"))
	if err != nil {
		b.Fatal(err)
	}
	d, err := detect.New(net, detect.Options{Threshold: 0.1})
	if err != nil {
		b.Fatal(err)
	}
	res, err := d.Detect(img)
	if err != nil {
		b.Fatal(err)
	}
	boxes := make([][4]float64, len(res.Detections))
	for i, det := range res.Detections {
		boxes[i] = det.Box
	}
	for _, views := range []int{1, 27} {
		opt := detect.Options{Verifier: ver, VerifierViews: views, VerifierPool: detect.PoolMean}
		if views > 1 {
			opt.VerifierPool = detect.PoolMin
		}
		v, err := detect.NewBoxVerifier(opt)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("views%d", views), func(b *testing.B) {
			for b.Loop() {
				if _, err := v.Scores(img, boxes); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(boxes)), "boxes")
		})
	}
}
