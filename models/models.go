// Package models ships the trained dress detector and its verifier. The
// converted (fully convolutional) forms are embedded in the binary, so
// scanning needs no model file; the FC forms sit beside them in models/
// for conversion and evaluation. See models/README.md, the model card.
package models

import (
	_ "embed"
	"fmt"

	"github.com/fc2conv/fc2conv/nn"
)

//go:embed dress-fcn.safetensors
var dressFCN []byte

// DressFCN decodes the embedded, fully convolutional dress model.
func DressFCN() (*nn.Network, error) { return decode("dress-fcn.safetensors", dressFCN) }

// DressFCNFile is a copy of the embedded model file's bytes, for hashing:
// it is models/dress-fcn.safetensors byte for byte.
func DressFCNFile() []byte { return append([]byte(nil), dressFCN...) }

//go:embed verifier-fcn.safetensors
var verifierFCN []byte

// Verifier decodes the embedded verifier: a garment classifier shown the
// image under each box the dress model keeps (detect.Options.Verifier).
// Its stored threshold applies to the verified score.
func Verifier() (*nn.Network, error) { return decode("verifier-fcn.safetensors", verifierFCN) }

// VerifierFile is a copy of the embedded verifier file's bytes, for
// hashing: it is models/verifier-fcn.safetensors byte for byte.
func VerifierFile() []byte { return append([]byte(nil), verifierFCN...) }

// decode reads the embedded file name; errors name it.
func decode(name string, b []byte) (*nn.Network, error) {
	net, err := nn.Unmarshal(b)
	if err != nil {
		return nil, fmt.Errorf("embedded model %s: %w", name, err)
	}
	return net, nil
}
