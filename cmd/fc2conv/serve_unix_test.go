//go:build unix

package main

import (
	"bufio"
	"io"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// serve scores boxes as scan does with the same verifier flags, and says
// so where it names the model.
func TestServeVerifierScoring(t *testing.T) {
	r, w := io.Pipe()
	done := make(chan int, 1)
	go func() {
		done <- run([]string{"serve", "--addr", "127.0.0.1:0", "--verifier-views", "5", "--verifier-weight", "0.65"}, io.Discard, w)
		w.Close()
	}()
	// Stop the server however the test ends; SIGTERM is how it stops.
	stop := func() {
		require.NoError(t, syscall.Kill(os.Getpid(), syscall.SIGTERM))
		select {
		case code := <-done:
			assert.Equal(t, exitOK, code)
		case <-time.After(20 * time.Second):
			t.Fatal("the server did not stop on SIGTERM")
		}
	}
	lines := bufio.NewScanner(r)
	if !lines.Scan() {
		t.Fatal("the server exited without saying where it listens")
	}
	line := lines.Text()
	go io.Copy(io.Discard, r) // the rest of its output, so that it never blocks
	defer stop()
	assert.Contains(t, line, "model embedded:dress-fcn+embedded:verifier(views 5, weight 0.65)")
	_, url, ok := strings.Cut(line, "listening on ")
	require.True(t, ok, line)
	url, _, _ = strings.Cut(url, " ")
	resp, err := http.Get(url + "/v1/model")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Contains(t, string(body), "weight 0.65", "GET /v1/model names the scoring")
}
