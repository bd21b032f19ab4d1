package detect

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"regexp"
)

// A VerifierList is a saved list of verifiers to average as one
// (Options.Verifier then MoreVerifiers) with the threshold chosen for
// their averaged score, which no member's own stored threshold is. Each
// member is a file named relative to the list's own, pinned by the
// SHA-256 of its bytes, so the threshold cannot pass to other files.
type VerifierList struct {
	Verifiers []ListedVerifier `json:"verifiers"`
	// Threshold, in (0,1), applies to the verified score as a single
	// verifier's stored threshold does.
	Threshold float64 `json:"threshold"`
}

// ListedVerifier is one member of a VerifierList.
type ListedVerifier struct {
	File   string `json:"file"`   // relative to the list's directory, slash-separated
	SHA256 string `json:"sha256"` // of the file's bytes, lowercase hex
}

// ListVerifier lists the verifier file whose bytes are b, named by file
// (relative to the list, slash-separated), pinned by b's SHA-256.
func ListVerifier(file string, b []byte) ListedVerifier {
	sum := sha256.Sum256(b)
	return ListedVerifier{File: file, SHA256: hex.EncodeToString(sum[:])}
}

// Pins reports whether b are the bytes v was listed with.
func (v ListedVerifier) Pins(b []byte) bool { return ListVerifier(v.File, b).SHA256 == v.SHA256 }

// MaxVerifierListBytes bounds a list file, read before it is parsed.
const MaxVerifierListBytes = 1 << 16

var sha256Hex = regexp.MustCompile(`^[0-9a-f]{64}$`)

// ParseVerifierList decodes and checks a list file's bytes: at least two
// members, each a relative file with a SHA-256, and a threshold in
// (0,1). Unknown fields are errors, so a misspelt one is not ignored.
func ParseVerifierList(b []byte) (*VerifierList, error) {
	if len(b) > MaxVerifierListBytes {
		return nil, fmt.Errorf("verifier list: %d bytes, more than %d", len(b), MaxVerifierListBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var l VerifierList
	if err := dec.Decode(&l); err != nil {
		return nil, fmt.Errorf("verifier list: %w", err)
	}
	if dec.More() {
		return nil, errors.New("verifier list: data after its object")
	}
	return &l, l.check()
}

func (l *VerifierList) check() error {
	if len(l.Verifiers) < 2 {
		return fmt.Errorf("verifier list: %d verifiers, want 2 or more", len(l.Verifiers))
	}
	for i, v := range l.Verifiers {
		switch {
		case v.File == "":
			return fmt.Errorf("verifier list: verifier %d of %d: no file", i+1, len(l.Verifiers))
		case filepath.IsAbs(filepath.FromSlash(v.File)) || filepath.VolumeName(filepath.FromSlash(v.File)) != "":
			return fmt.Errorf("verifier list: verifier %d of %d: %s is not relative to the list", i+1, len(l.Verifiers), v.File)
		case !sha256Hex.MatchString(v.SHA256):
			return fmt.Errorf("verifier list: verifier %d of %d (%s): sha256 %q is not 64 lowercase hex digits", i+1, len(l.Verifiers), v.File, v.SHA256)
		}
	}
	if !(l.Threshold > 0 && l.Threshold < 1) || math.IsNaN(l.Threshold) {
		return fmt.Errorf("verifier list: threshold %v, want one in (0,1)", l.Threshold)
	}
	return nil
}

// Marshal checks l and encodes it as a list file.
func (l *VerifierList) Marshal() ([]byte, error) {
	if err := l.check(); err != nil {
		return nil, err
	}
	b, err := json.MarshalIndent(l, "", "  ")
	return append(b, '\n'), err
}
