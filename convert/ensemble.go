package convert

import (
	"errors"
	"fmt"
	"slices"

	"github.com/fc2conv/fc2conv/nn"
)

// ErrIncompatible is returned by Ensemble when the members differ in more
// than their weights.
var ErrIncompatible = errors.New("members are not compatible")

// Ensemble merges networks that differ only in their weights into one
// network whose logits (the input of its final sigmoid or softmax) are the
// mean of the members' logits. The members run side by side in one forward
// pass: every layer stacks their channels, weighted layers are block
// diagonal, and the last weighted layer averages. The result has the same
// window, stride and outputs as each member, so it converts, verifies and
// scans like any network, at the members' summed cost.
//
// Members may be FC classifiers (flattened channels-first) or fully
// convolutional. Batch norms and dropout are kept per member; the merged
// network takes the first member's names, labels and positive class, and
// no threshold, since the members' thresholds do not carry over.
func Ensemble(members ...*nn.Network) (*nn.Network, error) {
	if len(members) < 2 {
		return nil, fmt.Errorf("convert: ensemble: %d members, want at least 2", len(members))
	}
	for i, m := range members {
		if m == nil {
			return nil, fmt.Errorf("convert: ensemble: member %d is nil", i)
		}
		if err := m.Validate(); err != nil {
			return nil, fmt.Errorf("convert: ensemble: member %d: %w", i, err)
		}
	}
	first := members[0]
	last := lastWeighted(first)
	if last < 0 {
		return nil, fmt.Errorf("convert: ensemble: %w: the network has no weighted layer", ErrIncompatible)
	}
	for _, l := range first.Layers[last+1:] {
		switch l.(type) {
		case *nn.Sigmoid, *nn.Softmax:
		default:
			return nil, fmt.Errorf("convert: ensemble: %w: layer %q (%s) after the last weighted layer %q; only a sigmoid or softmax may follow it",
				ErrIncompatible, l.Name(), l.Kind(), first.Layers[last].Name())
		}
	}
	for i, m := range members[1:] {
		if err := sameStructure(first, m); err != nil {
			return nil, fmt.Errorf("convert: ensemble: member %d vs member 0: %w", i+1, err)
		}
	}

	out := &nn.Network{Input: first.Input, Labels: slices.Clone(first.Labels), Positive: first.Positive}
	out.Input.Mean, out.Input.Std = slices.Clone(first.Input.Mean), slices.Clone(first.Input.Std)
	// stacked is false while every member still sees the same tensor (the
	// input, or layers on it without weights); once a weighted layer has
	// run, each member has its own channels.
	stacked := false
	for i, l := range first.Layers {
		layers := make([]nn.Layer, len(members))
		for m, n := range members {
			layers[m] = n.Layers[i]
		}
		merged, err := mergeLayer(layers, stacked, i == last)
		if err != nil {
			return nil, fmt.Errorf("convert: ensemble: layer %q: %w", l.Name(), err)
		}
		out.Layers = append(out.Layers, merged)
		switch l.(type) {
		case *nn.Conv2D, *nn.Dense:
			stacked = true
		}
	}
	if err := out.Validate(); err != nil {
		return nil, fmt.Errorf("convert: ensemble: merged network: %w", err)
	}
	return out, nil
}

func lastWeighted(n *nn.Network) int {
	for i := len(n.Layers) - 1; i >= 0; i-- {
		switch n.Layers[i].(type) {
		case *nn.Conv2D, *nn.Dense:
			return i
		}
	}
	return -1
}

// sameStructure reports the first difference between a and b other than
// weights.
func sameStructure(a, b *nn.Network) error {
	if a.Input.Channels != b.Input.Channels || a.Input.Height != b.Input.Height || a.Input.Width != b.Input.Width || a.Input.Context != b.Input.Context ||
		!slices.Equal(a.Input.Mean, b.Input.Mean) || !slices.Equal(a.Input.Std, b.Input.Std) {
		return fmt.Errorf("%w: inputs differ (%+v vs %+v)", ErrIncompatible, a.Input, b.Input)
	}
	if a.Positive != b.Positive {
		return fmt.Errorf("%w: positive class %d vs %d", ErrIncompatible, a.Positive, b.Positive)
	}
	if len(a.Layers) != len(b.Layers) {
		return fmt.Errorf("%w: %d vs %d layers", ErrIncompatible, len(a.Layers), len(b.Layers))
	}
	for i, la := range a.Layers {
		lb := b.Layers[i]
		if la.Kind() != lb.Kind() {
			return fmt.Errorf("%w: layer %d is %s %q vs %s %q", ErrIncompatible, i, la.Kind(), la.Name(), lb.Kind(), lb.Name())
		}
		if !nn.SameConfig(la, lb) {
			return fmt.Errorf("%w: layer %d (%s %q) has different settings", ErrIncompatible, i, la.Kind(), la.Name())
		}
	}
	return nil
}

