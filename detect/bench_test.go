package detect_test

import (
	"math/rand"
	"testing"

	"github.com/fc2conv/fc2conv/detect"
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
