package backprop

import (
	"math"
	"math/rand"
	"slices"
	"testing"

	"github.com/fc2conv/fc2conv/nn"
	"github.com/fc2conv/fc2conv/nn/kernels"
	"github.com/stretchr/testify/require"
)

// refForward and refBackward are the batch norm's passes one channel at a
// time, as training ran them before channels were summed in groups: the
// grouped passes must give every value to the bit, so that a verifier
// trained before them rebuilds byte for byte.
func refForward(bn *batchNorm, batch int, momentum float32, in, out []float32) {
	count := float64(batch * bn.hw)
	l := bn.l
	for c := range bn.c {
		var sum, sq float64
		for s := range batch {
			for _, x := range in[(s*bn.c+c)*bn.hw : (s*bn.c+c+1)*bn.hw] {
				sum += float64(x)
			}
		}
		mean := sum / count
		for s := range batch {
			for _, x := range in[(s*bn.c+c)*bn.hw : (s*bn.c+c+1)*bn.hw] {
				d := float64(x) - mean
				sq += d * d
			}
		}
		variance := sq / count
		inv := 1 / math.Sqrt(variance+l.Eps)
		bn.mean[c], bn.invStd[c] = mean, inv
		scale := float64(l.Gamma.Data[c]) * inv
		shift := float64(l.Beta.Data[c]) - mean*scale
		for s := range batch {
			o := (s*bn.c + c) * bn.hw
			for i, x := range in[o : o+bn.hw] {
				out[o+i] = float32(float64(x)*scale + shift)
			}
		}
		unbiased := variance * count / max(1, count-1)
		l.Mean.Data[c] = (1-momentum)*l.Mean.Data[c] + momentum*float32(mean)
		l.Var.Data[c] = (1-momentum)*l.Var.Data[c] + momentum*float32(unbiased)
	}
}

func refBackward(bn *batchNorm, batch int, in, dout, din []float32) {
	count := float64(batch * bn.hw)
	for c := range bn.c {
		mean, inv := bn.mean[c], bn.invStd[c]
		var dbeta, dgamma float64
		for s := range batch {
			o := (s*bn.c + c) * bn.hw
			for i, g := range dout[o : o+bn.hw] {
				dbeta += float64(g)
				dgamma += float64(g) * (float64(in[o+i]) - mean) * inv
			}
		}
		bn.dgamma[c], bn.dbeta[c] = float32(dgamma), float32(dbeta)
		k := float64(bn.l.Gamma.Data[c]) * inv / count
		for s := range batch {
			o := (s*bn.c + c) * bn.hw
			kernels.BatchNormGrad(din[o:o+bn.hw], in[o:o+bn.hw], dout[o:o+bn.hw], mean, inv, count, dbeta, dgamma, k)
		}
	}
}

func TestBatchNormGroupsAreChannelsToTheBit(t *testing.T) {
	rng := rand.New(rand.NewSource(5))
	fill := func(n int, scale, offset float64) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(rng.NormFloat64()*scale + offset)
		}
		return v
	}
	for _, c := range []int{1, 3, 4, 7, 8, 11} {
		for _, hw := range []int{1, 5, 36} {
			for _, batch := range []int{2, 3, 16} {
				for _, threads := range []int{1, 3} {
					newBN := func() (*Net, *batchNorm) {
						l := nn.NewBatchNorm("bn", c, 1e-5)
						r := rand.New(rand.NewSource(int64(c*1000 + hw)))
						for i := range c {
							l.Gamma.Data[i], l.Beta.Data[i] = float32(0.5+r.Float64()), float32(r.NormFloat64())
							l.Mean.Data[i], l.Var.Data[i] = float32(r.NormFloat64()), float32(0.5+r.Float64())
						}
						net := &Net{batch: batch, threads: threads, momentum: DefaultMomentum}
						bn, err := net.newBatchNorm(l, nn.Shape{C: c, H: 1, W: hw})
						require.NoError(t, err)
						return net, bn
					}
					in := fill(batch*c*hw, 3, 1.5)
					dout := fill(batch*c*hw, 0.01, 0)
					net, got := newBN()
					_, want := newBN()
					gotOut, wantOut := make([]float32, len(in)), make([]float32, len(in))
					got.forward(net, in, gotOut)
					refForward(want, batch, DefaultMomentum, in, wantOut)
					name := []any{"%d channels × %d values, batch %d, %d threads", c, hw, batch, threads}
					require.Equal(t, wantOut, gotOut, name...)
					require.Equal(t, want.mean, got.mean, name...)
					require.Equal(t, want.invStd, got.invStd, name...)
					require.Equal(t, want.l.Mean.Data, got.l.Mean.Data, name...)
					require.Equal(t, want.l.Var.Data, got.l.Var.Data, name...)

					gotDin, wantDin := make([]float32, len(in)), make([]float32, len(in))
					got.backward(net, in, gotOut, dout, gotDin)
					refBackward(want, batch, in, dout, wantDin)
					require.Equal(t, want.dgamma, got.dgamma, name...)
					require.Equal(t, want.dbeta, got.dbeta, name...)
					require.Equal(t, wantDin, gotDin, name...)
					require.False(t, slices.Equal(gotDin, make([]float32, len(in))), name...)
				}
			}
		}
	}
}
