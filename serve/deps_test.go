package serve

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The browser test's chromedp stays out of the service and the binary.
func TestBinaryDoesNotLinkChromedp(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool on PATH to list dependencies with")
	}
	out, err := exec.Command(goTool, "list", "-deps", ".", "../cmd/fc2conv").Output()
	require.NoError(t, err)
	deps := strings.Fields(string(out))
	assert.Contains(t, deps, "github.com/fc2conv/fc2conv/serve", "the listing is real")
	for _, d := range deps {
		assert.False(t, strings.HasPrefix(d, "github.com/chromedp/"), "serve or fc2conv depends on %s", d)
	}
}
