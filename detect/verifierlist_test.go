package detect_test

import (
	"strings"
	"testing"

	"github.com/fc2conv/fc2conv/detect"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A list file round-trips, and every malformed one is refused with a
// message that says what is wrong and which member.
func TestVerifierListParse(t *testing.T) {
	a, b := strings.Repeat("a", 64), strings.Repeat("b", 64)
	list := detect.VerifierList{Threshold: 0.41, Verifiers: []detect.ListedVerifier{{File: "v69.safetensors", SHA256: a}, {File: "old/v54.onnx", SHA256: b}}}
	data, err := list.Marshal()
	require.NoError(t, err)
	got, err := detect.ParseVerifierList(data)
	require.NoError(t, err)
	assert.Equal(t, list, *got)

	member := func(file, sum string) string { return `{"file":"` + file + `","sha256":"` + sum + `"}` }
	two := member("a.safetensors", a) + "," + member("b.safetensors", b)
	for _, bad := range [][2]string{
		{`{"verifiers":[` + member("a.safetensors", a) + `],"threshold":0.4}`, "1 verifiers, want 2 or more"},
		{`{"verifiers":[` + two + `],"threshold":0}`, "threshold 0, want one in (0,1)"},
		{`{"verifiers":[` + two + `],"threshold":1}`, "threshold 1, want one in (0,1)"},
		{`{"verifiers":[` + two + `]}`, "threshold 0, want one in (0,1)"},
		{`{"verifiers":[` + member("", a) + "," + member("b", b) + `],"threshold":0.4}`, "verifier 1 of 2: no file"},
		{`{"verifiers":[` + member("a", a) + "," + member("/abs/b", b) + `],"threshold":0.4}`, "verifier 2 of 2: /abs/b is not relative to the list"},
		{`{"verifiers":[` + member("a", a) + "," + member("b", strings.ToUpper(b)) + `],"threshold":0.4}`, "verifier 2 of 2 (b): sha256"},
		{`{"verifiers":[` + member("a", a) + "," + member("b", "beef") + `],"threshold":0.4}`, "is not 64 lowercase hex digits"},
		{`{"verifiers":[` + two + `],"threshold":0.4,"treshold":0.5}`, `unknown field "treshold"`},
		{`{"verifiers":[` + two + `],"threshold":0.4} {}`, "data after its object"},
		{`{"verifiers":`, "unexpected EOF"},
		{strings.Repeat(" ", detect.MaxVerifierListBytes+1), "more than 65536"},
	} {
		_, err := detect.ParseVerifierList([]byte(bad[0]))
		require.Error(t, err, bad[0])
		assert.Contains(t, err.Error(), "verifier list: ", bad[0])
		assert.Contains(t, err.Error(), bad[1], bad[0])
	}
	_, err = (&detect.VerifierList{Threshold: 0.5}).Marshal()
	assert.ErrorContains(t, err, "0 verifiers, want 2 or more", "Marshal checks the list too")
}
