package nn_test

import (
	"math"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fc2conv/fc2conv/nn"
)

// The activations ONNX models bring, on hand-computed values: one 1×1 conv
// with weight 1 passes the input through, then the activation runs on
// 2 channels × 3 positions.
func TestActivations(t *testing.T) {
	in := []float32{-2, 0.5, 7, 1, -1, 0}
	for _, c := range []struct {
		l    nn.Layer
		want []float32
	}{
		{nn.NewLeakyReLU("a", 0.1), []float32{-0.2, 0.5, 7, 1, -0.1, 0}},
		{nn.NewClip("a", 0, 6), []float32{0, 0.5, 6, 1, 0, 0}},
		// e^-2 = 0.1353352832, e^-1 = 0.3678794412; tanh 0.5 = 0.4621171573,
		// tanh 1 = 0.7615941560, tanh 2 = 0.9640275801, tanh 7 = 0.9999983369.
		{nn.NewELU("a", 0.5), []float32{0.5 * (0.1353352832 - 1), 0.5, 7, 1, 0.5 * (0.3678794412 - 1), 0}},
		{prelu(0.25, -0.5), []float32{-0.5, 0.5, 7, 1, 0.5, 0}},
		{prelu(0.1), []float32{-0.2, 0.5, 7, 1, -0.1, 0}},
		// x·sigmoid(x): 1/(1+e^2) = 0.1192029220, 1/(1+e^-0.5) = 0.6224593312,
		// 1/(1+e^-7) = 0.9990889488, 1/(1+e^-1) = 0.7310585786.
		{nn.NewSiLU("a"), []float32{-2 * 0.1192029220, 0.5 * 0.6224593312, 7 * 0.9990889488, 0.7310585786, -(1 - 0.7310585786), 0}},
		{nn.NewTanh("a"), []float32{-0.9640275801, 0.4621171573, 0.9999983369, 0.7615941560, -0.7615941560, 0}},
		// Values from PyTorch in float64 (torch.nn.functional's gelu,
		// hardswish, softplus, mish; clamp(0.2·x + 0.5, 0, 1)).
		{nn.NewUnary("a", nn.KindGELU), []float32{-0.0455002639, 0.3457312306, 7.0, 0.8413447461, -0.1586552539, 0}},
		{nn.NewUnary("a", nn.KindHardSwish), []float32{-0.3333333333, 0.2916666667, 7.0, 0.6666666667, -0.3333333333, 0}},
		{nn.NewUnary("a", nn.KindSoftplus), []float32{0.126928011, 0.9740769842, 7.0009114665, 1.3132616875, 0.3132616875, 0.6931471806}},
		{nn.NewUnary("a", nn.KindMish), []float32{-0.2525014827, 0.3752452113, 6.9999883798, 0.8650983883, -0.3034014614, 0}},
		{nn.NewHardSigmoid("a", 0.2, 0.5), []float32{0.1, 0.6, 1, 0.7, 0.3, 0.5}},
		// Channels (-2, 1), (0.5, -1), (7, 0) at the three positions.
		{nn.NewLogSoftmax("a"), []float32{
			-3 - float32(math.Log1p(math.Exp(-3))), -float32(math.Log1p(math.Exp(-1.5))), -float32(math.Log1p(math.Exp(-7))),
			-float32(math.Log1p(math.Exp(-3))), -1.5 - float32(math.Log1p(math.Exp(-1.5))), -7 - float32(math.Log1p(math.Exp(-7)))}},
	} {
		conv := nn.NewConv2D("id", 2, 2, nn.Pair{H: 1, W: 1}, nn.Pair{H: 1, W: 1}, nn.Pair{})
		conv.Weight.Data[0], conv.Weight.Data[3] = 1, 1
		net := &nn.Network{
			Input:  nn.InputSpec{Channels: 2, Height: 1, Width: 1, Mean: []float32{0, 0}, Std: []float32{1, 1}},
			Layers: []nn.Layer{conv, c.l},
		}
		require.NoError(t, net.Validate())
		got, _, err := nn.NewEngine(net).Forward(append([]float32(nil), in...), nn.Shape{C: 2, H: 1, W: 3})
		require.NoError(t, err)
		assert.InDeltaSlice(t, c.want, got, 1e-6, "%s", c.l)
	}
	for _, bad := range []nn.Layer{nn.NewClip("c", 6, 0), nn.NewClip("c", 0, math.Inf(1)), nn.NewLeakyReLU("l", math.NaN()), nn.NewELU("e", math.Inf(-1)), nn.NewPReLU("p", 3),
		nn.NewUnary("u", nn.KindReLU), nn.NewHardSigmoid("h", math.NaN(), 0.5)} {
		net := &nn.Network{
			Input:  nn.InputSpec{Channels: 1, Height: 1, Width: 1, Mean: []float32{0}, Std: []float32{1}},
			Layers: []nn.Layer{bad},
		}
		assert.ErrorIs(t, net.Validate(), nn.ErrInvalid, "%s", bad)
	}
}

