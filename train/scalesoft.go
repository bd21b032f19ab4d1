package train

import (
	"math"

	"github.com/fc2conv/fc2conv/detect"
	"github.com/fc2conv/fc2conv/fmnist"
)

// dressLabel and noDressLabel are the output of a model with that many
// classes for a dress and for a window without one.
func dressLabel(classes int) int {
	if classes == 2 {
		return 1
	}
	return fmnist.Dress
}

func noDressLabel(classes int) int {
	if classes == 2 {
		return 0
	}
	return fmnist.NoItem
}

// dressTarget is the share of a dress's target that ScaleSoft leaves it
// when it is painted at scale (see Config.ScaleSoft).
func (c Config) dressTarget(scale float64) float64 {
	half := math.Sqrt(detect.DefaultScaleFactor)
	var from, to float64 // log distances past the half step: this dress's, and the range's end
	switch {
	case scale > half:
		from, to = math.Log(scale/half), math.Log(c.Sampler.Place.ScaleMax/half)
	case scale < 1/half:
		from, to = math.Log(1/(half*scale)), math.Log(1/(half*c.Sampler.Place.ScaleMin))
	}
	if from <= 0 || to <= 0 {
		return 1
	}
	return 1 - c.ScaleSoft*min(1, from/to)
}

// soften moves 1−keep of the target mass of class from onto class to.
func soften(dst []float32, from, to int, keep float64) {
	moved := dst[from] * float32(1-keep)
	dst[from] -= moved
	dst[to] += moved
}
