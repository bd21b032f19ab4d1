package fmnist

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// All five embedded Go fonts parse, so print uses every typeface.
func TestPrintFonts(t *testing.T) {
	assert.Len(t, printFonts(), 5)
}
