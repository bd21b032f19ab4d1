package detect

import (
	"fmt"

	"github.com/fc2conv/fc2conv/convert"
	"github.com/fc2conv/fc2conv/nn"
)

// Open loads the model file at path (.safetensors, as nn.Load reads it) and
// returns a detector for it with opt. A fully convolutional model is used
// as it is; a classifier with a fully connected head is converted first
// with convert.ConvertChecked, which keeps its labels, positive class and
// stored threshold and refuses a conversion that differs from the FC
// network beyond convert.Tolerance. Errors about opt are *OptionError, as
// from New.
func Open(path string, opt Options) (*Detector, error) {
	return OpenLimits(path, opt, nn.Limits{})
}

// OpenLimits is Open with limits on the model file's tensors (nn.LoadLimits).
func OpenLimits(path string, opt Options, lim nn.Limits) (*Detector, error) {
	net, err := nn.LoadLimits(path, lim)
	if err != nil {
		return nil, fmt.Errorf("detect: open model: %w", err)
	}
	return NewConverted(net, opt)
}

// NewConverted is New for a network in either form, as Open takes a file:
// a fully convolutional one is used as it is, a classifier with an FC
// head is converted first with convert.ConvertChecked.
func NewConverted(net *nn.Network, opt Options) (*Detector, error) {
	if net != nil && !net.IsFullyConvolutional() {
		res, _, err := convert.ConvertChecked(net, convert.VerifyOptions{})
		if err != nil {
			return nil, fmt.Errorf("detect: converting the FC head: %w", err)
		}
		net = res.Network
	}
	return New(net, opt)
}

// Network is the fully convolutional network the detector runs. It must
// not be modified while the detector is in use.
func (d *Detector) Network() *nn.Network { return d.net }
