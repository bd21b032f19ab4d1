package nn

import "testing"

// Costs counts what Profile counts (by hand here) without running, so an
// input of 4.5e8 values costs nothing to cost; one whose activations pass
// MaxActivation is refused as a pass would be.
func TestEngineCosts(t *testing.T) {
	conv := NewConv2D("conv", 2, 3, Pair{3, 3}, Pair{1, 1}, Pair{})
	for i := range conv.Weight.Data {
		conv.Weight.Data[i] = 1 // all-zero blocks would be skipped
	}
	net := &Network{Input: InputSpec{Channels: 2, Height: 3, Width: 3, Mean: []float32{0, 0}, Std: []float32{1, 1}},
		Layers: []Layer{conv, NewReLU("relu")}}
	if err := net.Validate(); err != nil {
		t.Fatal(err)
	}
	e := NewEngine(net)
	in := Shape{2, 10, 9}
	costs, err := e.Costs(in)
	if err != nil {
		t.Fatal(err)
	}
	// One step: the ReLU is fused into the conv; 2·(2·3·3) FLOPs per
	// output value, 3×8×7 values.
	if len(costs) != 1 || costs[0].FLOPs != 2*18*3*8*7 || costs[0].Out != (Shape{3, 8, 7}) || len(costs[0].Fused) != 1 {
		t.Fatalf("costs %+v, want one step of 6048 FLOPs out 3×8×7 with the relu fused", costs)
	}
	prof, err := e.Profile(make([]float32, in.Size()), in)
	if err != nil {
		t.Fatal(err)
	}
	if prof[0].FLOPs != costs[0].FLOPs {
		t.Fatalf("Profile counts %d FLOPs, Costs %d", prof[0].FLOPs, costs[0].FLOPs)
	}
	big := Shape{2, 40000, 40000}
	if costs, err = e.Costs(big); err == nil {
		t.Fatalf("costed %v past MaxActivation: %+v", big, costs)
	}
	costs, err = e.Costs(Shape{2, 15000, 15000})
	if err != nil || costs[0].FLOPs != 2*18*3*14998*14998 {
		t.Fatalf("costs %+v, %v", costs, err)
	}
}