// prelu is a PReLU with these slopes (one: shared by every channel).
func prelu(slopes ...float32) *nn.PReLU {
	l := nn.NewPReLU("a", len(slopes))
	copy(l.Slope.Data, slopes)
	return l
}

// The activations ONNX brings survive the model file: configuration and
// weights (PReLU's slopes) come back, and so do the outputs.
func TestActivationsModelFile(t *testing.T) {
	conv := nn.NewConv2D("conv", 2, 3, nn.Pair{H: 1, W: 1}, nn.Pair{H: 1, W: 1}, nn.Pair{})
	for i := range conv.Weight.Data {
		conv.Weight.Data[i] = float32(i%4) - 1.5
	}
	net := &nn.Network{
		Input:  nn.InputSpec{Channels: 2, Height: 1, Width: 1, Mean: []float32{0, 0}, Std: []float32{1, 1}},
		Layers: []nn.Layer{conv, prelu(0.1, 0.2, 0.3), nn.NewELU("elu", 0.5), nn.NewTanh("tanh")},
	}
	net.Layers[1].(*nn.PReLU).LayerName = "prelu"
	path := filepath.Join(t.TempDir(), "act.safetensors")
	require.NoError(t, net.Save(path))
	back, err := nn.Load(path)
	require.NoError(t, err)
	require.Len(t, back.Layers, 4)
	assert.Equal(t, []float32{0.1, 0.2, 0.3}, back.Layers[1].(*nn.PReLU).Slope.Data)
	assert.Equal(t, 0.5, back.Layers[2].(*nn.ELU).Alpha)
	in := []float32{1, -2, 0.5, 3}
	want, _, err := nn.NewEngine(net).Forward(append([]float32(nil), in...), nn.Shape{C: 2, H: 1, W: 2})
	require.NoError(t, err)
	got, _, err := nn.NewEngine(back).Forward(append([]float32(nil), in...), nn.Shape{C: 2, H: 1, W: 2})
	require.NoError(t, err)
	assert.Equal(t, want, got)
}

// Softplus and Mish stay finite where eˣ overflows, and GELU keeps its
// tiny negative tail instead of cancelling it.
func TestUnaryExtremes(t *testing.T) {
	in := []float32{1000, -1000, -10}
	for _, c := range []struct {
		kind nn.Kind
		want []float32
	}{
		{nn.KindSoftplus, []float32{1000, 0, 4.539889921686465e-05}},
		{nn.KindMish, []float32{1000, 0, -4.5398899185674697e-04}},
		// 0.5·(−10)·erfc(10/√2) by Python's math.erfc (PyTorch's float64 gelu
		// cancels it to −0: 0.5·x·(1 + erf(x/√2))).
		{nn.KindGELU, []float32{1000, 0, -7.619853024160593e-23}},
	} {
		net := &nn.Network{Layers: []nn.Layer{nn.NewUnary("u", c.kind)}}
		got, _, err := nn.NewEngine(net).Forward(append([]float32(nil), in...), nn.Shape{C: 1, H: 1, W: 3})
		require.NoError(t, err)
		for i := range got {
			assert.InEpsilon(t, c.want[i]+1e-30, got[i]+1e-30, 1e-5, "%s(%v)", c.kind, in[i])
		}
	}
}
