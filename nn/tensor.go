package nn

import "fmt"

// Tensor is a dense float32 array with a shape, laid out row-major. It is
// the form in which layers hold their weights and in which the engine reads
// them: no conversion, no interface unwrapping.
type Tensor struct {
	Shape []int
	Data  []float32
}

// NewTensor returns a zeroed tensor of the given shape. Sizes are the
// caller's to bound (the model loader checks them before it calls this).
func NewTensor(shape ...int) *Tensor {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return &Tensor{Shape: append([]int(nil), shape...), Data: make([]float32, n)}
}

// Clone returns a deep copy; a nil tensor clones to nil.
func (t *Tensor) Clone() *Tensor {
	if t == nil {
		return nil
	}
	return &Tensor{Shape: append([]int(nil), t.Shape...), Data: append([]float32(nil), t.Data...)}
}

// Fill sets every element to v.
func (t *Tensor) Fill(v float32) {
	for i := range t.Data {
		t.Data[i] = v
	}
}

func (t *Tensor) String() string { return fmt.Sprintf("tensor%v", t.Shape) }

// size is the number of elements the shape holds.
func (t *Tensor) size() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}
