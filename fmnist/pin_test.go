package fmnist_test

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"math"
	"testing"

	"github.com/fc2conv/fc2conv/fmnist"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sampleHash draws n samples with seed and returns a SHA-256 of their
// labels and float bits, after adding two mined negatives and positives.
func sampleHash(t *testing.T, cfg fmnist.SamplerConfig, seed int64, n int) string {
	t.Helper()
	s, err := fmnist.NewSamplerWith(loadTiny(t, "train"), trainPhotos(t), seed, cfg)
	require.NoError(t, err)
	for k := 0; k < 2; k++ {
		p := make([]float32, fmnist.PatchLen)
		for i := range p {
			p[i] = float32((i*(k+3))%29) / 28
		}
		require.NoError(t, s.AddNegative(p))
		require.NoError(t, s.AddPositive(p[:fmnist.PatchLen]))
	}
	h := sha256.New()
	p := make([]float32, fmnist.PatchLen)
	var b [4]byte
	for i := 0; i < n; i++ {
		binary.LittleEndian.PutUint32(b[:], uint32(int32(s.Sample(p))))
		h.Write(b[:])
		for _, v := range p {
			binary.LittleEndian.PutUint32(b[:], math.Float32bits(v))
			h.Write(b[:])
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// TestSamplerPinned pins the sample stream of fixed seeds, so a change of
// the configuration's layout cannot change what training sees. The
// hashes were recorded before SamplerConfig was split into parts.
func TestSamplerPinned(t *testing.T) {
	all := fmnist.DefaultSamplerConfig()
	all.Mined.Negative, all.Mined.Positive = 0.4, 0.3
	all.Background.Leaves, all.Background.Print, all.Background.PrintBlocky, all.Background.PhotoVary, all.Background.Scene = 0.3, 0.2, 0.5, 0.4, 0.6
	all.Place.OffCentreIoU, all.Place.ScaleIoU = 0.4, 0.45
	trainMix := fmnist.DefaultSamplerConfig()
	trainMix.Mix.Positive = 0.3
	trainMix.Background.Black, trainMix.Background.Photo = 0.25, 0.6
	trainMix.Background.Scene, trainMix.Mined.Positive = 0.7, 0.3
	trainMix.Mix.NegOther, trainMix.Mix.NegBackground, trainMix.Mix.NegOffCentre, trainMix.Mix.NegScale = 0.6, 0.15, 0.15, 0.1
	crops := fmnist.DefaultSamplerConfig()
	crops.Mix.SceneCrop = 0.7
	for _, c := range []struct {
		name string
		cfg  fmnist.SamplerConfig
		want string
	}{
		{"default", fmnist.DefaultSamplerConfig(), "da13a6a634e718d6"},
		{"every option on", all, "b1ed9e49ca3a1fd1"},
		{"train's mix", trainMix, "c71259996850a513"},
		{"scene crops", crops, "247179386304b208"}, // recorded before Crops.Confusable
	} {
		assert.Equal(t, c.want, sampleHash(t, c.cfg, 17, 300), c.name)
	}
}
