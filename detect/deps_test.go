package detect_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Inference links no training stack: detect and scan (and so the scanner)
// do not depend on gorgonia, whose graph package is for training and
// reference checks only.
func TestInferenceDoesNotLinkGorgonia(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool on PATH to list dependencies with")
	}
	out, err := exec.Command(goTool, "list", "-deps", ".", "../scan").Output()
	require.NoError(t, err)
	deps := strings.Fields(string(out))
	assert.Contains(t, deps, "github.com/fc2conv/fc2conv/nn", "the listing is real")
	for _, d := range deps {
		assert.False(t, strings.HasPrefix(d, "gorgonia.org/gorgonia"), "detect or scan depends on %s", d)
	}
}