// mergeLayer merges the members' i-th layers. stacked says whether the
// members' inputs are already side by side; final marks the last weighted
// layer, which averages instead of stacking.
func mergeLayer(ls []nn.Layer, stacked, final bool) (nn.Layer, error) {
	n := len(ls)
	switch l := ls[0].(type) {
	case *nn.Conv2D:
		k := l.Kernel.H * l.Kernel.W
		inC, outC := l.InC, l.OutC
		if stacked {
			inC *= n
		}
		if !final {
			outC *= n
		}
		if err := checkMerged(outC, inC*k); err != nil {
			return nil, err
		}
		c := nn.NewConv2D(l.Name(), inC, outC, l.Kernel, l.Stride, l.Padding)
		if l.PaddingEnd != nil {
			end := *l.PaddingEnd
			c.PaddingEnd = &end
		}
		w, b := c.Weight.Data, c.Bias.Data
		for m, lm := range ls {
			src := lm.(*nn.Conv2D)
			sw, sb := src.Weight.Data, src.Bias.Data
			placeBlock(w, b, sw, sb, m, n, l.OutC, l.InC*k, inC*k, stacked, final)
		}
		return c, nil
	case *nn.Dense:
		in, out := l.In, l.Out
		if stacked {
			in *= n
		}
		if !final {
			out *= n
		}
		if err := checkMerged(out, in); err != nil {
			return nil, err
		}
		d := nn.NewDense(l.Name(), in, out)
		w, b := d.Weight.Data, d.Bias.Data
		for m, lm := range ls {
			src := lm.(*nn.Dense)
			placeBlock(w, b, src.Weight.Data, src.Bias.Data, m, n, l.Out, l.In, in, stacked, final)
		}
		return d, nil
	case *nn.BatchNorm:
		if !stacked {
			return nil, fmt.Errorf("%w: a batch norm before the first weighted layer cannot be kept per member", ErrIncompatible)
		}
		bn := nn.NewBatchNorm(l.Name(), l.Features*n, l.Eps)
		for m, lm := range ls {
			src := lm.(*nn.BatchNorm)
			for _, p := range [][2][]float32{
				{bn.Gamma.Data, src.Gamma.Data}, {bn.Beta.Data, src.Beta.Data},
				{bn.Mean.Data, src.Mean.Data}, {bn.Var.Data, src.Var.Data},
			} {
				copy(p[0][m*l.Features:], p[1])
			}
		}
		return bn, nil
	case *nn.Flatten:
		if stacked && l.Order != nn.FlattenCHW {
			// HWC would interleave the members' features.
			return nil, fmt.Errorf("%w: flatten order %s interleaves the members; convert the members first", ErrIncompatible, l.Order)
		}
		return nn.NewFlatten(l.Name(), l.Order), nil
	case *nn.PReLU:
		return mergePReLU(ls, stacked)
	case nn.Block:
		// Side by side, an identity path on the shared input would not
		// match a path that stacks the members' channels.
		return nil, fmt.Errorf("%w: %s %q: members with blocks are not merged (their side-by-side form is not built)", ErrIncompatible, l.Kind(), l.Name())
	}
	// The other kinds have no weights and treat each channel on its own
	// (a softmax may only follow the last weighted layer, which averages),
	// so one copy serves the stacked members.
	return nn.CloneLayer(ls[0]), nil
}

// mergePReLU merges the members' PReLUs: on stacked maps their
// per-channel slopes side by side, on the one map they all still read
// the same slopes. A slope shared by every channel serves the merged map
// only when the members share it too: its channel count is not the
// layer's to know.
func mergePReLU(ls []nn.Layer, stacked bool) (nn.Layer, error) {
	first := ls[0].(*nn.PReLU)
	same := true
	for _, l := range ls[1:] {
		same = same && slices.Equal(l.(*nn.PReLU).Slope.Data, first.Slope.Data)
	}
	switch {
	case same && (!stacked || first.Channels == 1):
		return nn.CloneLayer(first), nil
	case !stacked:
		return nil, fmt.Errorf("%w: prelu %q: the members' slopes differ on the map they all read", ErrIncompatible, first.Name())
	case first.Channels == 1:
		return nil, fmt.Errorf("%w: prelu %q: the members' shared slopes differ; give each one slope per channel", ErrIncompatible, first.Name())
	}
	if first.Channels > nn.MaxDim/len(ls) {
		return nil, fmt.Errorf("%w: prelu %q: %d members of %d slopes exceed %d channels", ErrIncompatible, first.Name(), len(ls), first.Channels, nn.MaxDim)
	}
	out := nn.NewPReLU(first.Name(), len(ls)*first.Channels)
	for i, l := range ls {
		copy(out.Slope.Data[i*first.Channels:], l.(*nn.PReLU).Slope.Data)
	}
	return out, nil
}

// checkMerged refuses a merged weight matrix above nn.MaxElements before
// it is allocated: block-diagonal layers grow with the square of the
// number of members.
func checkMerged(rows, cols int) error {
	if rows > 0 && cols > nn.MaxElements/rows {
		return fmt.Errorf("merged weights %d×%d exceed %d elements; use fewer members", rows, cols, nn.MaxElements)
	}
	return nil
}

// placeBlock copies member m's weights (out rows of rowLen values) and
// biases into the merged layer, whose rows hold mergedRowLen values. A
// stacked input puts the member's columns in its own block; a final layer
// shares its rows among the members and takes 1/n of each.
func placeBlock(w, b, sw, sb []float32, m, n, out, rowLen, mergedRowLen int, stacked, final bool) {
	rowOff, colOff := m*out, 0
	if stacked {
		colOff = m * rowLen
	}
	scale := float32(1)
	if final {
		rowOff, scale = 0, 1/float32(n)
	}
	for r := 0; r < out; r++ {
		dst := w[(rowOff+r)*mergedRowLen+colOff:]
		for j, v := range sw[r*rowLen : (r+1)*rowLen] {
			if final && !stacked {
				dst[j] += v * scale
			} else {
				dst[j] = v * scale
			}
		}
		b[rowOff+r] += sb[r] * scale
	}
}
