// Package models ships the trained dress detector. The converted (fully
// convolutional) form is embedded in the binary, so scanning needs no
// model file; the FC form sits beside it in models/ for conversion and
// evaluation. See models/README.md, the model card.
package models

import (
	_ "embed"
	"fmt"

	"github.com/fc2conv/fc2conv/nn"
)

//go:embed dress-fcn.safetensors
var dressFCN []byte

// DressFCN decodes the embedded, fully convolutional dress model.
func DressFCN() (*nn.Network, error) {
	net, err := nn.Unmarshal(dressFCN)
	if err != nil {
		return nil, fmt.Errorf("embedded model dress-fcn.safetensors: %w", err)
	}
	return net, nil
}

// DressFCNFile is a copy of the embedded model file's bytes, for hashing:
// it is models/dress-fcn.safetensors byte for byte.
func DressFCNFile() []byte { return append([]byte(nil), dressFCN...) }
